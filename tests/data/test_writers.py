"""Tagged output keeps the input verbatim plus one tag column; write_conll is atomic."""

from __future__ import annotations

import os

import pytest

from hybrid.data.readers import read_conll, read_conllu, read_text
from hybrid.data.sentence import Sentence
from hybrid.data.writers import format_tagged, write_conll

CONLLU = (
    "# newdoc id = d1\n"
    "# text = I don't know\n"
    "1-2\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "1\tdo\tdo\tAUX\tVBP\t_\t3\taux\t_\t_\n"
    "2\tn't\tnot\tPART\tRB\t_\t3\tadvmod\t_\t_\n"
    "3\tknow\tknow\tVERB\tVB\t_\t0\troot\t_\tSpaceAfter=No\n"
    "\n"
    "# text = write\n"
    "1\tI\tI\tPRON\tPRP\t_\t8\tnsubj\t_\t_\n"
    "2\t,\t,\tPUNCT\t,\t_\t1\tpunct\t_\t_\n"
    "3\ta\ta\tDET\tDT\t_\t8\tdet\t_\t_\n"
    "4\tb\tb\tX\tDT\t_\t8\tdet\t_\t_\n"
    "5\tc\tc\tX\tDT\t_\t8\tdet\t_\t_\n"
    "6\td\td\tX\tDT\t_\t8\tdet\t_\t_\n"
    "7\te\te\tX\tDT\t_\t8\tdet\t_\t_\n"
    "8\twrite\twrite\tVERB\tVB\t_\t0\troot\t_\t_\n"
    "8.1\twrite\twrite\tVERB\tVB\t_\t_\t_\t8:xcomp\tCopyOf=8\n"
    "\n"
)


def test_conllu_round_trip_appends_one_column_to_word_lines_only(tmp_path):
    path = tmp_path / "in.conllu"
    path.write_text(CONLLU, encoding="utf-8")
    sentences = list(read_conllu(path))
    predicted = [[f"P{i}" for i in range(len(s.words))] for s in sentences]
    out = "".join(format_tagged(s, p) for s, p in zip(sentences, predicted, strict=True))
    expected = []
    for line in CONLLU.split("\n"):
        first = line.split("\t")[0]
        if line and not line.startswith("#") and first.isdigit():
            line = f"{line}\tP{int(first) - 1}"
        expected.append(line)
    assert out == "\n".join(expected)
    assert "1-2\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n" in out  # multi-word token unchanged
    assert "\tCopyOf=8\n" in out  # empty node unchanged


def test_conll_round_trip(tmp_path):
    text = "-DOCSTART- -X- O\n\nEU  NNP\tB-ORG\nrejects VBZ O\n\nGerman JJ B-MISC\n"
    path = tmp_path / "in.txt"
    path.write_text(text, encoding="utf-8")
    out = "".join(format_tagged(s, s.tags) for s in read_conll(path))
    assert out == "EU  NNP\tB-ORG\tB-ORG\nrejects VBZ O\tO\n\nGerman JJ B-MISC\tB-MISC\n\n"
    again = list(read_conll(iter(out.splitlines())))
    assert [s.words for s in again] == [["EU", "rejects"], ["German"]]


def test_plain_text_output_and_extra_column(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("The cat\n", encoding="utf-8")
    (s,) = read_text(path)
    assert format_tagged(s, ["DT", "NN"]) == "The\tDT\ncat\tNN\n\n"
    assert format_tagged(s, ["DT", "NN"], ["0.9", "0.8"]) == "The\tDT\t0.9\ncat\tNN\t0.8\n\n"


def test_format_tagged_checks_lengths():
    s = Sentence(["a", "b"], source="x.txt", first_line=7)
    with pytest.raises(ValueError, match="x.txt:7: expected 2 predicted tags"):
        format_tagged(s, ["A"])
    with pytest.raises(ValueError, match="expected 2 extra values"):
        format_tagged(s, ["A", "B"], ["1"])


def test_write_conll(tmp_path):
    sentences = [Sentence(["a", "b"], ["X", "Y"], raw_lines=["a 1 X", "b 2 Y"], token_rows=[0, 1]),
                 Sentence(["c"])]
    target = tmp_path / "sub" / "out.txt"
    count = write_conll(iter(sentences), target, iter([["P", "Q"], ["R"]]))
    assert count == 2
    assert target.read_text(encoding="utf-8") == "a\tP\nb\tQ\n\nc\tR\n\n"
    assert os.listdir(target.parent) == ["out.txt"]  # no temporary file left


def test_write_conll_failure_keeps_old_file(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old\n", encoding="utf-8")
    with pytest.raises(ValueError, match="expected a tag list for every sentence"):
        write_conll([Sentence(["a"]), Sentence(["b"])], target, [["A"]])
    with pytest.raises(ValueError, match="expected 1 predicted tags"):
        write_conll([Sentence(["a"])], target, [["A", "B"]])
    with pytest.raises(ValueError, match="more tag lists"):
        write_conll([Sentence(["a"])], target, [["A"], ["B"]])
    assert target.read_text(encoding="utf-8") == "old\n"
    assert os.listdir(tmp_path) == ["out.txt"]
