"""Linear-chain CRF layer: pytorch-crf holds the parameters and gives the training likelihood."""

from __future__ import annotations

from torch import Tensor
from torchcrf import CRF

from hybrid.structured.base import StructuredLayer
from hybrid.structured.chain import ChainPotentials


class CRFLayer(StructuredLayer):
    """A CRF over K tags; potentials are pytorch-crf's transition, start and end scores."""

    def __init__(self, num_tags: int):
        super().__init__(num_tags)
        self.crf = CRF(num_tags, batch_first=True)

    def potentials(self, emissions: Tensor, mask: Tensor) -> ChainPotentials:
        crf = self.crf
        return ChainPotentials(emissions, crf.transitions, crf.start_transitions, crf.end_transitions, mask)

    def loss(self, emissions: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        """Negative log-likelihood per sentence (pytorch-crf's forward), averaged over the batch."""
        return -self.crf(emissions, tags, mask=mask, reduction="mean")
