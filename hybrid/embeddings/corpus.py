"""Raw text for word-vector training: several files (plain, .gz, .zip), whitespace tokens,
optional lowercasing; a vocabulary by count (min-count, max size); the corpus as one array of
word ids cut into pseudo-sentences of at most `max_sentence_length` words (text8 and wiki100m
are one huge line).

Two passes over the files: one counts, one encodes. The encoded corpus is int32 ids (4 bytes a
word) with the out-of-vocabulary words dropped, as word2vec drops them before windowing.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hybrid.data.lines import open_maybe_gzip
from hybrid.errors import DataFormatError

_CHUNK = 1 << 20  # characters read at a time: a 100 MB single-line file never sits in memory as one string
_LAST_SPACE = re.compile(r"\s+(?=\S*$)")  # the whitespace before the last token


def _text_streams(path: Path) -> Iterator[io.TextIOBase]:
    """UTF-8 text streams of `path`: the file, its gzip content, or each member of a zip."""
    if not path.is_file():
        raise DataFormatError("no such file" if not path.exists() else "expected a text file", path)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                if not name.endswith("/") and not name.startswith("__MACOSX/"):  # macOS resource forks
                    with archive.open(name) as member:
                        yield io.TextIOWrapper(member, encoding="utf-8")
        return
    with open_maybe_gzip(path) as handle:
        yield io.TextIOWrapper(handle, encoding="utf-8")


def iter_tokens(paths: Sequence[str | Path], lowercase: bool = False) -> Iterator[list[str]]:
    """Lists of whitespace tokens, one per line (a line longer than about a megabyte comes in
    pieces; a token is never split)."""
    for path in map(Path, paths):
        try:
            for stream in _text_streams(path):
                carry = ""
                while True:
                    block = stream.read(_CHUNK)
                    if not block:
                        break
                    text = carry + (block.lower() if lowercase else block)
                    lines = text.split("\n")
                    carry = lines.pop()
                    if len(carry) > _CHUNK:  # one huge line: carry over only its last, maybe partial, token
                        last = _LAST_SPACE.search(carry)
                        if last is not None:
                            lines.append(carry[: last.start()])
                            carry = carry[last.end() :]
                    for line in lines:
                        tokens = line.split()
                        if tokens:
                            yield tokens
                if carry.split():
                    yield carry.split()
        except UnicodeDecodeError as exc:
            raise DataFormatError(f"not UTF-8 text ({exc.reason})", path) from None
        except (OSError, EOFError, zipfile.BadZipFile) as exc:
            raise DataFormatError(f"cannot read: {exc}", path) from None


@dataclass
class WordCounts:
    """The vocabulary: words by descending count (ties by first appearance), their counts."""

    words: list[str]
    counts: list[int]

    def __post_init__(self) -> None:
        self.index = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)


def count_words(paths: Sequence[str | Path], min_count: int = 5, max_size: int | None = None,
                lowercase: bool = False) -> WordCounts:
    """Words seen at least `min_count` times, the `max_size` most frequent at most."""
    counter: Counter[str] = Counter()
    for tokens in iter_tokens(paths, lowercase):
        counter.update(tokens)
    kept = [(w, c) for w, c in counter.most_common() if c >= min_count]
    if max_size is not None:
        kept = kept[:max_size]
    if len(kept) < 2:
        raise DataFormatError(f"fewer than 2 words occur {min_count} times or more: nothing to learn from",
                              ", ".join(map(str, paths)))
    return WordCounts([w for w, _ in kept], [c for _, c in kept])


@dataclass
class EncodedCorpus:
    """ids (N,) int32 of the in-vocabulary words in order; starts (S + 1,) int64: sentence s is
    ids[starts[s]:starts[s + 1]]. raw_words counts every token read, the vocabulary's or not."""

    ids: np.ndarray
    starts: np.ndarray
    raw_words: int

    @property
    def sentences(self) -> int:
        return len(self.starts) - 1


def encode_corpus(paths: Sequence[str | Path], vocab: WordCounts, lowercase: bool = False,
                  max_sentence_length: int = 10000) -> EncodedCorpus:
    """The corpus as word ids, cut into pseudo-sentences of at most `max_sentence_length` words."""
    pieces: list[np.ndarray] = []
    starts, position, raw = [0], 0, 0
    index = vocab.index
    for tokens in iter_tokens(paths, lowercase):
        raw += len(tokens)
        ids = np.fromiter((index[t] for t in tokens if t in index), dtype=np.int32)
        for cut in range(0, len(ids), max_sentence_length):
            piece = ids[cut : cut + max_sentence_length]
            pieces.append(piece)
            position += len(piece)
            starts.append(position)
    ids = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int32)
    return EncodedCorpus(ids, np.asarray(starts, dtype=np.int64), raw)


def read_corpus(paths: Sequence[str | Path], min_count: int = 5, max_vocab: int | None = None,
                lowercase: bool = False, max_sentence_length: int = 10000) -> tuple[WordCounts, EncodedCorpus]:
    """Both passes: the vocabulary, then the corpus encoded with it."""
    vocab = count_words(paths, min_count, max_vocab, lowercase)
    return vocab, encode_corpus(paths, vocab, lowercase, max_sentence_length)
