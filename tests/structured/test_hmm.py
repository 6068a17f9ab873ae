"""HMM layers: chain DPs on HMM potentials against hmmlearn, the hybrid layer's potentials and losses,
count estimation by hand, and conversion to and from hmmlearn."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hmmlearn.hmm import CategoricalHMM

from hybrid.structured import chain
from hybrid.structured.hmm import HMMLayer, count_statistics
from hybrid.structured.hmm_classic import ClassicHMM, observations_to_hmmlearn
from hybrid.structured.softmax import SoftmaxLayer
from tests.reference.brute import all_paths


def random_hmm(rng: np.random.Generator, k: int, v: int, sparse: bool = False) -> ClassicHMM:
    """A random float64 HMM with Dirichlet rows (some peaked); `sparse`: zeros in pi and A."""
    alpha = rng.choice([0.1, 1.0, 5.0])
    start = rng.dirichlet(np.full(k, alpha))
    trans = rng.dirichlet(np.full(k, alpha), size=k)
    emit = rng.dirichlet(np.full(v, alpha), size=k)
    if sparse:  # each row keeps its largest entry
        for row in (start[None, :], trans):
            keep = row == row.max(axis=1, keepdims=True)
            row[(rng.random(row.shape) < 0.3) & ~keep] = 0.0
            row /= row.sum(axis=1, keepdims=True)
    emit = np.maximum(emit, 1e-300)  # every observation sequence stays possible
    emit /= emit.sum(axis=1, keepdims=True)
    model = ClassicHMM(k, v, dtype=torch.float64)
    with np.errstate(divide="ignore"):
        model.set_parameters(*(torch.from_numpy(np.log(x)) for x in (start, trans, emit)))
    return model


def random_batch(rng: np.random.Generator, b: int, max_len: int, v: int) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = rng.integers(1, max_len + 1, size=b)
    lengths[0] = max_len
    mask = torch.arange(max_len).unsqueeze(0) < torch.from_numpy(lengths).unsqueeze(1)
    obs = torch.from_numpy(rng.integers(0, v, size=(b, max_len)))
    return obs.masked_fill(~mask, 0), mask


def assert_same_paths(p: chain.ChainPotentials, paths: torch.Tensor, ref_paths: torch.Tensor) -> None:
    """Paths (B, T) equal on the real positions, except exact ties: repeated observations can make
    two paths use the same transitions and emissions in another order (e.g. 6 23 6 6 vs 6 6 23 6),
    equal in exact arithmetic; then both must score the same up to rounding."""
    same = ((paths == ref_paths) | ~p.mask).all(dim=1)
    if not bool(same.all()):
        ours, theirs = chain.score_paths(p, paths), chain.score_paths(p, ref_paths)
        torch.testing.assert_close(ours[~same], theirs[~same], rtol=0, atol=1e-9)


@pytest.mark.parametrize("seed", range(100))
def test_viterbi_and_partition_equal_hmmlearn(seed):
    """3 random HMMs per seed (300 in all): paths, Viterbi log-probs, log P(x) and posteriors."""
    rng = np.random.default_rng(seed)
    for i in range(3):
        if i == 0 and seed % 10 == 0:
            k, v, max_len = 50, int(rng.integers(1, 60)), 50
        else:
            k, v, max_len = int(rng.integers(1, 51)), int(rng.integers(1, 60)), int(rng.integers(1, 51))
        sparse = bool(rng.random() < 0.4)
        model = random_hmm(rng, k, v, sparse)
        obs, mask = random_batch(rng, int(rng.integers(1, 7)), max_len, v)
        p = model.potentials(obs, mask)
        paths, scores = chain.viterbi(p)
        logz = chain.log_partition(p)
        ref = model.to_hmmlearn()
        x, lengths = observations_to_hmmlearn(obs, mask)
        # batched: hmmlearn gets `lengths`, returns the concatenated paths and the summed log-prob
        ref_total, ref_states = ref.decode(x, lengths, algorithm="viterbi")
        ref_paths = torch.zeros_like(paths)
        ref_paths[mask] = torch.from_numpy(ref_states)
        assert_same_paths(p, paths, ref_paths)
        assert scores.sum().item() == pytest.approx(ref_total, rel=0, abs=1e-6)
        assert logz.sum().item() == pytest.approx(ref.score(x, lengths), rel=0, abs=1e-6)
        # per sequence
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        marg = chain.marginals(p)
        for b in range(len(lengths)):
            xb = x[offsets[b] : offsets[b + 1]]
            lp, states = ref.decode(xb, algorithm="viterbi")
            assert scores[b].item() == pytest.approx(lp, rel=0, abs=1e-6)
            assert ref_paths[b, : lengths[b]].tolist() == states.tolist()  # batched == one by one
            ll, post = ref.score_samples(xb)
            assert logz[b].item() == pytest.approx(ll, rel=0, abs=1e-6)
            if not sparse:  # see test_marginals_with_structural_zeros_equal_hmmlearn
                np.testing.assert_allclose(marg[b, : lengths[b]].numpy(), post, rtol=0, atol=1e-6)
        # the model's own decode (k-best search) agrees on its best path
        kpaths, kscores = model.decode(obs, mask, k=3)
        assert_same_paths(p, kpaths[:, 0], ref_paths)
        torch.testing.assert_close(kscores[:, 0], scores, rtol=0, atol=1e-9)
        assert bool((kscores[:, 1:] <= kscores[:, :1] + 1e-9).all())


def test_marginals_with_structural_zeros_equal_hmmlearn():
    # tag 2 can neither start nor be reached from tags 0 and 1
    start, trans = [0.5, 0.5, 0.0], [[0.5, 0.5, 0.0], [0.5, 0.5, 0.0], [0.3, 0.3, 0.4]]
    emit = [[0.7, 0.3], [0.2, 0.8], [0.5, 0.5]]
    model = ClassicHMM(3, 2, dtype=torch.float64)
    model.set_parameters(*(torch.tensor(x, dtype=torch.float64).log() for x in (start, trans, emit)))
    obs = torch.tensor([[0, 1, 1, 0]])
    mask = torch.ones_like(obs, dtype=torch.bool)
    _, post = model.to_hmmlearn().score_samples(obs.reshape(-1, 1).numpy())
    np.testing.assert_allclose(model.marginals(obs, mask)[0].numpy(), post, rtol=0, atol=1e-9)


# -- the hybrid layer ---------------------------------------------------------------------------

def test_count_statistics_by_hand():
    stats = count_statistics([[0, 1, 1], [0], torch.tensor([2, 1, 0]), []], 3, smoothing=0.5)
    # starts 0:2, 2:1 of 3 sentences
    start = torch.tensor([2.5, 0.5, 1.5]) / 4.5
    # bigrams (0,1) (1,1) (2,1) (1,0)
    trans = torch.tensor([[0.5 / 2.5, 1.5 / 2.5, 0.5 / 2.5],
                          [1.5 / 3.5, 1.5 / 3.5, 0.5 / 3.5],
                          [0.5 / 2.5, 1.5 / 2.5, 0.5 / 2.5]])
    # tokens 0:3, 1:3, 2:1 of 7
    prior = torch.tensor([3.5, 3.5, 1.5]) / 8.5
    torch.testing.assert_close(stats.log_start, start.double().log())
    torch.testing.assert_close(stats.log_transitions, trans.double().log())
    torch.testing.assert_close(stats.log_prior, prior.double().log())
    with pytest.raises(ValueError):
        count_statistics([[0, 3]], 3)
    with pytest.raises(ValueError):
        count_statistics([[0, 1]], 3, smoothing=0.0)


def fitted_layer(k: int = 4, seed: int = 0, **kwargs) -> HMMLayer:
    g = torch.Generator().manual_seed(seed)
    layer = HMMLayer(k, **kwargs).double()
    layer.fit_counts([torch.randint(0, k, (int(n),), generator=g) for n in torch.randint(1, 9, (30,), generator=g)])
    return layer


def random_inputs(b: int, t: int, k: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    emissions = torch.randn(b, t, k, generator=g, dtype=torch.float64)
    lengths = torch.randint(1, t + 1, (b,), generator=g)
    lengths[0] = t
    mask = torch.arange(t).unsqueeze(0) < lengths.unsqueeze(1)
    tags = torch.randint(0, k, (b, t), generator=g)
    return emissions, mask, tags


def test_potentials_are_scaled_likelihoods_and_log_a():
    layer = fitted_layer(prior_scale=0.7)
    emissions, mask, _ = random_inputs(3, 5, 4)
    p = layer.potentials(emissions, mask)
    torch.testing.assert_close(p.emissions, F.log_softmax(emissions, -1) - 0.7 * layer.log_prior)
    torch.testing.assert_close(p.transitions, layer.log_transitions)
    torch.testing.assert_close(p.transitions.exp().sum(1), torch.ones(4, dtype=torch.float64))
    torch.testing.assert_close(p.start, layer.log_start)
    assert (p.end == 0).all()
    # prior_scale 0: the raw log-posteriors
    layer.prior_scale = 0.0
    torch.testing.assert_close(layer.potentials(emissions, mask).emissions, F.log_softmax(emissions, -1))


def test_transition_scale_weights_log_a_and_log_pi_and_keeps_zeros_impossible():
    layer = fitted_layer()
    emissions, mask, _ = random_inputs(3, 5, 4)
    with torch.no_grad():  # a structural zero in A: tag 0 never follows tag 1
        logits = layer.transition_logits.clone()
        logits[1, 0] = -math.inf
        layer.transition_logits.copy_(logits)
    base = layer.potentials(emissions, mask)
    layer.transition_scale = 0.5
    p = layer.potentials(emissions, mask)
    torch.testing.assert_close(p.emissions, base.emissions)
    finite = torch.isfinite(base.transitions)
    torch.testing.assert_close(p.transitions[finite], 0.5 * base.transitions[finite])
    torch.testing.assert_close(p.start, 0.5 * base.start)
    assert p.transitions[1, 0] == -math.inf
    layer.transition_scale = 0.0  # no transition model at all, the zero still forbidden
    p = layer.potentials(emissions, mask)
    assert p.transitions[1, 0] == -math.inf and not p.transitions.isnan().any()
    assert (p.transitions[finite] == 0).all()


@pytest.mark.parametrize("bad", [{"prior_scale": -0.1}, {"transition_scale": -1.0}])
def test_negative_scales_are_refused(bad):
    with pytest.raises(ValueError, match="must be >= 0"):
        HMMLayer(3, **bad)


def test_fit_counts_sets_the_buffers():
    layer = HMMLayer(3)
    stats = layer.fit_counts([[0, 1, 1], [0], [2, 1, 0]], smoothing=0.5)
    torch.testing.assert_close(layer.log_start, stats.log_start.float())
    torch.testing.assert_close(layer.log_transitions, stats.log_transitions.float())
    torch.testing.assert_close(layer.log_prior, stats.log_prior.float())
    assert not any(True for _ in layer.parameters())
    # saved and restored through the state dict
    other = HMMLayer(3)
    other.load_state_dict(layer.state_dict())
    emissions, mask, _ = random_inputs(2, 4, 3)
    a, b = layer.potentials(emissions.float(), mask), other.potentials(emissions.float(), mask)
    torch.testing.assert_close(a.emissions, b.emissions)
    torch.testing.assert_close(a.transitions, b.transitions)
    with pytest.raises(ValueError):  # probabilities instead of log-probabilities
        layer.set_statistics(stats.log_start.exp(), stats.log_transitions, stats.log_prior)


def test_cross_entropy_loss_equals_token_cross_entropy():
    layer = fitted_layer()
    emissions, mask, tags = random_inputs(4, 6, 4)
    ref = F.cross_entropy(emissions[mask], tags[mask], reduction="sum") / 4
    torch.testing.assert_close(layer.loss(emissions, tags, mask), ref)
    torch.testing.assert_close(layer.loss(emissions, tags, mask), SoftmaxLayer(4).loss(emissions, tags, mask))
    x = emissions.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda e: layer.loss(e, tags, mask), (x,))


def test_sequence_objective_trains_transitions():
    layer = fitted_layer(train_transitions=True, loss="nll")
    emissions, mask, tags = random_inputs(3, 4, 4, seed=1)
    loss = layer.loss(emissions, tags, mask)
    torch.testing.assert_close(loss, -chain.log_prob(layer.potentials(emissions, mask), tags).mean())
    loss.backward()
    assert layer.transition_logits.grad is not None and layer.transition_logits.grad.abs().sum() > 0
    # gradients of the sequence objective w.r.t. the encoder's scores and the transition logits
    x = emissions.clone().requires_grad_(True)
    w = layer.transition_logits.detach().clone().requires_grad_(True)

    def objective(e, logits):
        with torch.no_grad():
            layer.transition_logits.copy_(logits)
        p = layer.potentials(e, mask)
        p = chain.ChainPotentials(p.emissions, F.log_softmax(logits, 1), p.start, p.end, mask)
        torch.testing.assert_close(p.transitions, layer.log_transitions.detach())
        return -chain.log_prob(p, tags).mean()

    assert torch.autograd.gradcheck(objective, (x, w))
    with pytest.raises(ValueError):
        HMMLayer(3, loss="mmi")


def test_kbest_marginals_log_prob_via_layer_match_enumeration():
    layer = fitted_layer(k=3, seed=2, prior_scale=0.5)
    emissions, mask, _ = random_inputs(3, 4, 3, seed=3)
    paths, scores = layer.decode(emissions, mask, k=5)
    marg = layer.marginals(emissions, mask)
    p = layer.potentials(emissions, mask)
    for b in range(3):
        n = int(mask[b].sum())
        ref_paths, ref_scores = all_paths(p, b)
        kb = min(5, len(ref_paths))
        torch.testing.assert_close(scores[b, :kb], ref_scores.sort(descending=True).values[:kb])
        best = int(ref_scores.argmax())
        assert paths[b, 0, :n].tolist() == ref_paths[best].tolist()
        probs = torch.softmax(ref_scores, 0)
        ref_marg = torch.zeros(n, 3, dtype=torch.float64)
        for pp, pr in zip(ref_paths, probs, strict=True):
            ref_marg[torch.arange(n), pp] += pr
        torch.testing.assert_close(marg[b, :n], ref_marg)
    # log_prob of the top paths is their share of the total mass
    lp = layer.log_prob(emissions, mask, paths[:, :1].expand(-1, 1, -1))
    torch.testing.assert_close(lp[:, 0], scores[:, 0] - chain.log_partition(p))
    samples = layer.sample(emissions, mask, n=7, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (3, 7, 4) and int(samples.max()) < 3


def test_constraints_apply_to_the_hmm_layer():
    tags = ["O", "B-X", "I-X"]
    layer = HMMLayer(3).double()
    layer.set_constraints(tags, "BIO")
    g = torch.Generator().manual_seed(0)
    emissions = torch.randn(8, 6, 3, generator=g, dtype=torch.float64)
    emissions[..., 2] += 3.0  # I-X everywhere would win unconstrained
    mask = torch.ones(8, 6, dtype=torch.bool)
    paths = torch.cat([layer.decode(emissions, mask, k=4)[0], layer.sample(emissions, mask, 20, g)], dim=1)
    assert not bool((paths[..., 0] == 2).any())  # no sentence starts with I-X
    assert not bool(((paths[..., :-1] == 0) & (paths[..., 1:] == 2)).any())  # no O -> I-X


def test_load_hmmlearn_takes_pi_and_a():
    rng = np.random.default_rng(0)
    ref = random_hmm(rng, 5, 7).to_hmmlearn()
    layer = HMMLayer(5).double()
    layer.load_hmmlearn(ref)
    np.testing.assert_allclose(layer.log_transitions.exp().numpy(), ref.transmat_, atol=1e-12)
    np.testing.assert_allclose(layer.log_start.exp().numpy(), ref.startprob_, atol=1e-12)
    with pytest.raises(ValueError):
        HMMLayer(4).load_hmmlearn(ref)


# -- the classic HMM and hmmlearn conversion ----------------------------------------------------

def test_classic_from_counts_by_hand():
    tags = [[0, 1, 1], [1, 0]]
    words = [[2, 0, 2], [2, 1]]
    model = ClassicHMM.from_counts(tags, words, 2, 3, smoothing=1.0, emission_smoothing=0.5, dtype=torch.float64)
    # tag 0 emits 2, 1 (2 tokens); tag 1 emits 0, 2, 2 (3 tokens)
    emit = torch.tensor([[0.5 / 3.5, 1.5 / 3.5, 1.5 / 3.5], [1.5 / 4.5, 0.5 / 4.5, 2.5 / 4.5]])
    torch.testing.assert_close(model.log_emissions, emit.double().log())
    torch.testing.assert_close(model.log_start, torch.tensor([2 / 4, 2 / 4]).double().log())
    # bigrams (0,1) (1,1) (1,0)
    torch.testing.assert_close(model.log_transitions,
                               torch.tensor([[1 / 3, 2 / 3], [2 / 4, 2 / 4]]).double().log())
    with pytest.raises(ValueError):
        ClassicHMM.from_counts([[0, 1]], [[0]], 2, 3)


def test_classic_round_trip_through_hmmlearn():
    rng = np.random.default_rng(1)
    model = random_hmm(rng, 6, 9)
    ref = model.to_hmmlearn()
    assert isinstance(ref, CategoricalHMM) and ref.init_params == "" and ref.n_features == 9
    back = ClassicHMM.from_hmmlearn(ref)
    for name in ("log_start", "log_transitions", "log_emissions"):
        torch.testing.assert_close(getattr(back, name), getattr(model, name), rtol=0, atol=1e-12)
    # a model hmmlearn fitted itself (Baum-Welch), into ours: same decoding and likelihood
    x = rng.integers(0, 9, size=(120, 1))
    fitted = CategoricalHMM(n_components=4, n_features=9, n_iter=3, random_state=0).fit(x, [40, 50, 30])
    ours = ClassicHMM.from_hmmlearn(fitted)
    obs = torch.from_numpy(x[:40, 0]).unsqueeze(0)
    mask = torch.ones_like(obs, dtype=torch.bool)
    lp, states = fitted.decode(x[:40])
    paths, scores = ours.decode(obs, mask)
    assert paths[0, 0].tolist() == states.tolist()
    assert scores[0, 0].item() == pytest.approx(lp, abs=1e-6)
    assert ours.log_likelihood(obs, mask).item() == pytest.approx(fitted.score(x[:40]), abs=1e-6)
    # and back again: identical parameters; float32 models convert too (renormalised)
    again = ours.to_hmmlearn()
    np.testing.assert_allclose(again.emissionprob_, fitted.emissionprob_, rtol=0, atol=1e-12)
    np.testing.assert_allclose(again.transmat_, fitted.transmat_, rtol=0, atol=1e-12)
    small = ClassicHMM.from_hmmlearn(fitted, dtype=torch.float32).to_hmmlearn()
    assert math.isfinite(small.score(x[:40]))
    # fitting starts from our parameters (init_params=""): one EM step from them, not from random
    step = model.to_hmmlearn(n_iter=1).fit(x)
    ref_step = CategoricalHMM(n_components=6, n_features=9, n_iter=1, init_params="")
    ref_step.startprob_, ref_step.transmat_, ref_step.emissionprob_ = ref.startprob_, ref.transmat_, ref.emissionprob_
    ref_step.fit(x)
    np.testing.assert_allclose(step.transmat_, ref_step.transmat_)
