"""Word vectors in the formats other tools read: word2vec text ("count dim" header, then a word
and its values per line), word2vec binary (the same header, then each word, a space and dim
little-endian float32 values), and GloVe text (no header). `read_vectors` tells them apart by
their first bytes; `write_vectors` writes either word2vec format atomically (gensim's
`KeyedVectors.load_word2vec_format` reads both).

The order of the words is kept: word2vec tools write the most frequent first, and the analogy
protocol's "30,000 most frequent words" are the first 30,000 rows.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from hybrid.data.lines import open_maybe_gzip
from hybrid.errors import DataFormatError


@dataclass
class WordVectors:
    """words (V,) in file order and their vectors (V, D) float32; counts (V,) when known."""

    words: list[str]
    vectors: np.ndarray
    counts: list[int] | None = None

    def __post_init__(self) -> None:
        if self.vectors.ndim != 2 or self.vectors.shape[0] != len(self.words):
            raise ValueError(f"expected vectors of shape ({len(self.words)}, D), got {self.vectors.shape}")
        self.index: dict[str, int] = {}
        for i, word in enumerate(self.words):
            self.index.setdefault(word, i)  # a repeated word: its first row, as gensim does

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self.index

    def top(self, n: int) -> WordVectors:
        """The first n words (the most frequent, in word2vec files)."""
        return WordVectors(self.words[:n], self.vectors[:n], None if self.counts is None else self.counts[:n])


def read_vectors(path: str | Path) -> WordVectors:
    """Word vectors from a word2vec text or binary file, a GloVe text file (.gz allowed), or a
    word-vectors model directory (what `hybrid embed train` writes to OUT/model)."""
    path = Path(path)
    if path.is_dir():
        from hybrid.embeddings.directory import load_vectors_directory

        return load_vectors_directory(path)
    if not path.is_file():
        raise DataFormatError("no such file" if not path.exists() else "expected a vectors file", path)
    with open_maybe_gzip(path) as handle:
        first = handle.readline()
        fields = first.split()
        if len(fields) == 2 and all(f.isdigit() for f in fields):
            count, dim = int(fields[0]), int(fields[1])
            if dim == 0:
                raise DataFormatError("the header declares 0 dimensions", path, 1)
            binary = looks_binary(handle, dim)
            if binary:
                return _read_binary(handle, path, count, dim)
            vectors = _read_text(handle, path, dim, 2)
            if len(vectors) != count:
                raise DataFormatError(f"the header declares {count} vectors, the file holds {len(vectors)}", path)
            return vectors
        return _read_text(handle, path, None, 1, first)


def looks_binary(handle: BinaryIO, dim: int) -> bool:
    """Whether the body after the header is binary: its first record, up to a newline, is not a
    word and numbers (float32 bytes almost never read as UTF-8 numerals; a text row with the
    wrong count of numbers stays text, so its error names the line)."""
    head = handle.peek(4 * dim + 64)[: 4 * dim + 64]  # type: ignore[attr-defined]
    if not head.strip():
        return False  # nothing after the header: the text reader says the file is empty
    complete = b"\n" in head
    line = head.split(b"\n", 1)[0]
    try:
        values = [v for v in line.decode("utf-8", errors="strict" if complete else "ignore").rstrip("\r").split(" ")[1:]
                  if v]
        if not complete:
            values = values[:-1]  # the window may end inside a number: judge the whole ones
        [float(v) for v in values]
    except (UnicodeDecodeError, ValueError):
        return True
    return not values


def _read_text(handle: BinaryIO, path: Path, dim: int | None, first_number: int,
               first: bytes | None = None) -> WordVectors:
    words: list[str] = []
    rows: list[np.ndarray] = []
    lines = [first] if first is not None else []
    number = first_number - 1
    for raw in itertools.chain(lines, handle):
        number += 1
        try:
            line = raw.decode("utf-8").rstrip("\r\n").rstrip(" ")
        except UnicodeDecodeError:
            raise DataFormatError("not UTF-8 text", path, number) from None
        if not line.strip():
            continue
        fields = line.split(" ")
        if dim is None:
            dim = len(fields) - 1
            if dim < 1:
                raise DataFormatError("expected a word followed by its vector values", path, number)
        if len(fields) - 1 != dim:
            raise DataFormatError(f"expected {dim} values, got {len(fields) - 1}", path, number)
        try:
            rows.append(np.asarray(fields[1:], dtype=np.float32))
        except ValueError:
            raise DataFormatError("expected numeric vector values", path, number) from None
        words.append(fields[0])
    if not words or dim is None:
        raise DataFormatError("empty file: expected word vectors", path)
    return WordVectors(words, np.stack(rows))


def _read_binary(handle: BinaryIO, path: Path, count: int, dim: int) -> WordVectors:
    words: list[str] = []
    vectors = np.empty((count, dim), dtype=np.float32)
    size = 4 * dim
    for i in range(count):
        word = bytearray()
        while True:
            byte = handle.read(1)
            if not byte:
                raise DataFormatError(f"the file ends after {i} of the {count} vectors its header declares", path)
            if byte == b" ":
                break
            if byte != b"\n" or word:  # a newline may end the previous record
                word += byte
        data = handle.read(size)
        if len(data) != size:
            raise DataFormatError(f"vector {i + 1} of {count} is cut short", path)
        vectors[i] = np.frombuffer(data, dtype="<f4")
        try:
            words.append(word.decode("utf-8"))
        except UnicodeDecodeError:
            raise DataFormatError(f"word {i + 1} is not UTF-8", path) from None
    return WordVectors(words, vectors)


def write_vectors(vectors: WordVectors, path: str | Path, binary: bool = False) -> Path:
    """Write word2vec text (or binary) atomically: a temporary file beside `path`, renamed."""
    path = Path(path)
    check_words(vectors.words)
    fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(f"{len(vectors)} {vectors.dim}\n".encode())
            for word, row in zip(vectors.words, vectors.vectors, strict=True):
                if binary:
                    out.write(word.encode("utf-8") + b" " + np.asarray(row, dtype="<f4").tobytes() + b"\n")
                else:
                    out.write((word + " " + " ".join(f"{x:.9g}" for x in row) + "\n").encode("utf-8"))
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def check_words(words: Sequence[str]) -> None:
    """word2vec formats separate fields by spaces: a word with whitespace cannot be written."""
    bad = [w for w in words if not w or any(c.isspace() for c in w)]
    if bad:
        raise ValueError(f"words must be non-empty and without whitespace, got {bad[:3]!r}")
