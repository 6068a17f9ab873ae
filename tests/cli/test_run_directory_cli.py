"""`hybrid train` into an --out that holds a previous run: refused with a sentence unless
--resume or --overwrite, and the previous run's files are left as they were."""

from __future__ import annotations

from click.testing import CliRunner

from cli.main import cli
from tests.tiny import write_conll_file


def test_train_refuses_a_previous_run_and_overwrite_starts_over(tmp_path):
    data = write_conll_file(tmp_path / "train.txt", n=16)
    args = ["train", "--train", str(data), "--out", str(tmp_path / "run"), "--epochs", "1", "--hidden-size", "8",
            "--word-dim", "8", "--char-encoder", "none", "-q"]
    runner = CliRunner()
    assert runner.invoke(cli, args).exit_code == 0
    weights = (tmp_path / "run" / "model" / "model.safetensors").read_bytes()
    refused = runner.invoke(cli, [*args, "--seed", "7"])
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    assert "holds a previous run" in refused.output and "--overwrite" in refused.output
    assert (tmp_path / "run" / "model" / "model.safetensors").read_bytes() == weights
    assert runner.invoke(cli, [*args, "--seed", "7", "--overwrite"]).exit_code == 0
    assert (tmp_path / "run" / "model" / "model.safetensors").read_bytes() != weights
