"""CTC head: label sequences not aligned with the input (the speech-recognition case).

The one output layer outside the linear chain. The encoder's states (B, T, H) are projected
to V + 1 scores per position (label ids 1..V plus the blank, id `blank`, 0 by default); a
labelling y is the sum over every frame path that collapses to y (merge repeats, then drop
blanks). Training uses torch's `ctc_loss`; decoding is best-path (argmax per frame, collapsed)
or the standard CTC prefix beam search.

Shapes:
    features    (B, T, H) float   encoder output, right padded
    log_probs   (B, T, C) float   log-softmax over C = V + 1 classes (blank included)
    lengths     (B,) long         real input lengths (frames)
    targets     (B, S) long       right-padded label ids (never the blank); pad value ignored
    target_lengths (B,) long      real target lengths
"""

from __future__ import annotations

import math
from collections import defaultdict

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hybrid.errors import ShapeError


def min_frames(target: list[int]) -> int:
    """The fewest input frames that can emit `target`: its length plus one per adjacent repeat."""
    return len(target) + sum(1 for a, b in zip(target, target[1:], strict=False) if a == b)


def collapse(path: list[int], blank: int = 0) -> list[int]:
    """Merge adjacent repeats, then drop blanks: the labelling a frame path emits."""
    out: list[int] = []
    prev = None
    for s in path:
        if s != prev and s != blank:
            out.append(s)
        prev = s
    return out


class CTCHead(nn.Module):
    """features (B, T, H) -> log_probs (B, T, num_labels + 1); CTC loss and decoding.

    `num_labels` counts the real labels; the head has num_labels + 1 outputs and the blank is
    class `blank` (0 by default, so label ids are 1..num_labels and a vocabulary whose id 0
    is padding can be reused as is).
    """

    def __init__(self, input_size: int, num_labels: int, blank: int = 0, zero_infinity: bool = False):
        super().__init__()
        if not 0 <= blank <= num_labels:
            raise ShapeError(f"blank {blank} is not a class of {num_labels + 1}")
        self.num_classes = num_labels + 1
        self.blank = blank
        self.zero_infinity = zero_infinity
        self.proj = nn.Linear(input_size, self.num_classes)

    def forward(self, features: Tensor) -> Tensor:
        """features (B, T, H) -> log-probabilities (B, T, C)."""
        return F.log_softmax(self.proj(features), dim=-1)

    def loss(self, log_probs: Tensor, lengths: Tensor, targets: Tensor, target_lengths: Tensor,
             reduction: str = "mean") -> Tensor:
        """Negative log-likelihood of the targets, summed over alignments.

        log_probs (B, T, C), lengths (B,), targets (B, S), target_lengths (B,). reduction
        "mean" divides each sentence's loss by its target length, then averages (torch's
        convention); "sum" and "none" as in torch. A target that needs more frames than its
        input has (label count + adjacent repeats) raises ShapeError unless zero_infinity,
        where that sentence's loss is 0.
        """
        return ctc_loss(log_probs, lengths, targets, target_lengths, blank=self.blank,
                        reduction=reduction, zero_infinity=self.zero_infinity)

    def decode(self, log_probs: Tensor, lengths: Tensor, beam: int = 1) -> list[list[int]]:
        """Best labelling of each sentence: best-path for beam 1, prefix beam search otherwise."""
        if beam <= 1:
            return best_path_decode(log_probs, lengths, self.blank)
        return [seq for seq, _ in prefix_beam_decode(log_probs, lengths, beam, self.blank)]


def _check(log_probs: Tensor, lengths: Tensor) -> None:
    if log_probs.dim() != 3:
        raise ShapeError(f"log_probs must be (B, T, C), got {tuple(log_probs.shape)}")
    if lengths.shape != (log_probs.shape[0],):
        raise ShapeError(f"lengths must be ({log_probs.shape[0]},), got {tuple(lengths.shape)}")
    if bool((lengths > log_probs.shape[1]).any()) or bool((lengths < 0).any()):
        raise ShapeError(f"lengths must lie in 0..{log_probs.shape[1]}")


