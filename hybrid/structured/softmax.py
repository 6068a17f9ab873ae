"""Per-token softmax layer: no transition structure, the baseline of every table."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from hybrid.structured.base import StructuredLayer
from hybrid.structured.chain import ChainPotentials


class SoftmaxLayer(StructuredLayer):
    """Independent per-token distributions; potentials are log-softmax emissions, zero transitions."""

    def potentials(self, emissions: Tensor, mask: Tensor) -> ChainPotentials:
        k = self.num_tags
        zeros = emissions.new_zeros(k)
        return ChainPotentials(F.log_softmax(emissions, dim=-1), emissions.new_zeros(k, k), zeros, zeros, mask)

    def loss(self, emissions: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        """Token cross-entropy summed over each sentence, averaged over the batch."""
        logp = F.log_softmax(emissions, dim=-1).gather(2, tags.unsqueeze(-1)).squeeze(-1)
        return -torch.where(mask, logp, logp.new_zeros(())).sum() / emissions.shape[0]
