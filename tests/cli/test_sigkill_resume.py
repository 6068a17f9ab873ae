"""SIGKILL at random moments, then --resume: the result equals an uninterrupted run's, for the tagger
trainer and for REINFORCE (slow: about a minute each; `pytest -m slow tests/cli/test_sigkill_resume.py`)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.seq2seq_tiny import write_parallel_files
from tests.tiny import write_conll_file

ROOT = Path(__file__).resolve().parents[2]
TIMING = ("elapsed_s", "eval_s", "reward_seconds", "step_seconds")
pytestmark = pytest.mark.slow
# one thread: torch's multi-threaded CPU kernels may round differently from run to run (two straight
# runs with two threads differ too), and this test compares runs bit for bit
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def _hybrid(*args: str) -> list[str]:
    return [sys.executable, "-m", "cli.main", *args]


def _weights(out: Path) -> dict[str, torch.Tensor]:
    return torch.load(out / "checkpoint.pt", weights_only=True)["trainer"]["model"]


def _records(path: Path) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if k not in TIMING} for line in path.read_text().splitlines()]


def _finish(args: list[str], out: Path, *extra: str) -> None:
    subprocess.run(_hybrid(*args, "--out", str(out), *extra), cwd=ROOT, env=ENV, check=True, capture_output=True)


def _killed_ten_times_then_finished(args: list[str], out: Path, seed: int) -> int:
    """Start the run, SIGKILL it at a random moment, ten times (each restart resumes), then let it
    finish; returns how many kills hit a live process."""
    rng = random.Random(seed)
    hits = 0
    for attempt in range(10):
        command = _hybrid(*args, "--out", str(out), *(["--resume"] if attempt else []))
        process = subprocess.Popen(command, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(2.0, 5.0))  # torch's import takes about 2 s: kills land before and during training
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            hits += 1
        process.wait()
    _finish(args, out, "--resume")
    return hits


def test_tagger_training_survives_sigkill(tmp_path):
    data = write_conll_file(tmp_path / "train.txt", n=300)
    args = ["train", "--train", str(data), "--epochs", "60", "--patience", "60", "--hidden-size", "16",
            "--word-dim", "16", "-q"]
    _finish(args, tmp_path / "straight")
    hits = _killed_ten_times_then_finished(args, tmp_path / "killed", seed=1)
    assert hits >= 5  # most kills landed on a running process
    straight, killed = _weights(tmp_path / "straight"), _weights(tmp_path / "killed")
    assert all(torch.equal(straight[k], killed[k]) for k in straight)
    assert _records(tmp_path / "killed" / "train_log.jsonl") == _records(tmp_path / "straight" / "train_log.jsonl")


def test_reinforce_survives_sigkill(tmp_path):
    write_parallel_files(tmp_path, {"train": 200, "dev": 10})
    data = ["--train-src", str(tmp_path / "train.src"), "--train-tgt", str(tmp_path / "train.tgt"),
            "--dev-src", str(tmp_path / "dev.src"), "--dev-tgt", str(tmp_path / "dev.tgt")]
    subprocess.run(_hybrid("seq2seq", "train", *data, "--out", str(tmp_path / "s2s"), "--embedding-dim", "16",
                           "--encoder-hidden", "16", "--decoder-hidden", "16", "--epochs", "2", "-q"),
                   cwd=ROOT, env=ENV, check=True, capture_output=True)
    args = ["rl-finetune", "--model", str(tmp_path / "s2s" / "model"), *data, "--reward", "chrf", "--baseline",
            "mean", "--samples", "2", "--batch-size", "8", "--steps", "400", "--eval-every", "40", "-q"]
    _finish(args, tmp_path / "straight")
    hits = _killed_ten_times_then_finished(args, tmp_path / "killed", seed=2)
    assert hits >= 5
    straight, killed = _weights(tmp_path / "straight"), _weights(tmp_path / "killed")
    assert all(torch.equal(straight[k], killed[k]) for k in straight)
    for log in ("train_log.jsonl", "steps.jsonl"):
        assert _records(tmp_path / "killed" / log) == _records(tmp_path / "straight" / log), log
