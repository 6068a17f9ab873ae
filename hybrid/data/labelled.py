"""Labelled sentences for many-to-one classification: `label<TAB>text` lines, or a TSV file with a
header naming its columns (as GLUE's SST-2 files: `sentence<TAB>label`).

Text is split on whitespace. Malformed lines raise DataFormatError with the file and line.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from hybrid.data.lines import Source, numbered_lines, source_name
from hybrid.errors import DataFormatError

HEADER_TEXT_NAMES = ("sentence", "text")


@dataclass(frozen=True)
class Labelled:
    """One example: its tokens, its label (None when reading for prediction) and where it came from."""

    tokens: tuple[str, ...]
    label: str | None
    source: str = ""
    line: int = 0


def read_labelled(src: Source, label_column: str = "label", require_labels: bool = True) -> Iterator[Labelled]:
    """Examples of `src`. A first line whose fields include `label_column` and one of "sentence"
    / "text" is a header naming the columns; otherwise every line is `label<TAB>text` (or, with
    require_labels False, just text when it has no TAB). Blank lines are skipped."""
    name = source_name(src)
    columns: tuple[int, int] | None = None  # (label, text) positions from a header
    for number, line in numbered_lines(src, name):
        if not line.strip():
            continue
        fields = line.split("\t")
        if number == 1 and label_column in fields and any(n in fields for n in HEADER_TEXT_NAMES):
            text_name = next(n for n in HEADER_TEXT_NAMES if n in fields)
            columns = (fields.index(label_column), fields.index(text_name))
            continue
        yield _example(fields, columns, require_labels, name, number)


def _example(fields: list[str], columns: tuple[int, int] | None, require_labels: bool, name: str,
             number: int) -> Labelled:
    if columns is not None:
        label_at, text_at = columns
        if len(fields) <= max(columns):
            raise DataFormatError(f"expected {max(columns) + 1} TAB-separated columns as the header says, "
                                  f"got {len(fields)}", name, number)
        label, text = fields[label_at].strip(), fields[text_at]
    elif len(fields) >= 2:
        label, text = fields[0].strip(), "\t".join(fields[1:])
    elif require_labels:
        raise DataFormatError("expected 'label<TAB>text'", name, number)
    else:
        label, text = "", fields[0]
    tokens = tuple(text.split())
    if not tokens:
        raise DataFormatError("expected some text after the label", name, number)
    if require_labels and not label:
        raise DataFormatError("empty label", name, number)
    return Labelled(tokens, label or None, name, number)
