"""Labelled sentences: label<TAB>text lines, TSV with a header (SST-2's), errors with file and line."""

from __future__ import annotations

import pytest

from hybrid.data.labelled import read_labelled
from hybrid.errors import DataFormatError


def test_label_tab_text_lines(tmp_path):
    path = tmp_path / "d.txt"
    path.write_text("pos\ta good film\n\nneg\tbad\tand tabbed\n", encoding="utf-8")
    read = list(read_labelled(path))
    assert [(e.label, e.tokens, e.line) for e in read] == [("pos", ("a", "good", "film"), 1),
                                                           ("neg", ("bad", "and", "tabbed"), 3)]


def test_a_header_names_the_columns_as_in_sst2(tmp_path):
    path = tmp_path / "train.tsv"
    path.write_text("sentence\tlabel\nhide new secretions \t0\ncontains no wit \t0\nwarm \t1\n", encoding="utf-8")
    read = list(read_labelled(path))
    assert [(e.label, e.tokens) for e in read] == [("0", ("hide", "new", "secretions")),
                                                   ("0", ("contains", "no", "wit")), ("1", ("warm",))]


@pytest.mark.parametrize(("text", "line", "message"), [
    ("pos\tgood\nno tab here\n", 2, "expected 'label<TAB>text'"),
    ("pos\t   \n", 1, "expected some text"),
    ("\tgood film\n", 1, "empty label"),
    ("sentence\tlabel\ngood\n", 2, "expected 2 TAB-separated columns"),
])
def test_malformed_lines_name_the_file_and_line(tmp_path, text, line, message):
    path = tmp_path / "bad.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataFormatError, match=message) as error:
        list(read_labelled(path))
    assert (error.value.path, error.value.line) == (str(path), line)


def test_unlabelled_text_for_prediction(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("a good film\npos\tbad one\n", encoding="utf-8")
    read = list(read_labelled(path, require_labels=False))
    assert [(e.label, e.tokens) for e in read] == [(None, ("a", "good", "film")), ("pos", ("bad", "one"))]
