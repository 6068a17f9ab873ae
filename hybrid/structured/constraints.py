"""Allowed-transition masks for chunk tagging schemes (BIO/IOB2, IOB1, BIOES).

A mask says which tag may follow which, which may start and which may end a sentence,
so that decoding never produces an ill-formed chunk such as I-NP right after O (in BIO).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

SCHEMES = ("BIO", "IOB1", "BIOES")


def split_tag(tag: str) -> tuple[str, str]:
    """('B', 'NP') for 'B-NP', ('O', '') for 'O'; tags outside a scheme give (tag, '')."""
    if tag == "O":
        return "O", ""
    prefix, sep, kind = tag.partition("-")
    if sep and len(prefix) == 1 and prefix in "BIES" and kind:
        return prefix, kind
    return tag, ""


def detect_scheme(tags: Sequence[str]) -> str | None:
    """'BIOES' or 'BIO' if every tag is O or X-TYPE with X in B/I(/E/S), else None (e.g. POS tags)."""
    prefixes = set()
    for tag in tags:
        prefix, kind = split_tag(tag)
        if prefix != "O" and not kind:
            return None
        prefixes.add(prefix)
    if not prefixes - {"O"}:
        return None
    return "BIOES" if prefixes & {"E", "S"} else "BIO"


def _may_follow(scheme: str, prev: tuple[str, str] | None, cur: tuple[str, str]) -> bool:
    """Whether tag `cur` may follow `prev` (None: the sentence start) under `scheme`."""
    p, pk = prev if prev is not None else ("O", "")
    c, ck = cur
    continues = p in ("B", "I") and pk == ck  # previous tag is inside an open chunk of this type
    if scheme == "BIO":
        return c != "I" or continues
    if scheme == "IOB1":
        # B-X only separates two adjacent chunks of the same type.
        return c != "B" or continues
    # BIOES: I/E continue an open chunk; B/S/O need the previous chunk to be closed.
    if c in ("I", "E"):
        return continues
    return p in ("O", "E", "S")


def allowed_transitions(tags: Sequence[str], scheme: str) -> tuple[Tensor, Tensor, Tensor]:
    """Bool masks (allowed (K, K), allowed_start (K,), allowed_end (K,)) for `tags` under `scheme`.

    Tags outside the scheme (neither O nor X-TYPE) are unconstrained.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"unknown tagging scheme {scheme!r}; expected one of {', '.join(SCHEMES)}")
    parts = [split_tag(t) for t in tags]
    valid = [p[0] == "O" or bool(p[1]) for p in parts]
    k = len(tags)
    allowed = torch.ones(k, k, dtype=torch.bool)
    start = torch.ones(k, dtype=torch.bool)
    end = torch.ones(k, dtype=torch.bool)
    for j, cur in enumerate(parts):
        if not valid[j]:
            continue
        start[j] = _may_follow(scheme, None, cur)
        if scheme == "BIOES":
            end[j] = cur[0] in ("O", "E", "S")
        for i, prev in enumerate(parts):
            if valid[i]:
                allowed[i, j] = _may_follow(scheme, prev, cur)
    return allowed, start, end
