"""Writing model directories (any model kind) atomically, and loading weights into a module.

The reading side that needs no torch lives in `hybrid.models.directory`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import torch
from safetensors.torch import load_file, save_file

import hybrid
from hybrid.config import C, to_dict
from hybrid.errors import ModelLoadError
from hybrid.models.directory import CHECKSUMMED, file_sha256, read_model_config, read_model_files

V = TypeVar("V")
M = TypeVar("M", bound=torch.nn.Module)


def write_model_directory(
    directory: str | Path, fmt: str, version: int, config: Any, vocab: dict[str, Any],
    state: dict[str, torch.Tensor], training: dict[str, Any] | None = None, half: bool = False,
    keep_float32: str | None = None,
) -> Path:
    """Write a model to `directory` through a temporary sibling renamed into place, so a crash
    never leaves half a model. half=True stores float weights as float16 (loaded back in the
    model's dtype), except those whose names start with `keep_float32`. config.json records the
    SHA-256 of vocab.json and model.safetensors, which every loader checks (a swapped or damaged
    file is refused). A hand-written README.md / LICENSE.txt already in the directory is kept."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}."))
    try:
        (tmp / "vocab.json").write_text(json.dumps(vocab) + "\n", encoding="utf-8")
        state = {k: v.detach().cpu().contiguous() for k, v in state.items()}
        if half:
            state = {k: v.half() if v.is_floating_point() and not (keep_float32 and k.startswith(keep_float32))
                     else v for k, v in state.items()}
        save_file(state, str(tmp / "model.safetensors"), metadata={"format": fmt})
        header = {"format": fmt, "format_version": version, "hybrid_version": hybrid.__version__,
                  "checksums": {name: file_sha256(tmp / name) for name in CHECKSUMMED}}
        (tmp / "config.json").write_text(json.dumps({**header, **to_dict(config)}, indent=2) + "\n", encoding="utf-8")
        if training is not None:
            (tmp / "training.json").write_text(json.dumps(training, indent=2) + "\n", encoding="utf-8")
        for name in ("README.md", "LICENSE.txt"):
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


def load_model_directory(directory: str | Path, fmt: str, version: int, config_class: type[C],
                         vocabs_from_dict: Callable[[Any], V], build: Callable[[C, V], M]) -> M:
    """The model saved in `directory` as `fmt` / `version`: its config and vocabularies read and
    checked, `build(config, vocabs)` filled with the saved weights, in eval mode."""
    directory = Path(directory)
    config = read_model_config(directory, fmt, version, config_class)
    vocabs, state = read_model_files(directory, load_file, vocabs_from_dict)
    model = build(config, vocabs)
    load_weights(model, state, directory)
    model.eval()
    return model

