"""Noise on token sequences for denoising training (Lample et al. 2018): word dropout and a
local shuffle in which no word moves more than k places."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import torch

T = TypeVar("T")


def add_noise(tokens: Sequence[T], word_dropout: float, shuffle_window: int,
              generator: torch.Generator | None = None) -> tuple[T, ...]:
    """`tokens` with each dropped with probability `word_dropout` (one always stays) and then
    locally shuffled: position i gets the sort key i + U(0, shuffle_window + 1), so every word
    ends at most `shuffle_window` places from where it was."""
    kept = list(tokens)
    if word_dropout > 0 and len(kept) > 1:
        keep = torch.rand(len(kept), generator=generator) >= word_dropout
        if not bool(keep.any()):
            keep[int(torch.randint(len(kept), (1,), generator=generator))] = True
        kept = [t for t, k in zip(kept, keep.tolist(), strict=True) if k]
    if shuffle_window > 0 and len(kept) > 1:
        keys = torch.arange(len(kept), dtype=torch.float64)
        keys += torch.rand(len(kept), generator=generator, dtype=torch.float64) * (shuffle_window + 1)
        kept = [kept[i] for i in torch.argsort(keys, stable=True).tolist()]
    return tuple(kept)
