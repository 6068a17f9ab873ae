"""Dynamic programs over linear-chain log-potentials, batched in torch and written once.

Every structured layer reduces a batch to `ChainPotentials`; Viterbi, k-best Viterbi,
log-partition, marginals and exact sampling all run the same forward recursion over them,
differing only in how a step combines scores (the semiring: log-sum-exp, max, or top-k).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from hybrid.errors import ShapeError

@dataclass(frozen=True)
class ChainPotentials:
    """Scores of a batch of linear chains; a path's score is the sum of its parts.

    emissions   (B, T, K)  score of tag k at position t
    transitions (K, K)     score of tag i followed by tag j (row i, column j)
    start, end  (K,)       scores of the first and the last tag
    mask        (B, T)     bool, True at real positions; right padding, mask[:, 0] all True
    """

    emissions: Tensor
    transitions: Tensor
    start: Tensor
    end: Tensor
    mask: Tensor

    def __post_init__(self) -> None:
        e, m = self.emissions, self.mask
        if e.dim() != 3:
            raise ShapeError(f"emissions must be (B, T, K), got shape {tuple(e.shape)}")
        b, t, k = e.shape
        if t == 0 or k == 0:
            raise ShapeError(f"emissions need T >= 1 and K >= 1, got shape {tuple(e.shape)}")
        if self.transitions.shape != (k, k):
            raise ShapeError(f"transitions must be ({k}, {k}), got {tuple(self.transitions.shape)}")
        for name in ("start", "end"):
            if getattr(self, name).shape != (k,):
                raise ShapeError(f"{name} must be ({k},), got {tuple(getattr(self, name).shape)}")
        if m.shape != (b, t) or m.dtype != torch.bool:
            raise ShapeError(f"mask must be bool ({b}, {t}), got {m.dtype} {tuple(m.shape)}")
        if b and not bool(m[:, 0].all()):
            raise ShapeError("mask[:, 0] must be True: every sequence needs at least one position")
        if t > 1 and bool((m[:, 1:] & ~m[:, :-1]).any()):
            raise ShapeError("mask must be right-padded (no True after a False in a row)")

    @property
    def lengths(self) -> Tensor:
        """(B,) number of real positions in each sequence."""
        return self.mask.sum(dim=1)

    def with_mask(self, allowed: Tensor, allowed_start: Tensor, allowed_end: Tensor) -> ChainPotentials:
        """Potentials with disallowed transitions, starts and ends scored -inf."""
        neg = float("-inf")
        return ChainPotentials(
            self.emissions,
            self.transitions.masked_fill(~allowed, neg),
            self.start.masked_fill(~allowed_start, neg),
            self.end.masked_fill(~allowed_end, neg),
            self.mask,
        )


def _scan_values(p: ChainPotentials, reduce: Callable[[Tensor], Tensor]) -> list[Tensor]:
    """Forward recursion of one best/total score per tag: states (K, B) for t = 0..T-1.

    state_t[j, b] = reduce_i(state_{t-1}[i, b] + transitions[i, j]) + emissions[b, t, j].
    Everything is kept tag-major, candidates (K_prev, K_next, B), so that `reduce` runs
    over the leading, contiguous dimension: several times faster on CPU than reducing
    over a last dimension of K. Padded positions carry the state over unchanged.
    """
    e = p.emissions.permute(1, 2, 0)  # (T, K, B)
    real = p.mask.t().unsqueeze(1)  # (T, 1, B)
    trans = p.transitions.unsqueeze(2)  # (K_prev, K_next, 1)
    state = p.start.unsqueeze(1) + e[0]
    states = [state]
    for t in range(1, e.shape[0]):
        new = reduce(state.unsqueeze(1) + trans) + e[t]  # (K, B)
        state = torch.where(real[t], new, state)
        states.append(state)
    return states


def _topk_scan(p: ChainPotentials, k: int) -> tuple[list[Tensor], list[Tensor]]:
    """Forward recursion keeping the k best prefix scores per tag, with backpointers.

    State[b, j, r] (B, K, k) is the r-th best score of prefixes ending in tag j;
    candidates cand[b, j, i*k + r] = state[b, i, r] + transitions[i, j] + emissions[b, t, j]
    and the backpointer is the index i*k + r of the chosen candidate. Padded positions keep
    the state and point back to themselves (identity backpointer).
    """
    e = p.emissions
    b, t_len, n_tags = e.shape
    trans = p.transitions.t().repeat_interleave(k, dim=1)  # (K_next, K_prev * k)
    first = (p.start + e[:, 0]).unsqueeze(-1)  # (B, K, 1)
    pad = first.new_full((b, n_tags, k - 1), float("-inf"))
    state = torch.cat([first, pad], dim=-1)
    states, backptrs = [state], []
    identity = torch.arange(n_tags * k, device=e.device).view(1, n_tags, k)
    for t in range(1, t_len):
        cand = state.reshape(b, 1, n_tags * k) + trans + e[:, t].unsqueeze(-1)  # (B, K, K*k)
        new, ptr = cand.topk(k, dim=-1)
        real = p.mask[:, t].view(b, 1, 1)
        state = torch.where(real, new, state)
        states.append(state)
        backptrs.append(torch.where(real, ptr, identity))
    return states, backptrs


def _logsumexp0(cand: Tensor) -> Tensor:
    return torch.logsumexp(cand, dim=0)


def _amax0(cand: Tensor) -> Tensor:
    return cand.amax(dim=0)


def forward_scores(p: ChainPotentials) -> Tensor:
    """(B, T, K) log-sum of scores of all prefixes ending in each tag (alphas); carried over padding."""
    return torch.stack(_scan_values(p, _logsumexp0)).permute(2, 0, 1)


def log_partition(p: ChainPotentials) -> Tensor:
    """(B,) log of the sum over all tag sequences of exp(score): log Z."""
    last = _scan_values(p, _logsumexp0)[-1]  # (K, B)
    return torch.logsumexp(last + p.end.unsqueeze(1), dim=0)


def marginals(p: ChainPotentials) -> Tensor:
    """(B, T, K) posterior probability of each tag at each position (zeros at padding).

    The gradient of log Z with respect to the emissions (forward-backward by autograd).
    """
    with torch.enable_grad():
        emissions = p.emissions.detach().requires_grad_(True)
        q = ChainPotentials(emissions, p.transitions.detach(), p.start.detach(), p.end.detach(), p.mask)
        (grad,) = torch.autograd.grad(log_partition(q).sum(), emissions)
    return grad


def viterbi(p: ChainPotentials) -> tuple[Tensor, Tensor]:
    """The best tag sequence of each chain: paths (B, T) and scores (B,).

    Stores only the max-scores per step; the backtrace recomputes each argmax for the one
    tag on the path, (B, K) work per step instead of keeping (B, K, K) backpointers.
    Padded positions of a path repeat its last tag.
    """
    states = _scan_values(p, _amax0)  # T x (K, B)
    scores, cur = (states[-1] + p.end.unsqueeze(1)).max(dim=0)  # (B,)
    history = torch.stack(states).transpose(1, 2).contiguous()  # (T, B, K)
    trans_to = p.transitions.t()  # (K_next, K_prev)
    tags = [cur]
    for t in range(len(states) - 1, 0, -1):
        prev = (history[t - 1] + trans_to[cur]).argmax(dim=-1)  # (B,)
        cur = torch.where(p.mask[:, t], prev, cur)
        tags.append(cur)
    return torch.stack(tags[::-1], dim=1), scores


def kbest(p: ChainPotentials, k: int) -> tuple[Tensor, Tensor]:
    """The k highest-scoring tag sequences: paths (B, k, T) and scores (B, k), best first.

    Where fewer than k sequences exist (K**T < k) or are allowed, the extra scores are
    -inf and their paths are arbitrary. Padded positions of a path repeat its last tag.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if k == 1:
        path, score = viterbi(p)
        return path.unsqueeze(1), score.unsqueeze(1)
    b, _, n_tags = p.emissions.shape
    states, backptrs = _topk_scan(p, k)
    final = (states[-1] + p.end.view(1, n_tags, 1)).reshape(b, n_tags * k)  # index j*k + r
    scores, cur = final.topk(k, dim=-1)  # (B, k)
    tags = [cur // k]
    for ptr in reversed(backptrs):
        cur = ptr.reshape(b, n_tags * k).gather(1, cur)
        tags.append(cur // k)
    return torch.stack(tags[::-1], dim=-1), scores  # (B, k, T), (B, k)


def score_paths(p: ChainPotentials, tags: Tensor) -> Tensor:
    """Scores of given tag sequences: tags (B, T) -> (B,), or (B, N, T) -> (B, N)."""
    if tags.dim() == 3:
        b, n, t = tags.shape
        rep = ChainPotentials(
            p.emissions.repeat_interleave(n, dim=0), p.transitions, p.start, p.end,
            p.mask.repeat_interleave(n, dim=0),
        )
        return score_paths(rep, tags.reshape(b * n, t)).view(b, n)
    if tags.shape != p.mask.shape:
        raise ShapeError(f"tags must be {tuple(p.mask.shape)} like the mask, got {tuple(tags.shape)}")
    mask = p.mask
    emit = p.emissions.gather(2, tags.unsqueeze(-1)).squeeze(-1)  # (B, T)
    zero = emit.new_zeros(())
    total = torch.where(mask, emit, zero).sum(dim=1) + p.start[tags[:, 0]]
    if tags.shape[1] > 1:
        trans = p.transitions[tags[:, :-1], tags[:, 1:]]  # (B, T-1)
        total = total + torch.where(mask[:, 1:], trans, zero).sum(dim=1)
    last = tags.gather(1, (p.lengths - 1).unsqueeze(1)).squeeze(1)
    return total + p.end[last]


def log_prob(p: ChainPotentials, tags: Tensor) -> Tensor:
    """Log-probability of given tag sequences under the chain's Gibbs distribution; differentiable."""
    z = log_partition(p)
    return score_paths(p, tags) - (z if tags.dim() == 2 else z.unsqueeze(1))


def _gumbel_argmax(logits: Tensor, generator: torch.Generator | None) -> Tensor:
    """One exact sample per row of unnormalised log-probabilities (Gumbel-max trick)."""
    u = torch.rand(logits.shape, generator=generator, dtype=logits.dtype, device=logits.device)
    gumbel = -torch.log(-torch.log(u.clamp_min(torch.finfo(logits.dtype).tiny)))
    return (logits + gumbel).argmax(dim=-1)


def sample(p: ChainPotentials, n: int = 1, generator: torch.Generator | None = None) -> Tensor:
    """n exact samples per chain (forward filtering, backward sampling): (B, n, T).

    Padded positions repeat the sequence's last tag, as in `kbest`.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    with torch.no_grad():
        alphas = forward_scores(p)  # (B, T, K)
        b, t_len, _ = alphas.shape
        last = (alphas[:, -1] + p.end).unsqueeze(1).expand(b, n, -1)  # (B, n, K)
        cur = _gumbel_argmax(last, generator)  # (B, n) tag at each chain's last real position
        tags = [cur]
        trans_to = p.transitions.t()  # (K_next, K_prev)
        for t in range(t_len - 2, -1, -1):
            logits = alphas[:, t].unsqueeze(1) + trans_to[cur]  # (B, n, K)
            drawn = _gumbel_argmax(logits, generator)
            cur = torch.where(p.mask[:, t + 1].unsqueeze(1), drawn, cur)
            tags.append(cur)
    return torch.stack(tags[::-1], dim=-1)
