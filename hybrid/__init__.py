"""hybrid: hybrid neural-structured learning of sequences.

The common entry points, imported lazily (so `import hybrid` stays cheap):

    from hybrid import load_tagger, train_tagger, TaggerConfig
    from hybrid import load_model, save_model  # any saved model kind (hybrid.models.registry)
    from hybrid import load_onnx_tagger  # tags like load_tagger() (k = 1) without importing torch
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "load_model": "hybrid.models.registry",
    "save_model": "hybrid.models.registry",
    "load_tagger": "hybrid.models.io",
    "save_tagger": "hybrid.models.io",
    "Tagger": "hybrid.models.tagger",
    "load_onnx_tagger": "hybrid.runtime",
    "train_tagger": "hybrid.train.tagging",
    "evaluate": "hybrid.models.evaluation",
    "read_sentences": "hybrid.data.readers",
    "Sentence": "hybrid.data.sentence",
    "TaggerConfig": "hybrid.config",
    "DataConfig": "hybrid.config",
    "ModelConfig": "hybrid.config",
    "TrainConfig": "hybrid.config",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'hybrid' has no attribute {name!r}")
