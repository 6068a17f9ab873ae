"""A run directory received from someone else cannot run code: `--resume` on a checkpoint whose
pickle would write a marker file is refused with a clear error by every trainer command, and
the marker never appears."""

from __future__ import annotations

import os

import pytest
import torch
from click.testing import CliRunner

from cli.main import cli
from tests.seq2seq_tiny import write_parallel_files
from tests.tiny import write_conll_file


class _WritesMarker:
    """Unpickling this calls open(MARKER, "w"): code a checkpoint must never get to run."""

    marker = ""

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Data and a small saved model of each kind the fine-tuning commands start from."""
    folder = tmp_path_factory.mktemp("crafted")
    write_parallel_files(folder, {"train": 16, "dev": 4}, max_len=4)
    write_conll_file(folder / "tagged.txt", n=12)
    runner = CliRunner()
    assert runner.invoke(cli, [
        "seq2seq", "train", "--train-src", str(folder / "train.src"), "--train-tgt", str(folder / "train.tgt"),
        "--dev-src", str(folder / "dev.src"), "--dev-tgt", str(folder / "dev.tgt"), "--out", str(folder / "s2s"),
        "--embedding-dim", "8", "--encoder-hidden", "8", "--decoder-hidden", "8", "--epochs", "1", "-q"]).exit_code == 0
    return folder


def _commands(folder, out):
    seq2seq_data = ["--train-src", str(folder / "train.src"), "--train-tgt", str(folder / "train.tgt"),
                    "--dev-src", str(folder / "dev.src"), "--dev-tgt", str(folder / "dev.tgt")]
    return {
        "train": ["train", "--train", str(folder / "tagged.txt"), "--out", str(out), "--epochs", "1",
                  "--hidden-size", "8", "--word-dim", "8", "--char-encoder", "none", "-q"],
        "seq2seq train": ["seq2seq", "train", *seq2seq_data, "--out", str(out), "--embedding-dim", "8",
                          "--encoder-hidden", "8", "--decoder-hidden", "8", "--epochs", "1", "-q"],
        "rl-finetune": ["rl-finetune", "--model", str(folder / "s2s" / "model"), "--out", str(out), *seq2seq_data,
                        "--steps", "1", "--batch-size", "2", "--samples", "2", "-q"],
        "gan-train": ["gan-train", "--model", str(folder / "s2s" / "model"), "--out", str(out), *seq2seq_data,
                      "--rounds", "1", "--batch-size", "2", "--samples", "2", "--d-samples", "4", "-q"],
        "lm-train": ["lm-train", "--train", str(folder / "train.tgt"), "--dev", str(folder / "dev.tgt"),
                     "--out", str(out), "--epochs", "1", "--hidden-size", "8", "--embedding-dim", "8", "-q"],
    }


@pytest.mark.parametrize("command", ["train", "seq2seq train", "rl-finetune", "gan-train", "lm-train"])
def test_resume_refuses_a_checkpoint_that_would_run_code(models, tmp_path, command):
    out = tmp_path / "run"
    out.mkdir()
    marker = tmp_path / "marker"
    _WritesMarker.marker = str(marker)
    torch.save({"rng": {}, "loop": {}, "trainer": _WritesMarker()}, out / "checkpoint.pt")
    result = CliRunner().invoke(cli, [*_commands(models, out)[command], "--resume"])
    assert result.exit_code != 0
    assert "refused" in result.output and "checkpoint.pt" in result.output, result.output
    assert "Traceback" not in result.output
    assert not marker.exists() and not os.path.exists(marker)
