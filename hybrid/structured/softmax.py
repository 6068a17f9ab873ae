"""Per-token softmax layer: no transition structure, the baseline of every table."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from hybrid.structured.base import StructuredLayer


class SoftmaxLayer(StructuredLayer):
    """Independent per-token distributions; potentials are log-softmax emissions, zero transitions."""

    normalizes_emissions = True

    def chain_scores(self, like: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        k = self.num_tags
        zeros = like.new_zeros(k)
        return like.new_zeros(k, k), zeros, zeros

    def loss(self, emissions: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        """Token cross-entropy summed over each sentence, averaged over the batch."""
        logp = F.log_softmax(emissions, dim=-1).gather(2, tags.unsqueeze(-1)).squeeze(-1)
        return -torch.where(mask, logp, logp.new_zeros(())).sum() / emissions.shape[0]
