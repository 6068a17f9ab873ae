"""Policies for the sequence-level trainers: a model behind one small protocol.

    sample(inputs, n, temperature, generator, max_length) -> Rollout (n per input, consecutive)
    greedy(inputs, max_length) -> output token lists
    score(rollout) -> (log p(y|x), entropy), differentiable
    references(inputs), sources(inputs) -> token lists for the reward
    mle_loss(inputs), evaluate(inputs, beam, max_length), save(directory, training)

`Seq2SeqPolicy` wraps a generator, `TaggerPolicy` a tagger. Sampling and scoring run without dropout (eval mode), so the gradient is that of the very
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
from hybrid.errors import ConfigError
from hybrid.models.seq2seq import Seq2Seq, repeat_sources, score_sequences
from hybrid.models.seq2seq_io import save_seq2seq


@dataclass
class Rollout:
    """Sampled outputs (token lists, n per input, consecutive) and what the policy that drew
    them needs to score them again (its own tensors)."""

    outputs: list[list[str]]
    state: Any


@dataclass
class _Generated:
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
        return Rollout(self._outputs(out.tokens), _Generated(out.tokens, out.mask, src, src_mask))

    def greedy(self, inputs: list[Pair], max_length: int = 100) -> list[list[str]]:
        self.model.eval()
        batch = self._encode(inputs)
        with torch.no_grad():
            out = greedy(self.model, self.model.encode(batch.src, batch.src_mask), max_length=max_length, **self.special)
        return self._outputs(out.tokens)

    def score(self, rollout: Rollout) -> tuple[Tensor, Tensor]:
        self.model.eval()
        g = rollout.state
        return score_sequences(self.model, g.src, g.src_mask, g.tokens, g.mask, self.vocabs.bos)

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


class TaggerPolicy:
    """A tagger as a policy over tag sequences (exact samples from its chain distribution);
    inputs are Sentences whose gold tags are the references. The entropy is the sum of the
    per-position marginal entropies (an upper bound of the sequence entropy), differentiable."""

    def __init__(self, tagger: Any, config: Any):
        self.model, self.config = tagger, config

    def _batch(self, inputs: list[Any], with_tags: bool = False) -> Any:
        device = next(self.model.parameters()).device
        return self.model.vocabs.encode(inputs, with_tags=with_tags).to(device)

    def _names(self, paths: Tensor, lengths: list[int]) -> list[list[str]]:
        names = self.model.tag_names
        return [[names[t] for t in row[:n]] for row, n in zip(paths.tolist(), lengths, strict=True)]

    def sample(self, inputs: list[Any], n: int, temperature: float = 1.0, generator: torch.Generator | None = None,
               max_length: int = 100) -> Rollout:
        if temperature != 1.0:
            raise ConfigError("tagger policies sample at temperature 1 (exact samples of the chain)")
        self.model.eval()
        batch = self._batch(inputs)
        samples = self.model.sample(batch, n, generator)  # (B, n, T)
        lengths = [int(m) for m in batch.mask.sum(1).tolist() for _ in range(n)]
        return Rollout(self._names(samples.flatten(0, 1), lengths), (batch, samples))

    def greedy(self, inputs: list[Any], max_length: int = 100) -> list[list[str]]:
        self.model.eval()
        batch = self._batch(inputs)
        return self._names(self.model.greedy(batch), batch.mask.sum(1).tolist())

    def score(self, rollout: Rollout) -> tuple[Tensor, Tensor]:
        self.model.eval()
        batch, samples = rollout.state
        emissions = self.model.emissions(batch)
        logp = self.model.layer.log_prob(emissions, batch.mask, samples)  # (B, n)
        p = self.model.layer.marginals(emissions, batch.mask)  # (B, T, K)
        entropy = -(p * p.clamp_min(1e-30).log()).sum(-1).masked_fill(~batch.mask, 0.0).sum(1)  # (B,)
        n = samples.shape[1]
        return logp.reshape(-1), entropy.repeat_interleave(n)

    def references(self, inputs: list[Any]) -> list[list[str]]:
        return [list(s.tags) for s in inputs]

    def sources(self, inputs: list[Any]) -> list[list[str]]:
        return [list(s.words) for s in inputs]

    def mle_loss(self, inputs: list[Any]) -> Tensor:
        self.model.eval()
        return self.model.loss(self._batch(inputs, with_tags=True))

    def evaluate(self, inputs: list[Any], beam: int = 1, max_length: int = 100) -> dict[str, Any]:
        from hybrid.train.trainer import dev_metric, evaluate

        metric = dev_metric(self.config, self.model.tag_names)
        return {"metric": metric, "score": evaluate(self.model, inputs)[metric]}

    def save(self, directory: str | Path, training: dict[str, Any]) -> None:
        from hybrid.models.io import save_tagger

        save_tagger(self.model, directory, self.config, training)
