"""A saved model directory's files: format checks, config, training figures; no torch needed.

Every model kind saves config.json (with a format header), vocab.json, model.safetensors and
optionally training.json (written by `hybrid.models.storage`). `hybrid.models.io` loads the
weights into a torch Tagger; the ONNX runtime and `hybrid info` read the rest from here
without importing torch.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, overload

from safetensors import SafetensorError

import hybrid
from hybrid.config import TaggerConfig, from_dict
from hybrid.data.batching import TaggerVocabs
from hybrid.errors import ConfigError, ModelLoadError
from hybrid.models.registry import TAGGER

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

W = TypeVar("W")
C = TypeVar("C", bound="DataclassInstance")
V = TypeVar("V")

FORMAT = TAGGER.format
FORMAT_VERSION = 1
FILES = ("config.json", "vocab.json", "model.safetensors")
CHECKSUMMED = ("vocab.json", "model.safetensors")  # their SHA-256 is recorded in config.json
# a tagger's model.safetensors also holds its layer's decoding tensors under this prefix
# (`StructuredLayer.decoding_tensors`): what the torch-free engine decodes with
DECODING_PREFIX = "decoding."


def read_model_config(directory: str | Path, fmt: str, version: int, cls: type[C]) -> C:
    """The config of a saved model after checking that it is a `fmt` directory of `version`."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ModelLoadError(f"{directory}: no such model directory")
    missing = [name for name in FILES if not (directory / name).is_file()]
    if missing:
        raise ModelLoadError(f"{directory}: not a hybrid model directory (missing {', '.join(missing)})")
    data = read_json_object(directory / "config.json")
    found, found_version = data.pop("format", None), data.pop("format_version", None)
    data.pop("hybrid_version", None)
    data.pop("checksums", None)  # checked where the files are read (`read_model_files`)
    if found != fmt:
        raise ModelLoadError(f"{directory}: format {found!r} is not a {fmt!r} model")
    if found_version != version:
        raise ModelLoadError(
            f"{directory}: model format version {found_version} is not supported by hybrid "
            f"{hybrid.__version__} (it reads version {version}); retrain or use a matching hybrid"
        )
    try:
        return from_dict(cls, data)
    except ConfigError as exc:
        raise ModelLoadError(f"{directory}/config.json: {exc}") from None


def read_json_object(path: Path) -> dict[str, Any]:
    """A JSON file of a model directory that must hold one object; ModelLoadError (with the file,
    and the line where it can say) for anything else: unreadable, not UTF-8, not JSON, not an object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelLoadError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    except UnicodeDecodeError as exc:
        raise ModelLoadError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ModelLoadError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not isinstance(data, dict):
        raise ModelLoadError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_checksums(directory: Path) -> None:
    """Refuse a model directory whose vocab.json or model.safetensors is not the file it was saved
    with (swapped, edited or damaged), as recorded in config.json; directories saved before
    checksums were recorded pass unchecked."""
    sums = read_json_object(directory / "config.json").get("checksums")
    if sums is None:
        return
    if not isinstance(sums, dict):
        raise ModelLoadError(f"{directory}/config.json: 'checksums' must be an object of file names and SHA-256s")
    for name in CHECKSUMMED:
        if file_sha256(directory / name) != sums.get(name):
            raise ModelLoadError(f"{directory}/{name} is not the file this model was saved with (its SHA-256 "
                                 "differs from config.json's): the directory was changed after saving")


def read_vocab_json(directory: str | Path) -> dict[str, Any]:
    """A model directory's vocab.json as saved (checksums checked), for describing the model."""
    directory = Path(directory)
    verify_checksums(directory)
    return read_json_object(directory / "vocab.json")


def read_config(directory: str | Path) -> TaggerConfig:
    """The TaggerConfig of a saved tagger, after checking its format and version."""
    return read_model_config(directory, FORMAT, FORMAT_VERSION, TaggerConfig)


@overload
def read_model_files(
    directory: Path, load_file: Callable[[str], dict[str, W]],
) -> tuple[TaggerVocabs, dict[str, W]]: ...


@overload
def read_model_files(
    directory: Path, load_file: Callable[[str], dict[str, W]], vocabs_from_dict: Callable[[Any], V],
) -> tuple[V, dict[str, W]]: ...


def read_model_files(
    directory: Path,
    load_file: Callable[[str], dict[str, W]],
    vocabs_from_dict: Callable[[Any], object] = TaggerVocabs.from_dict,
) -> tuple[object, dict[str, W]]:
    """The vocabularies and the weights (read by safetensors' torch or numpy `load_file`).

    `vocabs_from_dict` builds the vocabularies from vocab.json (a tagger's by default). Both files
    must be the ones the model was saved with (`verify_checksums`).
    """
    verify_checksums(directory)
    try:
        vocabs = vocabs_from_dict(json.loads((directory / "vocab.json").read_text(encoding="utf-8")))
        state = load_file(str(directory / "model.safetensors"))
    except (OSError, ValueError, KeyError, TypeError, AttributeError, SafetensorError) as exc:  # corrupt: not OSError
        raise ModelLoadError(f"{directory}: cannot read model files: {exc}") from None
    return vocabs, state


def read_training(directory: str | Path) -> dict[str, Any]:
    """Training figures saved with a model (empty if none)."""
    path = Path(directory) / "training.json"
    return read_json_object(path) if path.is_file() else {}


DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "resources" / "pos-en-ewt"


def default_model_path() -> Path:
    """The bundled English UPOS tagger (BiLSTM-CRF trained on UD English EWT)."""
    if not (DEFAULT_MODEL / "config.json").is_file():
        raise ModelLoadError(f"the bundled model is missing from {DEFAULT_MODEL}; reinstall hybrid")
    return DEFAULT_MODEL
