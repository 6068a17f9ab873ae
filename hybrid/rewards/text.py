"""Sentence-level BLEU, chrF and negated TER through sacreBLEU (tokens joined by spaces)."""

from __future__ import annotations

from hybrid.rewards.base import Reward, Tokens


class _Sacre(Reward):
    scale = 1.0

    def __init__(self, metric):
        self.metric = metric
        metric.sentence_score("a", ["a"])  # sacreBLEU builds the signature after a first score

    @property
    def signature(self) -> str:
        return f"{self.name}: {self.metric.get_signature()}"

    def score(self, hypothesis: Tokens, reference: Tokens, source: Tokens) -> float:
        return self.scale * self.metric.sentence_score(" ".join(hypothesis), [" ".join(reference)]).score


class SentenceBLEU(_Sacre):
    """sacreBLEU sentence BLEU (0..100) with effective order, the usual choice for short sentences."""

    name = "bleu"

    def __init__(self, **options):
        from sacrebleu.metrics import BLEU

        super().__init__(BLEU(effective_order=True, **options))


class SentenceChrF(_Sacre):
    """sacreBLEU chrF (0..100)."""

    name = "chrf"

    def __init__(self, **options):
        from sacrebleu.metrics import CHRF

        super().__init__(CHRF(**options))


class SentenceTER(_Sacre):
    """Negated sacreBLEU TER (higher is better; 0 = no edits)."""

    name = "ter"
    scale = -1.0

    def __init__(self, **options):
        from sacrebleu.metrics import TER

        super().__init__(TER(**options))
