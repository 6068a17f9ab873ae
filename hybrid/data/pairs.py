"""(input, unaligned label sequence) pairs for the CTC head, read from a two-column TSV.

Each non-blank line is `input tokens<TAB>label tokens`, both sides space-separated, e.g.

    three hundred and twelve<TAB>3 1 2

Blank lines and lines starting with '#' are skipped. Reading streams (one line in memory);
a missing column, an extra column or an empty side raises DataFormatError with file:line.
For prediction, a line with one column is the input alone (`require_labels=False`).
`CTCVocabs` turns pairs into id tensors for the CTC model.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.nn.utils.rnn import pad_sequence

from hybrid.data.lines import Source, numbered_lines, source_name
from hybrid.data.vocab import Vocabulary
from hybrid.errors import ConfigError, DataFormatError

BLANK = "<blank>"  # label id 0: the CTC blank


@dataclass(frozen=True)
class Pair:
    """One example: input tokens, the label sequence (not aligned with them), where it came from."""

    inputs: tuple[str, ...]
    labels: tuple[str, ...]
    source: str = "<input>"
    line: int = 0


def read_pairs(src: Source, name: str | None = None, require_labels: bool = True) -> Iterator[Pair]:
    """Lazily yield a Pair for each non-blank, non-comment line of `src` (path, '-', file, lines).
    Without `require_labels`, a line may be the input alone (its Pair has no labels)."""
    name = source_name(src) if name is None else name
    for number, line in numbered_lines(src, name):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) == 1 and not require_labels:
            cols.append("")
        elif len(cols) < 2:
            raise DataFormatError("expected 2 tab-separated columns (input, labels), found 1", name, number)
        if len(cols) > 2:
            raise DataFormatError(
                f"expected 2 tab-separated columns (input, labels), found {len(cols)}", name, number
            )
        inputs, labels = cols[0].split(), cols[1].split()
        if not inputs:
            raise DataFormatError("empty input side (column 1)", name, number)
        if not labels and require_labels:
            raise DataFormatError("empty label side (column 2)", name, number)
        yield Pair(tuple(inputs), tuple(labels), name, number)


def write_pairs(pairs, path) -> None:
    """Write pairs (anything with .inputs and .labels, or (inputs, labels) tuples) as TSV."""
    with open(path, "w", encoding="utf-8") as f:
        for p in pairs:
            inputs, labels = (p.inputs, p.labels) if isinstance(p, Pair) else p
            f.write(" ".join(inputs) + "\t" + " ".join(labels) + "\n")


@dataclass
class CTCBatch:
    """Encoded pairs: ids (B, T) right padded with 0; targets (B, S) label ids (1..), padded with 0;
    target_lengths (B,)."""

    ids: Tensor
    targets: Tensor
    target_lengths: Tensor

    def __len__(self) -> int:
        return self.ids.shape[0]

    def to(self, device: torch.device | str) -> CTCBatch:
        return CTCBatch(self.ids.to(device), self.targets.to(device), self.target_lengths.to(device))


@dataclass
class CTCVocabs:
    """Input tokens (0 pads, 1 unknown) and labels (0 is the CTC blank, labels 1..V)."""

    inputs: Vocabulary
    labels: Vocabulary

    @classmethod
    def build(cls, pairs: Iterable[Pair], min_freq: int = 1) -> CTCVocabs:
        inputs: list[str] = []
        labels: list[str] = []
        for p in pairs:
            if BLANK in p.labels:
                raise DataFormatError(f"the label {BLANK!r} is reserved for the CTC blank", p.source, p.line)
            inputs.extend(p.inputs)
            labels.extend(p.labels)
        return cls(Vocabulary(inputs, min_freq=min_freq), Vocabulary(labels, pad=BLANK, unk=None))

    @property
    def num_labels(self) -> int:
        """Real labels, the blank not counted."""
        return len(self.labels) - 1

    def encode(self, pairs: Sequence[Pair], with_labels: bool = True) -> CTCBatch:
        """Ids of a batch; an unseen label raises UnknownTokenError naming it."""
        ids = pad_sequence([torch.tensor(self.inputs.encode(p.inputs)) for p in pairs], batch_first=True)
        if not with_labels:
            return CTCBatch(ids, torch.zeros(len(pairs), 0, dtype=torch.long),
                            torch.zeros(len(pairs), dtype=torch.long))
        targets = [torch.tensor(self.labels.encode(p.labels)) for p in pairs]
        return CTCBatch(ids, pad_sequence(targets, batch_first=True), torch.tensor([len(t) for t in targets]))

    def decode(self, label_ids: Iterable[int]) -> list[str]:
        return self.labels.decode(label_ids)

    def to_dict(self) -> dict:
        return {"inputs": self.inputs.to_dict(), "labels": self.labels.to_dict()}

    @classmethod
    def from_dict(cls, data: dict) -> CTCVocabs:
        if not isinstance(data, dict) or set(data) != {"inputs", "labels"}:
            got = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise ConfigError(f"CTC vocabularies: expected keys inputs, labels, got {got}")
        labels = Vocabulary.from_dict(data["labels"])
        if labels.pad != BLANK or labels.pad_index != 0:
            raise ConfigError(f"CTC vocabularies: the label vocabulary must start with the blank {BLANK!r}")
        return cls(Vocabulary.from_dict(data["inputs"]), labels)
