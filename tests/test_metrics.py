"""Span P/R/F1 as conlleval computes it, token accuracy, evaluate_tags and the text report.

The figures below are worked out by hand, chunk by chunk, following conlleval's rules.
"""

from __future__ import annotations

import pytest

from hybrid.metrics import evaluate_tags, format_report, span_scores, token_accuracy

GOLD = [
    ["B-NP", "I-NP", "O", "B-VP", "B-NP", "I-NP", "O"],  # NP(0-1) VP(3) NP(4-5)
    ["B-PP", "B-NP", "O", "B-NP"],  # PP(0) NP(1) NP(3)
]
PRED = [
    ["B-NP", "I-NP", "O", "B-VP", "B-NP", "O", "B-VP"],  # NP(0-1) ok, VP(3) ok, NP(4) wrong, VP(6) wrong
    # conlleval: I-NP after B-PP and I-NP after O both open an NP chunk, so all three are right.
    ["B-PP", "I-NP", "O", "I-NP"],
]
# gold chunks 6 (NP 4, VP 1, PP 1); predicted 7 (NP 4, VP 2, PP 1); correct 5 (NP 3, VP 1, PP 1)


def test_span_scores_match_conlleval_by_hand():
    s = span_scores(GOLD, PRED)
    assert s["precision"] == pytest.approx(100 * 5 / 7)
    assert s["recall"] == pytest.approx(100 * 5 / 6)
    assert s["f1"] == pytest.approx(100 * 2 * 5 / (7 + 6))
    assert list(s["per_type"]) == ["NP", "PP", "VP"]
    np_, pp, vp = (s["per_type"][k] for k in ("NP", "PP", "VP"))
    assert (np_["precision"], np_["recall"], np_["f1"], np_["support"]) == pytest.approx((75, 75, 75, 4))
    assert (pp["precision"], pp["recall"], pp["f1"], pp["support"]) == pytest.approx((100, 100, 100, 1))
    assert (vp["precision"], vp["recall"], vp["support"]) == pytest.approx((50, 100, 1))
    assert vp["f1"] == pytest.approx(100 * 2 / 3)


def test_perfect_and_empty_predictions():
    assert span_scores(GOLD, GOLD)["f1"] == pytest.approx(100.0)
    none = span_scores(GOLD, [["O"] * len(s) for s in GOLD])
    assert (none["precision"], none["recall"], none["f1"]) == (0.0, 0.0, 0.0)
    assert none["per_type"]["NP"]["support"] == 4


def test_bioes_chunks():
    gold = [["S-PER", "O", "B-LOC", "E-LOC"]]  # PER(0) LOC(2-3)
    pred = [["S-PER", "O", "S-LOC", "S-LOC"]]  # PER(0) LOC(2) LOC(3)
    s = span_scores(gold, pred)
    assert s["per_type"]["PER"]["f1"] == pytest.approx(100.0)
    assert s["per_type"]["LOC"]["precision"] == 0.0 and s["per_type"]["LOC"]["recall"] == 0.0
    assert s["precision"] == pytest.approx(100 / 3) and s["recall"] == pytest.approx(50.0)
    assert span_scores(gold, gold)["f1"] == pytest.approx(100.0)
    assert token_accuracy(gold, pred) == pytest.approx(2 / 4)


def test_token_accuracy():
    assert token_accuracy(GOLD, PRED) == pytest.approx(7 / 11)
    assert token_accuracy(GOLD, GOLD) == 1.0
    assert token_accuracy([], []) == 0.0


@pytest.mark.parametrize(
    ("pred", "message"),
    [
        ([GOLD[0]], "expected as many predicted sentences as gold ones, got 1 vs 2"),
        ([GOLD[0], GOLD[1][:3]], "sentence 1: expected 4 predicted tags, got 3"),
    ],
)
def test_misaligned_predictions_are_refused(pred, message):
    with pytest.raises(ValueError, match=message):
        token_accuracy(GOLD, pred)
    with pytest.raises(ValueError, match=message):
        span_scores(GOLD, pred)


def test_evaluate_tags_chunks_and_pos():
    chunks = evaluate_tags(GOLD, PRED)
    assert (chunks["sentences"], chunks["tokens"]) == (2, 11)
    assert chunks["accuracy"] == pytest.approx(100 * 7 / 11)
    assert chunks["f1"] == pytest.approx(100 * 10 / 13)
    pos = evaluate_tags([["DET", "NOUN", "VERB"]], [["DET", "VERB", "VERB"]])
    assert pos["accuracy"] == pytest.approx(200 / 3)
    assert "f1" not in pos and "per_type" not in pos


def test_evaluate_tags_takes_the_scheme_from_a_given_tag_set():
    gold, pred = [["O", "O"]], [["B-NP", "O"]]  # no gold chunk: the scheme is not visible in gold
    assert "f1" not in evaluate_tags(gold, pred)
    scored = evaluate_tags(gold, pred, tags=["B-NP", "I-NP", "O"])
    assert (scored["precision"], scored["recall"], scored["f1"]) == (0.0, 0.0, 0.0)
    assert scored["per_type"]["NP"]["support"] == 0
    assert "f1" not in evaluate_tags([["DET"]], [["DET"]], tags=["DET", "NOUN"])


def test_format_report_chunks():
    report = format_report(evaluate_tags(GOLD, PRED))
    lines = report.splitlines()
    assert lines[0] == "sentences 2  tokens 11  accuracy 63.64%"
    assert lines[1].split() == ["type", "precision", "recall", "f1", "support"]
    assert lines[2].split() == ["NP", "75.00", "75.00", "75.00", "4"]
    assert lines[3].split() == ["PP", "100.00", "100.00", "100.00", "1"]
    assert lines[4].split() == ["VP", "50.00", "100.00", "66.67", "1"]
    assert lines[5].split() == ["overall", "71.43", "83.33", "76.92"]
    assert len(lines) == 6


def test_format_report_pos_is_one_line():
    report = format_report(evaluate_tags([["DET", "NOUN"]], [["DET", "NOUN"]]))
    assert report == "sentences 1  tokens 2  accuracy 100.00%"
