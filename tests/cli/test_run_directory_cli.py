"""`hybrid train` into an --out that holds a previous run: refused with a sentence unless
--resume or --overwrite, and the previous run's files are left as they were."""

from __future__ import annotations

import pytest
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


@pytest.mark.parametrize("command", ["train", "seq2seq", "lm-train"])
def test_empty_training_or_dev_files_are_refused_with_their_name(tmp_path, command):
    data = write_conll_file(tmp_path / "train.txt", n=8)
    lines = tmp_path / "lines.txt"
    lines.write_text("the cat sat\na dog ran\n", encoding="utf-8")
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    args = {
        "train": ["train", "--train", str(empty), "--dev", str(data)],
        "seq2seq": ["seq2seq", "train", "--train-src", str(lines), "--train-tgt", str(lines), "--dev-src", str(empty),
                    "--dev-tgt", str(empty)],
        "lm-train": ["lm-train", "--train", str(lines), "--dev", str(empty)],
    }[command]
    result = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "run"), "-q"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"Error: {empty}: " in result.output, result.output
    assert not (tmp_path / "run" / "model").exists()
