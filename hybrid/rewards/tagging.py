"""Tagging rewards: sentence span F1 (seqeval, conlleval-compatible) and token accuracy, 0..100."""

from __future__ import annotations

from hybrid.rewards.base import Reward, Tokens


class SpanF1(Reward):
    """Span F1 of one sentence's tags; a sentence with no gold and no predicted spans scores 100."""

    name = "span-f1"

    def score(self, hypothesis: Tokens, reference: Tokens, source: Tokens) -> float:
        from seqeval.metrics.sequence_labeling import get_entities

        gold, pred = set(get_entities(list(reference))), set(get_entities(list(hypothesis)))
        if not gold and not pred:
            return 100.0
        correct = len(gold & pred)
        return 200.0 * correct / (len(gold) + len(pred))


class TokenAccuracy(Reward):
    """Share of tokens tagged as the reference, 0..100."""

    name = "accuracy"

    def score(self, hypothesis: Tokens, reference: Tokens, source: Tokens) -> float:
        if len(hypothesis) != len(reference):
            raise ValueError(f"{len(hypothesis)} predicted tags for {len(reference)} reference tags")
        if not reference:
            return 100.0
        return 100.0 * sum(h == r for h, r in zip(hypothesis, reference, strict=True)) / len(reference)
