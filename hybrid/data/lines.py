"""Numbered, decoded lines from a path, '-' (stdin), an open file or any iterable of strings.

Every reader goes through `numbered_lines`, so they all stream (one line in memory at a
time), number lines the same way (1-based), and reject binary or non-UTF-8 input with the
exact file and line. Files are read as bytes and decoded line by line: a text-mode file
decodes in blocks, and its UnicodeDecodeError would point to the wrong line.
"""

from __future__ import annotations

import gzip
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, BinaryIO, TypeVar

from hybrid.errors import DataFormatError

# A path, '-' for standard input, an open text or binary file, or any iterable of lines.
Source = str | os.PathLike[str] | IO[str] | IO[bytes] | Iterable[str]

_BOM = "\ufeff"
_GZIP_MAGIC = b"\x1f\x8b"


def open_maybe_gzip(path: str | Path) -> BinaryIO:
    """`path` opened for reading bytes, through gzip when its first bytes say it is gzipped
    (whatever its name); both readers can `peek`."""
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == _GZIP_MAGIC
    return gzip.open(path, "rb") if gzipped else open(path, "rb")  # type: ignore[return-value]


def source_name(src: Source) -> str:
    """The name used in error messages and Sentence.source: a path, '<stdin>' or '<input>'."""
    if isinstance(src, (str, os.PathLike)):
        return "<stdin>" if str(src) == "-" else os.fspath(src)
    name = getattr(src, "name", None)
    return name if isinstance(name, str) else "<input>"


def _decode(raw: bytes | str, name: str, number: int) -> str:
    """One line without its line ending; DataFormatError for NUL bytes or invalid UTF-8."""
    if isinstance(raw, bytes):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataFormatError(
                f"binary or non-UTF-8 data: byte 0x{raw[exc.start]:02x} at column {exc.start + 1} "
                "is not valid UTF-8 (expected UTF-8 text)", name, number,
            ) from None
    else:
        line = raw
    if "\x00" in line:
        raise DataFormatError(
            "binary or non-UTF-8 data: NUL byte (expected UTF-8 text)", name, number
        )
    if number == 1 and line.startswith(_BOM):
        line = line[1:]
    return line.rstrip("\r\n")


def _raw_lines(handle: Iterable[bytes] | Iterable[str], name: str) -> Iterator[bytes | str]:
    """Iterate `handle`, turning a decoding error of a text stream into a DataFormatError."""
    iterator: Iterator[bytes | str] = iter(handle)
    while True:
        try:
            raw = next(iterator)
        except StopIteration:
            return
        except UnicodeDecodeError as exc:
            # A text stream decodes in blocks: the line is not known, only the file.
            raise DataFormatError(f"binary or non-UTF-8 data ({exc.reason})", name) from None
        yield raw


def numbered_lines(src: Source, name: str | None = None) -> Iterator[tuple[int, str]]:
    """(1-based line number, line without line ending) for each line of `src`, lazily.

    Windows line endings and a UTF-8 byte-order mark are tolerated. A path is opened on the
    first `next()` and closed when the iteration ends or the generator is discarded.
    """
    name = source_name(src) if name is None else name
    if isinstance(src, (str, os.PathLike)) and str(src) != "-":
        try:
            handle = open(src, "rb")  # noqa: SIM115 - closed by the with block below
        except FileNotFoundError:
            raise DataFormatError("no such file", name) from None
        except IsADirectoryError:
            raise DataFormatError("is a directory, expected a file", name) from None
        except PermissionError:
            raise DataFormatError("permission denied", name) from None
        with handle:
            for number, raw in enumerate(handle, start=1):
                yield number, _decode(raw, name, number)
        return
    if isinstance(src, (str, os.PathLike)):  # '-': standard input
        stream: Iterable[bytes] | Iterable[str] = getattr(sys.stdin, "buffer", sys.stdin)
    elif isinstance(src, (bytes, bytearray)):
        raise TypeError("expected a path, '-', a file object or an iterable of lines, got bytes")
    else:
        stream = src
    for number, line in enumerate(_raw_lines(stream, name), start=1):
        if number == 1 and not isinstance(line, (bytes, str)):
            raise TypeError(f"expected lines of text, got {type(line).__name__}")
        yield number, _decode(line, name, number)


T = TypeVar("T")


def nonempty(items: list[T], path: str | Path, what: str = "sentences") -> list[T]:
    """`items` read from `path`, or DataFormatError naming the file if there are none (training or
    scoring on nothing would end with a meaningless "best" model or score)."""
    if not items:
        raise DataFormatError(f"no {what} in the file", path)
    return items

