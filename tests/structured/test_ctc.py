"""CTC head against brute-force enumeration of every frame path on tiny inputs."""

from __future__ import annotations

import itertools
import math
from collections import defaultdict

import pytest
import torch

from hybrid.errors import ShapeError
from hybrid.structured.ctc import (
    CTCHead,
    best_path_decode,
    collapse,
    ctc_loss,
    min_frames,
    prefix_beam_decode,
)


def labelling_probs(lp: torch.Tensor, blank: int = 0) -> dict[tuple[int, ...], float]:
    """log P(y) for every labelling y reachable from log_probs (T, C): all C**T paths summed."""
    t, c = lp.shape
    acc: dict[tuple[int, ...], list[float]] = defaultdict(list)
    for path in itertools.product(range(c), repeat=t):
        score = sum(float(lp[i, s]) for i, s in enumerate(path))
        acc[tuple(collapse(list(path), blank))].append(score)
    return {y: float(torch.logsumexp(torch.tensor(v, dtype=torch.float64), 0)) for y, v in acc.items()}


def random_log_probs(b, t, c, seed, sharp=2.0):
    g = torch.Generator().manual_seed(seed)
    return torch.log_softmax(sharp * torch.randn(b, t, c, generator=g, dtype=torch.float64), -1)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("blank", [0, 2])
def test_prefix_beam_wide_equals_brute_force(seed, blank):
    c = 3 + seed % 2  # V = 2 or 3 labels plus the blank
    lp = random_log_probs(3, 5, c, seed)
    lengths = torch.tensor([5, 3, 1])
    got = prefix_beam_decode(lp, lengths, beam=1000, blank=blank)
    for b in range(3):
        probs = labelling_probs(lp[b, : lengths[b]], blank)
        best = max(probs, key=probs.get)
        assert tuple(got[b][0]) == best
        assert got[b][1] == pytest.approx(probs[best], abs=1e-9)


@pytest.mark.parametrize("seed", range(8))
def test_ctc_loss_equals_brute_force(seed):
    lp = random_log_probs(4, 5, 4, seed)
    lengths = torch.tensor([5, 4, 5, 2])
    targets = torch.tensor([[1, 2, 1], [3, 3, 0], [2, 0, 0], [1, 0, 0]])
    target_lengths = torch.tensor([3, 2, 1, 1])
    loss = ctc_loss(lp, lengths, targets, target_lengths, reduction="none")
    for b in range(4):
        probs = labelling_probs(lp[b, : lengths[b]])
        y = tuple(targets[b, : target_lengths[b]].tolist())
        assert float(loss[b]) == pytest.approx(-probs[y], abs=1e-8)
        # and the beam search scores the same labelling the same way
        assert prefix_beam_decode(lp[b:b + 1], lengths[b:b + 1], beam=1000)[0][1] >= probs[y] - 1e-9


def test_brute_force_probabilities_sum_to_one():
    lp = random_log_probs(1, 4, 3, 0)[0]
    total = torch.logsumexp(torch.tensor(list(labelling_probs(lp).values())), 0)
    assert float(total) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("seed", range(8))
def test_best_path_is_collapsed_argmax_path(seed):
    lp = random_log_probs(3, 5, 3, seed)
    lengths = torch.tensor([5, 2, 0])
    got = best_path_decode(lp, lengths)
    for b in range(3):
        n = int(lengths[b])
        paths = list(itertools.product(range(3), repeat=n))
        best = max(paths, key=lambda p: sum(float(lp[b, i, s]) for i, s in enumerate(p)))
        assert got[b] == collapse(list(best))


def test_beam_one_is_not_always_exact_but_wide_beam_beats_best_path():
    # the wide beam's labelling is never less probable than the best-path labelling
    for seed in range(10):
        lp = random_log_probs(1, 5, 3, seed, sharp=0.5)
        probs = labelling_probs(lp[0])
        wide = prefix_beam_decode(lp, torch.tensor([5]), beam=1000)[0]
        bp = tuple(best_path_decode(lp, torch.tensor([5]))[0])
        assert wide[1] >= probs[bp] - 1e-9


def test_gradcheck_loss():
    g = torch.Generator().manual_seed(0)
    head = CTCHead(3, 2).double()
    x = torch.randn(2, 4, 3, generator=g, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([4, 3])
    targets = torch.tensor([[1, 2], [2, 0]])
    target_lengths = torch.tensor([2, 1])
    assert torch.autograd.gradcheck(
        lambda inp: head.loss(head(inp), lengths, targets, target_lengths), (x,)
    )


def test_target_too_long_raises_and_zero_infinity():
    lp = random_log_probs(1, 3, 3, 0)
    targets = torch.tensor([[1, 1, 2]])  # needs 4 frames: the repeat needs a blank between
    with pytest.raises(ShapeError, match="at least 4"):
        ctc_loss(lp, torch.tensor([3]), targets, torch.tensor([3]))
    head = CTCHead(2, 2, zero_infinity=True)
    loss = head.loss(lp.float(), torch.tensor([3]), targets, torch.tensor([3]), reduction="sum")
    assert float(loss) == 0.0
    assert min_frames([1, 1, 2]) == 4


def test_blank_in_target_and_bad_shapes():
    lp = random_log_probs(1, 3, 3, 0)
    with pytest.raises(ShapeError, match="blank"):
        ctc_loss(lp, torch.tensor([3]), torch.tensor([[0, 1]]), torch.tensor([2]))
    with pytest.raises(ShapeError):
        best_path_decode(lp[0], torch.tensor([3]))
    with pytest.raises(ShapeError):
        prefix_beam_decode(lp, torch.tensor([4]))


def test_head_shapes_and_decode():
    head = CTCHead(5, 3)
    out = head(torch.randn(2, 6, 5))
    assert out.shape == (2, 6, 4)
    assert torch.allclose(out.exp().sum(-1), torch.ones(2, 6))
    lengths = torch.tensor([6, 2])
    assert head.decode(out, lengths) == best_path_decode(out, lengths)
    assert len(head.decode(out, lengths, beam=4)) == 2
    loss = head.loss(out, lengths, torch.tensor([[1, 2], [3, 0]]), torch.tensor([2, 1]))
    assert not math.isnan(loss.item())
