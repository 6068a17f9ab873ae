"""Every chain dynamic program against brute-force enumeration, and Viterbi against pytorch-crf."""

from __future__ import annotations

import math

import pytest
import torch
from torchcrf import CRF

from hybrid.errors import ShapeError
from hybrid.structured import chain
from hybrid.structured.chain import ChainPotentials
from tests.reference.brute import all_paths, random_potentials

CASES = [(seed, k, t) for seed in range(40) for k, t in ((1, 3), (2, 4), (3, 4), (4, 3), (5, 2))]


@pytest.mark.parametrize("seed,k,t", CASES)
def test_viterbi_kbest_partition_marginals_match_enumeration(seed, k, t):
    g = torch.Generator().manual_seed(seed)
    p = random_potentials(3, t, k, g)
    paths, scores = chain.viterbi(p)
    kpaths, kscores = chain.kbest(p, 4)
    logz = chain.log_partition(p)
    marg = chain.marginals(p)
    for b in range(3):
        length = int(p.mask[b].sum())
        ref_paths, ref_scores = all_paths(p, b)
        kb = min(4, len(ref_paths))
        best = int(ref_scores.argmax())
        assert paths[b, :length].tolist() == ref_paths[best].tolist()
        assert scores[b].item() == pytest.approx(ref_scores[best].item(), abs=1e-9)
        top = ref_scores.sort(descending=True).values[:kb]
        torch.testing.assert_close(kscores[b, :kb], top, rtol=0, atol=1e-9)
        assert torch.isinf(kscores[b, kb:]).all()
        # each returned path really has its returned score, and they are distinct
        got = {tuple(kpaths[b, r, :length].tolist()) for r in range(kb)}
        assert len(got) == kb
        score_of = {tuple(pp.tolist()): s.item() for pp, s in zip(ref_paths, ref_scores, strict=True)}
        for r in range(kb):
            assert score_of[tuple(kpaths[b, r, :length].tolist())] == pytest.approx(kscores[b, r].item())
        assert logz[b].item() == pytest.approx(torch.logsumexp(ref_scores, 0).item(), abs=1e-5)
        probs = torch.softmax(ref_scores, 0)
        ref_marg = torch.zeros(length, k, dtype=torch.float64)
        for pp, pr in zip(ref_paths, probs, strict=True):
            ref_marg[torch.arange(length), pp] += pr
        torch.testing.assert_close(marg[b, :length], ref_marg, rtol=0, atol=1e-5)
        assert (marg[b, length:] == 0).all()


@pytest.mark.parametrize("seed", range(60))
def test_viterbi_in_torch_and_in_numpy_agree_with_enumeration(seed):
    """viterbi runs in numpy on the CPU without gradients and in torch otherwise: both exact."""
    g = torch.Generator().manual_seed(500 + seed)
    k, t, n = 1 + seed % 4, 1 + seed % 5, 1 if seed % 4 < 2 else 3  # one sentence has its own path in numpy
    p = random_potentials(n, t, k, g, dtype=torch.float32 if seed % 2 else torch.float64)
    if seed % 3 == 0 and k > 1:  # forbidden transitions and starts (-inf) as constraints make them
        p = p.with_mask(torch.rand(k, k, generator=g) > 0.3, torch.arange(k) > 0, torch.ones(k, dtype=torch.bool))
    paths, scores = chain._viterbi_numpy(p)
    ref_paths, ref_scores = chain._viterbi_torch(p)
    assert torch.equal(paths, ref_paths) and paths.dtype == torch.long
    torch.testing.assert_close(scores, ref_scores)
    for b in range(n):
        length = int(p.mask[b].sum())
        all_p, all_s = all_paths(p, b)
        best = all_s.max()
        if torch.isfinite(best):
            assert all_s[[pp.tolist() == paths[b, :length].tolist() for pp in all_p].index(True)] == best


def test_viterbi_of_one_padded_sentence_repeats_its_last_tag():
    g = torch.Generator().manual_seed(4)
    p = random_potentials(1, 6, 4, g, dtype=torch.float32)
    p = ChainPotentials(p.emissions, p.transitions, p.start, p.end, torch.arange(6).unsqueeze(0) < 4)
    paths, scores = chain._viterbi_numpy(p)
    ref_paths, ref_scores = chain._viterbi_torch(p)
    assert torch.equal(paths, ref_paths) and paths[0, 3] == paths[0, 4] == paths[0, 5]
    torch.testing.assert_close(scores, ref_scores)


