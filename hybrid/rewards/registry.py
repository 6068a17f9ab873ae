"""Rewards by name: `load_reward("bleu")`, or `module:function` for a user callable; `register_reward`
adds a name. The built-in rewards register here, so their modules never import this one back."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from hybrid.errors import ConfigError
from hybrid.rewards.base import CallableReward, Reward
from hybrid.rewards.tagging import SpanF1, TokenAccuracy
from hybrid.rewards.text import SentenceBLEU, SentenceChrF, SentenceTER

_REWARDS: dict[str, Callable[[], Reward]] = {}


def register_reward(name: str, factory: Callable[[], Reward]) -> None:
    """Make `load_reward(name)` return `factory()`; a name is registered once."""
    if name in _REWARDS:
        raise ValueError(f"reward {name!r} is already registered")
    _REWARDS[name] = factory


def load_reward(spec: str) -> Reward:
    """A registered reward (bleu | chrf | ter | span-f1 | accuracy | ...) or `module:function` (a user
    callable f(hypotheses, references, sources) -> one float per hypothesis)."""
    if spec in _REWARDS:
        return _REWARDS[spec]()
    if ":" not in spec:
        raise ConfigError(f"unknown reward {spec!r}; expected one of {', '.join(_REWARDS)} or module:function")
    module_name, _, attr = spec.partition(":")
    try:
        function = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"reward {spec!r}: cannot load {attr!r} from module {module_name!r}: {exc}") from None
    if not callable(function):
        raise ConfigError(f"reward {spec!r} is not callable")
    return CallableReward(function, spec)


for _name, _factory in (("bleu", SentenceBLEU), ("chrf", SentenceChrF), ("ter", SentenceTER), ("span-f1", SpanF1),
                        ("accuracy", TokenAccuracy)):
    register_reward(_name, _factory)
