"""NLL, structured perceptron and structured hinge losses against brute-force enumeration."""

from __future__ import annotations

import pytest
import torch

from hybrid.structured import losses
from hybrid.structured.chain import ChainPotentials
from hybrid.structured.crf import CRFLayer
from hybrid.structured.hmm import HMMLayer
from tests.reference.brute import all_paths, random_potentials

SHAPES = ((1, 3), (2, 4), (3, 4), (3, 1), (3, 3))
CASES = [(seed, k, t) for seed in range(12) for k, t in SHAPES]


def constrained_potentials(seed: int, k: int, t: int, batch: int = 3) -> ChainPotentials:
    """Random float64 potentials, random lengths, random -inf constraints (one tag j always
    allowed to start, end and follow itself, so every length has an allowed path)."""
    g = torch.Generator().manual_seed(seed)
    p = random_potentials(batch, t, k, g)
    allowed = torch.rand(k, k, generator=g) > 0.35
    start, end = torch.rand(k, generator=g) > 0.3, torch.rand(k, generator=g) > 0.3
    j = int(torch.randint(0, k, (1,), generator=g))
    allowed[j, j] = start[j] = end[j] = True
    return p.with_mask(allowed, start, end)


def allowed_gold(p: ChainPotentials, seed: int) -> torch.Tensor:
    """(B, T) a random allowed path per sentence; random (valid) tag ids at padding."""
    g = torch.Generator().manual_seed(10_000 + seed)
    b, t, k = p.emissions.shape
    gold = torch.randint(0, k, (b, t), generator=g)
    for i in range(b):
        paths, scores = all_paths(p, i)
        ok = torch.nonzero(torch.isfinite(scores)).flatten()
        pick = ok[int(torch.randint(0, len(ok), (1,), generator=g))]
        gold[i, : paths.shape[1]] = paths[pick]
    return gold


def brute(p: ChainPotentials, gold: torch.Tensor, b: int, cost: float):
    """Enumeration for sentence b: (paths, scores, hamming, gold score)."""
    length = int(p.mask[b].sum())
    paths, scores = all_paths(p, b)
    ham = (paths != gold[b, :length]).sum(dim=1).double()
    gold_score = scores[(ham == 0).nonzero().item()]
    return paths, scores, ham * cost, gold_score


def requiring_grad(p: ChainPotentials) -> ChainPotentials:
    parts = [x.detach().clone().requires_grad_(True) for x in (p.emissions, p.transitions, p.start, p.end)]
    return ChainPotentials(*parts, p.mask)


@pytest.mark.parametrize("seed,k,t", CASES)
def test_losses_match_enumeration_with_constraints_and_padding(seed, k, t):
    p = constrained_potentials(seed, k, t)
    gold = allowed_gold(p, seed)
    cost = (1.0, 0.5, 2.5)[seed % 3]
    nll = losses.nll_loss(p, gold, reduction="none")
    perc = losses.perceptron_loss(p, gold, reduction="none")
    hinge = losses.hinge_loss(p, gold, cost_weight=cost, reduction="none")
    for b in range(p.mask.shape[0]):
        _, scores, ham_cost, gold_score = brute(p, gold, b, cost)
        assert nll[b].item() == pytest.approx((torch.logsumexp(scores, 0) - gold_score).item(), abs=1e-9)
        assert perc[b].item() == pytest.approx((scores.max() - gold_score).item(), abs=1e-9)
        assert hinge[b].item() == pytest.approx(((scores + ham_cost).max() - gold_score).item(), abs=1e-9)
    assert (perc >= 0).all() and (hinge >= perc - 1e-12).all()  # cost >= 0 only raises the max


@pytest.mark.parametrize("seed", range(40))
def test_hinge_is_zero_exactly_when_gold_beats_every_path_by_its_hamming_cost(seed):
    g = torch.Generator().manual_seed(500 + seed)
    k, t = 3, 4
    p = constrained_potentials(500 + seed, k, t, batch=4)
    gold = allowed_gold(p, 500 + seed)
    # boost the gold tags' emissions by a random amount: some margins hold, some are violated
    boost = torch.rand(4, 1, generator=g, dtype=torch.float64) * 6.0
    e = p.emissions + boost.unsqueeze(-1) * torch.nn.functional.one_hot(gold, k)
    p = ChainPotentials(e, p.transitions, p.start, p.end, p.mask)
    hinge = losses.hinge_loss(p, gold, reduction="none")
    for b in range(4):
        _, scores, ham_cost, gold_score = brute(p, gold, b, 1.0)
        margin_holds = bool((gold_score >= scores + ham_cost).all())
        assert (hinge[b].item() == 0.0) == margin_holds
        assert hinge[b].item() == pytest.approx(((scores + ham_cost).max() - gold_score).item(), abs=1e-9)


