"""One registry of model kinds behind `hybrid.save_model` and `hybrid.load_model`.

A saved model is a directory whose config.json names its format (hybrid.models.directory). Each
kind registers that format with the config class in config.json, the classes it saves, and its
loader and saver. The registry itself imports no torch: loaders and savers are named as
"module:function" and imported on first use, so `hybrid tag` and `hybrid info` stay fast and a
new kind plugs in with one `register` call.

    from hybrid import load_model, save_model
    model = load_model("runs/de-en/model")        # a Seq2Seq, Tagger, TextLanguageModel, ...
    save_model(model, "copy", training={...})      # the same kind, the same directory layout
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hybrid.errors import ModelLoadError


@dataclass(frozen=True)
class ModelKind:
    """A kind of saved model.

    name: what users call it ("tagger", "seq2seq", "language-model", "discriminator").
    format: the `format` header of its config.json.
    models: "module:Class" of every class saved as this kind (a tagger kind saves three).
    loader: "module:function" taking the directory and returning the model (eval mode).
    saver: "module:function" taking (model, directory, training) and returning the directory.
    """

    name: str
    format: str
    models: tuple[str, ...]
    loader: str
    saver: str

    def load(self, directory: str | Path) -> Any:
        return _resolve(self.loader)(Path(directory))

    def save(self, model: Any, directory: str | Path, training: dict[str, Any] | None = None) -> Path:
        return Path(_resolve(self.saver)(model, Path(directory), training))

    def saves(self, model: Any) -> bool:
        """Whether `model` is an instance of one of this kind's classes."""
        return any(isinstance(model, _resolve_class(name)) for name in self.models)


_KINDS: dict[str, ModelKind] = {}


def register(kind: ModelKind) -> ModelKind:
    """Add a kind; its format must be new."""
    if kind.format in _KINDS:
        raise ValueError(f"model format {kind.format!r} is already registered")
    _KINDS[kind.format] = kind
    return kind


def kinds() -> list[ModelKind]:
    return list(_KINDS.values())


def read_format(directory: str | Path) -> str:
    """The `format` header of a model directory's config.json (no torch needed)."""
    path = Path(directory) / "config.json"
    if not path.is_file():
        raise ModelLoadError(f"{directory}: not a hybrid model directory (no config.json)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"{path}: not valid JSON ({exc})") from None
    fmt = data.get("format") if isinstance(data, dict) else None
    if not isinstance(fmt, str):
        raise ModelLoadError(f"{path}: no model format recorded (expected an object with a 'format' key)")
    return fmt


def kind_of(directory: str | Path) -> ModelKind:
    """The registered kind of the model saved in `directory`."""
    fmt = read_format(directory)
    if fmt not in _KINDS:
        known = ", ".join(sorted(_KINDS))
        raise ModelLoadError(f"{directory}: unknown model format {fmt!r} (this hybrid reads {known})")
    return _KINDS[fmt]


def kind_of_model(model: Any) -> ModelKind:
    """The registered kind that saves `model`'s class."""
    for kind in _KINDS.values():
        if kind.saves(model):
            return kind
    raise TypeError(f"no registered model kind saves a {type(model).__name__}")


def load_model(directory: str | Path | None = None) -> Any:
    """The model saved in `directory` (default: the bundled English UPOS tagger), whatever its kind."""
    if directory is None:
        from hybrid.models.directory import default_model_path

        directory = default_model_path()
    return kind_of(directory).load(directory)


def save_model(model: Any, directory: str | Path, training: dict[str, Any] | None = None) -> Path:
    """Save `model` to `directory` (atomically) as its registered kind."""
    return kind_of_model(model).save(model, directory, training)


def _resolve(name: str) -> Callable[..., Any]:
    """The object named "module:attribute", imported on first use."""
    module, _, attribute = name.partition(":")
    found: Callable[..., Any] = getattr(importlib.import_module(module), attribute)
    return found


def _resolve_class(name: str) -> type:
    found = _resolve(name)
    if not isinstance(found, type):
        raise TypeError(f"{name} is not a class")
    return found


TAGGER = register(ModelKind(
    "tagger", "hybrid-tagger",
    ("hybrid.models.tagger:Tagger", "hybrid.models.hmm_tagger:ClassicHMMTagger", "hybrid.models.ctc:CTCModel"),
    "hybrid.models.io:load_tagger", "hybrid.models.io:save_tagger_as_is"))
SEQ2SEQ = register(ModelKind(
    "seq2seq", "hybrid-seq2seq", ("hybrid.models.seq2seq:EncoderDecoder",),
    "hybrid.models.seq2seq_io:load_seq2seq", "hybrid.models.seq2seq_io:save_seq2seq_as_is"))
LANGUAGE_MODEL = register(ModelKind(
    "language-model", "hybrid-lm", ("hybrid.models.language_model_io:TextLanguageModel",),
    "hybrid.models.language_model_io:load_language_model", "hybrid.models.language_model_io:save_language_model"))
CLASSIFIER = register(ModelKind(
    "classifier", "hybrid-classifier", ("hybrid.models.classifier:SequenceClassifier",),
    "hybrid.models.classifier_io:load_classifier", "hybrid.models.classifier_io:save_classifier_as_is"))
DISCRIMINATOR = register(ModelKind(
    "discriminator", "hybrid-discriminator", ("hybrid.models.discriminator:Discriminator",),
    "hybrid.models.discriminator:load_discriminator", "hybrid.models.discriminator:save_discriminator"))
WORD_VECTORS = register(ModelKind(
    "word-vectors", "hybrid-word-vectors", ("hybrid.embeddings.formats:WordVectors",),
    "hybrid.embeddings.directory:load_vectors_directory", "hybrid.embeddings.directory:save_vectors_as_is"))
