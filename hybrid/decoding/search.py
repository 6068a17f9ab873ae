"""Greedy decoding and sampling, batched, over any model with `start(memory)` and
`step(memory, state, tokens) -> (logits, state, attention)` (see hybrid.models.seq2seq).

<s> and <pad> are never generated. Every row stops at its first </s> (kept in the output, its log-probability
counted) or at
`max_length` tokens; after that the row holds padding and adds nothing to its score.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypedDict

import torch
import torch.nn.functional as F
from torch import Tensor

from hybrid.decoding.protocol import Decoder, Memory


class SpecialIds(TypedDict):
    """The ids decoding treats specially: fed first (bos), ending a row (eos), filling it after (pad)."""

    bos: int
    eos: int
    pad: int


@dataclass
class Generated:
    """tokens (B, L) ids, </s> included, padded; mask (B, L); scores (B,) summed log-probability;
    attention (B, L, S) when asked."""

    tokens: Tensor
    mask: Tensor
    scores: Tensor
    attention: Tensor | None = None


def greedy(model: Decoder[Any, Any], memory: Memory, bos: int, eos: int, pad: int, max_length: int = 100,
           with_attention: bool = False) -> Generated:
    """The most probable token at every step (ties: torch.topk's choice, as in beam search)."""
    # the argmax of score + log p, the very numbers beam search ranks, so beam 1 == greedy exactly
    return _generate(model, memory, bos, eos, pad, max_length,
                     lambda logp, scores: (scores.unsqueeze(1) + logp).topk(1, dim=-1).indices[:, 0],
                     with_attention)


def sample(model: Decoder[Any, Any], memory: Memory, bos: int, eos: int, pad: int, max_length: int = 100,
           temperature: float = 1.0, top_k: int = 0, generator: torch.Generator | None = None,
           with_attention: bool = False) -> Generated:
    """Ancestral sampling from softmax(logits / temperature), optionally from the top_k tokens only.
    Scores are log-probabilities under the model itself (temperature 1, all tokens)."""
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if top_k < 0:
        raise ValueError(f"top_k must be >= 0 (0 = all tokens), got {top_k}")

    def choose(logp: Tensor, scores: Tensor) -> Tensor:
        scaled = logp / temperature
        if top_k:
            kth = scaled.topk(min(top_k, scaled.shape[-1]), dim=-1).values[:, -1:]
            scaled = scaled.masked_fill(scaled < kth, float("-inf"))
        return categorical(F.softmax(scaled, dim=-1), generator)

    return _generate(model, memory, bos, eos, pad, max_length, choose, with_attention)


def categorical(probs: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """One draw per row of probs (N, V), which need not be normalised, by the inverse CDF:
    on CPU ~100x faster than torch.multinomial for V in the thousands. Zero-probability
    entries are never drawn; the CDF is summed in float64, so tiny probabilities keep their share."""
    cdf = probs.double().cumsum(-1)  # (N, V)
    total = cdf[:, -1:]
    if not bool((total > 0).all()):  # also catches NaN rows
        raise ValueError("categorical: a row has no positive probability")
    u = torch.rand(probs.shape[0], 1, generator=generator, device=probs.device, dtype=torch.float64) * total
    return torch.searchsorted(cdf, u, right=True).squeeze(1).clamp_max(probs.shape[-1] - 1)


def never_emit(logp: Tensor, bos: int, pad: int) -> Tensor:
    """log p with <s> and <pad> made impossible: a generator never outputs them."""
    logp = logp.clone()
    logp[..., [bos, pad]] = float("-inf")
    return logp


def _generate(model: Decoder[Any, Any], memory: Memory, bos: int, eos: int, pad: int, max_length: int,
              choose: Callable[[Tensor, Tensor], Tensor], with_attention: bool) -> Generated:
    if max_length < 1:
        raise ValueError(f"max_length must be >= 1, got {max_length}")
    b = memory.mask.shape[0]
    device = memory.mask.device
    state = model.start(memory)
    tokens = torch.full((b,), bos, dtype=torch.long, device=device)
    alive = torch.ones(b, dtype=torch.bool, device=device)
    scores = torch.zeros(b, device=device)
    out, masks, attention = [], [], []
    for _ in range(max_length):
        logits, state, weights = model.step(memory, state, tokens)
        logp = never_emit(F.log_softmax(logits.float(), dim=-1), bos, pad)  # (B, V)
        chosen = choose(logp, scores)
        scores = scores + torch.where(alive, logp.gather(1, chosen.unsqueeze(1)).squeeze(1), 0.0)
        tokens = torch.where(alive, chosen, pad)
        out.append(tokens)
        masks.append(alive)
        if with_attention:
            attention.append(weights)
        alive = alive & (tokens != eos)
        if not alive.any():
            break
    return Generated(torch.stack(out, 1), torch.stack(masks, 1), scores,
                     torch.stack(attention, 1) if with_attention else None)