def test_hinge_margin_cases_constructed():
    k, t = 3, 4
    g = torch.Generator().manual_seed(7)
    gold = torch.tensor([[0, 2, 1, 1], [2, 0, 0, 0]])
    mask = torch.tensor([[True] * 4, [True, True, True, False]])
    small = 0.1 * torch.randn(2, t, k, generator=g, dtype=torch.float64)
    trans = 0.1 * torch.randn(k, k, generator=g, dtype=torch.float64)
    zeros = torch.zeros(k, dtype=torch.float64)
    onehot = torch.nn.functional.one_hot(gold, k).double()
    # big margin: the gold tag's emission beats the others by 5 at every position -> 0
    big = ChainPotentials(small + 5.0 * onehot, trans, zeros, zeros, mask)
    assert losses.hinge_loss(big, gold, reduction="none").tolist() == [0.0, 0.0]
    assert losses.perceptron_loss(big, gold, reduction="none").tolist() == [0.0, 0.0]
    # violated margin: gold wins (perceptron 0) but by less than 1 per wrong tag -> > 0
    thin = ChainPotentials(small + 0.5 * onehot, trans, zeros, zeros, mask)
    assert losses.perceptron_loss(thin, gold, reduction="none").tolist() == [0.0, 0.0]
    hinge = losses.hinge_loss(thin, gold, reduction="none")
    for b in range(2):
        _, scores, ham_cost, gold_score = brute(thin, gold, b, 1.0)
        assert hinge[b].item() > 0
        assert hinge[b].item() == pytest.approx(((scores + ham_cost).max() - gold_score).item(), abs=1e-12)
    # exactly at the margin: gold 1 vs other 0 at one position, cost 1 -> 0; cost 1.5 -> 0.5
    e = torch.tensor([[[1.0, 0.0]]], dtype=torch.float64)
    z2 = torch.zeros(2, dtype=torch.float64)
    edge = ChainPotentials(e, torch.zeros(2, 2, dtype=torch.float64), z2, z2, torch.ones(1, 1, dtype=torch.bool))
    g0 = torch.zeros(1, 1, dtype=torch.long)
    assert losses.hinge_loss(edge, g0).item() == 0.0
    assert losses.hinge_loss(edge, g0, cost_weight=1.5).item() == pytest.approx(0.5)


def test_disallowed_gold_path_has_infinite_loss():
    p = random_potentials(1, 3, 2, torch.Generator().manual_seed(0))
    allowed = torch.tensor([[True, False], [True, True]])  # 0 -> 1 forbidden
    p = p.with_mask(allowed, torch.ones(2, dtype=torch.bool), torch.ones(2, dtype=torch.bool))
    gold = torch.tensor([[0, 1, 1]])
    for name in losses.LOSSES:
        assert losses.chain_loss(name, p, gold).item() == float("inf")


def _path_features(p: ChainPotentials, paths: torch.Tensor):
    """Counts of each potential used by paths (B, T): emissions, transitions, start, end."""
    b, t, k = p.emissions.shape
    emis = torch.nn.functional.one_hot(paths, k).double() * p.mask.unsqueeze(-1)
    trans = torch.zeros(k, k, dtype=torch.float64)
    start = torch.zeros(k, dtype=torch.float64)
    end = torch.zeros(k, dtype=torch.float64)
    for i in range(b):
        length = int(p.mask[i].sum())
        start[paths[i, 0]] += 1
        end[paths[i, length - 1]] += 1
        for s in range(1, length):
            trans[paths[i, s - 1], paths[i, s]] += 1
    return emis, trans, start, end


@pytest.mark.parametrize("seed", range(15))
@pytest.mark.parametrize("name", ["perceptron", "hinge"])
def test_gradients_are_found_path_minus_gold_features(seed, name):
    k, t, batch = 3, 4, 4
    p = requiring_grad(random_potentials(batch, t, k, torch.Generator().manual_seed(900 + seed)))
    gold = torch.randint(0, k, (batch, t), generator=torch.Generator().manual_seed(seed))
    cost = 1.0 if name == "hinge" else 0.0
    # the maximiser by enumeration, independently of the loss's own Viterbi
    found = gold.clone()
    for b in range(batch):
        paths, scores, ham_cost, _ = brute(p, gold, b, cost)
        found[b, : paths.shape[1]] = paths[int((scores + ham_cost).argmax())]
    losses.chain_loss(name, p, gold, reduction="sum").backward()
    want = [a - g for a, g in zip(_path_features(p, found), _path_features(p, gold), strict=True)]
    for got, ref in zip((p.emissions, p.transitions, p.start, p.end), want, strict=True):
        torch.testing.assert_close(got.grad, ref, rtol=0, atol=0)


@pytest.mark.parametrize("seed", range(10))
def test_nll_equals_pytorch_crf_and_crf_layer_default(seed):
    g = torch.Generator().manual_seed(300 + seed)
    k, t, batch = 4, 5, 3
    torch.manual_seed(seed)
    layer = CRFLayer(k).double()
    p0 = random_potentials(batch, t, k, g)
    gold = torch.randint(0, k, (batch, t), generator=g)
    ours = losses.nll_loss(layer.potentials(p0.emissions, p0.mask), gold, reduction="none")
    ref = -layer.crf(p0.emissions, gold, mask=p0.mask, reduction="none")
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-10)
    assert layer.loss_name == "nll"
    torch.testing.assert_close(layer.loss(p0.emissions, gold, p0.mask), ref.mean(), rtol=0, atol=1e-10)


