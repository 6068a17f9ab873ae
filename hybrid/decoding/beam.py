"""Batched beam search over any model with `start` / `step` (see hybrid.decoding.search).

Each source keeps `beam` open hypotheses at every step (fairseq's scheme): the best `2 * beam`
extensions are ranked; an extension by </s> that ranks within the top `beam` leaves the beam
for the finished pool (only the pool's best is kept), and the `beam` best other extensions go on.
So a finished hypothesis never takes the place of an open one, and beam 1 is greedy decoding,
token for token.
A source is done when no open hypothesis can still beat its best finished one: raw
log-probabilities only fall, so an open score s is bounded by s / lp(max_length), with
lp(n) = ((5 + n) / 6) ** alpha (GNMT's length penalty; alpha 0 = plain log-probability, and
then the bound is tight). With alpha > 0 that bound is loose, so a source is also done once
`beam` hypotheses have finished (fairseq's rule). At max_length, the open hypotheses compete
as they are. The answer is the best hypothesis by score / lp(length).

A beam can still lose the greedy path (it falls out of the top `beam` and later proves the
better one: 23 of 1,000 Multi30k test sentences with beam 5). With `keep_greedy` (the default)
the greedy output is decoded too (one more pass at 1/beam of the cost) and returned where it
scores higher, so a wider beam never does worse than greedy by the search's own score.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from hybrid.decoding.protocol import Decoder, Memory
from hybrid.decoding.search import Generated, greedy, never_emit


def beam_search(model: Decoder[Any, Any], memory: Memory, bos: int, eos: int, pad: int, beam: int = 5,
                max_length: int = 100,
                length_penalty: float = 0.0, with_attention: bool = False, keep_greedy: bool = True) -> Generated:
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
    fallback = greedy(model, memory, bos, eos, pad, max_length, with_attention) if keep_greedy and k > 1 else None
    memory = memory.select(rows.repeat_interleave(k))  # (B*K, ...)
    state = model.start(memory)
    tokens = torch.full((b * k,), bos, dtype=torch.long, device=device)
    scores = torch.full((b, k), float("-inf"), device=device)  # open hypotheses' log-probabilities
    scores[:, 0] = 0.0  # one open hypothesis per source at the start
    history = torch.empty(b, k, 0, dtype=torch.long, device=device)  # (B, K, t)
    attention: Tensor | None = None  # (B, K, t, S)
    pool = _Pool(b, max_length, memory.mask.shape[1] if with_attention else 0, pad, device)
    bound_scale = _lp(max_length, length_penalty)
    closed = torch.zeros(b, dtype=torch.bool, device=device)  # done sources: their pool is final
    for t in range(max_length):
        logits, state, weights = model.step(memory, state, tokens)
        logp = never_emit(F.log_softmax(logits.float(), dim=-1), bos, pad)  # (B*K, V)
        v = logp.shape[-1]
        total = scores.unsqueeze(-1) + logp.view(b, k, v)  # (B, K, V)
        step_attention = weights.view(b, k, 1, -1) if with_attention else None
        kth_best = total.view(b, k * v).topk(k, dim=-1).values[:, -1:]  # (B, 1)
        ended = total[..., eos]  # (B, K)
        ended = ended.masked_fill((ended < kth_best) | closed.unsqueeze(1), float("-inf"))  # </s> from the top `beam`
        pool.offer(ended, ended / _lp(t + 1, length_penalty), history, attention, step_attention, eos)
        top, index = total.index_fill(-1, torch.tensor([eos], device=device), float("-inf")).view(
            b, k * v).topk(k, dim=-1)  # (B, K) the best open extensions
        parent, token = index // v, index % v
        scores = top
        history = torch.cat([_gather(history, parent), token.unsqueeze(-1)], -1)
        if step_attention is not None:
            attention = torch.cat([_gather(attention, parent), _gather(step_attention, parent)], 2) \
                if attention is not None else _gather(step_attention, parent)
        state = state.select((rows.unsqueeze(1) * k + parent).view(-1))
        tokens = token.view(-1)
        closed |= pool.norm >= scores.max(1).values / bound_scale
        if length_penalty > 0:
            closed |= pool.count >= k
        if bool(closed.all()):
            break
    else:  # max_length reached: the open hypotheses of sources still searching compete unfinished
        scores = scores.masked_fill(closed.unsqueeze(1), float("-inf"))
        pool.offer(scores, scores / bound_scale, history[..., :-1], None if attention is None else attention[:, :, :-1],
                   None if attention is None else attention[:, :, -1:], history[..., -1])
    if fallback is not None:
        pool.take(fallback, _lp(fallback.mask.sum(1), length_penalty))
    return pool.result()


def _lp(length: Any, alpha: float) -> Any:
    """GNMT's length penalty of a length (int) or of lengths (tensor)."""
    return ((5.0 + length) / 6.0) ** alpha


