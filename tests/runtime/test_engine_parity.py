"""Both engines decode every saved setting alike, with the settings generated from the config
dataclasses' fields (not listed by hand): a new field that changes decoding is covered, or
this test says which field it has not seen.

For each field of ModelConfig and DataConfig, each alternative value its type allows (every
Literal option, the other bool, nearby numbers) is saved in a small random tagger of every
layer; the ONNX engine must then tag, score and decode exactly as torch, or refuse with a
reason that `hybrid tag --engine auto` turns into the torch engine.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from cli.tag import choose_engine
from hybrid.config import DataConfig, ModelConfig, TaggerConfig
from hybrid.data.batching import TaggerVocabs
from hybrid.data.sentence import Sentence
from hybrid.errors import ConfigError
from hybrid.models.io import load_tagger, save_tagger
from hybrid.models.tagger import Tagger
from hybrid.runtime import load_onnx_tagger, unsupported
from hybrid.runtime.tagger import TORCH_ONLY_ENCODERS
from tests.runtime.test_runtime import corpus, random_sentences

pytest.importorskip("onnxruntime")

# small sizes that keep 100-odd models quick; every field not named here keeps its default
TINY_MODEL = {"word_dim": 8, "feature_dim": 3, "char_dim": 4, "char_hidden": 5, "hidden_size": 8}  # 8: 4 heads
# fields that cannot change what a saved model decodes, each with the reason
NOT_DECODING = {
    "embeddings": "a path of pretrained vectors: they only initialise the saved word embeddings",
    "embeddings_vocab": "how many of the pretrained words join the vocabulary when training starts: the "
                        "saved vocabulary holds them (test_pretrained_only_words_decode_alike)",
    "format": "how training files are read; both engines share the readers",
    "word_column": "how training files are read; both engines share the readers",
    "tag_column": "how training files are read; both engines share the readers",
}
LAYERS_ON_ONNX = ("crf", "softmax", "hmm")


def alternatives(field: dataclasses.Field, hint: typing.Any, default: typing.Any) -> list[typing.Any]:
    """Values of a config field other than its default, from its type alone."""
    if typing.get_origin(hint) is typing.Literal:
        return [v for v in typing.get_args(hint) if v != default]
    if hint is bool:
        return [not default]
    if hint is int:
        return [default + 1, default + 2]
    if hint is float:  # 0 (off), a value below and one above the default
        return sorted({0.0, default * 0.25 or 0.25, default * 0.75 or 0.75, default * 1.5 or 1.5} - {default})
    if typing.get_origin(hint) is tuple:
        return [(1,)]  # one feature column: the POS column of the tiny corpus
    raise AssertionError(f"config field {field.name} ({hint}) has no generated values: add them here, "
                         "or name it in NOT_DECODING with the reason")


def variants() -> list[tuple[str, str, dict[str, typing.Any]]]:
    """(id, section, {field: value}) for every generated setting."""
    out = []
    for section, cls, base in (("model", ModelConfig, TINY_MODEL), ("data", DataConfig, {})):
        hints = typing.get_type_hints(cls)
        for field in dataclasses.fields(cls):
            if field.name in NOT_DECODING:
                continue
            default = base.get(field.name, field.default)
            for value in alternatives(field, hints[field.name], default):
                out.append((f"{section}.{field.name}={value}", section, {field.name: value}))
    out.append(("saved-float16", "half", {}))
    return out


def saved_model(tmp_path: Path, layer: str, section: str, change: dict[str, typing.Any]) -> tuple[Path, TaggerConfig]:
    """A tagger with weights uniform in +-1 (and random HMM statistics), saved with the change."""
    model = {**TINY_MODEL, "layer": layer, **(change if section == "model" else {})}
    data = change if section == "data" else {}
    config = TaggerConfig(data=DataConfig(**data), model=ModelConfig(**model))
    sentences = corpus()
    if not config.data.feature_columns:
        sentences = [Sentence(s.words, s.tags) for s in sentences]
    d = config.data
    vocabs = TaggerVocabs.build(sentences, d.min_word_freq, d.lowercase_words, d.max_word_length)
    torch.manual_seed(0)
    tagger = Tagger(config.model, vocabs)
    for p in tagger.parameters():
        nn.init.uniform_(p, -1.0, 1.0)
    if config.model.layer == "hmm":
        k = len(vocabs.tags)
        tagger.layer.set_statistics(torch.randn(k).log_softmax(0), torch.randn(k, k).log_softmax(1),
                                    torch.randn(k).log_softmax(0))
    return save_tagger(tagger, tmp_path / "model", config, half=section == "half"), config


def test_every_field_is_generated_or_has_a_reason():
    names = {f.name for cls in (ModelConfig, DataConfig) for f in dataclasses.fields(cls)}
    assert set(NOT_DECODING) <= names, "NOT_DECODING names a field that no longer exists"
    generated = {name for _, _, change in variants() for name in change}
    assert generated | set(NOT_DECODING) == names


@pytest.mark.parametrize("layer", LAYERS_ON_ONNX)
@pytest.mark.parametrize(("name", "section", "change"), variants(), ids=[v[0] for v in variants()])
def test_onnx_decodes_every_saved_setting_as_torch(tmp_path, layer, name, section, change):
    model = {**TINY_MODEL, "layer": layer, **(change if section == "model" else {})}
    try:
        directory, config = saved_model(tmp_path, layer, section, change)
    except ConfigError:  # a combination the tagger itself refuses (e.g. softmax with a chain loss)
        with pytest.raises(ConfigError):
            Tagger(ModelConfig(**model), TaggerVocabs.build(corpus(3)))
        return
    reason = unsupported(config.model, 1, directory)
    if reason is not None:  # the engine refuses, and auto falls back to torch
        assert config.model.layer not in LAYERS_ON_ONNX or config.model.encoder in TORCH_ONLY_ENCODERS, reason
        assert choose_engine("auto", config.model, 1, directory) == "torch"
        with pytest.raises(ConfigError):
            load_onnx_tagger(directory)
        return
    torch_tagger, onnx_tagger = load_tagger(directory), load_onnx_tagger(directory)
    sentences = random_sentences(torch_tagger.vocabs.words.tokens[2:], 40, seed=1,
                                 features=bool(config.data.feature_columns))
    assert onnx_tagger.tag(sentences, batch_size=16) == torch_tagger.tag(sentences, batch_size=16)
    batch = torch_tagger.vocabs.encode(sentences, with_chars=False)
    ids = onnx_tagger.vocabs.index_lists(sentences)
    with torch.inference_mode():
        paths, scores = torch_tagger.decode(batch)
    got_paths, got_scores = onnx_tagger.decode(ids)
    mask = batch.mask.numpy()
    np.testing.assert_allclose(got_scores, scores[:, 0].numpy(), atol=1e-4, rtol=1e-6)
    assert np.array_equal(np.where(mask, got_paths, 0), np.where(mask, paths[:, 0].numpy(), 0))


@pytest.mark.parametrize("layer", ["hmm-classic", "ctc"])
def test_layers_without_an_onnx_path_fall_back(layer):
    config = ModelConfig(layer=layer)
    assert unsupported(config) is not None
    assert choose_engine("auto", config, 1) == "torch"


@pytest.mark.parametrize("k", [2, 5])
def test_k_best_falls_back_to_torch(tmp_path, k):
    directory, config = saved_model(tmp_path, "crf", "model", {})
    assert "k > 1" in unsupported(config.model, k, directory)
    assert choose_engine("auto", config.model, k, directory) == "torch"


def test_a_directory_without_decoding_tensors_is_refused_and_auto_uses_torch(tmp_path):
    from safetensors.numpy import load_file, save_file

    directory, config = saved_model(tmp_path, "hmm", "model", {"hmm_prior_scale": 0.25})
    weights = directory / "model.safetensors"
    save_file({k: v for k, v in load_file(str(weights)).items() if not k.startswith("decoding.")}, str(weights))
    config_file = directory / "config.json"  # as saved by an older hybrid: no checksums either
    config_file.write_text(json.dumps({k: v for k, v in json.loads(config_file.read_text()).items()
                                       if k != "checksums"}))
    assert "decoding tensors" in unsupported(config.model, 1, directory)
    assert choose_engine("auto", config.model, 1, directory) == "torch"
    with pytest.raises(ConfigError, match="decoding tensors"):
        load_onnx_tagger(directory)


def test_scales_set_on_a_live_layer_are_saved_in_the_config_both_engines_read(tmp_path):
    import hybrid

    directory, _ = saved_model(tmp_path, "hmm", "model", {})
    tagger = hybrid.load_model(directory)
    tagger.layer.prior_scale, tagger.layer.transition_scale = 0.25, 0.75  # as tune_hmm_scales leaves it
    copy = hybrid.save_model(tagger, tmp_path / "tuned")
    reloaded = load_tagger(copy)
    assert (reloaded.layer.prior_scale, reloaded.layer.transition_scale) == (0.25, 0.75)
    sentences = random_sentences(reloaded.vocabs.words.tokens[2:], 40, seed=4)
    assert load_onnx_tagger(copy).tag(sentences) == reloaded.tag(sentences) == tagger.tag(sentences)


def test_pretrained_only_words_decode_alike(tmp_path):
    """A vocabulary extended by pretrained vectors' words (fixed rows, lowercase lookup fallback)."""
    config = TaggerConfig(model=ModelConfig(**TINY_MODEL))
    sentences = [Sentence(s.words, s.tags) for s in corpus()]
    vocabs = TaggerVocabs.build(sentences).with_words(["okapi", "zebra", "the"])
    torch.manual_seed(0)
    tagger = Tagger(config.model, vocabs)
    for p in tagger.parameters():
        nn.init.uniform_(p, -1.0, 1.0)
    table = tagger.word_embedding.table().detach().clone()
    table[-2:] = torch.rand(2, table.shape[1]) * 4 - 2  # the fixed rows of okapi and zebra
    tagger.word_embedding.set_table(table)
    directory = save_tagger(tagger, tmp_path / "model", config)
    torch_tagger, onnx_tagger = load_tagger(directory), load_onnx_tagger(directory)
    assert torch_tagger.vocabs.pretrained_only == 2 and torch.equal(torch_tagger.word_embedding.table(), table)
    words = torch_tagger.vocabs.words.tokens[2:] + ["Okapi", "ZEBRA", "okapi"]
    sentences = random_sentences(words, 30, seed=2)
    assert onnx_tagger.tag(sentences, batch_size=8) == torch_tagger.tag(sentences, batch_size=8)
