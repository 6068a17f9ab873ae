"""CoNLL, CoNLL-U and plain-text readers: columns, sentence splitting, and errors with file:line."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from hybrid.data.readers import read_conll, read_conllu, read_sentences, read_text
from hybrid.errors import ConfigError, DataFormatError

CONLL = "Confidence NN B-NP\nin IN B-PP\n\nthe DT B-NP\npound NN I-NP\n"

CONLLU = (
    "# sent_id = a\n"
    "# text = I don't know\n"
    "1\tI\tI\tPRON\tPRP\t_\t3\tnsubj\t_\t_\n"
    "2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "2\tdo\tdo\tAUX\tVBP\t_\t4\taux\t_\t_\n"
    "3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t_\t_\n"
    "4\tknow\tknow\tVERB\tVB\t_\t0\troot\t_\t_\n"
    "4.1\tknow\tknow\tVERB\tVB\t_\t_\t_\t0:root\t_\n"
    "\n"
    "# sent_id = b\n"
    "1\tHi\thi\tINTJ\tUH\t_\t0\troot\t_\t_\n"
    "\n"
)


def write(tmp_path: Path, text: str, name: str = "f.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def error(reader, *args, **kwargs) -> DataFormatError:
    with pytest.raises(DataFormatError) as info:
        list(reader(*args, **kwargs))
    return info.value


# --- CoNLL -------------------------------------------------------------------------------


def test_conll_columns_and_sentences(tmp_path):
    path = write(tmp_path, CONLL)
    first, second = read_conll(path, 0, -1, feature_columns=(1,))
    assert first.words == ["Confidence", "in"]
    assert first.tags == ["B-NP", "B-PP"]
    assert first.features == [["NN", "IN"]]
    assert first.raw_lines == ["Confidence NN B-NP", "in IN B-PP"]
    assert first.token_rows == [0, 1]
    assert (first.source, first.first_line) == (str(path), 1)
    assert second.words == ["the", "pound"] and second.first_line == 4  # no trailing blank line


def test_conll_negative_and_named_digit_columns(tmp_path):
    path = write(tmp_path, "a\tDT\tB\n")
    (s,) = read_sentences(path, "conll", "0", "-2")
    assert s.tags == ["DT"]


def test_conll_tabs_spaces_crlf_and_blank_runs(tmp_path):
    path = write(tmp_path, "\r\n\r\nA  x\tB\r\n   \r\n\r\nC x D\r\n")
    sentences = list(read_conll(path))
    assert [s.words for s in sentences] == [["A"], ["C"]]
    assert [s.tags for s in sentences] == [["B"], ["D"]]
    assert sentences[0].raw_lines == ["A  x\tB"]  # raw line kept, without '\r'
    assert sentences[1].first_line == 6


def test_conll_docstart_skipped(tmp_path):
    text = "-DOCSTART- -X- O\n\nEU NNP B-ORG\n\n-DOCSTART- -X- O\n\nGerman JJ B-MISC\n"
    sentences = list(read_conll(write(tmp_path, text)))
    assert [s.words for s in sentences] == [["EU"], ["German"]]
    assert all("-DOCSTART-" not in line for s in sentences for line in s.raw_lines)


def test_conll_without_tags(tmp_path):
    path = write(tmp_path, "a b c\n")
    (s,) = read_conll(path, tag_column=None)
    assert s.tags is None
    (s,) = read_conll(write(tmp_path, "one\ntwo\n", "words.txt"), require_tags=False)
    assert s.tags is None and s.words == ["one", "two"]


def test_conll_column_count_mismatch(tmp_path):
    path = write(tmp_path, "a b c\nd e f\n\ng h\n")
    exc = error(read_conll, path)
    assert (exc.path, exc.line) == (str(path), 4)
    assert "expected 3 columns as on line 1, got 2" in str(exc)
    assert str(exc).startswith(f"{path}:4: ")


def test_conll_column_out_of_range(tmp_path):
    path = write(tmp_path, "\na b\n")
    exc = error(read_conll, path, feature_columns=(5,))
    assert exc.line == 2 and "feature column 5 is out of range" in str(exc)
    exc = error(read_conll, path, word_column=-3)
    assert "word column -3 is out of range" in str(exc) and f"{path}:2:" in str(exc)


def test_conll_missing_tag_column(tmp_path):
    path = write(tmp_path, "only\nwords\n")
    exc = error(read_conll, path)
    assert exc.line == 1 and "missing tag column" in str(exc) and "got 1 column" in str(exc)
    exc = error(read_conll, write(tmp_path, "a b\n", "g.txt"), tag_column=2)
    assert "missing tag column" in str(exc)


@pytest.mark.parametrize(
    "data, line",
    [(b"# B\n\xff\xfe c D\n", 2), (b"# B\nb C\x00\n", 2), (b"\x89PNG\r\n\x1a\n", 1)],
)
def test_binary_or_non_utf8(tmp_path, data, line):
    path = write(tmp_path, data)
    for reader in (read_conll, read_conllu, read_text):
        exc = error(reader, path)
        assert "binary or non-UTF-8 data" in str(exc) and (exc.path, exc.line) == (str(path), line)


@pytest.mark.parametrize("text", ["", "\n\n  \n", "-DOCSTART- -X- O\n\n"])
def test_conll_empty_file(tmp_path, text):
    path = write(tmp_path, text)
    exc = error(read_conll, path)
    assert str(exc) == f"{path}: empty file: expected at least one sentence"


def test_missing_file(tmp_path):
    exc = error(read_conll, tmp_path / "nope.txt")
    assert "no such file" in str(exc) and exc.path == str(tmp_path / "nope.txt")


def test_utf8_bom_is_not_part_of_the_first_word(tmp_path):
    (s,) = read_conll(write(tmp_path, "\ufeffA B\n"))
    assert s.words == ["A"]


# --- streaming ------------------------------------------------------------------------------


def test_reader_is_lazy_and_yields_before_a_later_error(tmp_path):
    path = write(tmp_path, "a B\nb C\n\nc D E\n")
    sentences = read_conll(path)
    assert next(sentences).words == ["a", "b"]
    with pytest.raises(DataFormatError, match=re.escape(f"{path}:4: expected 2 columns")):
        next(sentences)


def test_reader_pulls_lines_only_as_needed():
    pulled = []

    def lines():
        for i, line in enumerate(["a B", "", "b C", "", "c D"]):
            pulled.append(i)
            yield line
        raise AssertionError("read past the sentence asked for")

    sentences = read_conll(lines())
    assert next(sentences).words == ["a"]
    assert pulled == [0, 1]  # the blank line ends the sentence; nothing more was read
    assert next(sentences).words == ["b"] and pulled == [0, 1, 2, 3]


def test_reader_accepts_text_and_binary_file_objects():
    (s,) = read_conll(io.StringIO("a B\n"))
    assert s.words == ["a"] and s.source == "<input>"
    first, second = read_conllu(io.BytesIO(CONLLU.encode()))
    assert first.words[1] == "do" and second.words == ["Hi"]


def test_dash_reads_stdin(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"The cat\n\nsat\n")))
    sentences = list(read_text("-"))
    assert [s.words for s in sentences] == [["The", "cat"], ["sat"]]
    assert sentences[0].source == "<stdin>" and sentences[1].first_line == 3


# --- CoNLL-U -------------------------------------------------------------------------------


def test_conllu_words_are_syntactic_words(tmp_path):
    first, second = read_conllu(write(tmp_path, CONLLU, "a.conllu"), feature_fields=("xpos", 2))
    assert first.words == ["I", "do", "n't", "know"]
    assert first.tags == ["PRON", "AUX", "PART", "VERB"]
    assert first.features == [["PRP", "VBP", "RB", "VB"], ["I", "do", "not", "know"]]
    assert len(first.raw_lines) == 8  # 2 comments, 4 words, 1 range, 1 empty node
    assert first.token_rows == [2, 4, 5, 6]
    assert first.first_line == 1 and second.first_line == 10
    assert second.raw_lines[0] == "# sent_id = b"


def test_conllu_fields_by_index_and_other_tag_fields(tmp_path):
    path = write(tmp_path, CONLLU)
    first, _ = read_conllu(path, word_field=2, tag_field="XPOS")
    assert first.words == ["I", "do", "not", "know"] and first.tags[0] == "PRP"
    with pytest.raises(ConfigError, match="unknown CoNLL-U field 'pos'"):
        read_conllu(path, tag_field="pos")  # raised at call time, before reading


def test_conllu_underscore_tags(tmp_path):
    text = "1\tHi\t_\t_\t_\t_\t_\t_\t_\t_\n"
    path = write(tmp_path, text)
    exc = error(read_conllu, path)
    assert exc.line == 1 and "missing tag: expected a upos tag, got '_'" in str(exc)
    (s,) = read_conllu(path, require_tags=False)
    assert s.tags is None and s.words == ["Hi"]


@pytest.mark.parametrize(
    "bad, message",
    [
        ("3 know know VERB VB _ 0 root _ _", "expected 10 TAB-separated fields, got 1 (fields separated by spaces?"),
        ("3\tknow\tknow\tVERB", "expected 10 TAB-separated fields, got 4"),
        ("x\tknow\tknow\tVERB\tVB\t_\t0\troot\t_\t_",
         "expected an integer word ID, a range (3-4) or an empty node (8.1), got 'x'"),
        ("3-x\tknow\tknow\tVERB\tVB\t_\t0\troot\t_\t_", "got '3-x'"),
        ("5\tknow\tknow\tVERB\tVB\t_\t0\troot\t_\t_", "expected word ID 3, got 5"),
        ("1\tknow\tknow\tVERB\tVB\t_\t0\troot\t_\t_", "expected word ID 3, got 1 (missing blank line"),
        ("3\t\tknow\tVERB\tVB\t_\t0\troot\t_\t_", "field form is empty"),
    ],
)
def test_conllu_errors_name_file_and_line(tmp_path, bad, message):
    text = "# c\n1\tA\ta\tDET\tDT\t_\t2\tdet\t_\t_\n2\tb\tb\tNOUN\tNN\t_\t0\troot\t_\t_\n" + bad + "\n\n"
    path = write(tmp_path, text, "bad.conllu")
    exc = error(read_conllu, path)
    assert str(exc).startswith(f"{path}:4: ") and message in str(exc)


def test_conllu_comment_without_words(tmp_path):
    path = write(tmp_path, "1\tA\ta\tX\t_\t_\t0\troot\t_\t_\n\n# orphan comment\n\n")
    first = read_conllu(path)
    assert next(first).words == ["A"]
    with pytest.raises(DataFormatError, match=re.escape(f"{path}:4: expected word lines after the comments")):
        next(first)


def test_conllu_empty_file(tmp_path):
    exc = error(read_conllu, write(tmp_path, "\n"))
    assert "empty file: expected at least one sentence" in str(exc)


# --- plain text and dispatch ------------------------------------------------------------------


def test_read_text(tmp_path):
    path = write(tmp_path, "The cat sat .\n\n  Dogs  bark\n")
    first, second = read_text(path)
    assert first.words == ["The", "cat", "sat", "."] and first.tags is None
    assert first.raw_lines == [] and first.token_rows == []
    assert (second.words, second.first_line) == (["Dogs", "bark"], 3)
    assert "empty file" in str(error(read_text, write(tmp_path, "\n \n", "e.txt")))


def test_read_sentences_dispatch(tmp_path):
    conllu = write(tmp_path, CONLLU, "a.conllu")
    first, _ = read_sentences(conllu, "conllu")  # DataConfig defaults 0/-1 mean form/upos
    assert first.words[0] == "I" and first.tags[0] == "PRON"
    first, _ = read_sentences(conllu, "conllu", "lemma", "4", ["feats"])
    assert first.words[2] == "not" and first.tags[0] == "PRP" and first.features == [["_"] * 4]
    (s,) = read_sentences(write(tmp_path, "a b\n"), "text", tag_column=None)
    assert s.words == ["a", "b"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"format": "json"}, "unknown format 'json'"),
        ({"format": "conll", "tag_column": "upos"}, "field names such as 'upos' need format 'conllu'"),
        ({"format": "conllu", "tag_column": "tagg"}, "unknown CoNLL-U field 'tagg'"),
        ({"format": "conllu", "word_column": 12}, "CoNLL-U has fields 0..9, got 12"),
        ({"format": "text"}, "format 'text' has no tag column"),
        ({"format": "text", "tag_column": None, "feature_columns": [1]}, "has only words"),
    ],
)
def test_read_sentences_config_errors_are_immediate(tmp_path, kwargs, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        read_sentences(tmp_path / "not-read.txt", **kwargs)
