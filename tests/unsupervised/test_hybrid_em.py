"""Baum-Welch over network likelihoods: hmmlearn's score equals our chain DP, EM recovers a
known transition matrix, and a hybrid tagger's transitions are re-estimated in place."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hybrid.errors import ConfigError
from hybrid.structured import chain
from hybrid.structured.chain import ChainPotentials
from hybrid.structured.hmm_scaled import ScaledLikelihoodHMM
from hybrid.unsupervised.hybrid_em import reestimate_transitions


def _random_hmm(k, rng):
    start = rng.dirichlet(np.ones(k))
    trans = rng.dirichlet(np.ones(k), size=k)
    return start, trans


@pytest.mark.parametrize("seed", range(5))
def test_score_and_decode_equal_the_chain_dynamic_programs(seed):
    rng = np.random.default_rng(seed)
    k, lengths = 4, np.array([1, 5, 9])
    x = rng.normal(size=(lengths.sum(), k))  # any real numbers: scaled likelihoods need not normalise
    hmm = ScaledLikelihoodHMM(k)
    hmm.startprob_, hmm.transmat_ = _random_hmm(k, rng)
    ours = 0.0
    for offset, n in zip(np.cumsum(lengths) - lengths, lengths, strict=True):
        p = ChainPotentials(torch.from_numpy(x[offset : offset + n])[None], torch.from_numpy(np.log(hmm.transmat_)),
                            torch.from_numpy(np.log(hmm.startprob_)), torch.zeros(k, dtype=torch.float64),
                            torch.ones(1, n, dtype=torch.bool))
        ours += chain.log_partition(p).item()
        path = chain.viterbi(p)[0][0].tolist()
        assert hmm.decode(x[offset : offset + n])[1].tolist() == path
    assert hmm.score(x, lengths) == pytest.approx(ours, abs=1e-8)


def test_em_recovers_a_known_transition_matrix():
    rng = np.random.default_rng(0)
    k = 3
    start = np.array([0.6, 0.3, 0.1])
    trans = np.array([[0.8, 0.15, 0.05], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]])
    emit = np.array([[0.7, 0.2, 0.1], [0.1, 0.7, 0.2], [0.2, 0.1, 0.7]])  # P(symbol | state)
    states, symbols, lengths = [], [], []
    for _ in range(300):
        n = 20
        s = [rng.choice(k, p=start)]
        for _ in range(n - 1):
            s.append(rng.choice(k, p=trans[s[-1]]))
        states += s
        symbols += [rng.choice(k, p=emit[q]) for q in s]
        lengths.append(n)
    x = np.log(emit.T[np.array(symbols)])  # (n_tokens, K): log P(x_t | state), the emissions held fixed
    hmm = ScaledLikelihoodHMM(k, n_iter=200, tol=1e-6)
    hmm.startprob_ = np.full(k, 1 / k)
    hmm.transmat_ = np.full((k, k), 1 / k) + rng.uniform(0, 0.01, (k, k))
    hmm.transmat_ /= hmm.transmat_.sum(1, keepdims=True)
    before = np.abs(hmm.transmat_ - trans).max()
    hmm.fit(x, np.array(lengths))
    assert np.abs(hmm.transmat_ - trans).max() < 0.08 < before


def test_hybrid_tagger_transitions_are_reestimated(tmp_path):
    from hybrid.train.tagging import build_tagger, read_tagged
    from tests.tiny import tiny_config, write_conll_file

    config = tiny_config(layer="hmm")
    sentences = read_tagged(write_conll_file(tmp_path / "t.txt", n=20), config.data)
    torch.manual_seed(0)
    tagger = build_tagger(config, sentences)
    before = tagger.layer.log_transitions.clone()
    result = reestimate_transitions(tagger, sentences, n_iter=5)
    after = tagger.layer.log_transitions
    assert not torch.allclose(before, after)
    torch.testing.assert_close(after.exp().sum(1), torch.ones(after.shape[0]))
    torch.testing.assert_close(tagger.layer.log_start.exp().sum(), torch.tensor(1.0))
    assert result["tokens"] == sum(len(s.words) for s in sentences)
    history = result["log_likelihood"]
    assert all(b >= a - 1e-6 for a, b in zip(history, history[1:], strict=False))


def test_reestimation_needs_an_hmm_layer_and_data(tmp_path):
    from hybrid.train.tagging import build_tagger, read_tagged
    from tests.tiny import tiny_config, write_conll_file

    config = tiny_config(layer="crf")
    sentences = read_tagged(write_conll_file(tmp_path / "t.txt", n=5), config.data)
    with pytest.raises(ConfigError, match="--layer hmm"):
        reestimate_transitions(build_tagger(config, sentences), sentences)
    hmm_tagger = build_tagger(tiny_config(layer="hmm"), sentences)
    with pytest.raises(ConfigError, match="no sentences"):
        reestimate_transitions(hmm_tagger, [])


def test_layer_to_hmmlearn_and_back_keeps_pi_and_a_and_decodes_alike():
    from hybrid.structured.hmm import HMMLayer

    g = torch.Generator().manual_seed(0)
    layer = HMMLayer(4).double()
    layer.fit_counts([torch.randint(0, 4, (int(n),), generator=g) for n in torch.randint(1, 9, (30,), generator=g)])
    model = layer.to_hmmlearn()
    torch.testing.assert_close(torch.from_numpy(np.log(model.transmat_)), layer.log_transitions)
    emissions = torch.randn(1, 7, 4, generator=g, dtype=torch.float64)
    mask = torch.ones(1, 7, dtype=torch.bool)
    x = layer.scaled_likelihoods(emissions)[0].numpy()
    assert model.decode(x)[1].tolist() == layer.decode(emissions, mask, 1)[0][0, 0].tolist()
    back = HMMLayer.from_hmmlearn(model, log_prior=layer.log_prior)
    for name in ("log_start", "log_transitions", "log_prior"):
        torch.testing.assert_close(getattr(back, name), getattr(layer, name))
