"""Word vectors as a hybrid model directory (format "hybrid-word-vectors"): config.json (the
training settings, with checksums), vocab.json (words and counts, most frequent first) and
model.safetensors (the vectors, (V, D) float32), like every other saved model; beside them
vectors.bin, the same vectors in word2vec binary for other tools."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from hybrid.config import GloveConfig, Word2VecConfig
from hybrid.embeddings.formats import WordVectors, write_vectors
from hybrid.errors import ModelLoadError
from hybrid.models.directory import read_json_object, read_model_config, read_model_files
from hybrid.models.registry import WORD_VECTORS
from hybrid.models.storage import write_model_directory

FORMAT, FORMAT_VERSION = WORD_VECTORS.format, 1


def save_vectors_directory(vectors: WordVectors, directory: str | Path,
                           config: Word2VecConfig | GloveConfig | None = None,
                           training: dict[str, Any] | None = None) -> Path:
    """Write the directory atomically, then vectors.bin beside its files."""
    directory = write_model_directory(directory, FORMAT, FORMAT_VERSION, config or Word2VecConfig(),
                                      {"words": list(vectors.words), "counts": vectors.counts},
                                      {"vectors": torch.from_numpy(vectors.vectors)}, training)
    write_vectors(vectors, Path(directory) / "vectors.bin", binary=True)
    return Path(directory)


def save_vectors_as_is(vectors: WordVectors, directory: str | Path, training: dict[str, Any] | None = None) -> Path:
    """`hybrid.save_model` for word vectors."""
    return save_vectors_directory(vectors, directory, None, training)


def read_vectors_config(directory: str | Path) -> Word2VecConfig | GloveConfig:
    """The settings the vectors were trained with (GloVe's or word2vec's, by their "model")."""
    config_file = Path(directory) / "config.json"
    if config_file.is_file() and read_json_object(config_file).get("model") == "glove":
        return read_model_config(directory, FORMAT, FORMAT_VERSION, GloveConfig)
    return read_model_config(directory, FORMAT, FORMAT_VERSION, Word2VecConfig)


def load_vectors_directory(directory: str | Path) -> WordVectors:
    """The word vectors saved in `directory`."""
    directory = Path(directory)
    read_vectors_config(directory)
    vocab, state = read_model_files(directory, load_file, _vocab_from_dict)
    matrix = state.get("vectors")
    if matrix is None or matrix.dim() != 2 or matrix.shape[0] != len(vocab["words"]):
        raise ModelLoadError(f"{directory}: model.safetensors does not hold one vector per word of vocab.json")
    return WordVectors(vocab["words"], matrix.float().numpy(), vocab["counts"])


def _vocab_from_dict(data: Any) -> dict[str, Any]:
    if (not isinstance(data, dict) or not isinstance(data.get("words"), list)
            or not all(isinstance(w, str) for w in data["words"])):
        raise ValueError("expected {'words': [...], 'counts': [...] or null}")
    counts = data.get("counts")
    if counts is not None and (not isinstance(counts, list) or len(counts) != len(data["words"])):
        raise ValueError("counts must be a list as long as words, or null")
    return {"words": data["words"], "counts": counts}
