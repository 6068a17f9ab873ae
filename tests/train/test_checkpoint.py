"""Checkpoints: atomic writes, state round trip, RNG states restored on load."""

from __future__ import annotations

import random

import pytest
import torch

from hybrid.train import checkpoint
from hybrid.train.checkpoint import load_checkpoint, save_checkpoint, seed_everything


def test_round_trip_restores_state_and_rng(tmp_path):
    path = tmp_path / "run" / "checkpoint.pt"  # parent created on demand
    weights = {"w": torch.arange(6.0).reshape(2, 3)}
    seed_everything(7)
    save_checkpoint(path, {"model": weights, "trainer": {"epoch": 3}})
    expected = (torch.rand(4), random.random())
    seed_everything(99)  # disturb both generators
    state = load_checkpoint(path)
    got = (torch.rand(4), random.random())
    assert torch.equal(got[0], expected[0]) and got[1] == expected[1]
    assert "rng" not in state
    assert torch.equal(state["model"]["w"], weights["w"])
    assert state["trainer"] == {"epoch": 3}


def test_torch_rng_restored(tmp_path):
    seed_everything(3)
    save_checkpoint(tmp_path / "c.pt", {})
    expected = torch.rand(5)
    torch.rand(100)
    load_checkpoint(tmp_path / "c.pt")
    assert torch.equal(torch.rand(5), expected)


def test_seed_everything_is_reproducible():
    seed_everything(5)
    a = (torch.rand(3), random.random())
    seed_everything(5)
    b = (torch.rand(3), random.random())
    assert torch.equal(a[0], b[0]) and a[1] == b[1]


def test_failed_write_keeps_old_checkpoint_and_no_temp_files(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, {"epoch": 1})
    before = path.read_bytes()

    def broken(obj, f):
        with open(f, "wb") as handle:
            handle.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint.torch, "save", broken)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, {"epoch": 2})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]
