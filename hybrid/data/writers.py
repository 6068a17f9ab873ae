"""Writers: tagged output that keeps every input line, and plain word/tag CoNLL files."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TextIO

from hybrid.data.sentence import Sentence


def _check_length(sentence: Sentence, values: Sequence[str], what: str) -> None:
    if len(values) != len(sentence.words):
        raise ValueError(
            f"{sentence.source}:{sentence.first_line}: expected {len(sentence.words)} {what} "
            f"(one per word), got {len(values)}"
        )


def format_tagged(
    sentence: Sentence, predicted: Sequence[str], extra: Sequence[str] | None = None
) -> str:
    """The sentence with the predicted tag as one more TAB-separated column, then a blank line.

    Sentences read from CoNLL or CoNLL-U keep every raw line as it was: comments, multi-word
    ranges and empty nodes pass through unchanged, and each word line gets its tag appended.
    Plain-text sentences become `word<TAB>tag` lines. `extra`, if given, holds one more
    string per word (a score, a k-best list, ...) written as a further column after the tag.
    """
    _check_length(sentence, predicted, "predicted tags")
    columns: Iterable[str] = predicted
    if extra is not None:
        _check_length(sentence, extra, "extra values")
        columns = [f"{tag}\t{more}" for tag, more in zip(predicted, extra, strict=True)]
    if not sentence.raw_lines:
        return "".join(f"{word}\t{tag}\n" for word, tag in zip(sentence.words, columns, strict=True)) + "\n"
    lines = list(sentence.raw_lines)
    for row, tag in zip(sentence.token_rows, columns, strict=True):
        lines[row] = f"{lines[row]}\t{tag}"
    return "\n".join(lines) + "\n\n"


@contextlib.contextmanager
def atomic_text_output(path: str | Path) -> Iterator[TextIO]:
    """A text handle for `path` ('-': standard output) whose content replaces the file only when
    the block ends without an error: an error or a kill midway leaves the old file as it was
    (a temporary file beside it is written, then renamed over it)."""
    if str(path) == "-":
        yield sys.stdout
        return
    path = Path(path)
    mode = path.stat().st_mode & 0o777 if path.is_file() else 0o644  # mkstemp gives 0o600
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=f".{path.name}.",
                                   suffix=".tmp")
    except OSError as exc:  # name the output, not the temporary file it would have been written through
        raise OSError(exc.errno, f"cannot write here ({exc.strerror})", str(path)) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_conll(
    sentences: Iterable[Sentence], path: str | Path, tag_lists: Iterable[Sequence[str]]
) -> int:
    """Write `word<TAB>tag` lines with a blank line after each sentence; returns the count.

    The file is written to a temporary file beside `path` and renamed over it at the end,
    so a crash or an error midway leaves the old file (or none), never half a file.
    Streams: neither input is held in memory. `path` '-' writes to standard output.
    """
    if str(path) != "-":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_text_output(path) as handle:
        return _write_stream(sentences, tag_lists, handle)


def _write_stream(
    sentences: Iterable[Sentence], tag_lists: Iterable[Sequence[str]], handle: TextIO
) -> int:
    count = 0
    sentences, tag_lists = iter(sentences), iter(tag_lists)
    for sentence in sentences:
        tags = next(tag_lists, None)
        if tags is None:
            raise ValueError(f"expected a tag list for every sentence, got only {count}")
        handle.write(format_tagged(Sentence(sentence.words, source=sentence.source,
                                            first_line=sentence.first_line), tags))
        count += 1
    if next(tag_lists, None) is not None:
        raise ValueError(f"got more tag lists than the {count} sentences")
    return count
