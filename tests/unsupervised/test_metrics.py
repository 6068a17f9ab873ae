"""Induction scores on hand-made examples; the mappings below are worked out by hand."""

from __future__ import annotations

import pytest

from hybrid.unsupervised.metrics import (
    induction_scores,
    many_to_one,
    many_to_one_mapping,
    one_to_one,
)


def test_many_to_one_and_one_to_one_differ_when_two_states_share_a_tag():
    # state 0 sees N, N, V -> N; state 1 sees N -> N. Many-to-one: 2 + 1 of 4 right.
    states, tags = [[0, 0, 0, 1]], [["N", "N", "V", "N"]]
    acc, mapping = many_to_one(states, tags)
    assert mapping == {0: "N", 1: "N"}
    assert acc == pytest.approx(3 / 4)
    # One-to-one: 0->N (2) + 1->V (0), or 0->V (1) + 1->N (1): 2 of 4 either way.
    acc, mapping = one_to_one(states, tags)
    assert acc == pytest.approx(2 / 4)
    assert len(set(mapping.values())) == len(mapping)


def test_hand_worked_example_over_two_sentences():
    states = [[0, 0, 1], [1, 2, 2]]
    tags = [["N", "N", "V"], ["N", "D", "D"]]
    # state 1 sees V and N once each: the tie goes to the tag first in sorted order, N.
    assert many_to_one_mapping(states, tags) == {0: "N", 1: "N", 2: "D"}
    assert many_to_one(states, tags)[0] == pytest.approx(5 / 6)
    acc, mapping = one_to_one(states, tags)
    assert mapping == {0: "N", 1: "V", 2: "D"}
    assert acc == pytest.approx(5 / 6)


def test_a_mapping_learned_elsewhere_is_applied_and_unknown_states_count_wrong():
    states, tags = [[0, 1, 2]], [["N", "V", "D"]]
    acc, mapping = many_to_one(states, tags, mapping={0: "N", 1: "N"})
    assert acc == pytest.approx(1 / 3)
    assert mapping == {0: "N", 1: "N"}


def test_perfect_relabelling_scores_one_everywhere():
    states, tags = [[3, 1, 1, 2]], [["D", "N", "N", "V"]]
    scores = induction_scores(states, tags)
    assert scores["many_to_one"] == scores["one_to_one"] == pytest.approx(1.0)
    assert scores["v_measure"] == pytest.approx(1.0)
    assert (scores["tokens"], scores["states_used"], scores["gold_tags"]) == (4, 3, 3)


def test_more_states_than_tags_in_one_to_one():
    states, tags = [[0, 1, 2, 2]], [["N", "N", "V", "V"]]
    acc, mapping = one_to_one(states, tags)  # 2->V (2) + 0 or 1 -> N (1)
    assert acc == pytest.approx(3 / 4)
    assert mapping[2] == "V" and len(mapping) == 2


def test_misaligned_inputs_are_rejected():
    with pytest.raises(ValueError, match="2 states but 1 tags"):
        many_to_one([[0, 1]], [["N"]])
    with pytest.raises(ValueError, match="1 state sequences but 2 tag sequences"):
        one_to_one([[0]], [["N"], ["V"]])
