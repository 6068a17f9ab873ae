"""DNN-HMM hybrid layer: network posteriors over the tag prior as emissions, HMM transitions.

The classic hybrid of speech recognition. The network gives posteriors P(y | x_t); Bayes turns
them into scaled likelihoods P(x_t | y) / P(x_t) = P(y | x_t) / P(y), so with a prior-scaling
exponent s (speech toolkits use s < 1 as well as 1) the chain potentials are

    emissions[b, t, y] = log_softmax(scores)[b, t, y] - s * log P(y)
    transitions[i, j]  = log A[i, j] = log P(y_t = j | y_t-1 = i)
    start[y]           = log pi[y]   = log P(y_1 = y)
    end[y]             = 0           (no end distribution, as in hmmlearn's HMMs)

A, pi and the prior P(y) are estimated from smoothed tag counts (`count_statistics`,
`HMMLayer.fit_counts`) or taken from an hmmlearn model (`HMMLayer.load_hmmlearn`). The network
is trained with per-token cross-entropy on its posteriors (the hybrid recipe), or, for joint
fine-tuning of the network and A, with the sequence objective: the negative log-probability of
the gold path under the chain built from these potentials (MMI-style sequence training).
Decoding, k-best, marginals, sampling and log-probabilities are the shared chain programs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hybrid.structured import chain
from hybrid.structured.base import StructuredLayer
from hybrid.structured.losses import chain_loss

HMM_LOSSES = ("cross_entropy", "nll", "perceptron", "hinge")


class HMMStatistics(NamedTuple):
    """Log-probabilities of a tag-bigram HMM estimated from counts (float64)."""

    log_start: Tensor  # (K,) log pi: first tags
    log_transitions: Tensor  # (K, K) log A: row i = distribution of the tag after tag i
    log_prior: Tensor  # (K,) log P(y): tag unigram frequencies over all tokens


def _as_ids(seq: Sequence[int] | Tensor) -> Tensor:
    return torch.as_tensor(seq, dtype=torch.long).reshape(-1)


def smoothed_log(counts: Tensor, smoothing: float) -> Tensor:
    """log of add-`smoothing` (Lidstone) estimates along the last dimension: log((c + a) / (n + K a))."""
    if not smoothing > 0:
        raise ValueError(f"smoothing must be > 0, got {smoothing}")
    counts = counts.double() + smoothing
    return counts.log() - counts.sum(dim=-1, keepdim=True).log()


def count_statistics(
    tag_sequences: Iterable[Sequence[int] | Tensor], num_tags: int, smoothing: float = 1.0
) -> HMMStatistics:
    """Add-`smoothing` estimates of pi, A and the tag prior from tag-id sequences.

    pi[y] = (#sentences starting with y + a) / (#sentences + K a)
    A[i, j] = (#(i, j) bigrams + a) / (#bigrams starting with i + K a)
    P(y) = (#tokens tagged y + a) / (#tokens + K a)
    Empty sequences are skipped; ids must lie in [0, num_tags).
    """
    firsts, tokens, bigrams = [], [], []
    for seq in tag_sequences:
        ids = _as_ids(seq)
        if ids.numel() == 0:
            continue
        firsts.append(ids[:1])
        tokens.append(ids)
        bigrams.append(ids[:-1] * num_tags + ids[1:])
    if not tokens:
        raise ValueError("count_statistics needs at least one non-empty tag sequence")
    all_tokens = torch.cat(tokens)
    if int(all_tokens.min()) < 0 or int(all_tokens.max()) >= num_tags:
        raise ValueError(f"tag ids must lie in [0, {num_tags}), got {int(all_tokens.min())}..{int(all_tokens.max())}")
    k = num_tags
    start = torch.bincount(torch.cat(firsts), minlength=k)
    trans = torch.bincount(torch.cat(bigrams), minlength=k * k).view(k, k)
    prior = torch.bincount(all_tokens, minlength=k)
    return HMMStatistics(
        smoothed_log(start, smoothing), smoothed_log(trans, smoothing), smoothed_log(prior, smoothing)
    )


def _check_log_distribution(name: str, value: Tensor, shape: tuple[int, ...]) -> Tensor:
    value = torch.as_tensor(value, dtype=torch.float64)
    if value.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {tuple(value.shape)}")
    total = torch.logsumexp(value, dim=-1)
    if not torch.allclose(total, torch.zeros_like(total), atol=1e-4):
        raise ValueError(f"{name} must hold log-probabilities summing to 1 along its last dimension")
    return value


class HMMLayer(StructuredLayer):
    """The DNN-HMM hybrid over K tags (see the module docstring for the potentials).

    prior_scale: exponent s of the prior in the scaled likelihood (0 = raw posteriors).
    transition_scale: weight w of the transition model, log pi and log A (speech toolkits' LM
        weight; the emissions keep weight 1), so potentials = emissions + w * log A.
    train_transitions: make the transition logits an nn.Parameter (A = row-softmax of them) so
        that the sequence loss ("nll") fine-tunes A jointly with the network; otherwise a buffer.
    loss: "cross_entropy" (the hybrid recipe: per-token cross-entropy of the posteriors,
        summed over each sentence and averaged over the batch, as SoftmaxLayer) or "nll" (the
        sequence objective: negative log-probability of the gold path per sentence, averaged over
        the batch, as the CRF's; trains A too when it is trainable), or, on the same potentials, "perceptron"
        or "hinge" (structured perceptron / margin-rescaled hinge with Hamming cost scaled by
        cost_weight, see `hybrid.structured.losses`), per sentence, averaged over the batch.
    Until statistics are set, pi, A and the prior are uniform.
    """

    # registered in __init__: buffers, and transition_logits a buffer or an nn.Parameter
    log_start: Tensor  # (K,) log pi
    log_prior: Tensor  # (K,) log P(y)
    transition_logits: Tensor  # (K, K); log A = row-wise log_softmax

    def __init__(
        self, num_tags: int, prior_scale: float = 1.0, train_transitions: bool = False,
        loss: str = "cross_entropy", cost_weight: float = 1.0, transition_scale: float = 1.0,
    ):
        super().__init__(num_tags)
        if loss not in HMM_LOSSES:
            raise ValueError(f"unknown loss {loss!r}; expected one of {', '.join(HMM_LOSSES)}")
        if not (prior_scale >= 0 and transition_scale >= 0):
            raise ValueError(f"prior_scale and transition_scale must be >= 0, got {prior_scale}, {transition_scale}")
        self.prior_scale = float(prior_scale)
        self.transition_scale = float(transition_scale)
        self.loss_name = loss
        if not cost_weight >= 0:
            raise ValueError(f"cost_weight must be >= 0, got {cost_weight}")
        self.cost_weight = float(cost_weight)
        uniform = torch.full((num_tags,), -math.log(num_tags))
        self.register_buffer("log_start", uniform.clone())  # (K,) log pi
        self.register_buffer("log_prior", uniform.clone())  # (K,) log P(y)
        logits = torch.zeros(num_tags, num_tags)  # (K, K); log A = row-wise log_softmax
        if train_transitions:
            self.transition_logits = nn.Parameter(logits)
        else:
            self.register_buffer("transition_logits", logits)

    @property
    def log_transitions(self) -> Tensor:
        """(K, K) log A, rows normalised (differentiable when the logits are trainable)."""
        return F.log_softmax(self.transition_logits, dim=1)

    # -- statistics -------------------------------------------------------------
    def set_statistics(self, log_start: Tensor, log_transitions: Tensor, log_prior: Tensor) -> None:
        """Set log pi (K,), log A (K, K) and log P(y) (K,); each must be normalised."""
        k = self.num_tags
        values = {
            "log_start": _check_log_distribution("log_start", log_start, (k,)),
            "transition_logits": _check_log_distribution("log_transitions", log_transitions, (k, k)),
            "log_prior": _check_log_distribution("log_prior", log_prior, (k,)),
        }
        with torch.no_grad():
            for name, value in values.items():
                getattr(self, name).copy_(value)

    def fit_counts(
        self, tag_sequences: Iterable[Sequence[int] | Tensor], smoothing: float = 1.0
    ) -> HMMStatistics:
        """Estimate pi, A and the prior from tag-id sequences (`count_statistics`) and set them."""
        stats = count_statistics(tag_sequences, self.num_tags, smoothing)
        self.set_statistics(*stats)
        return stats

    def load_hmmlearn(self, model: Any) -> None:
        """Take pi and A from a fitted hmmlearn HMM with K states (any emission type); keep the prior."""
        k = self.num_tags
        if model.n_components != k:
            raise ValueError(f"hmmlearn model has {model.n_components} states, layer has {k} tags")
        start = torch.as_tensor(model.startprob_, dtype=torch.float64).log()
        trans = torch.as_tensor(model.transmat_, dtype=torch.float64).log()
        self.set_statistics(start, trans, self.log_prior.double())

    def to_hmmlearn(self, **kwargs: Any) -> Any:
        """This layer's pi and A as an hmmlearn HMM (`ScaledLikelihoodHMM`) whose emissions are
        given per token: pass `scaled_likelihoods(...)` rows as X to its decode / score / fit."""
        from hybrid.structured.hmm_scaled import ScaledLikelihoodHMM

        model = ScaledLikelihoodHMM(self.num_tags, **kwargs)
        start = self.log_start.detach().double().exp()
        trans = self.log_transitions.detach().double().exp()
        model.startprob_ = (start / start.sum()).numpy()
        model.transmat_ = (trans / trans.sum(1, keepdim=True)).numpy()
        return model

    @classmethod
    def from_hmmlearn(cls, model: Any, log_prior: Tensor | None = None, **kwargs: Any) -> HMMLayer:
        """A layer with the hmmlearn model's pi and A and the given tag prior (default uniform)."""
        layer = cls(model.n_components, **kwargs).double()
        if log_prior is not None:
            layer.set_statistics(layer.log_start, layer.log_transitions, log_prior.double())
        layer.load_hmmlearn(model)
        return layer

    # -- the layer protocol -----------------------------------------------------
    normalizes_emissions = True

    def emission_bias(self, dtype: torch.dtype) -> Tensor:
        """(K,) -prior_scale * log P(y): added to log P(y|x_t), it makes the scaled likelihoods."""
        return -(self.prior_scale * self.log_prior.to(dtype))

    def scaled_likelihoods(self, emissions: Tensor) -> Tensor:
        """(B, T, K) log P(y|x_t) - prior_scale * log P(y) from the encoder's scores (B, T, K)."""
        return self.emission_potentials(emissions)

    def chain_scores(self, like: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        dtype = like.dtype
        return (self._weighted(self.log_transitions.to(dtype)), self._weighted(self.log_start.to(dtype)),
                like.new_zeros(self.num_tags))

    def _weighted(self, log_probs: Tensor) -> Tensor:
        """transition_scale * log_probs, with impossible (-inf) entries kept impossible."""
        if self.transition_scale == 1.0:
            return log_probs
        return torch.where(torch.isneginf(log_probs), log_probs, self.transition_scale * log_probs)

    def loss(self, emissions: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        """Per-token cross-entropy summed per sentence, or the sequence objective; batch mean."""
        if self.loss_name == "nll":
            # unconstrained, like the CRF's likelihood
            return -chain.log_prob(self.potentials(emissions, mask), tags).mean()
        if self.loss_name in ("perceptron", "hinge"):
            p = self.potentials(emissions, mask)
            return chain_loss(self.loss_name, p, tags, cost_weight=self.cost_weight)
        logp = F.log_softmax(emissions, dim=-1).gather(2, tags.unsqueeze(-1)).squeeze(-1)
        return -torch.where(mask, logp, logp.new_zeros(())).sum() / emissions.shape[0]
