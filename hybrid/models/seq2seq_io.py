"""Save and load seq2seq models as a directory (see hybrid.models.directory and .storage)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from safetensors.torch import load_file

from hybrid.config import Seq2SeqConfig, Seq2SeqModelConfig
from hybrid.data.parallel import Seq2SeqVocabs
from hybrid.models.directory import read_model_config, read_model_files
from hybrid.models.registry import SEQ2SEQ
from hybrid.models.seq2seq import EncoderDecoder, Seq2Seq
from hybrid.models.storage import load_weights, write_model_directory
from hybrid.models.transformer_seq2seq import TransformerSeq2Seq

FORMAT = SEQ2SEQ.format
FORMAT_VERSION = 1
TIED = "output.weight"  # the same tensor as tgt_embedding.weight when embeddings are tied: stored once


def build_seq2seq(config: Seq2SeqModelConfig, vocabs: Seq2SeqVocabs) -> EncoderDecoder:
    """A fresh model of the architecture `config.arch` names."""
    return TransformerSeq2Seq(config, vocabs) if config.arch == "transformer" else Seq2Seq(config, vocabs)


def save_seq2seq(model: EncoderDecoder, directory: str | Path, config: Seq2SeqConfig,
                 training: dict[str, Any] | None = None, half: bool = False) -> Path:
    """Write the model to `directory` atomically; load_seq2seq gives identical outputs."""
    state = model.state_dict()
    if config.model.tie_embeddings:
        state.pop(TIED)
    return write_model_directory(directory, FORMAT, FORMAT_VERSION, config, model.vocabs.to_dict(), state,
                                 training, half)


def read_seq2seq_config(directory: str | Path) -> Seq2SeqConfig:
    return read_model_config(directory, FORMAT, FORMAT_VERSION, Seq2SeqConfig)


def load_seq2seq(directory: str | Path) -> EncoderDecoder:
    """Rebuild a seq2seq model from its directory, in eval mode."""
    directory = Path(directory)
    config = read_seq2seq_config(directory)
    vocabs, state = read_model_files(directory, load_file, Seq2SeqVocabs.from_dict)
    model = build_seq2seq(config.model, vocabs)
    if config.model.tie_embeddings and "tgt_embedding.weight" in state:
        state[TIED] = state["tgt_embedding.weight"]
    load_weights(model, state, directory)
    return model.eval()


def save_seq2seq_as_is(model: EncoderDecoder, directory: str | Path, training: dict[str, Any] | None = None) -> Path:
    """`hybrid.save_model` for seq2seq models (the model's own config; default training settings)."""
    return save_seq2seq(model, directory, Seq2SeqConfig(model=model.config), training)
