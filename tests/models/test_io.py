"""save_tagger/load_tagger: bit-identical round trip, float16 storage, atomic writes, clear errors."""

from __future__ import annotations

import dataclasses
import json
import os
import stat

import pytest
import torch
from safetensors import safe_open

from hybrid.data.readers import read_conll
from hybrid.errors import ModelLoadError
from hybrid.models import io, storage
from hybrid.models.io import load_tagger, read_config, read_training, save_tagger
from hybrid.models.tagger import predict_tags
from hybrid.train.tagging import build_tagger
from tests.tiny import conll_text, tiny_config, tiny_sentences


def _sentences(n: int = 8, seed: int = 0, features: bool = True):
    lines = conll_text(tiny_sentences(n, seed)).splitlines()
    return list(read_conll(lines, feature_columns=[1] if features else []))


def _tagger(layer: str = "crf", features: bool = True, seed: int = 0):
    config = tiny_config(features=features, layer=layer)
    torch.manual_seed(seed)
    tagger = build_tagger(config, _sentences(20, features=features))
    # Random, non-trivial transition scores: a fresh CRF starts near zero everywhere.
    with torch.no_grad():
        for p in tagger.layer.parameters():
            p.normal_(0.0, 1.0)
    tagger.eval()
    return tagger, config


@pytest.mark.parametrize("layer", ["crf", "softmax", "hmm"])
def test_round_trip_gives_bit_identical_weights_paths_and_scores(tmp_path, layer):
    tagger, config = _tagger(layer)
    test = _sentences(6, seed=7)  # unseen sentences: exercise the same code as real tagging
    before = predict_tags(tagger, test, batch_size=4, k=3)
    save_tagger(tagger, tmp_path / "model", config)
    loaded = load_tagger(tmp_path / "model")
    assert not loaded.training
    assert loaded.tag_names == tagger.tag_names
    assert loaded.vocabs.words.tokens == tagger.vocabs.words.tokens
    state, loaded_state = tagger.state_dict(), loaded.state_dict()
    assert state.keys() == loaded_state.keys()
    for name, value in state.items():
        assert loaded_state[name].dtype == value.dtype, name
        assert torch.equal(loaded_state[name], value), name
    after = predict_tags(loaded, test, batch_size=4, k=3)
    assert after == before  # paths and float scores, exactly
    assert read_config(tmp_path / "model") == config


def test_hmm_tagger_takes_its_transitions_and_prior_from_training_counts():
    from hybrid.structured.hmm import count_statistics

    tagger, _ = _tagger("hmm")
    train = _sentences(20)
    ids = [[tagger.vocabs.tags.index(t) for t in s.tags] for s in train]
    stats = count_statistics(ids, len(tagger.tag_names))
    torch.testing.assert_close(tagger.layer.log_start, stats.log_start.float())
    torch.testing.assert_close(tagger.layer.log_prior, stats.log_prior.float())
    torch.testing.assert_close(tagger.layer.log_transitions, stats.log_transitions.float())


def test_round_trip_of_a_model_without_features_or_chars(tmp_path):
    config = tiny_config()
    config = dataclasses.replace(config, model=dataclasses.replace(config.model, char_encoder="none"))
    torch.manual_seed(3)
    sentences = _sentences(10, features=False)
    tagger = build_tagger(config, sentences).eval()
    save_tagger(tagger, tmp_path / "m", config)
    loaded = load_tagger(tmp_path / "m")
    assert loaded.char_encoder is None
    assert predict_tags(loaded, sentences, k=2) == predict_tags(tagger, sentences, k=2)


def test_half_stores_float16_and_loads_float32_close_to_the_original(tmp_path):
    tagger, config = _tagger()
    save_tagger(tagger, tmp_path / "full", config)
    save_tagger(tagger, tmp_path / "half", config, half=True)
    with safe_open(str(tmp_path / "half" / "model.safetensors"), framework="pt") as f:
        dtypes = {f.get_tensor(k).dtype for k in f.keys() if not k.startswith("decoding.")}  # noqa: SIM118
        decoding = {f.get_tensor(k).dtype for k in f.keys() if k.startswith("decoding.")}  # noqa: SIM118
    assert torch.float16 in dtypes and torch.float32 not in dtypes
    assert decoding == {torch.float32, torch.bool}  # what the ONNX engine decodes with stays exact
    assert torch.bool in dtypes  # constraint masks keep their dtype

    def weight_bytes(name: str) -> int:  # the network's weights (the decoding tensors stay float32)
        with safe_open(str(tmp_path / name / "model.safetensors"), framework="pt") as f:
            return sum(f.get_tensor(k).nbytes for k in f.keys() if not k.startswith("decoding."))  # noqa: SIM118

    assert weight_bytes("half") < 0.6 * weight_bytes("full")

    loaded = load_tagger(tmp_path / "half")
    for name, value in tagger.state_dict().items():
        got = loaded.state_dict()[name]
        if value.is_floating_point():
            assert got.dtype == torch.float32, name
            torch.testing.assert_close(got, value, rtol=1e-3, atol=1e-3)
        else:
            assert torch.equal(got, value), name
    test = _sentences(6, seed=7)
    before = predict_tags(tagger, test, k=1)
    after = predict_tags(loaded, test, k=1)
    for (b_tags, b_score), (a_tags, a_score) in ((b[0], a[0]) for b, a in zip(before, after, strict=True)):
        assert a_score == pytest.approx(b_score, rel=1e-2, abs=1e-2)
        assert sum(x != y for x, y in zip(a_tags, b_tags, strict=True)) <= 1


