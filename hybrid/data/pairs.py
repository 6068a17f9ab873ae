"""(input, unaligned label sequence) pairs for the CTC head, read from a two-column TSV.

Each non-blank line is `input tokens<TAB>label tokens`, both sides space-separated, e.g.

    three hundred and twelve<TAB>3 1 2

Blank lines and lines starting with '#' are skipped. Reading streams (one line in memory);
a missing column, an extra column or an empty side raises DataFormatError with file:line.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from hybrid.data.lines import Source, numbered_lines, source_name
from hybrid.errors import DataFormatError


@dataclass(frozen=True)
class Pair:
    """One example: input tokens, the label sequence (not aligned with them), where it came from."""

    inputs: tuple[str, ...]
    labels: tuple[str, ...]
    source: str = "<input>"
    line: int = 0


def read_pairs(src: Source, name: str | None = None) -> Iterator[Pair]:
    """Lazily yield a Pair for each non-blank, non-comment line of `src` (path, '-', file, lines)."""
    name = source_name(src) if name is None else name
    for number, line in numbered_lines(src, name):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) < 2:
            raise DataFormatError("expected 2 tab-separated columns (input, labels), found 1", name, number)
        if len(cols) > 2:
            raise DataFormatError(
                f"expected 2 tab-separated columns (input, labels), found {len(cols)}", name, number
            )
        inputs, labels = cols[0].split(), cols[1].split()
        if not inputs:
            raise DataFormatError("empty input side (column 1)", name, number)
        if not labels:
            raise DataFormatError("empty label side (column 2)", name, number)
        yield Pair(tuple(inputs), tuple(labels), name, number)


def write_pairs(pairs, path) -> None:
    """Write pairs (anything with .inputs and .labels, or (inputs, labels) tuples) as TSV."""
    with open(path, "w", encoding="utf-8") as f:
        for p in pairs:
            inputs, labels = (p.inputs, p.labels) if isinstance(p, Pair) else p
            f.write(" ".join(inputs) + "\t" + " ".join(labels) + "\n")
