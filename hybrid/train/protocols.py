"""The policy protocols the sequence-level trainers are written against (REINFORCE, adversarial).

A policy is a model behind a small interface: it samples outputs for inputs, scores them
differentiably, and says what the rewards compare them with. `Seq2SeqPolicy`, `TaggerPolicy`
and the language-model policies (hybrid.train.policies) implement them; a new model kind plugs
in by implementing them too, with no change to the trainers.

    Policy             sample, greedy, score, references, sources, mle_loss, evaluate, save
    AdversarialPolicy  + what a discriminator reads: discriminator_vocab, judged, real
    SequencePolicy     + per-token log-probabilities and SeqGAN's Monte Carlo rollout rewards
                         (policies that generate left to right: seq2seq, language models)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeGuard, runtime_checkable

import torch
from torch import Tensor, nn

from hybrid.decoding.rollouts import Judge
from hybrid.models.discriminator import Judged


@dataclass
class Rollout:
    """Sampled outputs (token lists, n per input, consecutive) and what the policy that drew
    them needs to score them again (its own tensors)."""

    outputs: list[list[str]]
    state: Any


@runtime_checkable
class Policy(Protocol):
    """A distribution over outputs given inputs, trainable by policy gradient."""

    @property
    def model(self) -> nn.Module:
        """The module whose parameters the trainers update."""
        ...

    def sample(self, inputs: list[Any], n: int, temperature: float = 1.0,
               generator: torch.Generator | None = None, max_length: int = 100) -> Rollout:
        """n outputs per input, consecutive, drawn without dropout."""
        ...

    def greedy(self, inputs: list[Any], max_length: int = 100) -> list[list[str]]:
        """The policy's best output per input (Viterbi for a tagger, greedy for a generator)."""
        ...

    def score(self, rollout: Rollout) -> tuple[Tensor, Tensor]:
        """(log p(y|x) (N,), entropy (N,)) of the rollout's outputs; differentiable."""
        ...

    def references(self, inputs: list[Any]) -> list[list[str]]: ...

    def sources(self, inputs: list[Any]) -> list[list[str]]: ...

    def mle_loss(self, inputs: list[Any]) -> Tensor:
        """Cross-entropy of the inputs' references (teacher forcing)."""
        ...

    def evaluate(self, inputs: list[Any], beam: int = 1, max_length: int = 100) -> dict[str, Any]:
        """Dev figures: "metric" and "score" (higher is better), and any extras."""
        ...

    def save(self, directory: str | Path, training: dict[str, Any]) -> None: ...


@runtime_checkable
class AdversarialPolicy(Policy, Protocol):
    """A policy whose outputs a discriminator can judge, with their conditions."""

    def discriminator_vocab(self) -> tuple[int, int]:
        """(output ids, condition ids; 0 = unconditional)."""
        ...

    def judged(self, rollout: Rollout) -> Judged:
        """The rollout's outputs as D reads them."""
        ...

    def real(self, inputs: list[Any]) -> Judged:
        """The inputs' references as D reads them."""
        ...


@runtime_checkable
class SequencePolicy(AdversarialPolicy, Protocol):
    """A policy that generates left to right, so each prefix of an output has a reward."""

    def token_log_probs(self, rollout: Rollout) -> Tensor:
        """(N, L) log p(y_t | y_<t, x) of the samples, 0 at padding; differentiable."""
        ...

    def rollout_rewards(self, rollout: Rollout, judge: Judge, n: int, generator: torch.Generator | None,
                        max_length: int) -> Tensor:
        """(N, L) SeqGAN rewards: each prefix completed n times by the policy itself, judged."""
        ...


def is_sequence_policy(policy: Policy) -> TypeGuard[SequencePolicy]:
    """Whether `policy` generates left to right (per-token rewards apply)."""
    return isinstance(policy, SequencePolicy)
