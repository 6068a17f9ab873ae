"""The (input, label sequence) TSV reader: streaming, and errors naming file and line."""

from __future__ import annotations

import pytest

from hybrid.data.pairs import Pair, read_pairs, write_pairs
from hybrid.errors import DataFormatError


def test_reads_pairs_and_skips_blank_and_comments(tmp_path):
    p = tmp_path / "d.tsv"
    p.write_text("# header\nthree hundred and twelve\t3 1 2\n\nseven\t7\r\n", encoding="utf-8")
    got = list(read_pairs(p))
    assert [(x.inputs, x.labels, x.line) for x in got] == [
        (("three", "hundred", "and", "twelve"), ("3", "1", "2"), 2),
        (("seven",), ("7",), 4),
    ]
    assert got[0].source == str(p)


def test_streams_from_an_iterable():
    lines = iter(["a b\tx\n", "c\ty z\n"])
    reader = read_pairs(lines)
    assert next(reader).labels == ("x",)
    assert next(lines) == "c\ty z\n"  # the second line was not consumed yet


@pytest.mark.parametrize("text, line, match", [
    ("a\tb\nno tab here\n", 2, "found 1"),
    ("a\tb\tc\n", 1, "found 3"),
    ("ok\t1\n\t1\n", 2, "empty input"),
    ("ok\t1\nx y\t  \n", 2, "empty label"),
])
def test_errors_name_file_and_line(tmp_path, text, line, match):
    p = tmp_path / "bad.tsv"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(DataFormatError, match=match) as err:
        list(read_pairs(p))
    assert err.value.line == line
    assert str(err.value).startswith(f"{p}:{line}:")


def test_round_trip(tmp_path):
    pairs = [Pair(("one", "two"), ("1", "2")), (("x",), ("9",))]
    write_pairs(pairs, tmp_path / "o.tsv")
    got = [(p.inputs, p.labels) for p in read_pairs(tmp_path / "o.tsv")]
    assert got == [(("one", "two"), ("1", "2")), (("x",), ("9",))]


def test_missing_file(tmp_path):
    with pytest.raises(DataFormatError, match="no such file"):
        list(read_pairs(tmp_path / "nope.tsv"))
