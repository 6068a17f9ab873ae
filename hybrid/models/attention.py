"""Attention: a decoder state z is matched against every encoder state h, the scores are
softmaxed over the source positions, and the context is the weighted sum of the h.

Match functions (Luong et al. 2015; Bahdanau et al. 2015):
    dot       z . h                       (needs the same size)
    general   z . W h                     (bilinear)
    additive  v . tanh(W_z z + W_h h)     (an MLP)
The h-side projection does not depend on z, so `prepare` computes it once per sentence.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hybrid.errors import ConfigError

KINDS = ("dot", "general", "additive")


class Attention(nn.Module):
    """query (B, Dq) against memory (B, S, Dm) with mask (B, S) -> context (B, Dm), weights (B, S)."""

    def __init__(self, query_size: int, memory_size: int, kind: str = "general", hidden_size: int = 256):
        super().__init__()
        if kind not in KINDS:
            raise ConfigError(f"unknown attention {kind!r}; expected one of {', '.join(KINDS)}")
        if kind == "dot" and query_size != memory_size:
            raise ConfigError(
                f"dot attention needs equal sizes, got query {query_size} and memory {memory_size}; "
                "use general or additive"
            )
        self.kind = kind
        if kind == "general":
            self.w_memory = nn.Linear(memory_size, query_size, bias=False)
        elif kind == "additive":
            self.w_memory = nn.Linear(memory_size, hidden_size, bias=False)
            self.w_query = nn.Linear(query_size, hidden_size, bias=True)
            self.v = nn.Linear(hidden_size, 1, bias=False)

    def prepare(self, memory: Tensor) -> Tensor:
        """The query-independent projection of the memory: (B, S, Dq or hidden)."""
        return memory if self.kind == "dot" else self.w_memory(memory)

    def forward(self, query: Tensor, memory: Tensor, keys: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """keys = prepare(memory). Returns context (B, Dm) and weights (B, S), zero on padding."""
        if self.kind == "additive":
            scores = self.v(torch.tanh(keys + self.w_query(query).unsqueeze(1))).squeeze(-1)  # (B, S)
        else:
            scores = torch.bmm(keys, query.unsqueeze(-1)).squeeze(-1)  # (B, S)
        scores = scores.masked_fill(~mask, float("-inf"))
        weights = F.softmax(scores, dim=-1)
        context = torch.bmm(weights.unsqueeze(1), memory).squeeze(1)  # (B, Dm)
        return context, weights
