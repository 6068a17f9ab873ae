"""Parallel text for seq2seq: two line-aligned files (source, target), whitespace tokens.

`read_parallel` checks the alignment as it streams: a file that ends early, or an empty
line on either side, raises DataFormatError naming the file and line. `Seq2SeqVocabs`
holds the source and target vocabularies (the target has <s> and </s>) and turns pairs
into padded id tensors.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from hybrid.data.lines import Source, numbered_lines, source_name
from hybrid.data.pairs import Pair
from hybrid.data.vocab import Vocabulary
from hybrid.errors import ConfigError, DataFormatError

BOS, EOS = "<s>", "</s>"


def read_parallel(src: Source, tgt: Source | None = None) -> list[Pair]:
    """Pairs of (source tokens, target tokens) from line-aligned files; `tgt` None reads
    sources only (targets empty), as for generation."""
    src_name = source_name(src)
    src_lines = numbered_lines(src, src_name)
    if tgt is None:
        return [Pair(tuple(_tokens(line, src_name, n)), (), src_name, n) for n, line in src_lines]
    tgt_name = source_name(tgt)
    pairs = []
    for n, s_line, t_line in _aligned(src_lines, src_name, numbered_lines(tgt, tgt_name), tgt_name):
        pairs.append(Pair(tuple(_tokens(s_line, src_name, n)), tuple(_tokens(t_line, tgt_name, n)), src_name, n))
    return pairs


def _aligned(
    src_lines: Iterator[tuple[int, str]], src_name: str,
    tgt_lines: Iterator[tuple[int, str]], tgt_name: str,
) -> Iterator[tuple[int, str, str]]:
    """(line number, source line, target line); DataFormatError when one file ends first."""
    for a, b in itertools.zip_longest(src_lines, tgt_lines):  # None pads the shorter stream
        if a is not None and b is not None:
            yield a[0], a[1], b[1]
        elif a is not None:
            raise _ends_early(tgt_name, src_name, a[0])
        elif b is not None:
            raise _ends_early(src_name, tgt_name, b[0])


def _ends_early(short: str, long_: str, number: int) -> DataFormatError:
    """The error for file `short` ending where `long_` still has line `number`."""
    return DataFormatError(
        f"{short} ends before {long_}: expected a line aligned with {long_}:{number}", short, number
    )


def _tokens(line: str, name: str, number: int) -> list[str]:
    tokens = line.split()
    if not tokens:
        raise DataFormatError("empty line: expected a sentence (every line is one sentence)", name, number)
    return tokens


@dataclass
class Seq2SeqBatch:
    """Padded ids: src (B, S) with src_mask; tgt_in = <s> y (B, T), tgt_out = y </s> (B, T)
    with tgt_mask (None for source-only batches)."""

    src: Tensor
    src_mask: Tensor
    tgt_in: Tensor | None = None
    tgt_out: Tensor | None = None
    tgt_mask: Tensor | None = None

    def __len__(self) -> int:
        return self.src.shape[0]

    def to(self, device: torch.device | str) -> Seq2SeqBatch:
        """This batch on `device` (absent targets stay None)."""

        def move(t: Tensor | None) -> Tensor | None:
            return None if t is None else t.to(device)

        return Seq2SeqBatch(
            self.src.to(device), self.src_mask.to(device),
            move(self.tgt_in), move(self.tgt_out), move(self.tgt_mask),
        )


class Seq2SeqVocabs:
    """Source and target vocabularies; target ids 0..3 are <pad>, <unk>, <s>, </s>."""

    def __init__(self, source: Vocabulary, target: Vocabulary):
        for name in (BOS, EOS):
            if name not in target:
                raise ConfigError(f"target vocabulary lacks {name!r}")
        self.source, self.target = source, target
        self.bos, self.eos = target.index(BOS), target.index(EOS)

    @classmethod
    def build(cls, pairs: Iterable[Pair], src_min_freq: int = 1, tgt_min_freq: int = 1) -> Seq2SeqVocabs:
        pairs = list(pairs)
        source = Vocabulary((t for p in pairs for t in p.inputs), src_min_freq)
        counted = Vocabulary((t for p in pairs for t in p.labels), tgt_min_freq)
        words = [t for t in counted.tokens[2:] if t not in (BOS, EOS)]
        target = Vocabulary.from_dict({"tokens": ["<pad>", "<unk>", BOS, EOS, *words], "pad": "<pad>", "unk": "<unk>"})
        return cls(source, target)

    def encode(self, pairs: Sequence[Pair], with_targets: bool = True) -> Seq2SeqBatch:
        """Pad a list of pairs into a batch (targets only when asked and present)."""
        src = _pad([self.source.encode(p.inputs) for p in pairs], self.source.pad_index)
        if not with_targets:
            return Seq2SeqBatch(src, src != self.source.pad_index)
        ids = [self.target.encode(p.labels) for p in pairs]
        pad = self.target.pad_index
        tgt_in = _pad([[self.bos, *y] for y in ids], pad)
        tgt_out = _pad([[*y, self.eos] for y in ids], pad)
        return Seq2SeqBatch(src, src != self.source.pad_index, tgt_in, tgt_out, tgt_out != pad)

    def decode(self, ids: Sequence[int]) -> list[str]:
        """Target tokens of `ids` up to (not including) the first </s>; <pad> dropped."""
        out = []
        for i in ids:
            if i == self.eos:
                break
            if i != self.target.pad_index:
                out.append(self.target.token(int(i)))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source.to_dict(), "target": self.target.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Seq2SeqVocabs:
        if not isinstance(data, dict) or set(data) != {"source", "target"}:
            raise ConfigError("seq2seq vocabularies: expected keys source, target")
        return cls(Vocabulary.from_dict(data["source"]), Vocabulary.from_dict(data["target"]))


def _pad(rows: list[list[int]], pad: int) -> Tensor:
    """(B, max length) long tensor, right-padded with `pad`."""
    width = max((len(r) for r in rows), default=0)
    return torch.tensor([r + [pad] * (width - len(r)) for r in rows], dtype=torch.long).reshape(len(rows), width)
