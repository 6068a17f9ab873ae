"""Property-based fuzzing of every reader and loader (hypothesis): valid inputs round-trip, and
anything else raises the documented `hybrid.errors` type, naming the file; nothing else escapes.

The default run tries a few dozen examples per property; `pytest -m slow tests/fuzz
--hypothesis-profile=slow --hypothesis-show-statistics` tries 1,000 each and reports the counts.
"""

from __future__ import annotations

import json
import string
import tempfile
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from hybrid.config import TaggerConfig
from hybrid.data.pairs import read_pairs, write_pairs
from hybrid.data.parallel import read_parallel
from hybrid.data.readers import read_sentences
from hybrid.data.sentence import Sentence
from hybrid.data.writers import write_conll
from hybrid.errors import CheckpointError, ConfigError, DataFormatError, ModelLoadError
from hybrid.models.directory import read_config, read_model_files, read_training
from hybrid.models.io import default_model_path
from hybrid.train.checkpoint import load_checkpoint, save_checkpoint

TOKEN = st.text(string.ascii_letters + string.digits + "äßé.,-'()", min_size=1, max_size=8)
SENTENCE = st.lists(st.tuples(TOKEN, TOKEN), min_size=1, max_size=6)
JUNK = st.one_of(st.binary(max_size=400),
                 st.text(max_size=400).map(lambda s: s.encode("utf-8", "surrogatepass")),
                 st.lists(st.sampled_from(["a b\tc", "x\ty", "", "# c", "1\ta\t_\tNOUN", "\t", "a\n"]),
                          max_size=12).map(lambda lines: "\n".join(lines).encode()))
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children,
                                                                                       max_size=4), max_leaves=12)


def _file(data: bytes, name: str = "input.txt") -> Path:
    folder = Path(tempfile.mkdtemp(prefix="hybrid-fuzz-"))
    path = folder / name
    path.write_bytes(data)
    return path


# -- readers: round trips ------------------------------------------------------------------------
@given(st.lists(SENTENCE, min_size=1, max_size=5))
def test_conll_round_trip(sentences):
    path = _file(b"")
    write_conll((Sentence([w for w, _ in s]) for s in sentences), path, ([t for _, t in s] for s in sentences))
    read = list(read_sentences(path, "conll", 0, -1))
    assert [(s.words, s.tags) for s in read] == [([w for w, _ in s], [t for _, t in s]) for s in sentences]


@given(st.lists(SENTENCE, min_size=1, max_size=5))
def test_pairs_and_parallel_round_trip(sentences):
    from hybrid.data.pairs import Pair

    pairs = [Pair(tuple(w for w, _ in s), tuple(t for _, t in s)) for s in sentences]
    path = _file(b"", "pairs.tsv")
    write_pairs(pairs, path)
    assert [(p.inputs, p.labels) for p in read_pairs(path)] == [(p.inputs, p.labels) for p in pairs]
    src = _file("".join(" ".join(p.inputs) + "\n" for p in pairs).encode(), "src.txt")
    tgt = _file("".join(" ".join(p.labels) + "\n" for p in pairs).encode(), "tgt.txt")
    assert [(p.inputs, p.labels) for p in read_parallel(src, tgt)] == [(p.inputs, p.labels) for p in pairs]


# -- readers: anything else is a DataFormatError (or ConfigError for columns) naming the file ---------
READERS = {
    "conll": lambda path: list(read_sentences(path, "conll", 0, -1)),
    "conllu": lambda path: list(read_sentences(path, "conllu", "form", "upos")),
    "text": lambda path: list(read_sentences(path, "text", 0, None, require_tags=False)),
    "pairs": lambda path: list(read_pairs(path)),
    "parallel": lambda path: read_parallel(path, path),
    "lines": lambda path: read_parallel(path),
}


@pytest.mark.parametrize("reader", sorted(READERS))
@given(data=JUNK)
def test_readers_raise_only_documented_errors(reader, data):
    path = _file(data)
    try:
        READERS[reader](path)
    except DataFormatError as exc:
        assert exc.path is not None and Path(exc.path).name == "input.txt", str(exc)
    except ConfigError:
        pass


# -- loaders ---------------------------------------------------------------------------------------
def _model_copy() -> Path:
    """A fresh copy of the bundled model's small files (weights linked, not copied)."""
    folder = Path(tempfile.mkdtemp(prefix="hybrid-fuzz-model-")) / "model"
    folder.mkdir()
    bundled = default_model_path()
    for name in ("config.json", "vocab.json", "training.json"):
        (folder / name).write_bytes((bundled / name).read_bytes())
    (folder / "model.safetensors").symlink_to(bundled / "model.safetensors")
    return folder


@given(st.one_of(JSON.map(lambda value: json.dumps(value).encode()), JUNK))
def test_config_json_loads_or_raises_model_load_error(data):
    folder = _model_copy()
    (folder / "config.json").write_bytes(data)
    try:
        assert isinstance(read_config(folder), TaggerConfig)
    except ModelLoadError as exc:
        assert str(folder) in str(exc)


@given(st.one_of(JSON.map(lambda value: json.dumps(value).encode()), JUNK))
def test_vocab_json_loads_or_raises_model_load_error(data):
    from safetensors.numpy import load_file

    folder = _model_copy()
    (folder / "vocab.json").write_bytes(data)
    try:
        read_model_files(folder, load_file)
    except ModelLoadError as exc:
        assert str(folder) in str(exc)


@given(st.one_of(JSON.map(lambda value: json.dumps(value).encode()), JUNK))
def test_training_json_loads_or_raises_model_load_error(data):
    folder = _model_copy()
    (folder / "training.json").write_bytes(data)
    try:
        assert isinstance(read_training(folder), dict)
    except ModelLoadError as exc:
        assert "training.json" in str(exc)


@given(st.binary(max_size=2000))
def test_safetensors_weights_load_or_raise_model_load_error(data):
    from safetensors.numpy import load_file

    folder = _model_copy()
    (folder / "model.safetensors").unlink()
    (folder / "model.safetensors").write_bytes(data)
    with pytest.raises(ModelLoadError, match=str(folder)):
        read_model_files(folder, load_file)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")  # torch's note on junk bytes
@given(st.binary(max_size=2000), st.integers(min_value=0, max_value=4000))
def test_checkpoints_load_or_raise_checkpoint_error(data, cut):
    folder = Path(tempfile.mkdtemp(prefix="hybrid-fuzz-ckpt-"))
    save_checkpoint(folder / "real.pt", {"loop": {"step": 1}, "trainer": {"w": torch.ones(3)}})
    real = (folder / "real.pt").read_bytes()
    for name, content in (("junk.pt", data), ("cut.pt", real[: cut % max(len(real), 1)])):
        (folder / name).write_bytes(content)
        with pytest.raises(CheckpointError, match=name):
            load_checkpoint(folder / name)
