"""The structured-layer protocol: emissions in, chain potentials out; inference shared.

A layer only says how its potentials are built (`potentials`) and how it is trained
(`loss`). Decoding, k-best, marginals, sampling and log-probabilities all go through
the one set of dynamic programs in `hybrid.structured.chain`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hybrid.structured import chain
from hybrid.structured.chain import ChainPotentials
from hybrid.structured.constraints import allowed_transitions


class StructuredLayer(nn.Module):
    """Base class of CRF, HMM and softmax output layers over K tags."""

    # buffers (registered in __init__): which transitions, first and last tags are permitted
    allowed: Tensor  # (K, K) bool
    allowed_start: Tensor  # (K,) bool
    allowed_end: Tensor  # (K,) bool

    def __init__(self, num_tags: int):
        super().__init__()
        if num_tags < 1:
            raise ValueError(f"num_tags must be >= 1, got {num_tags}")
        self.num_tags = num_tags
        self.register_buffer("allowed", torch.ones(num_tags, num_tags, dtype=torch.bool))
        self.register_buffer("allowed_start", torch.ones(num_tags, dtype=torch.bool))
        self.register_buffer("allowed_end", torch.ones(num_tags, dtype=torch.bool))

    # -- what a layer defines -------------------------------------------------
    #: whether the encoder's scores are log-softmax normalised before `emission_bias` is added
    normalizes_emissions: bool = False

    def emission_bias(self, dtype: torch.dtype) -> Tensor | None:
        """(K,) added to every position's (normalised) scores; None: nothing is added."""
        return None

    def chain_scores(self, like: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Transitions (K, K), start (K,) and end (K,) scores, in `like`'s dtype and device."""
        raise NotImplementedError

    def loss(self, emissions: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        """Training loss (a scalar, summed over tokens and averaged over sentences)."""
        raise NotImplementedError

    # -- built from the parts above, once for every layer ------------------------
    def emission_potentials(self, emissions: Tensor) -> Tensor:
        """(B, T, K) emission potentials from the encoder's scores (B, T, K)."""
        scores = F.log_softmax(emissions, dim=-1) if self.normalizes_emissions else emissions
        bias = self.emission_bias(scores.dtype)
        return scores if bias is None else scores + bias

    def potentials(self, emissions: Tensor, mask: Tensor) -> ChainPotentials:
        """Chain potentials for emissions (B, T, K) and mask (B, T), without constraints."""
        return ChainPotentials(self.emission_potentials(emissions), *self.chain_scores(emissions), mask)

    def decoding_tensors(self) -> dict[str, Tensor]:
        """Everything an engine without torch needs to decode exactly as `decode` does, float32:
        `transitions` (K, K), `start`, `end` (K,) with the constraints applied (-inf), and how
        emissions are made from the encoder's scores: `normalize` (1,) (log-softmax first or not)
        and, if the layer has one, `emission_bias` (K,) added after. Saved with every model, so
        a settings change (a tuned scale, a constraint) reaches every engine through this one method.
        """
        with torch.no_grad():
            k = self.num_tags
            probe = torch.zeros(1, 1, k, device=self.allowed.device)
            chain_part = self.constrained(probe, torch.ones(1, 1, dtype=torch.bool, device=probe.device))
            tensors = {"transitions": chain_part.transitions, "start": chain_part.start, "end": chain_part.end,
                       "normalize": torch.tensor([self.normalizes_emissions])}
            bias = self.emission_bias(torch.float32)
            if bias is not None:
                tensors["emission_bias"] = bias
            return {name: (t.detach().float() if t.is_floating_point() else t).cpu().clone()
                    for name, t in tensors.items()}

    # -- shared inference -------------------------------------------------------
    def set_constraints(self, tags: Sequence[str], scheme: str | None) -> None:
        """Forbid transitions that `scheme` (BIO, IOB1, BIOES) rules out; None lifts them."""
        if len(tags) != self.num_tags:
            raise ValueError(f"expected {self.num_tags} tags, got {len(tags)}")
        if scheme is None:
            self.allowed.fill_(True)
            self.allowed_start.fill_(True)
            self.allowed_end.fill_(True)
            return
        allowed, start, end = allowed_transitions(tags, scheme)
        self.allowed.copy_(allowed)
        self.allowed_start.copy_(start)
        self.allowed_end.copy_(end)

    def constrained(self, emissions: Tensor, mask: Tensor) -> ChainPotentials:
        """Potentials with the allowed-transition constraints applied (-inf where forbidden)."""
        p = self.potentials(emissions, mask)
        if bool(self.allowed.all() and self.allowed_start.all() and self.allowed_end.all()):
            return p
        return p.with_mask(self.allowed, self.allowed_start, self.allowed_end)

    def decode(self, emissions: Tensor, mask: Tensor, k: int = 1) -> tuple[Tensor, Tensor]:
        """k best tag sequences: paths (B, k, T), scores (B, k); Viterbi when k == 1."""
        with torch.no_grad():
            return chain.kbest(self.constrained(emissions, mask), k)

    def marginals(self, emissions: Tensor, mask: Tensor) -> Tensor:
        """(B, T, K) posterior tag probabilities."""
        return chain.marginals(self.constrained(emissions, mask))

    def sample(
        self, emissions: Tensor, mask: Tensor, n: int = 1, generator: torch.Generator | None = None
    ) -> Tensor:
        """(B, n, T) exact samples from the layer's distribution over tag sequences."""
        return chain.sample(self.constrained(emissions, mask), n, generator)

    def log_prob(self, emissions: Tensor, mask: Tensor, tags: Tensor) -> Tensor:
        """Log-probability of tags (B, T) -> (B,) or (B, N, T) -> (B, N); differentiable."""
        return chain.log_prob(self.constrained(emissions, mask), tags)
