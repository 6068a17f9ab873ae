"""Save and load taggers as a directory: config.json, vocab.json, model.safetensors, training.json.

Loading never unpickles code: weights are safetensors, everything else JSON. A directory
written by an incompatible format version is refused with a clear message.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

import hybrid
from hybrid.config import TaggerConfig, from_dict, to_dict
from hybrid.data.batching import TaggerVocabs
from hybrid.errors import ConfigError, ModelLoadError
from hybrid.models.hmm_tagger import ClassicHMMTagger
from hybrid.models.tagger import Tagger

FORMAT = "hybrid-tagger"
FORMAT_VERSION = 1
FILES = ("config.json", "vocab.json", "model.safetensors")


def save_tagger(
    tagger: Tagger | ClassicHMMTagger, directory: str | Path, config: TaggerConfig, training: dict[str, Any] | None = None,
    half: bool = False,
) -> Path:
    """Write the tagger to `directory` atomically (a temporary sibling renamed into place).

    half=True stores float weights as float16 (half the size; loaded back as float32).
    """
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}."))
    try:
        header = {"format": FORMAT, "format_version": FORMAT_VERSION, "hybrid_version": hybrid.__version__}
        (tmp / "config.json").write_text(json.dumps({**header, **to_dict(config)}, indent=2) + "\n", encoding="utf-8")
        (tmp / "vocab.json").write_text(json.dumps(tagger.vocabs.to_dict()) + "\n", encoding="utf-8")
        state = {k: v.detach().cpu().contiguous() for k, v in tagger.state_dict().items()}
        if half:
            state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
        save_file(state, str(tmp / "model.safetensors"), metadata={"format": FORMAT})
        if training is not None:
            (tmp / "training.json").write_text(json.dumps(training, indent=2) + "\n", encoding="utf-8")
        for name in ("README.md", "LICENSE.txt"):  # keep a model card written by hand
            if (directory / name).exists():
                shutil.copy2(directory / name, tmp / name)
        _make_readable(tmp)
        old = None
        if directory.exists():
            old = directory.with_name(f".{directory.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(directory, old)
        os.replace(tmp, directory)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return directory


def _make_readable(directory: Path) -> None:
    """Give the new model directory the usual permissions (mkdtemp makes it private)."""
    umask = os.umask(0)
    os.umask(umask)
    directory.chmod(0o777 & ~umask)
    for path in directory.iterdir():
        path.chmod(0o666 & ~umask)


def read_config(directory: str | Path) -> TaggerConfig:
    """The TaggerConfig of a saved model, after checking its format and version."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ModelLoadError(f"{directory}: no such model directory")
    missing = [name for name in FILES if not (directory / name).is_file()]
    if missing:
        raise ModelLoadError(f"{directory}: not a hybrid model directory (missing {', '.join(missing)})")
    try:
        data = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelLoadError(f"{directory}/config.json:{exc.lineno}: invalid JSON: {exc.msg}") from None
    fmt, version = data.pop("format", None), data.pop("format_version", None)
    data.pop("hybrid_version", None)
    if fmt != FORMAT:
        raise ModelLoadError(f"{directory}: format {fmt!r} is not a {FORMAT!r} model")
    if version != FORMAT_VERSION:
        raise ModelLoadError(
            f"{directory}: model format version {version} is not supported by hybrid "
            f"{hybrid.__version__} (it reads version {FORMAT_VERSION}); retrain or use a matching hybrid"
        )
    try:
        return from_dict(TaggerConfig, data)
    except ConfigError as exc:
        raise ModelLoadError(f"{directory}/config.json: {exc}") from None


def load_tagger(directory: str | Path | None = None) -> Tagger | ClassicHMMTagger:
    """Rebuild a tagger from its directory (default: the bundled English UPOS model);
    predictions are identical to the saved model's."""
    directory = default_model_path() if directory is None else Path(directory)
    config = read_config(directory)
    try:
        vocabs = TaggerVocabs.from_dict(json.loads((directory / "vocab.json").read_text(encoding="utf-8")))
        state = load_file(str(directory / "model.safetensors"))
    except (OSError, ValueError, KeyError, SafetensorError) as exc:  # a corrupt file is not OSError
        raise ModelLoadError(f"{directory}: cannot read model files: {exc}") from None
    tagger: Tagger | ClassicHMMTagger
    if config.model.layer == "hmm-classic":
        tagger = ClassicHMMTagger(config.model, vocabs)
    else:
        tagger = Tagger(config.model, vocabs)
    own = tagger.state_dict()  # float weights load in the model's own dtype (float16 files too)
    try:
        tagger.load_state_dict({
            k: v.to(own[k].dtype if k in own else torch.float32) if v.is_floating_point() else v
            for k, v in state.items()
        })
    except RuntimeError as exc:
        raise ModelLoadError(f"{directory}: weights do not match the configuration: {exc}") from None
    tagger.eval()
    return tagger


def read_training(directory: str | Path) -> dict[str, Any]:
    """Training figures saved with a model (empty if none)."""
    path = Path(directory) / "training.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "resources" / "pos-en-ewt"


def default_model_path() -> Path:
    """The bundled English UPOS tagger (BiLSTM-CRF trained on UD English EWT)."""
    if not (DEFAULT_MODEL / "config.json").is_file():
        raise ModelLoadError(f"the bundled model is missing from {DEFAULT_MODEL}; reinstall hybrid")
    return DEFAULT_MODEL
