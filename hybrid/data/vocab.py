"""Vocabularies (token <-> index) with frequency thresholds, and word normalisation for lookup.

Index order is deterministic, so the same training data always gives the same indices:
special tokens first (padding, then unknown), then tokens by descending frequency, ties
broken by the token string. A saved vocabulary (`to_dict`, JSON-ready) reloads with
exactly the same indices.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from hybrid.errors import ConfigError, HybridError

_DIGITS = re.compile(r"\d")


class UnknownTokenError(HybridError, KeyError):
    """A token is not in a vocabulary that has no unknown-token entry (e.g. an unseen tag)."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0]) if self.args else ""


def normalize_word(word: str, lowercase: bool = False) -> str:
    """The form a word is looked up by: every digit mapped to 0 ('1999' -> '0000'), lowercased if asked.

    Numbers are many and rare; mapping digits together lets '1987' share the entry of
    '1999' without losing the number's shape.
    """
    word = _DIGITS.sub("0", word)
    return word.lower() if lowercase else word


def word_shape(word: str, max_run: int = 4) -> str:
    """The word's shape class, for unknown words: 'Apple' -> 'Xxxxx', 'U.S.' -> 'X.X.', '42' -> 'dd'.

    Upper-case letters become X, other letters x, digits d, anything else stays; runs of
    the same class longer than `max_run` are cut ('Mississippi' -> 'Xxxxx', as spaCy does).
    """
    shape: list[str] = []
    last, run = "", 0
    for ch in word:
        c = ("X" if ch.isupper() else "x") if ch.isalpha() else "d" if ch.isdigit() else ch
        run = run + 1 if c == last else 1
        last = c
        if run <= max_run:
            shape.append(c)
    return "".join(shape)


class Vocabulary:
    """Tokens in a fixed order: specials first, then by descending frequency, ties by string.

    A word vocabulary has padding ('<pad>', index 0) and unknown ('<unk>', index 1)
    entries; a tag vocabulary has neither (pad=None, unk=None), so an unseen tag is an
    error instead of a silent unknown.
    """

    def __init__(
        self, tokens: Iterable[str] = (), min_freq: int = 1, pad: str | None = "<pad>",
        unk: str | None = "<unk>",
    ):
        if isinstance(tokens, str):
            raise TypeError("expected an iterable of tokens, got one string")
        if not isinstance(min_freq, int) or min_freq < 1:
            raise ConfigError(f"min_freq must be an integer >= 1, got {min_freq!r}")
        if pad is not None and pad == unk:
            raise ConfigError(f"padding and unknown tokens must differ, got {pad!r} for both")
        counts = Counter(tokens)
        specials = [s for s in (pad, unk) if s is not None]
        kept = sorted(
            (t for t, c in counts.items() if c >= min_freq and t not in specials),
            key=lambda t: (-counts[t], t),
        )
        self._set(specials + kept, pad, unk)

    def _set(self, tokens: list[str], pad: str | None, unk: str | None) -> None:
        self.pad, self.unk = pad, unk
        self._tokens = tokens
        self._index = {t: i for i, t in enumerate(tokens)}

    @property
    def pad_index(self) -> int:
        """Index of the padding token (KeyError-derived error if there is none)."""
        if self.pad is None:
            raise UnknownTokenError("this vocabulary has no padding token")
        return self._index[self.pad]

    @property
    def unk_index(self) -> int:
        """Index of the unknown token (KeyError-derived error if there is none)."""
        if self.unk is None:
            raise UnknownTokenError("this vocabulary has no unknown token")
        return self._index[self.unk]

    @property
    def tokens(self) -> list[str]:
        """All tokens in index order (a copy)."""
        return list(self._tokens)

    def __len__(self) -> int:
        return len(self._tokens)

    def __contains__(self, token: object) -> bool:
        return token in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._tokens)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Vocabulary):
            return NotImplemented
        return (self._tokens, self.pad, self.unk) == (other._tokens, other.pad, other.unk)

    __hash__ = None  # type: ignore[assignment]  # mutable-looking container: not hashable

    def __repr__(self) -> str:
        head = ", ".join(repr(t) for t in self._tokens[:5])
        more = ", ..." if len(self) > 5 else ""
        return f"Vocabulary({len(self)} tokens: {head}{more})"

    def index(self, token: str) -> int:
        """Index of `token`; the unknown index if absent, UnknownTokenError if there is none."""
        i = self._index.get(token)
        if i is not None:
            return i
        if self.unk is None:
            known = ", ".join(repr(t) for t in self._tokens[:10])
            more = ", ..." if len(self) > 10 else ""
            raise UnknownTokenError(
                f"{token!r} is not in the vocabulary of {len(self)} tokens ({known}{more})"
            )
        return self._index[self.unk]

    def index_or_lowercase(self, token: str) -> int:
        """Index of `token`, failing that of its lowercased form (pretrained vectors' words are
        often lowercase), failing both the unknown index."""
        i = self._index.get(token)
        if i is None and token.lower() != token:
            i = self._index.get(token.lower())
        return self.index(token) if i is None else i

    def token(self, index: int) -> str:
        """The token at `index` (IndexError outside 0..len-1)."""
        if not 0 <= index < len(self._tokens):
            raise IndexError(f"token index {index} out of range 0..{len(self._tokens) - 1}")
        return self._tokens[index]

    def extended(self, tokens: Iterable[str]) -> Vocabulary:
        """A copy with `tokens` it lacks appended in order (the indices it has stay the same)."""
        kept = list(self._tokens)
        seen = set(kept)
        for token in tokens:
            if token not in seen:
                seen.add(token)
                kept.append(token)
        vocab = Vocabulary.__new__(Vocabulary)
        vocab._set(kept, self.pad, self.unk)
        return vocab

    def encode(self, tokens: Iterable[str]) -> list[int]:
        """Indices of `tokens` (see `index`)."""
        return [self.index(t) for t in tokens]

    def decode(self, indices: Iterable[int]) -> list[str]:
        """Tokens at `indices` (see `token`)."""
        return [self.token(int(i)) for i in indices]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; `from_dict` rebuilds the same indices."""
        return {"tokens": list(self._tokens), "pad": self.pad, "unk": self.unk}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Vocabulary:
        """The vocabulary saved by `to_dict`; ConfigError if the dict is malformed."""
        if not isinstance(data, dict) or set(data) != {"tokens", "pad", "unk"}:
            got = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise ConfigError(f"vocabulary: expected keys pad, tokens, unk, got {got}")
        tokens, pad, unk = data["tokens"], data["pad"], data["unk"]
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise ConfigError("vocabulary: 'tokens' must be a list of strings")
        if len(set(tokens)) != len(tokens):
            dup = Counter(tokens).most_common(1)[0][0]
            raise ConfigError(f"vocabulary: token {dup!r} appears more than once")
        for name, special in (("pad", pad), ("unk", unk)):
            if special is not None and special not in tokens:
                raise ConfigError(f"vocabulary: {name} token {special!r} is not among the tokens")
        vocab = cls.__new__(cls)
        vocab._set(list(tokens), pad, unk)
        return vocab
