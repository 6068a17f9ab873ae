"""Pretrained word vectors from word2vec (text or binary) or GloVe text files, optionally gzipped,
or a word-vectors model directory (`hybrid embed train`'s OUT/model).

The text formats are one word per line followed by its values, separated by spaces; word2vec
adds a first line "count dim". Text files are streamed and only vocabulary rows are kept, so a
multi-gigabyte file costs memory proportional to the vocabulary, not to the file. word2vec
binary files and model directories are read whole.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import torch
from torch import Tensor

from hybrid.data.lines import open_maybe_gzip
from hybrid.errors import DataFormatError


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text without line ending); gzip detected by its magic bytes."""
    try:
        with open_maybe_gzip(path) as handle:
            for number, data in enumerate(handle, 1):
                try:
                    yield number, data.decode("utf-8").rstrip("\r\n")
                except UnicodeDecodeError:
                    raise DataFormatError("not UTF-8 text", path, number) from None
    except FileNotFoundError:
        raise DataFormatError("no such file", path) from None
    except IsADirectoryError:
        raise DataFormatError("is a directory, expected a vectors file", path) from None
    except (EOFError, OSError, zlib.error) as exc:  # e.g. a truncated or corrupt gzip stream
        raise DataFormatError(f"cannot read vectors: {exc}", path) from None


def _is_header(fields: list[str]) -> bool:
    return len(fields) == 2 and all(f.isdigit() for f in fields)


def load_word_vectors(path: str | Path, vocab_tokens: Sequence[str], lowercase_fallback: bool = True,
                      seed: int = 0, padding_index: int | None = 0) -> tuple[Tensor, int]:
    """Vectors (V, D) float32 for `vocab_tokens`, and how many of the V rows came from the file.

    A vocabulary token takes the file's row for the same string; failing that (and when
    `lowercase_fallback`), the row for its lowercased form, so "Paris" can use "paris".
    When a word occurs twice in the file, its first row wins. Tokens found neither way get
    N(0, 0.1^2) rows from a generator seeded with `seed` (the same result every call); row
    `padding_index` (None: none) is zeros. D comes from the word2vec header or the first row.

    Values are parsed only for rows that are kept (parsing every row of a large file would
    dominate the load time), but every row must have D values.

    Raises DataFormatError (with path and line) for a row with the wrong number of values,
    non-numeric values in a kept row, a line with a word and no values, an empty file, or
    a file that cannot be read.
    """
    path = Path(path)
    if path.is_dir() or _is_binary_word2vec(path):  # a word-vectors model directory, or word2vec binary
        return _from_whole_file(path, vocab_tokens, lowercase_fallback, seed, padding_index)
    exact_index: dict[str, int] = {}
    lower_index: dict[str, list[int]] = {}
    for i, token in enumerate(vocab_tokens):
        exact_index.setdefault(token, i)
        if lowercase_fallback and token.lower() != token:
            lower_index.setdefault(token.lower(), []).append(i)
    rows: dict[int, Tensor] = {}
    exact_found: set[int] = set()
    dim, dim_line, vector_lines = None, 0, 0
    for number, line in _lines(path):
        fields = line.rstrip(" ").split(" ")
        if number == 1 and _is_header(fields):
            dim, dim_line = int(fields[1]), 1
            if dim == 0:
                raise DataFormatError("header declares 0 dimensions", path, number)
            continue
        if not line.strip():
            continue
        word, values = fields[0], fields[1:]
        vector_lines += 1
        if dim is None:
            if not values:
                raise DataFormatError("expected a word followed by its vector values", path, number)
            dim, dim_line = len(values), number
        elif len(values) != dim:
            raise DataFormatError(f"expected {dim} values as on line {dim_line}, got {len(values)}", path, number)
        exact = exact_index.get(word)
        targets = [exact] if exact is not None and exact not in exact_found else []
        # lowercase fallback: never overrides an exact match, nor an earlier fallback row
        targets += [i for i in lower_index.get(word, ()) if i not in exact_found and i not in rows]
        if not targets:
            continue
        vector = _parse(values, path, number)
        for i in targets:
            rows[i] = vector
        if exact in targets:
            exact_found.add(exact)
    if dim is None or vector_lines == 0:
        raise DataFormatError("empty file: expected word vectors", path)
    generator = torch.Generator().manual_seed(seed)
    vectors = torch.randn(len(vocab_tokens), dim, generator=generator) * 0.1  # (V, D)
    for i, vector in rows.items():
        vectors[i] = vector
    if padding_index is not None and 0 <= padding_index < len(vocab_tokens):
        vectors[padding_index] = 0.0
    return vectors, len(rows)


def vector_words(path: str | Path, limit: int) -> list[str]:
    """The first `limit` words of a vectors file or model directory (word2vec and hybrid list
    the most frequent first), read without parsing their values."""
    path = Path(path)
    if limit <= 0:
        return []
    if path.is_dir() or _is_binary_word2vec(path):
        from hybrid.embeddings.formats import read_vectors

        return list(read_vectors(path).words[:limit])
    words: list[str] = []
    for number, line in _lines(path):
        fields = line.rstrip(" ").split(" ")
        if (number == 1 and _is_header(fields)) or not line.strip():
            continue
        words.append(fields[0])
        if len(words) >= limit:
            break
    return words


def _is_binary_word2vec(path: Path) -> bool:
    """Whether `path` is a word2vec binary file (a "count dim" header, then not text)."""
    from hybrid.embeddings.formats import looks_binary

    try:
        with open_maybe_gzip(path) as handle:
            fields = handle.readline().split()
            return len(fields) == 2 and all(f.isdigit() for f in fields) and looks_binary(handle, int(fields[1]))
    except (OSError, EOFError, zlib.error, ValueError):
        return False  # the text reader reports what is wrong with the file


def _from_whole_file(path: Path, vocab_tokens: Sequence[str], lowercase_fallback: bool, seed: int,
                     padding_index: int | None) -> tuple[Tensor, int]:
    """load_word_vectors for vectors read whole (word2vec binary, a model directory): the same
    lookup rules as for text."""
    from hybrid.embeddings.formats import read_vectors

    vectors = read_vectors(path)
    generator = torch.Generator().manual_seed(seed)
    out = torch.randn(len(vocab_tokens), vectors.dim, generator=generator) * 0.1  # (V, D)
    found = 0
    for i, token in enumerate(vocab_tokens):
        row = vectors.index.get(token)
        if row is None and lowercase_fallback:
            row = vectors.index.get(token.lower())
        if row is not None:
            out[i] = torch.from_numpy(vectors.vectors[row])
            found += 1
    if padding_index is not None and 0 <= padding_index < len(vocab_tokens):
        out[padding_index] = 0.0
    return out, found


def _parse(values: list[str], path: Path, number: int) -> Tensor:
    try:
        return torch.tensor([float(v) for v in values])
    except ValueError:
        bad = next(v for v in values if not _is_float(v))
        raise DataFormatError(f"expected numeric vector values, got {bad!r}", path, number) from None


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
