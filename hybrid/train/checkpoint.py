"""Resumable training checkpoints: model, optimiser, scheduler and RNG states, written atomically.

A checkpoint holds tensors and plain values only and is read with torch's weights-only
unpickler: a file that would run code when loaded (a crafted `checkpoint.pt` in a run
directory received from someone else) is refused, not executed.
"""

from __future__ import annotations

import os
import pickle
import random
import re
import tempfile
from pathlib import Path
from typing import Any

import torch

from hybrid.errors import CheckpointError


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """torch.save `state` to `path` through a temporary file and an atomic rename.

    Checkpoints are our own files for resuming; shipped models use safetensors instead.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {**state, "rng": rng_state()}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by `save_checkpoint` and restore the RNG states it holds.

    Raises CheckpointError for a file that is not such a checkpoint: unreadable, truncated, or
    holding anything but tensors and plain values (never unpickled as code).
    """
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
        if found is None:
            raise CheckpointError(f"{path}: not a checkpoint hybrid can read (not a torch file of tensors and "
                                  "plain values)") from None
        raise CheckpointError(f"{path}: refused: the checkpoint names {found.group(1)}, code that loading it "
                              "would run; hybrid loads tensors and plain values only") from None
    except Exception as exc:  # torch.load of a damaged file raises many kinds (IndexError, RuntimeError, ...)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path}: not a readable checkpoint ({first})") from None
    if not isinstance(state, dict) or "rng" not in state:
        raise CheckpointError(f"{path}: not a hybrid checkpoint (no saved random-number states)")
    try:
        set_rng_state(state.pop("rng"))
    except (KeyError, TypeError, ValueError, RuntimeError):
        raise CheckpointError(f"{path}: not a hybrid checkpoint (its random-number states are malformed)") from None
    return state


def rng_state() -> dict[str, Any]:
    """Python's, torch's CPU and (where there is one) every CUDA device's generator states."""
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
    return {"python": random.getstate(), "torch": torch.get_rng_state(), "cuda": cuda}


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    torch.set_rng_state(state["torch"].cpu())
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def seed_everything(seed: int) -> None:
    """Seed Python and torch so that a run is reproducible on the same machine."""
    random.seed(seed)
    torch.manual_seed(seed)