def test_viterbi_scores_stay_differentiable_where_grad_is_wanted():
    g = torch.Generator().manual_seed(3)
    p = random_potentials(2, 4, 3, g)
    emissions = p.emissions.clone().requires_grad_(True)
    q = ChainPotentials(emissions, p.transitions, p.start, p.end, p.mask)
    _, scores = chain.viterbi(q)
    scores.sum().backward()
    assert emissions.grad is not None and emissions.grad.sum().item() == pytest.approx(int(p.mask.sum()))
    with torch.no_grad():
        assert torch.equal(chain.viterbi(q)[0], chain._viterbi_torch(q)[0])


@pytest.mark.parametrize("seed", range(30))
def test_score_paths_and_log_prob_match_enumeration(seed):
    g = torch.Generator().manual_seed(seed)
    p = random_potentials(2, 4, 3, g)
    tags = torch.randint(0, 3, (2, 4), generator=g)
    lp = chain.log_prob(p, tags)
    for b in range(2):
        length = int(p.mask[b].sum())
        ref_paths, ref_scores = all_paths(p, b)
        idx = [i for i, pp in enumerate(ref_paths.tolist()) if pp == tags[b, :length].tolist()][0]
        ref = ref_scores[idx] - torch.logsumexp(ref_scores, 0)
        assert lp[b].item() == pytest.approx(ref.item(), abs=1e-6)
    # (B, N, T) form agrees with (B, T)
    both = chain.log_prob(p, torch.stack([tags, tags.flip(1)], dim=1))
    torch.testing.assert_close(both[:, 0], lp)


@pytest.mark.parametrize("seed", range(200))
def test_viterbi_equals_pytorch_crf_decode(seed):
    g = torch.Generator().manual_seed(1000 + seed)
    k = int(torch.randint(1, 12, (1,), generator=g))
    t = int(torch.randint(1, 15, (1,), generator=g))
    b = int(torch.randint(1, 9, (1,), generator=g))
    p = random_potentials(b, t, k, g, dtype=torch.float32)
    crf = CRF(k, batch_first=True)
    with torch.no_grad():
        crf.transitions.copy_(p.transitions)
        crf.start_transitions.copy_(p.start)
        crf.end_transitions.copy_(p.end)
    ref = crf.decode(p.emissions, p.mask)
    paths, _ = chain.viterbi(p)
    for row, ref_path in enumerate(ref):
        assert paths[row, : len(ref_path)].tolist() == ref_path
    # the log-partition equals pytorch-crf's normaliser
    ref_z = crf._compute_normalizer(p.emissions.transpose(0, 1), p.mask.transpose(0, 1))
    torch.testing.assert_close(chain.log_partition(p), ref_z, rtol=1e-5, atol=1e-4)


def test_sampling_follows_exact_distribution():
    """Chi-square goodness of fit of 40,000 samples against the enumerated distribution."""
    g = torch.Generator().manual_seed(7)
    p = random_potentials(2, 3, 3, g)
    draws = chain.sample(p, 20000, generator=torch.Generator().manual_seed(11))  # (B, n, T)
    assert draws.shape == (2, 20000, 3)
    for b in range(2):
        length = int(p.mask[b].sum())
        ref_paths, ref_scores = all_paths(p, b)
        probs = torch.softmax(ref_scores, 0)
        index = {tuple(pp.tolist()): i for i, pp in enumerate(ref_paths)}
        counts = torch.zeros(len(ref_paths), dtype=torch.float64)
        for d in draws[b, :, :length].tolist():
            counts[index[tuple(d)]] += 1
        expected = probs * counts.sum()
        chi2 = float(((counts - expected) ** 2 / expected).sum())
        dof = len(ref_paths) - 1
        # 99.9% quantile of chi-square via Wilson-Hilferty
        z = 3.09
        crit = dof * (1 - 2 / (9 * dof) + z * math.sqrt(2 / (9 * dof))) ** 3
        assert chi2 < crit, (chi2, crit)
        # padded positions repeat the last tag
        assert (draws[b, :, length:] == draws[b, :, length - 1 : length]).all()


