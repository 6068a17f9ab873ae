"""The Reward base class and `load_reward`, which turns a name or `module:function` into one."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from hybrid.errors import ConfigError

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


def load_reward(spec: str) -> Reward:
    """bleu | chrf | ter | span-f1 | accuracy | `module:function` (a user callable)."""
    from hybrid.rewards.tagging import SpanF1, TokenAccuracy
    from hybrid.rewards.text import SentenceBLEU, SentenceChrF, SentenceTER

    builtin = {"bleu": SentenceBLEU, "chrf": SentenceChrF, "ter": SentenceTER, "span-f1": SpanF1,
               "accuracy": TokenAccuracy}
    if spec in builtin:
        return builtin[spec]()
    if ":" not in spec:
        raise ConfigError(f"unknown reward {spec!r}; expected one of {', '.join(builtin)} or module:function")
    module_name, _, attr = spec.partition(":")
    try:
        function = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"reward {spec!r}: cannot load {attr!r} from module {module_name!r}: {exc}") from None
    if not callable(function):
        raise ConfigError(f"reward {spec!r} is not callable")
    return CallableReward(function, spec)
