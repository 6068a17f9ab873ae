"""Resumable training checkpoints: model, optimiser, scheduler and RNG states, written atomically."""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path
from typing import Any

import torch


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
    """Read a checkpoint written by `save_checkpoint` and restore the RNG states it holds."""
    state = torch.load(path, map_location=device, weights_only=False)
    set_rng_state(state.pop("rng"))
    return state


def rng_state() -> dict[str, Any]:
    return {"python": random.getstate(), "torch": torch.get_rng_state()}


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    torch.set_rng_state(state["torch"].cpu())


def seed_everything(seed: int) -> None:
    """Seed Python and torch so that a run is reproducible on the same machine."""
    random.seed(seed)
    torch.manual_seed(seed)
