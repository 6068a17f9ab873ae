"""Baum-Welch POS induction on a tiny synthetic language with an obvious class structure."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from hybrid.errors import ModelLoadError
from hybrid.unsupervised import InducedHMM, InductionConfig, WordCoder, induce, induction_scores
from hybrid.unsupervised.induction import SHAPE_CLASSES, word_shape

CLASSES = {
    "D": ["the", "a", "every"],
    "N": ["dog", "cat", "bird", "fish", "horse"],
    "V": ["runs", "sleeps", "eats", "sings"],
    "R": ["quickly", "slowly", "often"],
}


def corpus(n: int = 300, seed: int = 1) -> tuple[list[list[str]], list[list[str]]]:
    """Sentences D N V (R), words drawn uniformly within their class."""
    rng = random.Random(seed)
    words, tags = [], []
    for _ in range(n):
        t = ["D", "N", "V"] + (["R"] if rng.random() < 0.5 else [])
        tags.append(t)
        words.append([rng.choice(CLASSES[c]) for c in t])
    return words, tags


def test_em_recovers_the_word_classes():
    words, tags = corpus()
    model = induce(words, InductionConfig(states=4, iterations=200, tol=1e-7, seed=0, min_count=1))
    scores = induction_scores(model.predict(words), tags)
    assert scores["many_to_one"] >= 0.95
    lls = [h["log_likelihood_per_token"] for h in model.history]
    assert all(b >= a - 1e-9 for a, b in zip(lls, lls[1:], strict=False))  # EM never decreases it


def test_same_seed_same_model_and_different_seed_different_start():
    words, _ = corpus(80)
    cfg = InductionConfig(states=3, iterations=5, seed=7, min_count=1)
    a, b = induce(words, cfg), induce(words, cfg)
    np.testing.assert_array_equal(a.hmm.emissionprob_, b.hmm.emissionprob_)
    c = induce(words, InductionConfig(states=3, iterations=5, seed=8, min_count=1))
    assert not np.allclose(a.hmm.emissionprob_, c.hmm.emissionprob_)


def test_save_load_round_trip_and_classic_viterbi_agree(tmp_path):
    words, _ = corpus(60)
    model = induce(words, InductionConfig(states=4, iterations=10, seed=0))
    model.save(tmp_path / "m")
    loaded = InducedHMM.load(tmp_path / "m")
    test = words[:10] + [["the", "zebra", "Runs", "42", "!"], []]
    assert loaded.predict(test) == model.predict(test)
    assert loaded.predict(test)[-1] == []
    assert loaded.history == model.history
    # the chain programs' batched Viterbi gives hmmlearn's path
    classic = model.to_classic()
    sents = [s for s in test if s]
    ids = [torch.as_tensor(model.coder.encode(s)) for s in sents]
    obs = torch.nn.utils.rnn.pad_sequence(ids, batch_first=True)
    mask = torch.nn.utils.rnn.pad_sequence([torch.ones(len(i), dtype=torch.bool) for i in ids], batch_first=True)
    paths, _ = classic.decode(obs, mask)
    for row, path, m in zip(model.predict(sents), paths[:, 0], mask, strict=True):
        assert path[m].tolist() == row


def test_load_rejects_a_directory_without_the_files(tmp_path):
    with pytest.raises(ModelLoadError):
        InducedHMM.load(tmp_path)


def test_rare_and_unseen_words_fall_into_shape_classes():
    coder = WordCoder.fit([["The", "the", "dog", "Paris"]], min_count=2, lowercase=True)
    assert coder.words == ["the"]
    ids = coder.encode(["THE", "dog", "Paris", "1,000", "--", "walking"])
    names = [coder.symbols[i] for i in ids]
    assert names == ["the", "<unk>", "<cap>", "<num>", "<punct>", "<-ing>"]
    assert len(coder) == 1 + len(SHAPE_CLASSES)
    assert word_shape("e-mail") == "<hyphen>"


def test_time_budget_and_progress_callback():
    words, _ = corpus(50)
    seen = []
    model = induce(words, InductionConfig(states=3, iterations=1000, tol=0.0, time_budget=1e-9), progress=seen.append)
    assert len(model.history) == 1 and seen == model.history


def test_bad_config_is_rejected():
    with pytest.raises(ValueError):
        InductionConfig(states=0)
    with pytest.raises(ValueError):
        InductionConfig(init_noise=1.5)
