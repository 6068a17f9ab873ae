"""Both engines check a model directory the same way: the SHA-256 of vocab.json and
model.safetensors recorded at save time, and vocabulary sizes against weight shapes."""

from __future__ import annotations

import json

import pytest

from hybrid.errors import ModelLoadError
from hybrid.models.io import load_tagger
from hybrid.runtime import load_onnx_tagger
from tests.runtime.test_engine_parity import saved_model

pytest.importorskip("onnxruntime")


def _two_models(tmp_path):
    """A saved model, and another whose vocab.json has three words fewer (as another model's would)."""
    a, _ = saved_model(tmp_path / "a", "crf", "model", {})
    b, _ = saved_model(tmp_path / "b", "crf", "model", {})
    vocab = json.loads((b / "vocab.json").read_text())
    vocab["words"]["tokens"] = vocab["words"]["tokens"][:-3]
    (b / "vocab.json").write_text(json.dumps(vocab))
    return a, b


@pytest.mark.parametrize("load", [load_tagger, load_onnx_tagger], ids=["torch", "onnx"])
def test_a_swapped_vocabulary_is_refused_by_its_checksum(tmp_path, load):
    a, b = _two_models(tmp_path)
    (a / "vocab.json").write_bytes((b / "vocab.json").read_bytes())
    with pytest.raises(ModelLoadError, match="vocab.json is not the file this model was saved with"):
        load(a)


@pytest.mark.parametrize("load", [load_tagger, load_onnx_tagger], ids=["torch", "onnx"])
def test_edited_weights_are_refused_by_their_checksum(tmp_path, load):
    a, _ = _two_models(tmp_path)
    weights = bytearray((a / "model.safetensors").read_bytes())
    weights[-1] ^= 0xFF  # one bit pattern in the last float
    (a / "model.safetensors").write_bytes(bytes(weights))
    with pytest.raises(ModelLoadError, match="model.safetensors is not the file"):
        load(a)


@pytest.mark.parametrize("load", [load_tagger, load_onnx_tagger], ids=["torch", "onnx"])
def test_without_checksums_a_vocabulary_of_the_wrong_size_is_still_refused(tmp_path, load):
    a, b = _two_models(tmp_path)
    for directory in (a, b):  # as a directory saved before checksums were recorded
        config = json.loads((directory / "config.json").read_text())
        del config["checksums"]
        (directory / "config.json").write_text(json.dumps(config))
    (a / "vocab.json").write_bytes((b / "vocab.json").read_bytes())
    with pytest.raises(ModelLoadError, match="weights|vocab"):
        load(a)