def test_reductions_and_layer_hooks():
    k, t, batch = 3, 4, 5
    p = random_potentials(batch, t, k, torch.Generator().manual_seed(1))
    gold = torch.randint(0, k, (batch, t), generator=torch.Generator().manual_seed(2))
    for name in losses.LOSSES:
        per = losses.chain_loss(name, p, gold, reduction="none")
        assert per.shape == (batch,)
        torch.testing.assert_close(losses.chain_loss(name, p, gold), per.mean())
        torch.testing.assert_close(losses.chain_loss(name, p, gold, reduction="sum"), per.sum())
        torch.testing.assert_close(
            losses.chain_loss(name, p, gold, reduction="token_mean"), per.sum() / p.mask.sum()
        )
    with pytest.raises(ValueError):
        losses.chain_loss("nll", p, gold, reduction="median")
    with pytest.raises(ValueError):
        losses.chain_loss("svm", p, gold)
    with pytest.raises(ValueError):
        CRFLayer(k, loss="svm")
    with pytest.raises(ValueError):
        losses.hinge_loss(p, gold, cost_weight=-1.0)
    # CRF and HMM layers compute the chosen loss on their own (unconstrained) potentials
    crf = CRFLayer(k, loss="hinge", cost_weight=2.0).double()
    q = crf.potentials(p.emissions, p.mask)
    torch.testing.assert_close(crf.loss(p.emissions, gold, p.mask), losses.hinge_loss(q, gold, 2.0))
    crf = CRFLayer(k, loss="perceptron").double()
    q = crf.potentials(p.emissions, p.mask)
    torch.testing.assert_close(crf.loss(p.emissions, gold, p.mask), losses.perceptron_loss(q, gold))
    for objective in ("perceptron", "hinge"):
        hmm = HMMLayer(k, loss=objective, train_transitions=True).double()
        q = hmm.potentials(p.emissions, p.mask)
        torch.testing.assert_close(
            hmm.loss(p.emissions, gold, p.mask), losses.chain_loss(objective, q, gold)
        )
    hmm = HMMLayer(k, loss="nll").double()
    q = hmm.potentials(p.emissions, p.mask)
    torch.testing.assert_close(hmm.loss(p.emissions, gold, p.mask), losses.nll_loss(q, gold))


@pytest.mark.parametrize("name", ["perceptron", "hinge"])
def test_crf_layer_learns_separable_toy_problem(name):
    """Word -> tag by a lookup table, plus one tag that depends on the previous tag: emissions
    from a trainable (V, K) table and the CRF's transitions; loss reaches 0, decoding is gold."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(3)
    vocab, k, batch, t = 6, 3, 16, 6
    words = torch.randint(0, vocab, (batch, t), generator=g)
    lengths = torch.randint(2, t + 1, (batch,), generator=g)
    mask = torch.arange(t).unsqueeze(0) < lengths.unsqueeze(1)
    word_tag = torch.tensor([0, 1, 2, 0, 1, 2])
    gold = word_tag[words] * mask  # padding tag 0
    layer = CRFLayer(k, loss=name).double()
    table = torch.nn.Parameter(0.01 * torch.randn(vocab, k, generator=g, dtype=torch.float64))
    opt = torch.optim.SGD([table, *layer.parameters()], lr=0.5)
    for _ in range(60):
        opt.zero_grad()
        loss = layer.loss(table[words], gold, mask)
        loss.backward()
        opt.step()
    with torch.no_grad():
        final = layer.loss(table[words], gold, mask).item()
        paths, _ = layer.decode(table[words], mask)
    assert final == 0.0
    assert torch.equal(paths[:, 0] * mask, gold)


def test_perceptron_and_hinge_reach_zero_on_fixed_emissions():
    """Optimising a batch of emissions directly, with the transitions: both losses reach 0."""
    g = torch.Generator().manual_seed(11)
    k, t, batch = 3, 4, 6
    p = random_potentials(batch, t, k, g)
    gold = torch.randint(0, k, (batch, t), generator=g)
    for name in ("perceptron", "hinge"):
        torch.manual_seed(1)
        layer = CRFLayer(k, loss=name).double()
        emissions = torch.nn.Parameter(p.emissions.clone())
        opt = torch.optim.SGD([emissions, *layer.parameters()], lr=1.0)
        for _ in range(60):
            opt.zero_grad()
            layer.loss(emissions, gold, p.mask).backward()
            opt.step()
        assert layer.loss(emissions, gold, p.mask).item() == 0.0
        assert torch.equal(torch.where(p.mask, layer.decode(emissions, p.mask)[0][:, 0], gold), gold)
