"""word2vec (Mikolov et al. 2013) in batched torch: skip-gram and CBOW, each with negative
sampling or hierarchical softmax.

Training examples come from a chunk of sentences at a time (numpy, vectorised):
- each occurrence of a frequent word is dropped with 1 - keep probability (subsampling);
- each centre word draws its window b in 1..window (the dynamic window: near words count more);
- skip-gram pairs every centre with each context word within b; CBOW averages the context
  vectors within b and predicts the centre (each context vector then gets the whole gradient,
  as in word2vec's C code).
The loss of a batch is the sum of the examples' losses (negative sampling: -log s(u_o . h) -
sum_k log s(-u_k . h); hierarchical softmax: -sum_j log s((1 - 2 code_j) u_node_j . h) along
the word's Huffman path), so plain SGD on it makes the updates word2vec makes, with a learning
rate decaying linearly over the run. `update` takes that step with the gradients written out
(word2vec's own formulas: one gather and one index_add_ per table), which equals autograd's
SGD step on `loss` exactly and costs half as much: no graph, no sparse-gradient coalescing;
`compile_steps` fuses it with torch.compile for another 2.5x on the CPU. Two departures, both
for hierarchical softmax, whose nodes near the root are scored by nearly every example: as in
word2vec, a decision scored beyond +-SETTLED takes no step; and with `node_steps`, no output row
takes more than that many examples' summed steps in one batch (`limited`). Skip-gram with
hierarchical softmax trains one row per (example, node) decision, the hot nodes' apart
(`decision_step`, `hot_decision_step`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hybrid.embeddings.huffman import huffman_codes

SETTLED = 6.0  # hierarchical softmax: decisions scored beyond +-SETTLED take no step (word2vec's MAX_EXP)
HOT_NODES = 256  # hierarchical softmax: the inner nodes nearest the root, whose steps `hot_decision_step` sums apart


def reduced_windows(n: int, window: int, rng: np.random.Generator) -> np.ndarray:
    """(n,) each centre's effective window, uniform in 1..window."""
    return rng.integers(1, window + 1, size=n)


