"""Rewards for control runs of the sequence-level trainers.

`zero` gives every output the same reward, so with a mean baseline the policy-gradient term
vanishes and `hybrid gan-train --task-reward benchmarks.controls:zero --task-weight 1` trains
by its MLE interleaving alone, with everything else (schedule, sampling, D) unchanged: what
the adversarial run adds beyond continued MLE training is the difference.
"""

from __future__ import annotations


def zero(hypotheses, references, sources):
    return [0.0] * len(hypotheses)
