"""The reward protocol: `reward(hypotheses, references, sources) -> Tensor` of shape (N,).

Hypotheses, references and sources are token lists (one per example). Text metrics join
tokens with spaces and score through sacreBLEU at sentence level; every reward has a
`signature` string recording its settings, written to the run log.
"""

from hybrid.rewards.base import CallableReward, Reward
from hybrid.rewards.registry import load_reward, register_reward
from hybrid.rewards.tagging import SpanF1, TokenAccuracy
from hybrid.rewards.text import SentenceBLEU, SentenceChrF, SentenceTER

__all__ = ["CallableReward", "Reward", "SentenceBLEU", "SentenceChrF", "SentenceTER", "SpanF1", "TokenAccuracy",
           "load_reward", "register_reward"]
