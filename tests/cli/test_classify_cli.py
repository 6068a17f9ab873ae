"""`hybrid classify train | predict | evaluate` and `hybrid info` through CliRunner, and as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli
from tests.classify_tiny import write_labelled

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("classify")
    write_labelled(folder / "train.txt", 120, seed=0)
    write_labelled(folder / "dev.txt", 30, seed=1)
    result = CliRunner().invoke(cli, ["classify", "train", "--train", str(folder / "train.txt"), "--dev",
                                      str(folder / "dev.txt"), "--out", str(folder / "run"), "--word-dim", "16",
                                      "--hidden-size", "16", "--epochs", "5", "--lr", "0.01", "--batch-size", "16",
                                      "-q"])
    assert result.exit_code == 0, result.output
    return folder


def test_train_writes_a_run_directory(trained):
    summary = json.loads((trained / "run" / "summary.json").read_text())
    assert summary["metric"] == "accuracy" and summary["best_dev"] >= 90.0
    assert (trained / "run" / "model" / "model.safetensors").is_file()


def test_predict_streams_a_label_and_probability_per_line(trained):
    result = CliRunner().invoke(cli, ["classify", "predict", "--model", str(trained / "run" / "model")],
                                input="a good film\nthe plot was bad\n")
    assert result.exit_code == 0, result.output
    lines = [line.split("\t") for line in result.output.splitlines()]
    assert [label for label, _ in lines] == ["pos", "neg"]
    assert all(0.5 <= float(p) <= 1.0 for _, p in lines)


def test_evaluate_prints_json_and_a_confusion_plot(trained, tmp_path):
    result = CliRunner().invoke(cli, ["classify", "evaluate", "--model", str(trained / "run" / "model"), "--data",
                                      str(trained / "dev.txt"), "--json", "--plot", str(tmp_path / "c.png")])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.output)
    assert scores["accuracy"] >= 90.0 and scores["labels"] == ["neg", "pos"]
    assert sum(map(sum, scores["confusion"])) == scores["examples"] == 30
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    table = CliRunner().invoke(cli, ["classify", "evaluate", "--model", str(trained / "run" / "model"), "--data",
                                     str(trained / "dev.txt")])
    assert "macro F1" in table.output and "pos" in table.output


def test_info_describes_a_classifier(trained):
    result = CliRunner().invoke(cli, ["info", str(trained / "run" / "model")])
    assert result.exit_code == 0, result.output
    assert "(classifier)" in result.output and "attention pooling" in result.output and "neg pos" in result.output


def test_unknown_labels_and_malformed_files_are_clear_errors(trained, tmp_path):
    other = tmp_path / "other.txt"
    other.write_text("maybe\ta good film\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["classify", "evaluate", "--model", str(trained / "run" / "model"), "--data",
                                      str(other)])
    assert result.exit_code == 2 and "'maybe'" in result.output
    bad = tmp_path / "bad.txt"
    bad.write_text("pos\tgood\nnot labelled\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["classify", "train", "--train", str(bad), "--out", str(tmp_path / "r")])
    assert result.exit_code == 1 and "bad.txt:2: expected 'label<TAB>text'" in result.output


def test_predict_as_a_subprocess(trained):
    result = subprocess.run([sys.executable, "-m", "cli.main", "classify", "predict", "--model",
                             str(trained / "run" / "model")], input="good\n", capture_output=True, text=True,
                            cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("pos\t")
