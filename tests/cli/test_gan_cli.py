"""`hybrid gan-train` on seq2seq, tagger and language models, and `hybrid lm-train`, through
click's CliRunner and as a subprocess."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

from cli.main import cli
from tests.seq2seq_tiny import write_parallel_files

SMALL = ["--rounds", "2", "--g-steps", "1", "--d-samples", "8", "--batch-size", "4", "--samples", "2",
         "--pretrain-d-steps", "1", "--eval-every", "1", "--max-length", "8", "--quiet"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gan")
    write_parallel_files(folder, {"train": 24, "dev": 6}, max_len=4)
    return folder


def _ok(args):
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return result


def test_gan_train_a_seq2seq_model_with_rollouts(data, tmp_path):
    _ok(["seq2seq", "train", "--train-src", str(data / "train.src"), "--train-tgt", str(data / "train.tgt"),
         "--dev-src", str(data / "dev.src"), "--dev-tgt", str(data / "dev.tgt"), "--out", str(tmp_path / "s2s"),
         "--embedding-dim", "8", "--encoder-hidden", "8", "--decoder-hidden", "8", "--epochs", "1", "--quiet"])
    out = tmp_path / "gan"
    seq2seq_data = ["--train-src", str(data / "train.src"), "--train-tgt", str(data / "train.tgt"),
                    "--dev-src", str(data / "dev.src"), "--dev-tgt", str(data / "dev.tgt")]
    result = _ok(["gan-train", "--model", str(tmp_path / "s2s" / "model"), "--out", str(out), "--rollouts", "2",
                  "--task-reward", "chrf", "--task-weight", "0.3", *seq2seq_data, *SMALL])
    assert re.search(r"round 2: .*dev bleu", result.output)
    records = [json.loads(line) for line in (out / "steps.jsonl").read_text().splitlines()]
    assert len(records) == 2 and {"g_reward", "task_reward", "d_acc_real", "d_acc_fake"} <= set(records[0])
    config = json.loads((out / "gan_config.json").read_text())
    assert config["rollouts"] == 2 and config["task_reward"] == "chrf" and config["task_weight"] == 0.3
    # the fine-tuned model is an ordinary seq2seq model
    _ok(["evaluate", "--model", str(out / "last"), "--data", str(data / "dev.src"),
         "--references", str(data / "dev.tgt")])
    resumed = _ok(["gan-train", "--model", str(tmp_path / "s2s" / "model"), "--out", str(out), *seq2seq_data,
                   *SMALL[:1], "3", *SMALL[2:], "--rollouts", "2", "--task-reward", "chrf", "--task-weight", "0.3",
                   "--resume"])
    assert "after round 2" in resumed.output
    assert len((out / "steps.jsonl").read_text().splitlines()) == 3


def test_gan_train_a_tagger_and_its_refusals(tmp_path):
    from hybrid.models.io import save_tagger
    from hybrid.train.tagging import build_tagger, read_tagged
    from tests.tiny import tiny_config, write_conll_file

    config = tiny_config(layer="crf")
    conll = write_conll_file(tmp_path / "t.txt", n=12)
    save_tagger(build_tagger(config, read_tagged(conll, config.data)), tmp_path / "m", config)
    base = ["gan-train", "--model", str(tmp_path / "m"), "--train", str(conll), "--dev", str(conll)]
    _ok([*base, "--out", str(tmp_path / "gan"), *SMALL])
    assert (tmp_path / "gan" / "model" / "config.json").is_file()
    assert (tmp_path / "gan" / "discriminator" / "model.safetensors").is_file()
    rollouts = CliRunner().invoke(cli, [*base, "--out", str(tmp_path / "x"), "--rollouts", "4"])
    assert rollouts.exit_code == 2 and "taggers take --rollouts 0" in rollouts.output
    weight = CliRunner().invoke(cli, [*base, "--out", str(tmp_path / "y"), "--task-weight", "0.5"])
    assert weight.exit_code == 2 and "--task-weight needs --task-reward" in weight.output
    no_data = CliRunner().invoke(cli, ["gan-train", "--model", str(tmp_path / "m"), "--out", str(tmp_path / "z")])
    assert no_data.exit_code == 2 and "needs --train and --dev" in no_data.output


def test_lm_train_then_gan_train_as_subprocesses(data, tmp_path):
    lm = subprocess.run([sys.executable, "-m", "cli.main", "lm-train", "--train", str(data / "train.tgt"), "--dev",
                         str(data / "dev.tgt"), "--out", str(tmp_path / "lm"), "--embedding-dim", "8", "--hidden-size",
                         "8", "--epochs", "2", "--quiet"], capture_output=True, text=True, timeout=300)
    assert lm.returncode == 0, lm.stderr
    assert json.loads((tmp_path / "lm" / "model" / "config.json").read_text())["format"] == "hybrid-lm"
    assert json.loads(lm.stdout[lm.stdout.index("{"):])["epochs_run"] == 2
    gan = subprocess.run([sys.executable, "-m", "cli.main", "gan-train", "--model", str(tmp_path / "lm" / "model"),
                          "--out", str(tmp_path / "gan"), "--train", str(data / "train.tgt"), "--dev",
                          str(data / "dev.tgt"), "--rollouts", "2", *SMALL],
                         capture_output=True, text=True, timeout=300)
    assert gan.returncode == 0, gan.stderr
    assert "dev log_likelihood" in gan.stdout
    records = [json.loads(line) for line in (tmp_path / "gan" / "steps.jsonl").read_text().splitlines()]
    assert "d_fit_acc_mismatched" not in records[0]  # no condition: no mismatched pairs


def test_lm_train_reports_a_bad_line(tmp_path):
    (tmp_path / "t.txt").write_text("a b\n\nc\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["lm-train", "--train", str(tmp_path / "t.txt"), "--dev", str(tmp_path / "t.txt"),
                                      "--out", str(tmp_path / "o")])
    assert result.exit_code == 1 and "t.txt:2" in result.output and "empty line" in result.output


def test_lm_train_skips_sentences_longer_than_max_length(tmp_path):
    train, dev = tmp_path / "train.txt", tmp_path / "dev.txt"
    train.write_text("the cat sat\n" + " ".join(["word"] * 5000) + "\na dog ran\n", encoding="utf-8")
    dev.write_text("the dog sat\n", encoding="utf-8")
    args = ["lm-train", "--train", str(train), "--dev", str(dev), "--epochs", "1", "--hidden-size", "8",
            "--embedding-dim", "8", "--max-length", "100", "-q"]
    result = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert "skipping 1 training and 0 dev sentences longer than max_length 100" in result.output
    dev.write_text(" ".join(["word"] * 500) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "run2")])
    assert result.exit_code == 1 and "nothing to train on" in result.output and "Traceback" not in result.output
