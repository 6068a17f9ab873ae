"""Choosing the DNN-HMM hybrid's prior and transition scales on dev."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from hybrid.models.io import load_tagger, read_config
from hybrid.train.hmm_scales import tune_hmm_scales
from hybrid.train.tagging import build_tagger, read_tagged, split_dev, train_tagger
from hybrid.train.trainer import evaluate
from tests.tiny import tiny_config, write_conll_file


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_conll_file(tmp_path_factory.mktemp("data") / "train.txt", n=30)


def test_tuning_picks_the_grid_point_that_evaluate_scores_best(corpus):
    config = tiny_config(layer="hmm")
    train, dev = split_dev(read_tagged(corpus, config.data), 0.3, 1)
    torch.manual_seed(0)
    tagger = build_tagger(config, train)
    with torch.no_grad():  # an untrained network: scales decide a lot
        for p in tagger.projection.parameters():
            p.normal_(0.0, 1.0)
    priors, weights = (0.0, 0.5, 1.0), (0.5, 2.0)
    choice = tune_hmm_scales(tagger, dev, "accuracy", priors, weights)
    assert [(g["prior_scale"], g["transition_scale"]) for g in choice["grid"]] == [
        (p, w) for p in priors for w in weights]
    assert (tagger.layer.prior_scale, tagger.layer.transition_scale) == (choice["prior_scale"],
                                                                         choice["transition_scale"])
    for point in choice["grid"]:  # each cached-emission score equals a full evaluation
        tagger.layer.prior_scale, tagger.layer.transition_scale = point["prior_scale"], point["transition_scale"]
        assert evaluate(tagger, dev)["accuracy"] == pytest.approx(point["dev"])
    best = max(choice["grid"], key=lambda g: g["dev"])
    assert choice["dev"] == best["dev"]


def test_tuning_refuses_other_layers(corpus):
    config = tiny_config(layer="crf")
    tagger = build_tagger(config, read_tagged(corpus, config.data))
    with pytest.raises(TypeError, match="HMM hybrid"):
        tune_hmm_scales(tagger, [], "accuracy")


def test_training_saves_the_chosen_scales_and_the_model_reproduces_its_dev_score(corpus, tmp_path):
    config = tiny_config(layer="hmm", epochs=2)
    summary = train_tagger(config, corpus, tmp_path, progress=False, log=lambda m: None)
    chosen = json.loads((tmp_path / "hmm_scales.json").read_text())
    assert len(chosen["grid"]) == 25
    saved = read_config(tmp_path / "model").model
    assert (saved.hmm_prior_scale, saved.hmm_transition_scale) == (chosen["prior_scale"], chosen["transition_scale"])
    assert summary["best_dev"] == chosen["dev"] >= summary["dev_before_scales"]
    model = load_tagger(tmp_path / "model")
    assert (model.layer.prior_scale, model.layer.transition_scale) == (saved.hmm_prior_scale,
                                                                       saved.hmm_transition_scale)
    _, dev = split_dev(read_tagged(corpus, config.data), config.train.dev_fraction, config.train.seed)
    assert evaluate(model, dev)[summary["metric"]] == pytest.approx(summary["best_dev"])


def test_no_tuning_keeps_the_configured_scales(corpus, tmp_path):
    config = tiny_config(layer="hmm", epochs=1)
    config = dataclasses.replace(config, model=dataclasses.replace(
        config.model, hmm_tune_scales=False, hmm_prior_scale=0.3, hmm_transition_scale=1.5))
    summary = train_tagger(config, corpus, tmp_path, progress=False, log=lambda m: None)
    assert "hmm_scales" not in summary and not (tmp_path / "hmm_scales.json").exists()
    model = load_tagger(tmp_path / "model")
    assert (model.layer.prior_scale, model.layer.transition_scale) == (0.3, 1.5)
