"""Training losses on chain potentials: CRF likelihood, structured perceptron, structured hinge.

All three compare the gold path with the chain's other paths through the one set of dynamic
programs in `hybrid.structured.chain`, so they work for any layer that builds `ChainPotentials`
(CRF, HMM hybrid, softmax). Per sentence b, with score(y) the sum of a path's potentials:

    nll         log Z - score(gold)                                   (log-sum-exp over paths)
    perceptron  max_y score(y) - score(gold)                          (Viterbi)
    hinge       max_y [score(y) + c * Hamming(y, gold)] - score(gold)  (cost-augmented Viterbi)

The perceptron and hinge losses are >= 0; their gradient with respect to the potentials is
(features of the found path) - (features of the gold path), i.e. the structured perceptron
update and the subgradient of the margin-rescaled structured SVM (Taskar et al. 2004;
Tsochantaridis et al. 2005). The maximising paths are found under no_grad and re-scored with
`chain.score_paths`, so gradients reach emissions, transitions, start and end.

Constraints are whatever -inf the potentials carry: the maximisations only find allowed paths,
and a gold path that is not allowed scores -inf (the loss is +inf). Padded positions (mask
False) carry no cost and no score; gold tags there must still be valid ids (any will do).

`reduction` follows pytorch-crf (whose likelihood `CRFLayer` trains with): "mean" (the default,
the per-sentence losses averaged over the batch, as `CRFLayer.loss`), "sum", "token_mean"
(summed, divided by the number of real tokens) or "none" (the (B,) per-sentence losses).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from hybrid.errors import ShapeError
from hybrid.structured import chain
from hybrid.structured.chain import ChainPotentials

REDUCTIONS = ("mean", "sum", "token_mean", "none")


def _reduce(loss: Tensor, mask: Tensor, reduction: str) -> Tensor:
    """Reduce per-sentence losses (B,) as pytorch-crf reduces its log-likelihoods."""
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.mean()
    if reduction == "token_mean":
        return loss.sum() / mask.sum()
    raise ValueError(f"unknown reduction {reduction!r}; expected one of {', '.join(REDUCTIONS)}")


def _check_gold(p: ChainPotentials, gold: Tensor) -> None:
    if gold.shape != p.mask.shape:
        raise ShapeError(f"gold tags must be {tuple(p.mask.shape)} like the mask, got {tuple(gold.shape)}")


def nll_loss(p: ChainPotentials, gold: Tensor, reduction: str = "mean") -> Tensor:
    """CRF negative log-likelihood: log Z - score(gold) per sentence; gold (B, T)."""
    _check_gold(p, gold)
    return _reduce(chain.log_partition(p) - chain.score_paths(p, gold), p.mask, reduction)


def perceptron_loss(p: ChainPotentials, gold: Tensor, reduction: str = "mean") -> Tensor:
    """Structured perceptron: score(Viterbi path) - score(gold) per sentence, >= 0; gold (B, T)."""
    _check_gold(p, gold)
    with torch.no_grad():
        best, _ = chain.viterbi(_detached(p))  # (B, T)
    loss = chain.score_paths(p, best) - chain.score_paths(p, gold)
    return _reduce(loss.clamp_min(0.0), p.mask, reduction)  # clamp: rounding under ties only


def cost_augmented(p: ChainPotentials, gold: Tensor, cost_weight: float = 1.0) -> ChainPotentials:
    """Potentials whose path scores are score(y) + cost_weight * Hamming(y, gold) (detached).

    cost_weight is added to every emission except the gold tag's, at real positions only.
    """
    _check_gold(p, gold)
    k = p.emissions.shape[2]
    wrong = gold.unsqueeze(-1) != torch.arange(k, device=gold.device)  # (B, T, K)
    cost = (wrong & p.mask.unsqueeze(-1)).to(p.emissions.dtype) * cost_weight
    q = _detached(p)
    return ChainPotentials(q.emissions + cost, q.transitions, q.start, q.end, q.mask)


def hamming(paths: Tensor, gold: Tensor, mask: Tensor) -> Tensor:
    """(B,) number of real positions where paths (B, T) differ from gold (B, T)."""
    return ((paths != gold) & mask).sum(dim=1)


def hinge_loss(
    p: ChainPotentials, gold: Tensor, cost_weight: float = 1.0, reduction: str = "mean"
) -> Tensor:
    """Margin-rescaled structured hinge with Hamming cost, per sentence; gold (B, T).

    max_y [score(y) + cost_weight * Hamming(y, gold)] - score(gold) >= 0, found by Viterbi on
    the cost-augmented potentials; the found path is re-scored on the original potentials.
    Zero exactly when the gold path beats every other path y by cost_weight * Hamming(y, gold).
    """
    if not cost_weight >= 0:
        raise ValueError(f"cost_weight must be >= 0, got {cost_weight}")
    with torch.no_grad():
        best, _ = chain.viterbi(cost_augmented(p, gold, cost_weight))  # (B, T)
        cost = hamming(best, gold, p.mask).to(p.emissions.dtype) * cost_weight
    loss = chain.score_paths(p, best) + cost - chain.score_paths(p, gold)
    return _reduce(loss.clamp_min(0.0), p.mask, reduction)  # clamp: rounding under ties only


def _detached(p: ChainPotentials) -> ChainPotentials:
    return ChainPotentials(
        p.emissions.detach(), p.transitions.detach(), p.start.detach(), p.end.detach(), p.mask
    )


LossFn = Callable[..., Tensor]
LOSSES: dict[str, LossFn] = {"nll": nll_loss, "perceptron": perceptron_loss, "hinge": hinge_loss}


def chain_loss(
    name: str, p: ChainPotentials, gold: Tensor, reduction: str = "mean", cost_weight: float = 1.0
) -> Tensor:
    """The loss `name` from LOSSES on potentials p and gold tags (B, T); cost_weight for hinge."""
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; expected one of {', '.join(LOSSES)}")
    if name == "hinge":
        return hinge_loss(p, gold, cost_weight, reduction)
    return LOSSES[name](p, gold, reduction)
