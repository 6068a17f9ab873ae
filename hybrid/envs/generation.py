"""Token-by-token generation as a gymnasium environment.

An episode draws one (source, reference) pair; each action appends one target token id to
the prefix. The episode terminates when the action is </s> and is truncated at max_length
tokens; the reward is 0 until then and the sequence reward (BLEU by default, any
`hybrid.rewards` reward) of the output at the last step. Observations are fixed-size and
padded with <pad> (id 0): the source ids and the prefix ids with their lengths.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces

from hybrid.data.pairs import Pair
from hybrid.data.parallel import Seq2SeqVocabs
from hybrid.errors import ConfigError
from hybrid.rewards import Reward, load_reward


class GenerationEnv(gymnasium.Env):
    """Observation: {"source": (S,) ids, "source_length", "prefix": (L,) ids, "prefix_length"};
    action: Discrete(target vocabulary); reward: the sequence reward at the end, 0 before."""

    metadata = {"render_modes": ["ansi"]}

    def __init__(self, pairs: Sequence[Pair], vocabs: Seq2SeqVocabs, reward: Reward | str = "bleu",
                 max_length: int = 50, max_source_length: int = 50, render_mode: str | None = None):
        if not pairs:
            raise ConfigError("the environment needs at least one (source, reference) pair")
        if max_length < 1 or max_source_length < 1:
            raise ConfigError(f"max_length and max_source_length must be >= 1, got {max_length}, {max_source_length}")
        if render_mode not in (None, "ansi"):
            raise ConfigError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        self.pairs, self.vocabs = list(pairs), vocabs
        self.reward_fn = load_reward(reward) if isinstance(reward, str) else reward
        self.max_length, self.max_source_length = max_length, max_source_length
        self.render_mode = render_mode
        v_src, v_tgt = len(vocabs.source), len(vocabs.target)
        self.observation_space = spaces.Dict({
            "source": spaces.MultiDiscrete(np.full(max_source_length, v_src)),
            "source_length": spaces.Discrete(max_source_length + 1),
            "prefix": spaces.MultiDiscrete(np.full(max_length, v_tgt)),
            "prefix_length": spaces.Discrete(max_length + 1),
        })
        self.action_space = spaces.Discrete(v_tgt)
        self._pair: Pair | None = None
        self._source = np.zeros(max_source_length, dtype=np.int64)
        self._prefix: list[int] = []

    def _observation(self) -> dict[str, Any]:
        prefix = np.zeros(self.max_length, dtype=np.int64)
        prefix[: len(self._prefix)] = self._prefix
        n = int(np.count_nonzero(self._source))
        return {"source": self._source.copy(), "source_length": n, "prefix": prefix, "prefix_length": len(self._prefix)}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict, dict]:
        """Start an episode on a random pair, or on pair `options["index"]`."""
        super().reset(seed=seed)
        index = (options or {}).get("index")
        if index is None:
            index = int(self.np_random.integers(len(self.pairs)))
        self._pair = self.pairs[index]
        ids = self.vocabs.source.encode(self._pair.inputs[: self.max_source_length])
        self._source = np.zeros(self.max_source_length, dtype=np.int64)
        self._source[: len(ids)] = ids
        self._prefix = []
        return self._observation(), {"index": index}

    def step(self, action: int) -> tuple[dict, float, bool, bool, dict]:
        if self._pair is None:
            raise RuntimeError("call reset() before step()")
        if not self.action_space.contains(action):
            raise ValueError(f"action {action!r} is not in {self.action_space}")
        if self._prefix and (self._prefix[-1] == self.vocabs.eos or len(self._prefix) >= self.max_length):
            raise RuntimeError("the episode has ended: call reset()")
        self._prefix.append(int(action))
        terminated = int(action) == self.vocabs.eos
        truncated = not terminated and len(self._prefix) >= self.max_length
        reward, info = 0.0, {}
        if terminated or truncated:
            output = self.vocabs.decode(self._prefix)
            reward = float(self.reward_fn([output], [list(self._pair.labels)], [list(self._pair.inputs)])[0])
            info = {"output": output, "reference": list(self._pair.labels)}
        return self._observation(), reward, terminated, truncated, info

    def render(self) -> str | None:
        if self.render_mode != "ansi" or self._pair is None:
            return None
        return f"{' '.join(self._pair.inputs)} => {' '.join(self.vocabs.decode(self._prefix))}"


def make_vector_env(num_envs: int, pairs: Sequence[Pair], vocabs: Seq2SeqVocabs,
                    **kwargs: Any) -> gymnasium.vector.SyncVectorEnv:
    """`num_envs` copies stepped together (gymnasium's SyncVectorEnv; they reset themselves when done)."""
    return gymnasium.vector.SyncVectorEnv([lambda: GenerationEnv(pairs, vocabs, **kwargs) for _ in range(num_envs)])
