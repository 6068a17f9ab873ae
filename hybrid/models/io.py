"""Save and load taggers as a directory: config.json, vocab.json, model.safetensors, training.json.

Loading never unpickles code: weights are safetensors, everything else JSON. A directory
written by an incompatible format version is refused with a clear message.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import weakref
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from hybrid.config import TaggerConfig
from hybrid.data.pairs import CTCVocabs
from hybrid.errors import ConfigError
from hybrid.models.ctc import CTCModel
from hybrid.models.directory import (  # noqa: F401  (re-exported: the torch-free half of this module)
    DECODING_PREFIX,
    DEFAULT_MODEL,
    FILES,
    FORMAT,
    FORMAT_VERSION,
    default_model_path,
    read_config,
    read_model_files,
    read_training,
)
from hybrid.models.hmm_tagger import ClassicHMMTagger
from hybrid.models.storage import load_weights, write_model_directory
from hybrid.models.tagger import Tagger
from hybrid.structured import HMMLayer


def save_tagger(
    tagger: Tagger | ClassicHMMTagger | CTCModel, directory: str | Path, config: TaggerConfig,
    training: dict[str, Any] | None = None,
    half: bool = False,
) -> Path:
    """Write the tagger to `directory` atomically (a temporary sibling renamed into place).

    half=True stores float weights as float16 (half the size; loaded back as float32).
    A neural chain tagger also saves its layer's decoding tensors (float32, computed from the
    weights as stored), which the ONNX engine decodes with.
    """
    vocabs = tagger.vocabs
    if vocabs is None:  # only a CTCModel built without `from_config`
        raise ValueError("this CTC model has no vocabularies: build it with CTCModel.from_config")
    if isinstance(tagger, Tagger) and isinstance(tagger.layer, HMMLayer):  # the config says what the layer does
        model = dataclasses.replace(config.model, hmm_prior_scale=tagger.layer.prior_scale,
                                    hmm_transition_scale=tagger.layer.transition_scale)
        config = dataclasses.replace(config, model=model)
    state = tagger.state_dict()
    if isinstance(tagger, Tagger):
        layer = tagger.layer
        if half:  # decode as the loaded model will: from float16-rounded parameters
            layer = copy.deepcopy(layer).float()
            with torch.no_grad():
                for value in itertools.chain(layer.parameters(), layer.buffers()):
                    if value.is_floating_point():
                        value.copy_(value.half().float())
        state = {**state, **{DECODING_PREFIX + k: v for k, v in layer.decoding_tensors().items()}}
    return write_model_directory(directory, FORMAT, FORMAT_VERSION, config, vocabs.to_dict(),
                                 state, training, half, keep_float32=DECODING_PREFIX)


def load_tagger(directory: str | Path | None = None) -> Tagger | ClassicHMMTagger | CTCModel:
    """Rebuild a tagger from its directory (default: the bundled English UPOS model);
    predictions are identical to the saved model's. A `layer: ctc` directory gives a CTCModel."""
    directory = default_model_path() if directory is None else Path(directory)
    config = read_config(directory)
    if config.model.layer == "ctc":
        ctc_vocabs, state = read_model_files(directory, load_file, CTCVocabs.from_dict)
        model = CTCModel.from_config(config.model, ctc_vocabs)
        load_weights(model, state, directory)
        _CONFIGS[model] = config
        return model.eval()
    vocabs, state = read_model_files(directory, load_file)
    state = {k: v for k, v in state.items() if not k.startswith(DECODING_PREFIX)}  # derived: for ONNX
    tagger: Tagger | ClassicHMMTagger
    if config.model.layer == "hmm-classic":
        tagger = ClassicHMMTagger(config.model, vocabs)
    else:
        tagger = Tagger(config.model, vocabs)
    load_weights(tagger, state, directory)
    tagger.eval()
    _CONFIGS[tagger] = config
    return tagger


# the whole config (data columns, training settings) each loaded tagger was saved with
_CONFIGS: weakref.WeakKeyDictionary[torch.nn.Module, TaggerConfig] = weakref.WeakKeyDictionary()


def save_tagger_as_is(tagger: Tagger | ClassicHMMTagger | CTCModel, directory: str | Path,
                      training: dict[str, Any] | None = None) -> Path:
    """`hybrid.save_model` for taggers: saved with the config it was loaded with (a tagger made in
    code: its model config, default data and training settings)."""
    config = _CONFIGS.get(tagger)
    if config is None:
        if tagger.config is None:  # a CTCModel built by hand, not from a config
            raise ConfigError("this CTC model has no config to save: use save_tagger(model, directory, config)")
        config = TaggerConfig(model=tagger.config)
    return save_tagger(tagger, directory, config, training)