def test_marginals_are_differentiable_free_and_sum_to_one():
    g = torch.Generator().manual_seed(3)
    p = random_potentials(4, 6, 5, g)
    m = chain.marginals(p)
    sums = m.sum(-1)
    torch.testing.assert_close(sums[p.mask], torch.ones(int(p.mask.sum()), dtype=sums.dtype))


def test_log_partition_gradcheck():
    g = torch.Generator().manual_seed(5)
    p = random_potentials(2, 4, 3, g)
    e = p.emissions.clone().requires_grad_(True)
    tr = p.transitions.clone().requires_grad_(True)

    def fn(e, tr):
        return chain.log_partition(ChainPotentials(e, tr, p.start, p.end, p.mask))

    assert torch.autograd.gradcheck(fn, (e, tr))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(emissions=torch.zeros(2, 3)), "emissions must be"),
        (dict(transitions=torch.zeros(3, 2)), "transitions must be"),
        (dict(start=torch.zeros(4)), "start must be"),
        (dict(mask=torch.ones(2, 3)), "mask must be bool"),
        (dict(mask=torch.tensor([[False, True, True], [True, True, True]])), r"mask\[:, 0\]"),
        (dict(mask=torch.tensor([[True, False, True], [True, True, True]])), "right-padded"),
    ],
)
def test_bad_shapes_raise_shape_error(kwargs, match):
    args = dict(
        emissions=torch.zeros(2, 3, 3), transitions=torch.zeros(3, 3), start=torch.zeros(3),
        end=torch.zeros(3), mask=torch.ones(2, 3, dtype=torch.bool),
    )
    args.update(kwargs)
    with pytest.raises(ShapeError, match=match):
        ChainPotentials(**args)


def _assert_kbest_exact(p: ChainPotentials, k: int, atol: float = 1e-9) -> None:
    """kbest(p, k) against enumeration: the top-k scores, distinct valid paths with those scores,
    -inf beyond the allowed paths, and padded positions repeating the last tag."""
    paths, scores = chain.kbest(p, k)
    b_size, t_len, _ = p.emissions.shape
    assert paths.shape == (b_size, k, t_len) and scores.shape == (b_size, k)
    assert scores.dtype == p.emissions.dtype
    for b in range(b_size):
        length = int(p.mask[b].sum())
        ref_paths, ref_scores = all_paths(p, b)
        finite = int(torch.isfinite(ref_scores).sum())
        kb = min(k, finite)
        top = ref_scores.sort(descending=True).values[:kb]
        torch.testing.assert_close(scores[b, :kb].double(), top, rtol=0, atol=atol)
        assert torch.isneginf(scores[b, kb:]).all()
        got = [tuple(paths[b, r, :length].tolist()) for r in range(kb)]
        assert len(set(got)) == kb, got
        score_of = {tuple(pp.tolist()): s.item() for pp, s in zip(ref_paths, ref_scores, strict=True)}
        for r, path in enumerate(got):
            assert score_of[path] == pytest.approx(scores[b, r].item(), abs=atol)
            tail = paths[b, r, length:]
            assert (tail == paths[b, r, length - 1]).all()
        assert (scores[b, 1:] <= scores[b, :-1]).all()


def _integer_potentials(batch, max_len, k, g, dtype, low=-1, high=2):
    p = random_potentials(batch, max_len, k, g, dtype=dtype)
    rnd = lambda *shape: torch.randint(low, high, shape, generator=g).to(dtype)  # noqa: E731
    return ChainPotentials(
        rnd(*p.emissions.shape), rnd(k, k), rnd(k), rnd(k), p.mask
    )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("k", [2, 5, 17, 100])