def skipgram_pairs(ids: np.ndarray, starts: np.ndarray, window: int,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(centres, contexts) of the sentences ids[starts[s]:starts[s+1]]: each centre i with each
    j != i in the same sentence and |i - j| <= its reduced window."""
    sentence = np.repeat(np.arange(len(starts) - 1), np.diff(starts))  # (N,) which sentence each word is in
    reach = reduced_windows(len(ids), window, rng)
    centres, contexts = [], []
    for d in range(1, window + 1):
        same = sentence[d:] == sentence[:-d]  # positions i, i + d in one sentence
        right = same & (reach[:-d] >= d)  # centre i, context i + d
        left = same & (reach[d:] >= d)  # centre i + d, context i
        centres += [ids[:-d][right], ids[d:][left]]
        contexts += [ids[d:][right], ids[:-d][left]]
    return np.concatenate(centres), np.concatenate(contexts)


def cbow_windows(ids: np.ndarray, starts: np.ndarray, window: int,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(centres (M,), contexts (M, 2 window), mask (M, 2 window)): each word with the words
    within its reduced window in its sentence; words with no context are left out."""
    n = len(ids)
    sentence = np.repeat(np.arange(len(starts) - 1), np.diff(starts))
    reach = reduced_windows(n, window, rng)
    offsets = np.concatenate([np.arange(-window, 0), np.arange(1, window + 1)])  # (2w,)
    position = np.arange(n)[:, None] + offsets[None, :]  # (N, 2w)
    inside = (position >= 0) & (position < n)
    clipped = np.clip(position, 0, max(n - 1, 0))
    mask = inside & (sentence[clipped] == sentence[:, None]) & (np.abs(offsets)[None, :] <= reach[:, None])
    has = mask.any(1)
    return ids[has], np.where(mask, ids[clipped], 0)[has], mask[has]


class Word2Vec(nn.Module):
    """Input vectors (the word vectors) and output vectors (one per word for negative sampling,
    one per inner Huffman node for hierarchical softmax), both sparse-gradient embeddings."""

    def __init__(self, counts: list[int], dim: int, model: str = "skipgram", loss: str = "ns", negative: int = 5,
                 seed: int = 1, node_steps: float | None = None):
        super().__init__()
        if model not in ("skipgram", "cbow") or loss not in ("ns", "hs"):
            raise ValueError(f"model must be skipgram or cbow and loss ns or hs, got {model!r}, {loss!r}")
        self.model, self.loss_kind, self.negative = model, loss, negative
        self.node_steps = node_steps  # the most summed steps an output row takes in one batch (`limited`); None: all
        self.output_step = output_step  # or its compiled form (compile_steps)
        self.decision_step = decision_step  # skip-gram with hierarchical softmax: the whole step, one row per decision
        self.hot_decision_step = hot_decision_step  # the same, on decisions at hot nodes only
        v = len(counts)
        generator = torch.Generator().manual_seed(seed)
        self.inputs = nn.Embedding(v, dim, sparse=True)
        with torch.no_grad():  # word2vec's initialisation: inputs uniform in +-0.5 / dim, outputs zero
            self.inputs.weight.copy_((torch.rand(v, dim, generator=generator) - 0.5) / dim)
        self.outputs = nn.Embedding(v if loss == "ns" else v - 1, dim, sparse=True)
        self.mean_code_length = 1
        self.hot_nodes = 0
        nn.init.zeros_(self.outputs.weight)
        if loss == "hs":
            codes, paths = huffman_codes(counts)
            depth = max(len(c) for c in codes)
            self.codes: Tensor
            self.paths: Tensor
            self.depths: Tensor
            self.path_starts: Tensor
            self.flat_paths: Tensor
            self.flat_labels: Tensor
            self.register_buffer("codes", _padded(codes, depth), persistent=False)  # (V, L)
            self.register_buffer("paths", _padded(paths, depth), persistent=False)  # (V, L)
            self.register_buffer("depths", torch.tensor([len(c) for c in codes]), persistent=False)
            real = torch.arange(depth) < self.depths.unsqueeze(1)  # (V, L)
            # the same paths end to end (no padding): word w's nodes are flat_paths[path_starts[w]:path_starts[w+1]]
            self.register_buffer("flat_paths", self.paths[real], persistent=False)
            self.register_buffer("flat_labels", 1.0 - self.codes[real].float(), persistent=False)
            self.register_buffer("path_starts", F.pad(self.depths.cumsum(0), (1, 0)), persistent=False)  # (V + 1,)
            # the inner nodes nearest the root (the highest ids: each is made after its children), which most
            # examples score; on a path (root first) they come first: hot_lengths[w] of them on w's path
            self.hot_nodes = min(HOT_NODES, v - 1) if model == "skipgram" else 0
            self.hot_lengths: Tensor
            hot_lengths = ((self.paths >= v - 1 - self.hot_nodes) & real).sum(1)  # (V,)
            self.register_buffer("hot_lengths", hot_lengths, persistent=False)
            weights = torch.tensor(counts, dtype=torch.float64).clamp_min(1)
            # about how many tree decisions an example makes: the count-weighted mean code length
            self.mean_code_length = max(1, round(float((weights * self.depths).sum() / weights.sum())))

    def hidden(self, centres: Tensor, contexts: Tensor | None = None, mask: Tensor | None = None) -> Tensor:
        """(N, D): the centre's vector (skip-gram), or the mean of the context vectors (CBOW)."""
        if self.model == "skipgram":
            return self.inputs(centres)
        assert contexts is not None and mask is not None
        m = mask.to(self.inputs.weight.dtype).unsqueeze(-1)  # (N, 2w, 1)
        summed = (self.inputs(contexts) * m).sum(1)  # (N, D)
        # the value is the mean, but each context row receives the whole gradient, as in
        # word2vec's C code and gensim (cbow_mean=1): syn0[c] += neu1e for every context word c
        return summed.detach() / m.sum(1).clamp_min(1.0) + (summed - summed.detach())

    def loss(self, h: Tensor, targets: Tensor, noise: Tensor | None = None) -> Tensor:
        """Summed loss of predicting `targets` (N,) from `h` (N, D); `noise` (N, k) ids for
        negative sampling."""
        if self.loss_kind == "ns":
            assert noise is not None
            positive = F.logsigmoid((self.outputs(targets) * h).sum(-1))  # (N,)
            # a noise word equal to the target is skipped, as word2vec does
            other = (noise != targets.unsqueeze(-1)).to(h.dtype)  # (N, k)
            negative = (F.logsigmoid(-(self.outputs(noise) @ h.unsqueeze(-1)).squeeze(-1)) * other).sum(-1)  # (N,)
            return -(positive + negative).sum()
        codes, paths = self.codes[targets], self.paths[targets]  # (N, L)
        real = torch.arange(codes.shape[1], device=h.device) < self.depths[targets].unsqueeze(1)  # (N, L)
        scores = (self.outputs(paths) @ h.unsqueeze(-1)).squeeze(-1)  # (N, L)
        signed = (1 - 2 * codes).to(h.dtype) * scores
        return -(F.logsigmoid(signed) * real).sum()

    def _output_rows(self, targets: Tensor, noise: Tensor | None) -> tuple[Tensor, Tensor, Tensor]:
        """For each example the output rows it scores (N, L), whether each should score high
        (1) or low (0), and which count (N, L)."""
        if self.loss_kind == "ns":
            assert noise is not None
            ids = torch.cat([targets.unsqueeze(-1), noise], 1)  # (N, 1 + k)
            labels = torch.zeros(ids.shape, dtype=self.inputs.weight.dtype, device=ids.device)
            labels[:, 0] = 1.0
            counted = torch.ones_like(labels)
            counted[:, 1:] = (noise != targets.unsqueeze(-1)).to(labels.dtype)
            return ids, labels, counted
        ids = self.paths[targets]  # (N, L)
        labels = (1 - self.codes[targets]).to(self.inputs.weight.dtype)
        counted = (torch.arange(ids.shape[1], device=ids.device) < self.depths[targets].unsqueeze(1)).to(labels.dtype)
        return ids, labels, counted

    def _tree_decisions(self, centres: Tensor, targets: Tensor, first: Tensor, end: Tensor) -> tuple[Tensor, ...]:
        """Skip-gram with hierarchical softmax, one (example, node) decision per row, each example's
        consecutive: the nodes first[w]:end[w] of the path of each example's target w, as (input
        rows (P,), node ids (P, 1), labels (P, 1)), with no padding to the deepest code."""
        lengths = (end - first).index_select(0, targets)  # (N,)
        ends = lengths.cumsum(0)
        total = int(ends[-1]) if len(ends) else 0
        # decision p of example i is entry first + p - (decisions before i) of i's target's path
        offsets = (self.path_starts[:-1] + first).index_select(0, targets) - (ends - lengths)  # (N,)
        position = offsets.repeat_interleave(lengths, output_size=total)  # (P,)
        position += torch.arange(total, device=targets.device)
        return (centres.repeat_interleave(lengths, output_size=total),
                self.flat_paths.index_select(0, position).unsqueeze(1),
                self.flat_labels.index_select(0, position).unsqueeze(1))

    @torch.no_grad()
    def prepare(self, centres: Tensor, targets: Tensor, noise: Tensor | None = None, contexts: Tensor | None = None,
                mask: Tensor | None = None) -> PreparedBatch:
        """Examples (the arguments of `hidden` and `loss`) in the form `update` takes; made on the
        input pipeline's thread, for a whole chunk at once, then `split` into SGD batches.
        Skip-gram with hierarchical softmax makes one row per (example, tree node) decision."""
        segments = per_example = None
        if self.model == "skipgram" and self.loss_kind == "hs":  # the hot nodes' decisions first, then the rest
            hot = self._tree_decisions(centres, targets, torch.zeros_like(self.hot_lengths), self.hot_lengths)
            cold = self._tree_decisions(centres, targets, self.hot_lengths, self.depths)
            rows, ids, labels = (torch.cat(pair) for pair in zip(hot, cold, strict=True))
            return PreparedBatch(rows, None, None, ids, labels, torch.ones_like(labels), len(ids), len(hot[0]))
        ids, labels, counted = self._output_rows(targets, noise)
        if self.model == "skipgram":
            rows = centres
        else:
            assert contexts is not None and mask is not None
            rows = contexts[mask]  # (R,) the real context words only
            segments = torch.arange(len(mask), device=mask.device).repeat_interleave(mask.sum(1))  # (R,)
            per_example = mask.sum(1, keepdim=True).clamp_min(1).to(labels.dtype)  # (N, 1)
        return PreparedBatch(rows, segments, per_example, ids, labels, counted, len(ids))

    @torch.no_grad()
    def update(self, lr: Tensor, batch: PreparedBatch) -> Tensor:
        """One SGD step of learning rate `lr` (a 0-d tensor, so a compiled step is not
        recompiled as it decays) on the summed loss of a prepared batch; the loss before it."""
        weights = self.inputs.weight.detach()
        if self.model == "skipgram" and self.loss_kind == "hs":  # rows are (example, node) decisions
            decisions = (weights, self.outputs.weight.detach(), batch.rows, batch.ids.view(-1), batch.labels.view(-1),
                         batch.counted.view(-1), lr, self.node_steps)
            if batch.hot == len(batch.ids) > 0:
                return self.hot_decision_step(*decisions, self.hot_nodes)
            return self.decision_step(*decisions)
        gathered = weights.index_select(0, batch.rows)  # (R, D)
        if batch.segments is None:
            h = gathered
        else:  # CBOW: the mean of each example's context vectors
            assert batch.per_example is not None
            h = torch.zeros(len(batch.ids), weights.shape[1], dtype=weights.dtype, device=weights.device)
            h = h.index_add_(0, batch.segments, gathered).div_(batch.per_example)  # (N, D)
        step_h, loss = self.output_step(self.outputs.weight.detach(), h, batch.ids, batch.labels, batch.counted, lr,
                                        self.node_steps, SETTLED if self.loss_kind == "hs" else None)
        # every context row takes the whole step, as in word2vec's C code and gensim (cbow_mean=1)
        weights.index_add_(0, batch.rows, step_h if batch.segments is None else step_h.index_select(0, batch.segments))
        return loss

    def compile_steps(self, compiled: bool = True) -> None:
        """Train with the steps compiled by torch.compile (fused C++ loops on the CPU: about 2.5x
        the eager speed; the first call compiles, and raises if no compiler works), or eagerly."""
        steps: tuple[Any, ...] = (output_step, decision_step, hot_decision_step)
        if compiled:
            steps = tuple(torch.compile(step, fullgraph=True, dynamic=False) for step in steps)
        self.output_step, self.decision_step, self.hot_decision_step = steps

    def sgd_step(self, lr: float, centres: Tensor, targets: Tensor, noise: Tensor | None = None,
                 contexts: Tensor | None = None, mask: Tensor | None = None) -> float:
        """One SGD step of learning rate `lr` on the summed loss of a batch (the arguments of
        `hidden` and `loss`); returns the loss before the step."""
        rate = torch.tensor(lr, dtype=self.inputs.weight.dtype, device=self.inputs.weight.device)
        return float(self.update(rate, self.prepare(centres, targets, noise, contexts, mask)))

    def log_probabilities(self, h: Tensor) -> Tensor:
        """(N, V) log P(w | h) under hierarchical softmax (a distribution: tests sum it to 1)."""
        scores = h @ self.outputs.weight.T  # (N, V - 1)
        picked = scores[:, self.paths]  # (N, V, L)
        signed = (1 - 2 * self.codes).to(h.dtype) * picked
        real = torch.arange(self.codes.shape[1], device=h.device) < self.depths.unsqueeze(1)  # (V, L)
        return (F.logsigmoid(signed) * real).sum(-1)


class PreparedBatch(NamedTuple):
    """One SGD batch as `Word2Vec.update` takes it."""

    rows: Tensor  # (R,) input rows: the centres (skip-gram) or every real context word (CBOW)
    segments: Tensor | None  # (R,) CBOW: the example each context word belongs to
    per_example: Tensor | None  # (N, 1) CBOW: context words per example
    ids: Tensor  # (N, L) output rows each example scores: target and noise words, or Huffman nodes
    labels: Tensor  # (N, L) 1 where the score should be high, 0 where low
    counted: Tensor  # (N, L) 0 for padding, a noise word equal to the target, or past the code's end
    size: int  # examples before padding
    hot: int = 0  # skip-gram with hierarchical softmax: the first `hot` rows score hot nodes only

    def split(self, batch_size: int, pad: bool = False) -> list[PreparedBatch]:
        """Consecutive batches of `batch_size` examples (views, no copies), the `hot` rows apart
        from the rest; `pad`: each last one `padded` to the same size, so that a compiled step
        sees one shape."""
        offsets = None if self.segments is None or self.per_example is None else \
            [0, *self.per_example.squeeze(1).long().cumsum(0).tolist()]  # each example's first context row
        batches = []
        ranges = [(start, min(start + batch_size, self.hot)) for start in range(0, self.hot, batch_size)] + \
            [(start, min(start + batch_size, self.size)) for start in range(self.hot, self.size, batch_size)]
        for start, end in ranges:
            if offsets is None:
                rows, segments, per_example = self.rows[start:end], None, None
            else:
                assert self.segments is not None and self.per_example is not None
                rows = self.rows[offsets[start] : offsets[end]]
                segments = self.segments[offsets[start] : offsets[end]] - start
                per_example = self.per_example[start:end]
            batch = PreparedBatch(rows, segments, per_example, self.ids[start:end], self.labels[start:end],
                                  self.counted[start:end], end - start, end - start if end <= self.hot else 0)
            batches.append(batch.padded(batch_size) if pad else batch)
        return batches

    def padded(self, size: int) -> PreparedBatch:
        """The batch with examples added up to `size` that count nothing (no loss, zero steps)."""
        missing = size - len(self.ids)
        if missing <= 0:
            return self
        ids, labels, counted = (F.pad(t, (0, 0, 0, missing)) for t in (self.ids, self.labels, self.counted))
        rows, per_example = self.rows, self.per_example
        if per_example is None:
            rows = F.pad(rows, (0, missing))  # row 0, with a step of zero
        else:
            per_example = F.pad(per_example, (0, 0, 0, missing), value=1.0)
        hot = size if self.hot == len(self.ids) > 0 else self.hot  # padding rows count nothing at any node
        return PreparedBatch(rows, self.segments, per_example, ids, labels, counted, self.size, hot)


def output_step(outputs: Tensor, h: Tensor, ids: Tensor, labels: Tensor, counted: Tensor,
                lr: Tensor, node_steps: float | None = None, settled: float | None = None) -> tuple[Tensor, Tensor]:
    """The output side of one SGD step, word2vec's formulas: scores u . h of the rows `ids`
    (N, L), the step -lr dJ/dh (N, D) for the input side, and the output rows' own step
    (limited by `node_steps`, see `limited`), taken in place; returns (step_h, summed loss
    before the step). Compiled, the gather, products and scatter fuse into one pass with no
    (N, L, D) temporaries."""
    u = outputs.index_select(0, ids.reshape(-1)).view(*ids.shape, -1)  # (N, L, D)
    loss, coef = scored(u, h.unsqueeze(1), labels, counted, lr, settled)  # coef (N, L)
    step_h = (coef.unsqueeze(-1) * u).sum(1)  # (N, D)
    own = limited(coef, ids, counted, len(outputs), node_steps)
    outputs.index_add_(0, ids.reshape(-1), (own.unsqueeze(-1) * h.unsqueeze(1)).reshape(-1, h.shape[1]))
    return step_h, loss


def decision_step(inputs: Tensor, outputs: Tensor, rows: Tensor, ids: Tensor, labels: Tensor, counted: Tensor,
                  lr: Tensor, node_steps: float | None = None) -> Tensor:
    """One SGD step on (P,) binary decisions: input row `rows[p]` scored against output row
    `ids[p]`, label 1 or 0 (skip-gram's tree decisions, each example's consecutive). Both tables
    step in place, the output rows' steps limited by `node_steps` (see `limited`); returns the
    summed loss before the step. Compiled, it is one kernel with no (P, D) temporaries but the
    gathered inputs."""
    h = inputs.index_select(0, rows)  # (P, D)
    u = outputs.index_select(0, ids)  # (P, D)
    loss, coef = scored(u, h, labels, counted, lr, SETTLED)  # coef (P,)
    own = limited(coef, ids, counted, len(outputs), node_steps)
    inputs.index_add_(0, rows, coef.unsqueeze(-1) * u)
    outputs.index_add_(0, ids, own.unsqueeze(-1) * h)
    return loss


def hot_decision_step(inputs: Tensor, outputs: Tensor, rows: Tensor, ids: Tensor, labels: Tensor, counted: Tensor,
                      lr: Tensor, node_steps: float | None, hot: int) -> Tensor:
    """`decision_step` on decisions that score only the last `hot` output rows (the nodes
    nearest the root): their steps are summed in a small table of this process's own, added to
    the shared rows once. With several worker processes on one table (Hogwild), a row that
    every batch writes hundreds of times moves between the cores' caches at each write (a
    quarter of the step's time with 2 workers): this step writes it once per batch."""
    first = outputs.shape[0] - hot
    local = (ids - first).clamp_min(0)  # (P,); padding rows (id 0, counted 0) land on row 0 with no step
    h = inputs.index_select(0, rows)  # (P, D)
    u = outputs[first:].index_select(0, local)  # (P, D)
    loss, coef = scored(u, h, labels, counted, lr, SETTLED)  # coef (P,)
    own = limited(coef, local, counted, hot, node_steps)
    inputs.index_add_(0, rows, coef.unsqueeze(-1) * u)
    summed = torch.zeros(hot, h.shape[1], dtype=h.dtype, device=h.device).index_add_(0, local, own.unsqueeze(-1) * h)
    # index_add_, not `outputs[first:] +=`: compiled, a slice's in-place add copies the whole table
    outputs.index_add_(0, torch.arange(first, outputs.shape[0], device=h.device), summed)
    return loss


def scored(u: Tensor, h: Tensor, labels: Tensor, counted: Tensor, lr: Tensor,
           settled: float | None) -> tuple[Tensor, Tensor]:
    """Scores u . h (over the last dimension) against their labels: the summed loss of the
    counted ones, and each score's -lr dJ/dscore, word2vec's g = (label - sigmoid(score)) lr;
    past `settled` (|score| >= settled) none, as word2vec's C code and gensim do for
    hierarchical softmax's decisions: a node that already separates so clearly is left alone."""
    scores = (u * h).sum(-1)
    loss = -(F.logsigmoid(torch.where(labels > 0, scores, -scores)) * counted).sum()
    coef = (labels - torch.sigmoid(scores)) * counted * lr
    return loss, coef if settled is None else torch.where(scores.abs() < settled, coef, 0.0)


def limited(coef: Tensor, ids: Tensor, counted: Tensor, rows: int, node_steps: float | None) -> Tensor:
    """The output rows' step coefficients `coef` (shaped as `ids`), scaled so that a row that n
    of the batch's examples score takes min(1, node_steps / n) of their summed step (None: all of
    it, plain SGD). The n steps are all computed from the row's old value: for the Huffman root,
    which every example scores, hundreds of them overshoot and training diverges, where
    word2vec's one-example-at-a-time steps correct each other. Rows scored a few times (most of
    them) keep plain SGD's step."""
    if node_steps is None:
        return coef
    times = torch.zeros(rows, dtype=coef.dtype, device=coef.device)
    times = times.index_add(0, ids.reshape(-1), counted.reshape(-1).to(coef.dtype))  # padding counts 0
    return coef * (node_steps / times[ids].clamp_min(1.0)).clamp_max(1.0)


def _padded(rows: list[list[int]], width: int) -> Tensor:
    out = torch.zeros(len(rows), width, dtype=torch.long)
    for i, row in enumerate(rows):
        out[i, : len(row)] = torch.tensor(row, dtype=torch.long)
    return out
