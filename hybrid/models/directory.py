"""Model directories, shared by every model kind: config.json (with a format header),
vocab.json, model.safetensors, optional training.json; written atomically, read with checks.

Loading never unpickles code: weights are safetensors, everything else JSON.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, TypeVar

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

import hybrid
from hybrid.config import from_dict, to_dict
from hybrid.errors import ConfigError, ModelLoadError

FILES = ("config.json", "vocab.json", "model.safetensors")
C = TypeVar("C")


def write_model_directory(
    directory: str | Path, fmt: str, version: int, config: Any, vocab: dict[str, Any],
    state: dict[str, torch.Tensor], training: dict[str, Any] | None = None, half: bool = False,
) -> Path:
    """Write a model to `directory` through a temporary sibling renamed into place, so a crash
    never leaves half a model. half=True stores float weights as float16. A hand-written
    README.md / LICENSE.txt already in the directory is kept."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}."))
    try:
        header = {"format": fmt, "format_version": version, "hybrid_version": hybrid.__version__}
        (tmp / "config.json").write_text(json.dumps({**header, **to_dict(config)}, indent=2) + "\n", encoding="utf-8")
        (tmp / "vocab.json").write_text(json.dumps(vocab) + "\n", encoding="utf-8")
        state = {k: v.detach().cpu().contiguous() for k, v in state.items()}
        if half:
            state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
        save_file(state, str(tmp / "model.safetensors"), metadata={"format": fmt})
        if training is not None:
            (tmp / "training.json").write_text(json.dumps(training, indent=2) + "\n", encoding="utf-8")
        for name in ("README.md", "LICENSE.txt"):
            if (directory / name).exists():
                shutil.copy2(directory / name, tmp / name)
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private
        for path in tmp.iterdir():
            path.chmod(0o666 & ~umask)
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


def read_model_config(directory: str | Path, fmt: str, version: int, cls: type[C]) -> C:
    """The config of a saved model after checking that it is a `fmt` directory of `version`."""
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
    found, found_version = data.pop("format", None), data.pop("format_version", None)
    data.pop("hybrid_version", None)
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


def read_model_files(directory: str | Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """vocab.json as a dict and the safetensors weights; ModelLoadError if either is unreadable."""
    directory = Path(directory)
    try:
        vocab = json.loads((directory / "vocab.json").read_text(encoding="utf-8"))
        state = load_file(str(directory / "model.safetensors"))
    except (OSError, ValueError, KeyError, SafetensorError) as exc:  # a corrupt file is not OSError
        raise ModelLoadError(f"{directory}: cannot read model files: {exc}") from None
    return vocab, state


def load_weights(module: torch.nn.Module, state: dict[str, torch.Tensor], directory: str | Path) -> None:
    """Load `state` into `module`, float weights in the module's own dtype (float16 files too)."""
    own = module.state_dict()
    try:
        module.load_state_dict({
            k: v.to(own[k].dtype if k in own else torch.float32) if v.is_floating_point() else v
            for k, v in state.items()
        })
    except RuntimeError as exc:
        raise ModelLoadError(f"{directory}: weights do not match the configuration: {exc}") from None
