"""Policies for the sequence-level trainers: a model behind one small protocol.

    sample(inputs, n, temperature, generator, max_length) -> Rollout (n per input, consecutive)
    greedy(inputs, max_length) -> output token lists
    score(rollout) -> (log p(y|x), entropy), differentiable
    references(inputs), sources(inputs) -> token lists for the reward
    mle_loss(inputs), evaluate(inputs, beam, max_length), save(directory, training)

Sampling and scoring run without dropout (eval mode), so the gradient is that of the very
distribution the samples came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from hybrid.config import Seq2SeqConfig
from hybrid.data.pairs import Pair
from hybrid.decoding import greedy, sample
from hybrid.models.seq2seq import Seq2Seq, repeat_sources, score_sequences
from hybrid.models.seq2seq_io import save_seq2seq


@dataclass
class Rollout:
    """Sampled outputs: token lists, and the tensors needed to score them again."""

    outputs: list[list[str]]
    tokens: Tensor  # (N, L)
    mask: Tensor  # (N, L)
    src: Tensor  # (N, S)
    src_mask: Tensor  # (N, S)


class Seq2SeqPolicy:
    """A seq2seq model as a policy over target sentences; inputs are Pairs (source, reference)."""

    def __init__(self, model: Seq2Seq):
        self.model = model
        self.vocabs = model.vocabs
        self.special = {"bos": self.vocabs.bos, "eos": self.vocabs.eos, "pad": self.vocabs.target.pad_index}

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def _encode(self, inputs: list[Pair], with_targets: bool = False):
        return self.vocabs.encode(inputs, with_targets=with_targets).to(self.device)

    def _outputs(self, tokens: Tensor) -> list[list[str]]:
        return [self.vocabs.decode(row) for row in tokens.tolist()]

    def sample(self, inputs: list[Pair], n: int, temperature: float = 1.0, generator: torch.Generator | None = None,
               max_length: int = 100) -> Rollout:
        self.model.eval()
        batch = self._encode(inputs)
        src, src_mask = repeat_sources(batch.src, batch.src_mask, n)
        with torch.no_grad():
            memory = self.model.encode(src, src_mask)
            out = sample(self.model, memory, max_length=max_length, temperature=temperature, generator=generator,
                         **self.special)
        return Rollout(self._outputs(out.tokens), out.tokens, out.mask, src, src_mask)

    def greedy(self, inputs: list[Pair], max_length: int = 100) -> list[list[str]]:
        self.model.eval()
        batch = self._encode(inputs)
        with torch.no_grad():
            out = greedy(self.model, self.model.encode(batch.src, batch.src_mask), max_length=max_length, **self.special)
        return self._outputs(out.tokens)

    def score(self, rollout: Rollout) -> tuple[Tensor, Tensor]:
        self.model.eval()
        return score_sequences(self.model, rollout.src, rollout.src_mask, rollout.tokens, rollout.mask,
                               self.vocabs.bos)

    def references(self, inputs: list[Pair]) -> list[list[str]]:
        return [list(p.labels) for p in inputs]

    def sources(self, inputs: list[Pair]) -> list[list[str]]:
        return [list(p.inputs) for p in inputs]

    def mle_loss(self, inputs: list[Pair]) -> Tensor:
        self.model.eval()
        return self.model.loss(self._encode(inputs, with_targets=True))

    def evaluate(self, inputs: list[Pair], beam: int = 1, max_length: int = 100) -> dict[str, Any]:
        from hybrid.train.seq2seq import bleu_of

        scores = bleu_of(self.model, inputs, beam=beam, max_length=max_length)
        return {"metric": "bleu", "score": scores["bleu"], "chrf": scores["chrf"]}

    def save(self, directory: str | Path, training: dict[str, Any]) -> None:
        save_seq2seq(self.model, directory, Seq2SeqConfig(model=self.model.config), training)