def _gather(x: Tensor, parent: Tensor) -> Tensor:
    """Rows `parent` (B, K) of x (B, K, ...) for every source."""
    return x.gather(1, parent.view(*parent.shape, *[1] * (x.dim() - 2)).expand(*parent.shape, *x.shape[2:]))


class _Pool:
    """The best finished hypothesis of every source so far, by normalised score."""

    def __init__(self, b: int, max_length: int, source_length: int, pad: int, device: torch.device) -> None:
        self.norm = torch.full((b,), float("-inf"), device=device)
        self.score = torch.full((b,), float("-inf"), device=device)
        self.count = torch.zeros(b, dtype=torch.long, device=device)
        self.length = torch.zeros(b, dtype=torch.long, device=device)
        self.tokens = torch.full((b, max_length), pad, dtype=torch.long, device=device)
        self.attention = torch.zeros(b, max_length, source_length, device=device) if source_length else None
        self.pad = pad

    def offer(self, scores: Tensor, norm: Tensor, history: Tensor, attention: Tensor | None,
              last_attention: Tensor | None, last: Tensor | int) -> None:
        """Candidates (B, K): open hypotheses `history` (B, K, t) extended by `last` (an id or (B, K) ids);
        -inf scores are no candidates."""
        self.count += torch.isfinite(scores).sum(1)
        best_norm, j = norm.max(1)
        better = best_norm > self.norm
        if not bool(better.any()):
            return
        t = history.shape[2]
        last_ids = torch.full_like(scores, 0, dtype=torch.long) + last
        chosen = torch.cat([history, last_ids.unsqueeze(-1)], -1)[torch.arange(len(j)), j]  # (B, t+1)
        self.tokens[better, : t + 1] = chosen[better]
        self.norm = torch.where(better, best_norm, self.norm)
        self.score = torch.where(better, scores.gather(1, j.unsqueeze(1)).squeeze(1), self.score)
        self.length = torch.where(better, t + 1, self.length)
        if self.attention is not None and last_attention is not None:
            steps = last_attention if attention is None else torch.cat([attention, last_attention], 2)
            self.attention[better, : t + 1] = steps[torch.arange(len(j)), j][better]

    def take(self, other: Generated, lp: Tensor) -> None:
        """Replace the rows where `other` (e.g. greedy's output) scores higher by score / lp."""
        norm = other.scores / lp
        better = norm > self.norm
        if not bool(better.any()):
            return
        n = other.tokens.shape[1]
        self.tokens[better] = self.pad
        self.tokens[better, :n] = other.tokens[better]
        self.norm = torch.where(better, norm, self.norm)
        self.score = torch.where(better, other.scores, self.score)
        self.length = torch.where(better, other.mask.sum(1), self.length)
        if self.attention is not None and other.attention is not None:
            self.attention[better] = 0.0
            self.attention[better, :n] = other.attention[better]

    def result(self) -> Generated:
        longest = int(self.length.max())
        mask = torch.arange(longest, device=self.length.device).unsqueeze(0) < self.length.unsqueeze(1)
        tokens = self.tokens[:, :longest].masked_fill(~mask, self.pad)
        attention = None if self.attention is None else self.attention[:, :longest]
        return Generated(tokens, mask, self.score, attention)
