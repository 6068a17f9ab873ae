"""The Reward base class, and `CallableReward` for a user function (hybrid.rewards.registry names them)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

Tokens = Sequence[str]


class Reward:
    """Scores each hypothesis against its reference (and source): higher is better."""

    name = "reward"

    @property
    def signature(self) -> str:
        return self.name

    def score(self, hypothesis: Tokens, reference: Tokens, source: Tokens) -> float:
        raise NotImplementedError

    def __call__(self, hypotheses: Sequence[Tokens], references: Sequence[Tokens],
                 sources: Sequence[Tokens] | None = None) -> Tensor:
        """(N,) float rewards."""
        if len(hypotheses) != len(references):
            raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")
        sources = sources if sources is not None else [()] * len(hypotheses)
        return torch.tensor([self.score(h, r, s) for h, r, s in zip(hypotheses, references, sources, strict=True)],
                            dtype=torch.float32)


class CallableReward(Reward):
    """A user function `f(hypotheses, references, sources) -> sequence of floats` as a Reward."""

    def __init__(self, function: Callable, name: str):
        self.function, self.name = function, name

    def __call__(self, hypotheses, references, sources=None) -> Tensor:
        values = torch.as_tensor(self.function(hypotheses, references, sources), dtype=torch.float32)
        if values.shape != (len(hypotheses),):
            raise ValueError(f"reward {self.name} returned shape {tuple(values.shape)}, expected ({len(hypotheses)},)")
        return values
