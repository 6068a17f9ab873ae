"""A word-embedding table whose last rows stay fixed: the words that only pretrained vectors
brought into the vocabulary never occur in the training data, so they never get a gradient;
kept as a buffer, they cost the optimizer nothing (a dense Adam step over 100,000 such rows
would cost more than the rest of a tagger's step). Saved as one (V, D) `weight`, as
nn.Embedding is, so model files and the ONNX graph see one table."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class WordEmbedding(nn.Module):
    """Rows 0..trained-1 learn (row 0, padding, stays zero); rows trained..trained+fixed-1 are fixed."""

    def __init__(self, trained: int, fixed: int, dim: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(trained, dim))  # (trained, D), as nn.Embedding initialises
        with torch.no_grad():
            self.weight[0].zero_()
        self.fixed: Tensor
        self.register_buffer("fixed", torch.zeros(fixed, dim), persistent=False)  # (fixed, D)

    @property
    def rows(self) -> int:
        return self.weight.shape[0] + self.fixed.shape[0]

    def table(self) -> Tensor:
        """(V, D) every row, learnt then fixed."""
        return torch.cat([self.weight, self.fixed]) if len(self.fixed) else self.weight

    @torch.no_grad()
    def set_table(self, table: Tensor) -> None:
        """Set every row from a (V, D) table."""
        if tuple(table.shape) != (self.rows, self.weight.shape[1]):
            raise ValueError(f"expected a ({self.rows}, {self.weight.shape[1]}) table, got {tuple(table.shape)}")
        n = self.weight.shape[0]
        self.weight.copy_(table[:n])
        self.fixed.copy_(table[n:])

    def forward(self, words: Tensor) -> Tensor:
        """(B, T, D) rows of the word ids (B, T)."""
        n = self.weight.shape[0]
        if not len(self.fixed):
            return F.embedding(words, self.weight, padding_idx=0)
        learnt = F.embedding(words.clamp(max=n - 1), self.weight, padding_idx=0)
        fixed = F.embedding((words - n).clamp(min=0), self.fixed)
        return torch.where((words < n).unsqueeze(-1), learnt, fixed)

    def _save_to_state_dict(self, destination: dict[str, Any], prefix: str, keep_vars: bool) -> None:
        table = self.table()
        destination[prefix + "weight"] = table if keep_vars else table.detach()

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, local_metadata: dict[str, Any],
                              strict: bool, missing_keys: list[str], unexpected_keys: list[str],
                              error_msgs: list[str]) -> None:
        key = prefix + "weight"
        if key not in state_dict:
            missing_keys.append(key)
            return
        table = state_dict[key]
        if tuple(table.shape) != (self.rows, self.weight.shape[1]):
            error_msgs.append(f"size mismatch for {key}: copying a param with shape {tuple(table.shape)}, "
                              f"the shape in current model is {(self.rows, self.weight.shape[1])}.")
            return
        self.set_table(table.to(self.weight.device, self.weight.dtype))
