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
from safetensors.torch import load_file, save_file

import hybrid
from hybrid.config import TaggerConfig, to_dict
from hybrid.errors import ModelLoadError
from hybrid.models.directory import (  # noqa: F401  (re-exported: the torch-free half of this module)
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
from hybrid.models.tagger import Tagger


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


def load_tagger(directory: str | Path | None = None) -> Tagger | ClassicHMMTagger:
    """Rebuild a tagger from its directory (default: the bundled English UPOS model);
    predictions are identical to the saved model's."""
    directory = default_model_path() if directory is None else Path(directory)
    config = read_config(directory)
    vocabs, state = read_model_files(directory, load_file)
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
