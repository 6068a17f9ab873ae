"""Batched beam search over any model with `start` / `step` (see hybrid.decoding.search).

Each source keeps `beam` hypotheses. A hypothesis that emits </s> stays in the beam with a
frozen score (it may only continue with padding, at no cost), so the search ranks finished
and open hypotheses together; it stops when every beam is finished, when no open hypothesis
can still beat the best finished one (raw log-probabilities only fall), or at max_length.
The answer is the hypothesis with the best score / lp(length), lp = ((5 + length) / 6) ** alpha
(GNMT's length penalty; alpha 0 = plain log-probability).
With beam 1 this is greedy decoding, token for token.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from hybrid.decoding.search import Generated, never_emit


def beam_search(model: Any, memory: Any, bos: int, eos: int, pad: int, beam: int = 5, max_length: int = 100,
                length_penalty: float = 0.0, with_attention: bool = False) -> Generated:
    """The best hypothesis per source row of `memory` (see the module docstring)."""
    if beam < 1:
        raise ValueError(f"beam must be >= 1, got {beam}")
    if max_length < 1:
        raise ValueError(f"max_length must be >= 1, got {max_length}")
    if length_penalty < 0:
        raise ValueError(f"length_penalty must be >= 0, got {length_penalty}")
    b, k = memory.mask.shape[0], beam
    device = memory.mask.device
    rows = torch.arange(b, device=device)
    memory = memory.select(rows.repeat_interleave(k))  # (B*K, ...)
    state = model.start(memory)
    tokens = torch.full((b * k,), bos, dtype=torch.long, device=device)
    scores = torch.full((b, k), float("-inf"), device=device)
    scores[:, 0] = 0.0  # one live hypothesis per source at the start
    finished = torch.zeros(b, k, dtype=torch.bool, device=device)
    lengths = torch.zeros(b, k, dtype=torch.long, device=device)
    history = torch.empty(b, k, 0, dtype=torch.long, device=device)  # (B, K, t)
    attention = None
    for _ in range(max_length):
        logits, state, weights = model.step(memory, state, tokens)
        logp = never_emit(F.log_softmax(logits.float(), dim=-1), bos, pad)  # (B*K, V)
        v = logp.shape[-1]
        logp = logp.view(b, k, v)
        frozen = torch.full((v,), float("-inf"), device=device)
        frozen[pad] = 0.0
        logp = torch.where(finished.unsqueeze(-1), frozen, logp)
        top, index = (scores.unsqueeze(-1) + logp).view(b, k * v).topk(k, dim=-1)  # (B, K)
        parent, token = index // v, index % v
        flat = (rows.unsqueeze(1) * k + parent).view(-1)  # (B*K,) rows of the parents
        was_finished = finished.gather(1, parent)
        scores = top
        lengths = lengths.gather(1, parent) + (~was_finished).long()
        finished = was_finished | (token == eos)
        history = torch.cat([history.gather(1, parent.unsqueeze(-1).expand_as(history)), token.unsqueeze(-1)], -1)
        state = state.select(flat)
        if with_attention:
            w = weights.view(b, k, 1, -1)
            attention = w if attention is None else torch.cat(
                [attention.gather(1, parent.view(b, k, 1, 1).expand_as(attention)), w.gather(
                    1, parent.view(b, k, 1, 1).expand_as(w))], 2)
        tokens = token.view(-1)
        if finished.all() or (length_penalty == 0 and _no_open_hypothesis_can_win(scores, finished)):
            break
    normalised = scores / ((5.0 + lengths.float()) / 6.0) ** length_penalty
    best = normalised.argmax(1)  # (B,)
    pick = best.view(b, 1, 1)
    out = history.gather(1, pick.expand(b, 1, history.shape[2])).squeeze(1)  # (B, L)
    length = lengths.gather(1, best.unsqueeze(1)).squeeze(1)
    mask = torch.arange(out.shape[1], device=device).unsqueeze(0) < length.unsqueeze(1)
    attn = None
    if attention is not None:
        attn = attention.gather(1, pick.unsqueeze(-1).expand(b, 1, *attention.shape[2:])).squeeze(1)
    return Generated(out.masked_fill(~mask, pad), mask, scores.gather(1, best.unsqueeze(1)).squeeze(1), attn)


def _no_open_hypothesis_can_win(scores: torch.Tensor, finished: torch.Tensor) -> bool:
    """True when, for every source, the best finished score is >= every open score."""
    ninf = torch.tensor(float("-inf"), device=scores.device)
    best_finished = torch.where(finished, scores, ninf).max(1).values
    best_open = torch.where(finished, ninf, scores).max(1).values
    return bool((best_finished >= best_open).all())
