"""One registry of model kinds: every saved kind loads through `hybrid.load_model` as what it was,
saves back through `hybrid.save_model` to an equal directory, and unknown formats are refused."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import hybrid
from hybrid.config import ClassifierModelConfig, LanguageModelConfig, Seq2SeqConfig
from hybrid.data.labelled import Labelled
from hybrid.data.parallel import Seq2SeqVocabs
from hybrid.embeddings.directory import save_vectors_directory
from hybrid.embeddings.formats import WordVectors
from hybrid.errors import ModelLoadError
from hybrid.models.classifier import ClassifierVocabs, SequenceClassifier
from hybrid.models.classifier_io import save_classifier
from hybrid.models.discriminator import Discriminator, save_discriminator
from hybrid.models.language_model_io import TextLanguageModel, save_language_model
from hybrid.models.registry import (
    CLASSIFIER,
    DISCRIMINATOR,
    LANGUAGE_MODEL,
    SEQ2SEQ,
    TAGGER,
    WORD_VECTORS,
    kind_of,
    kinds,
    read_format,
)
from hybrid.models.seq2seq_io import save_seq2seq
from tests.seq2seq_tiny import random_pairs, tiny_model


def _saved(tmp_path):
    """One saved directory of every registered kind, with the class each should load as."""
    pairs = random_pairs(10, seed=0)
    seq2seq = tiny_model(Seq2SeqVocabs.build(pairs))
    save_seq2seq(seq2seq, tmp_path / "seq2seq", Seq2SeqConfig(model=seq2seq.config))
    lm = TextLanguageModel.build(LanguageModelConfig(embedding_dim=4, hidden_size=4), [p.inputs for p in pairs])
    save_language_model(lm, tmp_path / "lm")
    save_discriminator(Discriminator(7, embedding_dim=4, hidden_size=4), tmp_path / "d")
    examples = [Labelled(p.inputs, "pos" if i % 2 else "neg") for i, p in enumerate(pairs)]
    classifier = SequenceClassifier(ClassifierModelConfig(word_dim=4, hidden_size=4, attention_size=4),
                                    ClassifierVocabs.build(examples))
    save_classifier(classifier, tmp_path / "classifier")
    words = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    save_vectors_directory(WordVectors(["a", "b", "c"], words, [5, 3, 1]), tmp_path / "vectors")
    return {TAGGER: hybrid.models.directory.default_model_path(), SEQ2SEQ: tmp_path / "seq2seq",
            LANGUAGE_MODEL: tmp_path / "lm", DISCRIMINATOR: tmp_path / "d", CLASSIFIER: tmp_path / "classifier",
            WORD_VECTORS: tmp_path / "vectors"}


def _weights(model) -> dict[str, torch.Tensor]:
    if isinstance(model, WordVectors):
        return {"vectors": torch.from_numpy(model.vectors)}
    return model.state_dict()


def _keeps(copy: object, original: object) -> bool:
    """Whether `copy` holds every setting of `original` with its value (it may hold more)."""
    if isinstance(original, dict):
        return isinstance(copy, dict) and all(k in copy and _keeps(copy[k], v) for k, v in original.items())
    return copy == original


def test_every_kind_loads_as_itself_and_saves_back_alike(tmp_path):
    saved = _saved(tmp_path)
    assert set(saved) == set(kinds())
    for kind, directory in saved.items():
        assert kind_of(directory) is kind
        model = hybrid.load_model(directory)
        assert kind.saves(model) and not any(k.saves(model) for k in kinds() if k is not kind)
        copy = hybrid.save_model(model, tmp_path / f"copy-{kind.name}")
        assert read_format(copy) == kind.format
        again = hybrid.load_model(copy)
        for (name, a), b in zip(_weights(model).items(), _weights(again).values(), strict=True):
            assert torch.equal(a, b), (kind.name, name)
        config = json.loads((directory / "config.json").read_text())
        copied = json.loads((copy / "config.json").read_text())
        config.pop("checksums", None), copied.pop("checksums")  # the bundled weights are float16, the copy's not
        assert _keeps(copied, config), kind.name  # the tagger keeps its data columns too
        # settings added since a directory was written come back at their defaults
        assert getattr(hybrid.load_model(copy), "config", None) == getattr(model, "config", None)


def test_a_transformer_seq2seq_saves_and_loads_as_a_seq2seq_model(tmp_path):
    from tests.seq2seq_tiny import tiny_transformer

    model = tiny_transformer(Seq2SeqVocabs.build(random_pairs(10, seed=0)))
    copy = hybrid.save_model(model, tmp_path / "t")
    assert kind_of(copy) is SEQ2SEQ
    again = hybrid.load_model(copy)
    assert type(again) is type(model) and again.config == model.config
    for (name, a), b in zip(model.state_dict().items(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_the_default_model_is_the_bundled_tagger():
    assert TAGGER.saves(hybrid.load_model())


def test_unknown_and_broken_directories_are_refused(tmp_path):
    with pytest.raises(ModelLoadError, match="no config.json"):
        kind_of(tmp_path)
    (tmp_path / "config.json").write_text('{"format": "hybrid-spaceship"}')
    with pytest.raises(ModelLoadError, match="unknown model format 'hybrid-spaceship'"):
        hybrid.load_model(tmp_path)
    (tmp_path / "config.json").write_text("[1, 2]")
    with pytest.raises(ModelLoadError, match="no model format"):
        kind_of(tmp_path)
    (tmp_path / "config.json").write_bytes(b"\xff\xfe{")
    with pytest.raises(ModelLoadError, match="not valid JSON"):
        kind_of(tmp_path)
    with pytest.raises(TypeError, match="no registered model kind"):
        hybrid.save_model(torch.nn.Linear(2, 2), tmp_path / "x")