def ctc_loss(log_probs: Tensor, lengths: Tensor, targets: Tensor, target_lengths: Tensor,
             blank: int = 0, reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """torch's ctc_loss on batch-first log_probs (B, T, C), with the targets checked first."""
    _check(log_probs, lengths)
    if targets.dim() != 2 or targets.shape[0] != log_probs.shape[0]:
        raise ShapeError(f"targets must be (B, S) with B={log_probs.shape[0]}, got {tuple(targets.shape)}")
    lengths, target_lengths = lengths.long().cpu(), target_lengths.long().cpu()
    if not zero_infinity:
        for b in range(targets.shape[0]):
            n = int(target_lengths[b])
            tgt = targets[b, :n].tolist()
            if blank in tgt:
                raise ShapeError(f"target {b} contains the blank id {blank}")
            need = min_frames(tgt)
            if need > int(lengths[b]):
                raise ShapeError(
                    f"target {b} needs at least {need} input frames (length {n} plus repeats) "
                    f"but its input has {int(lengths[b])}"
                )
    return F.ctc_loss(
        log_probs.transpose(0, 1), targets.long(), lengths, target_lengths,  # (T, B, C) for torch
        blank=blank, reduction=reduction, zero_infinity=zero_infinity,
    )


def best_path_decode(log_probs: Tensor, lengths: Tensor, blank: int = 0) -> list[list[int]]:
    """Argmax class per frame, collapsed (repeats merged, blanks dropped): B label lists."""
    _check(log_probs, lengths)
    best = log_probs.argmax(-1)  # (B, T)
    t = torch.arange(best.shape[1], device=best.device)
    keep = (best != blank) & (t[None, :] < lengths[:, None].to(best.device))
    keep[:, 1:] &= best[:, 1:] != best[:, :-1]
    return [best[b][keep[b]].tolist() for b in range(best.shape[0])]


def _logadd(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    m = max(a, b)
    return m + math.log1p(math.exp(-abs(a - b)))


def prefix_beam_decode(log_probs: Tensor, lengths: Tensor, beam: int = 8, blank: int = 0,
                       ) -> list[tuple[list[int], float]]:
    """CTC prefix beam search: per sentence, (best labelling, its log-probability).

    log_probs (B, T, C), lengths (B,). Each prefix keeps two log-probabilities, of the paths
    ending in a blank and of those ending in its last label, so every labelling's score sums
    over its alignments; the `beam` best prefixes survive each frame. With a beam of at least
    the number of distinct prefixes the result is the exact most probable labelling, and its
    log-probability is exact (-ctc_loss). Looped over sentences in Python on the CPU.
    """
    _check(log_probs, lengths)
    lp = log_probs.detach().double().cpu()
    out = []
    for b in range(lp.shape[0]):
        out.append(_prefix_beam_one(lp[b, : int(lengths[b])].tolist(), beam, blank))
    return out


def _prefix_beam_one(frames: list[list[float]], beam: int, blank: int) -> tuple[list[int], float]:
    ninf = -math.inf
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, ninf)}  # prefix -> (p_blank, p_label)
    for row in frames:
        nxt: dict[tuple[int, ...], list[float]] = defaultdict(lambda: [ninf, ninf])
        for prefix, (pb, pnb) in beams.items():
            total = _logadd(pb, pnb)
            # blank: the prefix is unchanged and now ends in a blank
            e = nxt[prefix]
            e[0] = _logadd(e[0], total + row[blank])
            last = prefix[-1] if prefix else None
            for c, p in enumerate(row):
                if c == blank or p == ninf:
                    continue
                if c == last:
                    # repeat without blank merges into the same prefix; after a blank it extends
                    e = nxt[prefix]
                    e[1] = _logadd(e[1], pnb + p)
                    ext = nxt[prefix + (c,)]
                    ext[1] = _logadd(ext[1], pb + p)
                else:
                    ext = nxt[prefix + (c,)]
                    ext[1] = _logadd(ext[1], total + p)
        ranked = sorted(nxt.items(), key=lambda kv: _logadd(*kv[1]), reverse=True)[:beam]
        beams = {k: (v[0], v[1]) for k, v in ranked}
    best, (pb, pnb) = max(beams.items(), key=lambda kv: _logadd(*kv[1]))
    return list(best), _logadd(pb, pnb)