def test_kbest_all_zero_potentials_every_path_ties(dtype, k):
    g = torch.Generator().manual_seed(k)
    p = random_potentials(4, 4, 3, g, dtype=dtype)
    z = ChainPotentials(
        torch.zeros_like(p.emissions), torch.zeros(3, 3, dtype=dtype), torch.zeros(3, dtype=dtype),
        torch.zeros(3, dtype=dtype), p.mask,
    )
    _assert_kbest_exact(z, k)


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_kbest_integer_potentials_with_many_ties(seed, dtype):
    g = torch.Generator().manual_seed(500 + seed)
    n_tags = int(torch.randint(1, 5, (1,), generator=g))
    t_len = int(torch.randint(1, 6, (1,), generator=g))
    k = int(torch.randint(1, 12, (1,), generator=g))
    p = _integer_potentials(4, t_len, n_tags, g, dtype)
    _assert_kbest_exact(p, k)


@pytest.mark.parametrize("seed", range(40))
def test_kbest_with_forbidden_transitions(seed):
    """-inf constraints: fewer allowed paths than k, whole chains with none allowed."""
    g = torch.Generator().manual_seed(900 + seed)
    n_tags = int(torch.randint(1, 5, (1,), generator=g))
    t_len = int(torch.randint(1, 6, (1,), generator=g))
    k = int(torch.randint(2, 9, (1,), generator=g))
    p = random_potentials(3, t_len, n_tags, g)
    if seed % 2:
        p = _integer_potentials(3, t_len, n_tags, g, torch.float64)
    allowed = torch.rand(n_tags, n_tags, generator=g) < 0.6
    start = torch.rand(n_tags, generator=g) < 0.8
    end = torch.rand(n_tags, generator=g) < 0.8
    _assert_kbest_exact(p.with_mask(allowed, start, end), k)


@pytest.mark.parametrize("seed", range(20))
def test_kbest_float32_and_more_paths_than_exist(seed):
    g = torch.Generator().manual_seed(1300 + seed)
    p = random_potentials(3, 3, 2, g, dtype=torch.float32)  # at most 8 paths
    _assert_kbest_exact(p, 10, atol=1e-5)


def test_kbest_edge_shapes():
    g = torch.Generator().manual_seed(2)
    for batch, t_len, n_tags in ((1, 1, 1), (3, 1, 4), (2, 5, 1), (2, 1, 1), (0, 3, 2)):
        p = random_potentials(max(batch, 1), t_len, n_tags, g)
        if batch == 0:
            p = ChainPotentials(p.emissions[:0], p.transitions, p.start, p.end, p.mask[:0])
            paths, scores = chain.kbest(p, 3)
            assert paths.shape == (0, 3, t_len) and scores.shape == (0, 3)
            continue
        for k in (1, 2, 6):
            _assert_kbest_exact(p, k)


@pytest.mark.parametrize("seed", range(10))
def test_kbest_first_is_viterbi_and_scores_are_differentiable(seed):
    g = torch.Generator().manual_seed(1700 + seed)
    p = random_potentials(5, 7, 6, g)
    vpath, vscore = chain.viterbi(p)
    paths, scores = chain.kbest(p, 4)
    torch.testing.assert_close(scores[:, 0], vscore)
    assert torch.equal(paths[:, 0], vpath)  # random scores: no ties
    e = p.emissions.clone().requires_grad_(True)
    q = ChainPotentials(e, p.transitions, p.start, p.end, p.mask)
    gpaths, gscores = chain.kbest(q, 4)
    assert torch.equal(gpaths, paths)
    torch.testing.assert_close(gscores, scores)
    (grad,) = torch.autograd.grad(gscores[:, 1].sum(), e)
    onehot = torch.nn.functional.one_hot(paths[:, 1], 6).to(grad.dtype) * p.mask.unsqueeze(-1)
    torch.testing.assert_close(grad, onehot)


def test_marginals_are_finite_where_a_tag_is_unreachable():
    """Every in-edge of tag 1 is -inf: its marginal is exactly 0, and nothing is NaN."""
    inf = float("-inf")
    p = ChainPotentials(
        torch.zeros(1, 3, 2, dtype=torch.float64), torch.tensor([[0.0, inf], [0.0, inf]], dtype=torch.float64),
        torch.tensor([0.0, inf], dtype=torch.float64), torch.zeros(2, dtype=torch.float64),
        torch.ones(1, 3, dtype=torch.bool),
    )
    marg = chain.marginals(p)
    expected = torch.tensor([[[1.0, 0.0]] * 3], dtype=torch.float64)
    torch.testing.assert_close(marg, expected)