def test_training_figures_and_model_card_are_kept(tmp_path):
    tagger, config = _tagger()
    target = tmp_path / "model"
    save_tagger(tagger, target, config, training={"best_dev": 91.5, "metric": "f1"})
    assert read_training(target) == {"best_dev": 91.5, "metric": "f1"}
    (target / "README.md").write_text("# my model\n", encoding="utf-8")
    save_tagger(tagger, target, config)  # overwrite: README survives, training.json is dropped
    assert (target / "README.md").read_text(encoding="utf-8") == "# my model\n"
    assert read_training(target) == {}
    header = json.loads((target / "config.json").read_text(encoding="utf-8"))
    assert header["format"] == "hybrid-tagger" and header["format_version"] == io.FORMAT_VERSION


def test_save_is_atomic_and_leaves_no_temporary_directories(tmp_path):
    tagger, config = _tagger()
    target = tmp_path / "runs" / "model"  # parent created on demand
    save_tagger(tagger, target, config)
    save_tagger(tagger, target, config)  # replacing an existing model
    assert sorted(p.name for p in target.parent.iterdir()) == ["model"]
    assert sorted(p.name for p in target.iterdir()) == ["config.json", "model.safetensors", "vocab.json"]
    mode = stat.S_IMODE(target.stat().st_mode)
    assert mode & 0o055 == 0o055 & ~_umask()  # not the private 0o700 of mkdtemp


def test_failed_save_keeps_the_old_model_and_cleans_up(tmp_path, monkeypatch):
    tagger, config = _tagger()
    target = tmp_path / "model"
    save_tagger(tagger, target, config, training={"run": 1})
    old_weights = (target / "model.safetensors").read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(storage, "save_file", broken)
    with torch.no_grad():
        tagger.projection.bias.add_(1.0)
    with pytest.raises(OSError, match="disk full"):
        save_tagger(tagger, target, config, training={"run": 2})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    assert (target / "model.safetensors").read_bytes() == old_weights
    assert read_training(target) == {"run": 1}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# -- loading errors ---------------------------------------------------------------------


@pytest.fixture()
def saved(tmp_path):
    tagger, config = _tagger()
    return save_tagger(tagger, tmp_path / "model", config)


def _edit_config(directory, **changes):
    path = directory / "config.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(changes)
    path.write_text(json.dumps(data), encoding="utf-8")


def test_wrong_format_version_is_refused_with_both_versions_named(saved):
    _edit_config(saved, format_version=99)
    with pytest.raises(ModelLoadError, match=r"format version 99 is not supported.*reads version 1"):
        load_tagger(saved)


def test_wrong_format_is_refused(saved):
    _edit_config(saved, format="something-else")
    with pytest.raises(ModelLoadError, match=r"'something-else' is not a 'hybrid-tagger' model"):
        load_tagger(saved)


@pytest.mark.parametrize("name", ["config.json", "vocab.json", "model.safetensors"])
def test_missing_file_is_named(saved, name):
    (saved / name).unlink()
    with pytest.raises(ModelLoadError, match=rf"not a hybrid model directory \(missing {name}\)"):
        load_tagger(saved)


def test_missing_directory(tmp_path):
    with pytest.raises(ModelLoadError, match="no such model directory"):
        load_tagger(tmp_path / "nope")


def test_invalid_config_json_names_file_and_line(saved):
    (saved / "config.json").write_text('{\n  "format": "hybrid-tagger",\n  oops\n}\n', encoding="utf-8")
    with pytest.raises(ModelLoadError, match=r"config.json:3: invalid JSON"):
        load_tagger(saved)


def test_unknown_config_key_is_named(saved):
    _edit_config(saved, model={"word_dim": 8, "colour": "blue"})
    with pytest.raises(ModelLoadError, match=r"unknown ModelConfig key\(s\) model.colour"):
        load_tagger(saved)


def test_weights_that_do_not_match_the_config(saved):
    config = json.loads((saved / "config.json").read_text(encoding="utf-8"))
    _edit_config(saved, model={**config["model"], "hidden_size": 9})
    with pytest.raises(ModelLoadError, match="weights do not match the configuration"):
        load_tagger(saved)


def test_corrupt_weights_file(saved):
    (saved / "model.safetensors").write_bytes(b"\x00garbage, not safetensors")
    with pytest.raises(ModelLoadError, match="cannot read model files|is not the file this model was saved with"):
        load_tagger(saved)


def test_corrupt_vocabulary(saved):
    (saved / "vocab.json").write_text('{"words": {}}', encoding="utf-8")
    with pytest.raises(ModelLoadError, match="cannot read model files|is not the file this model was saved with"):
        load_tagger(saved)


def test_bundled_model_loads():
    tagger = load_tagger(io.default_model_path())
    assert {"NOUN", "VERB", "DET", "PUNCT"} <= set(tagger.tag_names)
    assert read_config(io.default_model_path()).data.format == "conllu"
