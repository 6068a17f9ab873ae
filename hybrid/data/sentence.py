"""A sentence as read from a file: words, gold tags, feature columns, and its raw lines.

The raw lines are kept so that tagged output can reproduce the input exactly (comments,
CoNLL-U multi-word tokens and empty nodes included) with the predicted tag as one more
column: `token_rows[i]` is the raw line of word i.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Sentence:
    """One sentence; lists that run along the words all have len(words) entries."""

    words: list[str]
    tags: list[str] | None = None  # gold tags if the file has a tag column, else None
    features: list[list[str]] = field(default_factory=list)  # one list per feature column
    raw_lines: list[str] = field(default_factory=list)  # input lines, no newline; [] for text
    token_rows: list[int] = field(default_factory=list)  # raw_lines index of each word
    source: str = "<input>"  # file name, for messages
    first_line: int = 1  # 1-based line number where the sentence starts

    def __post_init__(self) -> None:
        n = len(self.words)
        where = f"{self.source}:{self.first_line}"
        if self.tags is not None and len(self.tags) != n:
            raise ValueError(f"{where}: {n} words but {len(self.tags)} tags")
        for i, values in enumerate(self.features):
            if len(values) != n:
                raise ValueError(f"{where}: {n} words but {len(values)} values in feature {i}")
        if self.raw_lines and len(self.token_rows) != n:
            raise ValueError(f"{where}: {n} words but {len(self.token_rows)} token rows")
        if any(not 0 <= row < len(self.raw_lines) for row in self.token_rows):
            raise ValueError(f"{where}: token row out of range of the {len(self.raw_lines)} raw lines")

    def __len__(self) -> int:
        return len(self.words)
