"""TaggerTrainer through train_tagger: outputs, learning, determinism, resume, budget, patience."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from hybrid.config import TaggerConfig, load_json
from hybrid.models.io import load_tagger, read_training
from hybrid.models.tagger import Tagger
from hybrid.train import trainer as trainer_module
from hybrid.train.tagging import read_tagged, split_dev, train_tagger
from hybrid.train.trainer import dev_metric, evaluate
from tests.tiny import conll_text, tiny_config, write_conll_file


def _train(config: TaggerConfig, train_path, out, **kwargs):
    return train_tagger(config, train_path, out, progress=False, log=lambda message: None, **kwargs)


def _final_weights(out) -> dict[str, torch.Tensor]:
    return torch.load(out / "checkpoint.pt", weights_only=True)["trainer"]["model"]


def _assert_same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


def _without_time(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in h.items() if k not in ("elapsed_s", "eval_s")} for h in history]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_conll_file(tmp_path_factory.mktemp("data") / "train.txt", n=30)


@pytest.fixture(scope="module")
def two_epochs(corpus, tmp_path_factory):
    """A straight two-epoch run, shared by the tests that compare against it."""
    out = tmp_path_factory.mktemp("straight")
    return out, _train(tiny_config(epochs=2), corpus, out)


def test_run_directory_and_summary(two_epochs, corpus):
    out, summary = two_epochs
    assert (out / "model" / "model.safetensors").is_file()
    assert load_json(TaggerConfig, out / "config.json") == tiny_config(epochs=2)
    on_disk = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert on_disk == {k: v for k, v in summary.items()
                       if k not in ("train_sentences", "dev_sentences", "dev_source")}
    assert (summary["train_sentences"], summary["dev_sentences"]) == (24, 6)
    assert summary["dev_source"] == "held-out"
    assert summary["metric"] == "f1"  # BIO chunk tags
    assert summary["epochs_run"] == 2 and summary["stopped_by"] == "epochs"
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert log == summary["history"]
    assert [r["epoch"] for r in log] == [1, 2]
    best = max(summary["history"], key=lambda r: r["dev"])
    assert (summary["best_dev"], summary["best_epoch"]) == (best["dev"], best["epoch"])
    assert read_training(out / "model") == on_disk  # the final figures, stop reason included


def test_saved_model_is_the_best_one_and_scores_its_best_dev(two_epochs, corpus):
    out, summary = two_epochs
    config = tiny_config(epochs=2)
    _, dev = split_dev(read_tagged(corpus, config.data), config.train.dev_fraction, config.train.seed)
    scores = evaluate(load_tagger(out / "model"), dev)
    assert scores["f1"] == pytest.approx(summary["best_dev"], abs=1e-9)


def test_trivial_pattern_is_learned(two_epochs):
    _, summary = two_epochs
    first, second = summary["history"]
    assert second["loss"] < 0.7 * first["loss"]
    assert second["dev"] > first["dev"]
    assert summary["best_dev"] > 70.0


def test_same_seed_same_run(two_epochs, corpus, tmp_path):
    out, summary = two_epochs
    again = _train(tiny_config(epochs=2), corpus, tmp_path)
    assert _without_time(again["history"]) == _without_time(summary["history"])
    _assert_same_weights(_final_weights(tmp_path), _final_weights(out))


def test_other_seed_other_run(two_epochs, corpus, tmp_path):
    out, _ = two_epochs
    _train(tiny_config(epochs=2, seed=2), corpus, tmp_path)
    other, straight = _final_weights(tmp_path), _final_weights(out)
    assert any(not torch.equal(other[k], straight[k]) for k in straight if other[k].shape == straight[k].shape)


def test_resume_after_one_epoch_equals_straight_run(two_epochs, corpus, tmp_path):
    out, summary = two_epochs
    first = _train(tiny_config(epochs=1), corpus, tmp_path)
    assert first["epochs_run"] == 1
    resumed = _train(tiny_config(epochs=2), corpus, tmp_path, resume=True)
    assert _without_time(resumed["history"]) == _without_time(summary["history"])
    assert resumed["best_dev"] == summary["best_dev"]
    _assert_same_weights(_final_weights(tmp_path), _final_weights(out))
    assert len((tmp_path / "train_log.jsonl").read_text().splitlines()) == 2


def test_resume_after_a_kill_inside_an_epoch_equals_straight_run(two_epochs, corpus, tmp_path, monkeypatch):
    out, summary = two_epochs
    monkeypatch.setattr(trainer_module, "CHECKPOINT_EVERY_S", -1.0)  # checkpoint after every batch
    calls = {"n": 0}
    real_loss = Tagger.loss

    def dying_loss(self, batch):
        calls["n"] += 1
        if calls["n"] == 9:  # third batch of the second epoch (6 batches an epoch)
            raise RuntimeError("killed")
        return real_loss(self, batch)

    monkeypatch.setattr(Tagger, "loss", dying_loss)
    with pytest.raises(RuntimeError, match="killed"):
        _train(tiny_config(epochs=2), corpus, tmp_path)
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)["loop"]
    assert (state["epoch"], state["position"]) == (1, 2)
    monkeypatch.setattr(Tagger, "loss", real_loss)
    resumed = _train(tiny_config(epochs=2), corpus, tmp_path, resume=True)
    _assert_same_weights(_final_weights(tmp_path), _final_weights(out))
    assert _without_time(resumed["history"]) == _without_time(summary["history"])
    log = [json.loads(line) for line in (tmp_path / "train_log.jsonl").read_text().splitlines()]
    assert _without_time(log) == _without_time(summary["history"])


def test_resume_without_checkpoint_starts_afresh(two_epochs, corpus, tmp_path):
    out, summary = two_epochs
    fresh = _train(tiny_config(epochs=2), corpus, tmp_path, resume=True)
    assert _without_time(fresh["history"]) == _without_time(summary["history"])


def test_fresh_run_in_a_used_directory_starts_a_new_log(corpus, tmp_path):
    _train(tiny_config(epochs=2), corpus, tmp_path)
    summary = _train(tiny_config(epochs=1), corpus, tmp_path, overwrite=True)  # no resume: start over
    log = [json.loads(line) for line in (tmp_path / "train_log.jsonl").read_text().splitlines()]
    assert log == summary["history"] and len(log) == 1


def test_max_minutes_stops_early_and_keeps_the_model(corpus, tmp_path):
    config = tiny_config(epochs=5, max_minutes=1e-9)
    summary = _train(config, corpus, tmp_path)
    assert summary["stopped_by"] == "max_minutes"
    assert summary["epochs_run"] == 1
    assert (tmp_path / "model" / "model.safetensors").is_file()
    assert json.loads((tmp_path / "summary.json").read_text())["stopped_by"] == "max_minutes"


def test_patience_stops_when_dev_does_not_improve(corpus, tmp_path):
    config = tiny_config(epochs=5, patience=1)
    config = dataclasses.replace(config, train=dataclasses.replace(config.train, lr=1e-12))
    summary = _train(config, corpus, tmp_path)
    assert summary["stopped_by"] == "patience"
    assert summary["epochs_run"] == 2 and summary["best_epoch"] == 1


def test_explicit_dev_file(corpus, tmp_path):
    dev = tmp_path / "dev.txt"
    dev.write_text(conll_text([[("the", "DT", "B-NP"), ("cat", "NN", "I-NP"), ("eats", "VBZ", "B-VP"),
                                (".", ".", "O")]]), encoding="utf-8")
    summary = _train(tiny_config(epochs=1), corpus, tmp_path / "run", dev_path=dev)
    assert (summary["train_sentences"], summary["dev_sentences"]) == (30, 1)
    assert summary["dev_source"] == str(dev)


def test_dev_set_without_chunks_still_scores_f1(corpus, tmp_path):
    """A dev set whose gold tags happen to be all O (an NER dev set without entities)."""
    dev = tmp_path / "dev.txt"
    dev.write_text(conll_text([[("sees", "VBZ", "O"), (".", ".", "O")]]), encoding="utf-8")
    summary = _train(tiny_config(epochs=1), corpus, tmp_path / "run", dev_path=dev)
    assert summary["metric"] == "f1"
    assert 0.0 <= summary["best_dev"] <= 100.0


def test_dev_metric():
    config = tiny_config()
    assert dev_metric(config, ["B-NP", "I-NP", "O"]) == "f1"
    assert dev_metric(config, ["NOUN", "VERB"]) == "accuracy"
    forced = dataclasses.replace(config, train=dataclasses.replace(config.train, metric="accuracy"))
    assert dev_metric(forced, ["B-NP", "I-NP", "O"]) == "accuracy"


def test_pos_tags_are_scored_by_accuracy(tmp_path):
    path = tmp_path / "pos.txt"
    path.write_text(conll_text([[("the", "DT"), ("cat", "NN"), ("eats", "VBZ")]] * 6), encoding="utf-8")
    summary = _train(tiny_config(epochs=1), path, tmp_path / "run")
    assert summary["metric"] == "accuracy"
