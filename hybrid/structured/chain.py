"""Dynamic programs over linear-chain log-potentials, batched in torch and written once.

Every structured layer reduces a batch to `ChainPotentials`; Viterbi, k-best Viterbi,
log-partition, marginals and exact sampling all run the same forward recursion over them,
differing only in how a step combines scores (the semiring: log-sum-exp or max); k-best
search reuses the max pass and backtraces from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

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


class _Trellis(NamedTuple):
    """The Viterbi forward scores and transitions, in the layouts the backtraces read."""

    hist: list[Tensor]  # T x (K, B) best prefix scores ending in each tag, tag-major
    flat: Tensor  # ((T + 1) * B, K) the same tag-last, row (t + 1) * B + b; rows < B scratch
    trans: Tensor  # (K, K) transitions, row i = from tag i
    trans_to: Tensor  # (K + 1, K) transitions into each tag; row K the end scores


def _trace_back(tr: _Trellis, path: Tensor, keep: Tensor, lo: int, hi: int, delta: Tensor) -> None:
    """Backtrace right to left in absolute time over positions t < hi, in place.

    path (T, B) keeps its tag where keep (T, B) and elsewhere takes the best predecessor of
    the tag at t + 1; keep is all False below `lo` and all True from `hi` on. Where it takes
    one, delta[t] (T, B) becomes (best other in-edge score) - (own in-edge score) of the tag
    at t + 1, i.e. how much worse the best path is that first differs from this one at t
    (counting right to left). (K, B) work per step, like the Viterbi backtrace.
    """
    if hi <= 0:
        return
    n_tags, b = tr.hist[0].shape
    rows, top = tr.hist[0].new_empty((hi, n_tags, b)), tr.hist[0].new_empty((hi, b))
    best = torch.empty_like(path[0])
    path_at = path.unbind(0)
    for t in range(hi - 1, -1, -1):
        row = torch.add(tr.hist[t], tr.trans.index_select(1, path_at[t + 1]), out=rows[t])  # (K, B)
        if t < lo:
            torch.max(row, dim=0, out=(top[t], path_at[t]))
        else:
            torch.max(row, dim=0, out=(top[t], best))
            torch.where(keep[t], path_at[t], best, out=path_at[t])
    second = rows.scatter_(1, path[:hi].unsqueeze(1), float("-inf")).amax(dim=1)  # (hi, B)
    torch.where(keep[:hi], delta[:hi], second - top, out=delta[:hi])


def _trace_branch(
    tr: _Trellis, tag: Tensor, depart: Tensor, parent: Tensor, path: Tensor, delta: Tensor,
    patient: bool,
) -> bool:
    """Backtrace of a new path from tag (B,) at position depart (B,), until it meets its parent.

    path (T + 2, B) and delta (T + 1, B), indexed by position + 1 (row 0 scratch), hold on
    entry the parent's path (T + 2, B) and deltas, with the new path's tags after `depart`
    (see `_trace_back` for delta). Before `depart` the new path is the Viterbi backtrace from
    (depart, tag), which mostly rejoins the parent's own backtrace within a few steps; from
    there on the two coincide. So the steps run in time relative to `depart` (chain b at
    position depart[b] - 1 - s at step s, on the tag-last `tr.flat`; chains already done
    write to the scratch row) and stop once every chain has met its parent or position 0.
    Chains slow to rejoin are finished in absolute time once that is the cheaper way.
    """
    b, n_tags = tag.shape[0], tr.flat.shape[1]
    batch = torch.arange(b, device=tag.device)
    longest = int(depart.max())
    # relative steps before switching to absolute time, where a step costs about half
    budget = (longest + 2) // 3 if patient else min(2, longest)
    steps = torch.arange(budget, device=tag.device).unsqueeze(1)  # (S, 1)
    start = depart * b + batch - steps * b  # (S, B) flat index of position depart - 1 - s
    bottom = steps + 1 >= depart  # (S, B) position 0 reached
    # per step: flat index written (the scratch row once done), in-edge rows, tags, maxima
    at = torch.empty((budget, b), dtype=torch.long, device=tag.device)
    rows = tr.flat.new_empty((budget, b, n_tags))
    tags, top = torch.empty_like(at), tr.flat.new_empty((budget, b))
    done, cur, s = depart == 0, tag, 0
    while s < budget and not bool(done.all()):
        torch.where(done, batch, start[s], out=at[s])
        torch.add(tr.flat.index_select(0, at[s]), tr.trans_to.index_select(0, cur), out=rows[s])
        torch.max(rows[s], dim=-1, out=(top[s], tags[s]))
        cur = tags[s]
        done = done | bottom[s] | (cur == parent.view(-1).index_select(0, at[s]))
        s += 1
    # the deltas, and the tags, written in one go
    second = rows[:s].scatter_(2, tags[:s].unsqueeze(2), float("-inf")).amax(dim=2)  # (s, B)
    path.view(-1).index_copy_(0, at[:s].view(-1), tags[:s].view(-1))
    delta.view(-1).index_copy_(0, at[:s].view(-1), (second - top[:s]).view(-1))
    if bool(done.all()):
        return True
    # slow to rejoin: finish in absolute time, which is now the cheaper way
    slots = torch.arange(path.shape[0] - 2, device=tag.device).unsqueeze(1)
    keep = done | (slots >= depart - s)
    _trace_back(tr, path[1:-1], keep, 0, int(torch.where(done, 0, depart - s).max()), delta[1:])
    return False


def _kbest_search(p: ChainPotentials, k: int) -> tuple[Tensor, Tensor]:
    """k best paths (k, T, B) and scores (k, B) by Lawler's partition of the path space.

    One Viterbi forward pass and backtrace, then one mostly short backtrace per further path
    (Nilsson & Goldberger 2001). The n-th found path P_n owns, for each position t before the
    one where it left its parent (where it "departs"), the set ("item" n * T + t) of the paths
    equal to P_n after t and different at t. The item's best member takes the best other
    predecessor of P_n[t + 1] at t and the Viterbi prefix before it: its score is
    score(P_n) + delta_n[t] (see `_trace_back`). P_0's item at slot T - 1 is the paths whose
    last tag differs. The next path is the best item's best member; the item keeps the
    others (its `excluded` tags grow by one) and the new path adds its own items. The items
    partition the paths not yet found, so the k pops are the k best paths, distinct even under
    ties; once the items run out the pops score -inf.
    """
    neg = float("-inf")
    b, t_len, n_tags = p.emissions.shape
    device = p.emissions.device
    if b == 0:
        return p.mask.new_zeros((k, t_len, 0), dtype=torch.long), p.emissions.new_zeros((k, 0))
    hist = _scan_values(p, _amax0)  # T x (K, B)
    flat = hist[0].new_zeros(((t_len + 1) * b, n_tags))
    flat[b:].view(t_len, b, n_tags).copy_(torch.stack(hist).transpose(1, 2))
    trans_to = torch.cat([p.transitions, p.end.unsqueeze(1)], dim=1).t().contiguous()
    tr = _Trellis(hist, flat, p.transitions, trans_to)
    batch = torch.arange(b, device=device)
    slots = torch.arange(t_len, device=device).unsqueeze(1)  # (T, 1)
    last = p.lengths - 1  # (B,)
    # per path, indexed by position + 1: row 0 scratch, and the end tag K at row T + 1
    paths = torch.full((k, t_len + 2, b), n_tags, dtype=torch.long, device=device)
    deltas = hist[0].new_full((k, t_len + 1, b), neg)
    scores = hist[0].new_full((k, b), neg)
    value = hist[0].new_full((k * t_len, b), neg)  # each item's best member's score
    excluded = torch.zeros((k * t_len * b, n_tags), dtype=torch.bool, device=device)

    # P_0: the Viterbi path, and its final item
    final = hist[-1] + p.end.unsqueeze(1)  # (K, B) whole-path scores by last tag
    scores[0], tag = final.max(dim=0)
    paths[0, 1:-1] = tag
    _trace_back(tr, paths[0, 1:-1], slots >= last, int(last.min()), int(last.max()), deltas[0, 1:])
    final[tag, batch] = neg
    deltas[0, t_len] = final.amax(dim=0) - scores[0]
    span, patient, neg_t = (t_len + 2) * b, True, scores.new_tensor(neg)
    for n in range(1, k):
        # the items of the path found last
        items = value[(n - 1) * t_len : n * t_len]  # (T, B)
        torch.nan_to_num(scores[n - 1] + deltas[n - 1, 1:], nan=neg, neginf=neg, out=items)
        # pop the best item; its best member is the new path
        score, idx = value[: n * t_len].max(dim=0)  # (B,)
        src = idx.div(t_len, rounding_mode="floor")
        at = idx - src * t_len
        pos = (at + 1) * b + batch  # position `at` in the flat layouts
        own_at = src * span + pos
        own, nxt = paths.view(-1)[own_at], paths.view(-1)[own_at + b]  # P_src[at], P_src[at + 1]
        row = flat.index_select(0, pos) + trans_to.index_select(0, nxt)  # (B, K) in-edges
        row[batch, own] = neg
        ex_at = idx * b + batch
        row.masked_fill_(excluded[ex_at], neg)  # the item's members
        top, tag = row.max(dim=-1)
        excluded[ex_at, tag] = True
        row[batch, tag] = neg
        rest = score + (row.amax(dim=-1) - top)  # what is left of the item
        value[idx, batch] = rest.nan_to_num_(nan=neg, neginf=neg)
        scores[n] = score
        # the new path: the parent's, `tag` from `depart` to `at` (to the end for the final
        # item), and the Viterbi backtrace before `depart` until it rejoins the parent's
        depart = torch.where(at == t_len - 1, last, at)
        parent = paths.gather(0, src.view(1, 1, b).expand(1, t_len + 2, b)).squeeze(0)
        after = slots >= depart  # (T, B)
        torch.where(after & (slots <= at), tag, parent[1:-1], out=paths[n, 1:-1])
        from_parent = deltas.gather(0, src.view(1, 1, b).expand(1, t_len + 1, b)).squeeze(0)
        torch.where(after, neg_t, from_parent[1:], out=deltas[n, 1:])
        patient = _trace_branch(tr, tag, depart, parent, paths[n], deltas[n], patient)
    return paths[:, 1:-1], scores


def _logsumexp0(cand: Tensor) -> Tensor:
    """logsumexp over dim 0; a column that is all -inf gives -inf with a zero gradient
    (torch's own gives a NaN gradient there, which would poison the marginals)."""
    dead = torch.isneginf(cand).all(dim=0)
    if not bool(dead.any()):
        return torch.logsumexp(cand, dim=0)
    return torch.logsumexp(cand.masked_fill(dead, 0.0), dim=0).masked_fill(dead, float("-inf"))


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
    Padded positions of a path repeat its last tag. On the CPU, when no gradient is wanted,
    the same arithmetic runs in numpy (hybrid.runtime.decode): a numpy operation costs a
    fraction of a torch one on small arrays, which is most of a short batch's time.
    """
    parts = (p.emissions, p.transitions, p.start, p.end)
    on_cpu = all(x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64) for x in parts)
    if on_cpu and not (torch.is_grad_enabled() and any(x.requires_grad for x in parts)):
        return _viterbi_numpy(p)
    return _viterbi_torch(p)


def _viterbi_numpy(p: ChainPotentials) -> tuple[Tensor, Tensor]:
    from hybrid.runtime.decode import Chain
    from hybrid.runtime.decode import viterbi as numpy_viterbi

    dtype = p.emissions.dtype
    chain = Chain(*(x.detach().to(dtype).numpy() for x in (p.transitions, p.start, p.end)))
    paths, scores = numpy_viterbi(p.emissions.detach().numpy(), p.lengths.numpy(), chain)
    return torch.from_numpy(paths).long(), torch.from_numpy(scores)


def _viterbi_torch(p: ChainPotentials) -> tuple[Tensor, Tensor]:
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

    Exact: the k paths are distinct and no other path scores higher than the k-th, ties
    included (which of equally scored paths come first is arbitrary). Where fewer than k
    sequences exist (K**T < k) or are allowed, the extra scores are -inf and their paths are
    arbitrary. Padded positions of a path repeat its last tag. k == 1 is `viterbi`; for
    k > 1, one Viterbi forward pass and k backtraces, most of them short (`_kbest_search`).
    Scores are differentiable (as sums of the paths' potentials) when grad is enabled.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if k == 1:
        path, score = viterbi(p)
        return path.unsqueeze(1), score.unsqueeze(1)
    with torch.no_grad():
        paths, scores = _kbest_search(p, k)  # (k, T, B), (k, B)
    paths, scores = paths.permute(2, 0, 1).contiguous(), scores.t().contiguous()
    parts = (p.emissions, p.transitions, p.start, p.end)
    if torch.is_grad_enabled() and any(x.requires_grad for x in parts):
        # differentiable scores: the sum of each found path's potentials
        scores = torch.where(scores == float("-inf"), scores, score_paths(p, paths))
    return paths, scores


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
