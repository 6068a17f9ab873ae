"""Linear-chain CRF layer: pytorch-crf holds the parameters and gives the training likelihood."""

from __future__ import annotations

from torch import Tensor
from torchcrf import CRF

from hybrid.structured.base import StructuredLayer
from hybrid.structured.losses import LOSSES, chain_loss


class CRFLayer(StructuredLayer):
    """A CRF over K tags; potentials are pytorch-crf's transition, start and end scores.

    loss: "nll" (the default: pytorch-crf's negative log-likelihood), "perceptron" (structured
        perceptron) or "hinge" (margin-rescaled structured hinge with Hamming cost scaled by
        cost_weight); see `hybrid.structured.losses`. All are per sentence, averaged over the
        batch, on the unconstrained potentials (as the likelihood is).
    """

    def __init__(self, num_tags: int, loss: str = "nll", cost_weight: float = 1.0):
        super().__init__(num_tags)
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; expected one of {', '.join(LOSSES)}")
        if not cost_weight >= 0:
            raise ValueError(f"cost_weight must be >= 0, got {cost_weight}")
        self.loss_name = loss
        self.cost_weight = float(cost_weight)
        self.crf = CRF(num_tags, batch_first=True)

    def chain_scores(self, like: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        crf = self.crf
        return crf.transitions, crf.start_transitions, crf.end_transitions

    def loss(self, emissions: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        """The chosen loss per sentence, averaged over the batch (nll: pytorch-crf's forward)."""
        if self.loss_name == "nll":
            return -self.crf(emissions, tags, mask=mask, reduction="mean")
        p = self.potentials(emissions, mask)
        return chain_loss(self.loss_name, p, tags, cost_weight=self.cost_weight)
