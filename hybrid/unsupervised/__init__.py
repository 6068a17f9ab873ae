"""Unsupervised estimation: part-of-speech induction with Baum-Welch (hmmlearn)."""

from hybrid.unsupervised.induction import InducedHMM, InductionConfig, WordCoder, induce
from hybrid.unsupervised.metrics import induction_scores, many_to_one, one_to_one

__all__ = [
    "InducedHMM", "InductionConfig", "WordCoder", "induce", "induction_scores", "many_to_one", "one_to_one",
]
