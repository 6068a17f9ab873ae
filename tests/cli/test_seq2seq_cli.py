"""`hybrid seq2seq train` and `hybrid generate` through click's CliRunner and as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from cli.main import cli
from tests.seq2seq_tiny import random_pairs


def _write_parallel(folder, name, pairs):
    (folder / f"{name}.src").write_text("".join(" ".join(p.inputs) + "\n" for p in pairs), encoding="utf-8")
    (folder / f"{name}.tgt").write_text("".join(" ".join(reversed(p.inputs)) + "\n" for p in pairs), encoding="utf-8")
    return folder / f"{name}.src", folder / f"{name}.tgt"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("s2s")
    train_src, train_tgt = _write_parallel(folder, "train", random_pairs(200, seed=0, max_len=4))
    dev_src, dev_tgt = _write_parallel(folder, "dev", random_pairs(20, seed=1, max_len=4))
    result = CliRunner().invoke(cli, [
        "seq2seq", "train", "--train-src", str(train_src), "--train-tgt", str(train_tgt), "--dev-src", str(dev_src),
        "--dev-tgt", str(dev_tgt), "--out", str(folder / "run"), "--embedding-dim", "16", "--encoder-hidden", "16",
        "--decoder-hidden", "16", "--min-freq", "1", "--epochs", "2", "--lr", "0.005", "--quiet"])
    assert result.exit_code == 0, result.output
    return folder


def test_train_writes_a_model_and_prints_the_summary(trained):
    assert (trained / "run" / "model" / "model.safetensors").is_file()
    summary = json.loads((trained / "run" / "summary.json").read_text())
    assert summary["epochs_run"] == 2 and summary["metric"] == "bleu"
    config = json.loads((trained / "run" / "model" / "config.json").read_text())
    assert config["format"] == "hybrid-seq2seq" and config["model"]["embedding_dim"] == 16


def test_generate_keeps_blank_lines_and_greedy_equals_beam_one(trained):
    model = str(trained / "run" / "model")
    text = "w1 w2 w3\n\nw4\n"
    greedy = CliRunner().invoke(cli, ["generate", "--model", model, "--beam", "1"], input=text)
    assert greedy.exit_code == 0, greedy.output
    lines = greedy.output.split("\n")
    assert len(lines) == 4 and lines[1] == "" and lines[3] == ""
    sampled = CliRunner().invoke(cli, ["generate", "--model", model, "--sample", "--temperature", "0.5"], input=text)
    assert sampled.exit_code == 0 and len(sampled.output.split("\n")) == 4


def test_attention_plot_is_a_png(trained, tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "attention.png"
    result = CliRunner().invoke(cli, ["generate", "--model", str(trained / "run" / "model"), "--attention-plot",
                                      str(png)], input="w1 w2 w3\n")
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_misaligned_training_files_are_one_error_line(trained, tmp_path):
    short = tmp_path / "short.tgt"
    short.write_text("a\n", encoding="utf-8")
    src = trained / "train.src"
    result = CliRunner().invoke(cli, ["seq2seq", "train", "--train-src", str(src), "--train-tgt", str(short),
                                      "--dev-src", str(src), "--dev-tgt", str(short), "--out", str(tmp_path / "r")])
    assert result.exit_code == 1
    assert f"Error: {short}:2: {short} ends before {src}" in result.output


def test_generate_as_a_subprocess(trained):
    proc = subprocess.run([sys.executable, "-m", "cli.main", "generate", "--model", str(trained / "run" / "model")],
                          input="w1 w2\n", capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == 1


def test_rl_finetune_a_seq2seq_model(trained, tmp_path):
    out = tmp_path / "rl"
    result = CliRunner().invoke(cli, [
        "rl-finetune", "--model", str(trained / "run" / "model"), "--out", str(out), "--reward", "chrf",
        "--baseline", "mean", "--samples", "2", "--steps", "3", "--batch-size", "4", "--eval-every", "3",
        "--train-src", str(trained / "train.src"), "--train-tgt", str(trained / "train.tgt"),
        "--dev-src", str(trained / "dev.src"), "--dev-tgt", str(trained / "dev.tgt"), "--quiet"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps_run"] == 3 and summary["reward_signature"].startswith("chrf: ")
    assert len((out / "steps.jsonl").read_text().splitlines()) == 3


def test_rl_finetune_needs_the_data_of_its_model_kind(trained, tmp_path):
    result = CliRunner().invoke(cli, ["rl-finetune", "--model", str(trained / "run" / "model"), "--out",
                                      str(tmp_path / "x"), "--train", str(trained / "train.src")])
    assert result.exit_code == 2 and "needs --train-src" in result.output
    bad = CliRunner().invoke(cli, ["rl-finetune", "--model", str(trained / "run" / "model"), "--out",
                                   str(tmp_path / "y"), "--reward", "nosuchmodule:f", "--train-src", "x"])
    assert bad.exit_code == 2  # --train-src must exist


def test_rl_finetune_a_tagger_on_span_f1(tmp_path):
    from hybrid.models.io import save_tagger
    from hybrid.train.tagging import build_tagger, read_tagged
    from tests.tiny import tiny_config, write_conll_file

    config = tiny_config(layer="crf")
    data = write_conll_file(tmp_path / "t.txt", n=12)
    save_tagger(build_tagger(config, read_tagged(data, config.data)), tmp_path / "m", config)
    result = CliRunner().invoke(cli, ["rl-finetune", "--model", str(tmp_path / "m"), "--out", str(tmp_path / "rl"),
                                      "--reward", "span-f1", "--baseline", "self-critical", "--steps", "2",
                                      "--batch-size", "4", "--train", str(data), "--dev", str(data), "--quiet"])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "rl" / "summary.json").read_text())["reward_signature"] == "span-f1"


def test_evaluate_reports_bleu_and_chrf_of_a_seq2seq_model(trained, tmp_path):
    model = str(trained / "run" / "model")
    args = ["evaluate", "--model", model, "--data", str(trained / "dev.src"), "--references", str(trained / "dev.tgt")]
    result = CliRunner().invoke(cli, [*args, "--json", "--beam", "2", "--output", str(tmp_path / "f.json")])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["sentences"] == 20 and 0 <= figures["bleu"] <= 100 and figures["beam"] == 2
    assert figures["bleu_signature"].startswith("nrefs:1|")
    assert json.loads((tmp_path / "f.json").read_text()) == figures
    table = CliRunner().invoke(cli, args)
    assert table.exit_code == 0 and table.output.startswith("BLEU ")
    missing = CliRunner().invoke(cli, ["evaluate", "--model", model, "--data", str(trained / "dev.src")])
    assert missing.exit_code == 2 and "--references" in missing.output


def test_info_describes_a_seq2seq_model(trained):
    result = CliRunner().invoke(cli, ["info", str(trained / "run" / "model")])
    assert result.exit_code == 0, result.output
    assert "(seq2seq)" in result.output and "general attention" in result.output
    as_json = json.loads(CliRunner().invoke(cli, ["info", str(trained / "run" / "model"), "--json"]).output)
    assert as_json["config"]["model"]["embedding_dim"] == 16 and as_json["vocabulary"]["target"] > 4
