"""One vector per sequence from an encoder's states: the final states, the mean, the maximum, or
attention pooling (a learned query scores each position; the softmax of the scores weighs them).

Shared by the many-to-one classifier and the seq2seq encoder's sentence summary.
"""

from __future__ import annotations

import typing

import torch
import torch.nn.functional as F
from torch import Tensor, nn

PoolingKind = typing.Literal["last", "mean", "max", "attention"]
POOLINGS: tuple[str, ...] = typing.get_args(PoolingKind)


class Pooling(nn.Module):
    """(B, T, H) states with mask (B, T) -> (B, H). For `last` with a bidirectional encoder whose
    directions are each `half` wide, the forward direction's state at the last real position and
    the backward direction's at position 0; otherwise the state at the last real position."""

    def __init__(self, kind: str, size: int, attention_size: int = 100, half: int | None = None):
        super().__init__()
        if kind not in POOLINGS:
            raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}, got {kind!r}")
        self.kind, self.direction_size = kind, half
        self.attention_in = nn.Linear(size, attention_size) if kind == "attention" else None
        self.query = nn.Parameter(torch.randn(attention_size) * 0.1) if kind == "attention" else None

    def weights(self, states: Tensor, mask: Tensor) -> Tensor:
        """(B, T) softmax over the real positions of query . tanh(W h_t + b); zeros at padding."""
        if self.attention_in is None or self.query is None:
            raise ValueError(f"the {self.kind} pooling has no attention weights")
        scores = torch.tanh(self.attention_in(states)) @ self.query  # (B, T)
        return F.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)

    def forward(self, states: Tensor, mask: Tensor) -> Tensor:
        if self.kind == "attention":
            return (self.weights(states, mask).unsqueeze(-1) * states).sum(1)
        if self.kind == "mean":
            real = mask.unsqueeze(-1).to(states.dtype)  # (B, T, 1)
            return (states * real).sum(1) / real.sum(1).clamp_min(1.0)
        if self.kind == "max":
            return states.masked_fill(~mask.unsqueeze(-1), float("-inf")).max(1).values
        rows = torch.arange(states.shape[0], device=states.device)
        last = states[rows, (mask.sum(1) - 1).clamp_min(0)]  # (B, H)
        if self.direction_size is None:
            return last
        return torch.cat([last[:, : self.direction_size], states[:, 0, self.direction_size :]], dim=-1)
