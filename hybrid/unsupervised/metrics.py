"""Scores for induced (unlabelled) states against gold tags.

- many-to-one: each state is mapped to the gold tag it co-occurs with most often (several
  states may share a tag); accuracy of the mapped states.
- one-to-one: states and tags are matched one to one to maximise the tokens that agree
  (Hungarian algorithm, `scipy.optimize.linear_sum_assignment`); unmatched states count wrong.
- V-measure (`sklearn.metrics.v_measure_score`): mapping-free, 0..1.

A mapping can be learned on one corpus (say the training data's gold tags) and applied to
another; pass `mapping=` to `many_to_one` for that.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from typing import Any


def _flatten(
    states: Sequence[Sequence[Hashable]], tags: Sequence[Sequence[Hashable]]
) -> tuple[list[Hashable], list[Hashable]]:
    """All states and all tags, each in one list; ValueError where the lengths differ."""
    if len(states) != len(tags):
        raise ValueError(f"{len(states)} state sequences but {len(tags)} tag sequences")
    flat_s: list[Hashable] = []
    flat_t: list[Hashable] = []
    for i, (s, t) in enumerate(zip(states, tags, strict=True)):
        if len(s) != len(t):
            raise ValueError(f"sequence {i}: {len(s)} states but {len(t)} tags")
        flat_s.extend(s)
        flat_t.extend(t)
    return flat_s, flat_t


def many_to_one_mapping(states: Sequence[Sequence[Hashable]], tags: Sequence[Sequence[Hashable]]) -> dict:
    """state -> its most frequent gold tag (ties: the tag seen first in sorted order)."""
    counts: dict[Hashable, Counter] = {}
    for s, t in zip(*_flatten(states, tags), strict=True):
        counts.setdefault(s, Counter())[t] += 1
    return {s: min(c.items(), key=lambda kv: (-kv[1], str(kv[0])))[0] for s, c in counts.items()}


def many_to_one(
    states: Sequence[Sequence[Hashable]], tags: Sequence[Sequence[Hashable]], mapping: dict | None = None,
) -> tuple[float, dict]:
    """(accuracy, mapping). `mapping` defaults to the one learned on these very tokens;
    states missing from a given mapping count as wrong."""
    flat_s, flat_t = _flatten(states, tags)
    if mapping is None:
        mapping = many_to_one_mapping(states, tags)
    if not flat_s:
        return 0.0, mapping
    right = sum(1 for s, t in zip(flat_s, flat_t, strict=True) if s in mapping and mapping[s] == t)
    return right / len(flat_s), mapping


def one_to_one(states: Sequence[Sequence[Hashable]], tags: Sequence[Sequence[Hashable]]) -> tuple[float, dict]:
    """(accuracy, mapping) under the best one-to-one matching of states to tags."""
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    flat_s, flat_t = _flatten(states, tags)
    if not flat_s:
        return 0.0, {}
    state_ids = {s: i for i, s in enumerate(sorted(set(flat_s), key=str))}
    tag_ids = {t: i for i, t in enumerate(sorted(set(flat_t), key=str))}
    table = np.zeros((len(state_ids), len(tag_ids)), dtype=np.int64)  # (states, tags) co-occurrence
    np.add.at(table, ([state_ids[s] for s in flat_s], [tag_ids[t] for t in flat_t]), 1)
    rows, cols = linear_sum_assignment(table, maximize=True)
    states_of, tags_of = list(state_ids), list(tag_ids)
    mapping = {states_of[r]: tags_of[c] for r, c in zip(rows, cols, strict=True)}
    return int(table[rows, cols].sum()) / len(flat_s), mapping


def induction_scores(states: Sequence[Sequence[Hashable]], tags: Sequence[Sequence[Hashable]]) -> dict[str, Any]:
    """many-to-one, one-to-one and V-measure of `states` against `tags` (mappings learned here)."""
    from sklearn.metrics import v_measure_score

    m1, _ = many_to_one(states, tags)
    o1, _ = one_to_one(states, tags)
    flat_s, flat_t = _flatten(states, tags)
    return {
        "many_to_one": m1, "one_to_one": o1,
        "v_measure": float(v_measure_score([str(t) for t in flat_t], [str(s) for s in flat_s])) if flat_s else 0.0,
        "tokens": len(flat_s), "states_used": len(set(flat_s)), "gold_tags": len(set(flat_t)),
    }
