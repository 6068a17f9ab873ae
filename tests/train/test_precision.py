"""Mixed precision (--amp): the plain path is unchanged, bf16 trains on the CPU with float32 scores
reaching the structured layer, fp16 is refused off CUDA, and the choices reach every supervised trainer."""

from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner

from cli.main import cli
from hybrid.errors import ConfigError
from hybrid.models.io import load_tagger
from hybrid.train.precision import Precision
from hybrid.train.tagging import read_tagged, train_tagger
from tests.classify_tiny import write_labelled
from tests.seq2seq_tiny import write_parallel_files
from tests.tiny import tiny_config, write_conll_file


def test_off_is_a_plain_clipped_step():
    torch.manual_seed(0)
    a = torch.nn.Linear(3, 2)
    b = torch.nn.Linear(3, 2)
    b.load_state_dict(a.state_dict())
    x = torch.randn(4, 3)
    opt_a, opt_b = torch.optim.Adam(a.parameters()), torch.optim.Adam(b.parameters())
    precision = Precision("off", "cpu")
    with precision.autocast():
        loss_a = (a(x) ** 2).sum() * 100
    precision.backward(loss_a)
    precision.step(opt_a, a.parameters(), clip_norm=1.0)
    (b(x) ** 2).sum().mul(100).backward()
    torch.nn.utils.clip_grad_norm_(list(b.parameters()), 1.0)
    opt_b.step()
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)
    assert precision.state_dict() == {}


@pytest.mark.parametrize(("amp", "message"), [("fp16", "needs a CUDA device"), ("fp8", "must be one of")])
def test_refused_settings(amp, message):
    with pytest.raises(ConfigError, match=message):
        Precision(amp, "cpu")


def test_bf16_autocast_gives_the_crf_float32_scores(tmp_path):
    path = write_conll_file(tmp_path / "train.txt", n=8)
    train_tagger(tiny_config(epochs=1), path, tmp_path / "run", progress=False, log=lambda m: None)
    tagger = load_tagger(tmp_path / "run" / "model")
    batch = tagger.vocabs.encode(read_tagged(path, tiny_config().data), with_tags=True)
    with Precision("bf16", "cpu").autocast():
        scores = tagger.emissions(batch)
        loss = tagger.loss(batch)
    assert scores.dtype == torch.float32 and loss.dtype == torch.float32
    with torch.no_grad():  # bf16 scores cast up differ from float32 ones only by bf16 rounding
        assert torch.allclose(scores, tagger.emissions(batch), atol=0.1)


def test_bf16_tagger_training_learns_and_resumes(tmp_path):
    path = write_conll_file(tmp_path / "train.txt", n=30)
    config = tiny_config(epochs=3)
    summary = train_tagger(config, path, tmp_path / "run", progress=False, log=lambda m: None, amp="bf16")
    losses = [h["loss"] for h in summary["history"]]
    assert all(torch.isfinite(torch.tensor(losses))) and losses[-1] < losses[0]
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["trainer"]
    assert "scaler" in state and all(v.dtype == torch.float32 for v in state["model"].values() if v.is_floating_point())
    more = train_tagger(tiny_config(epochs=4), path, tmp_path / "run", resume=True, progress=False,
                        log=lambda m: None, amp="bf16")
    assert more["epochs_run"] == 4


@pytest.mark.parametrize("command", ["train", "classify", "seq2seq"])
def test_cli_amp_reaches_every_supervised_trainer(command, tmp_path):
    if command == "train":
        data = write_conll_file(tmp_path / "train.txt", n=12)
        args = ["train", "--train", str(data), "--epochs", "1", "--word-dim", "8", "--hidden-size", "8",
                "--char-encoder", "none"]
    elif command == "classify":
        data = write_labelled(tmp_path / "train.tsv", 24)
        args = ["classify", "train", "--train", str(data), "--epochs", "1", "--word-dim", "8", "--hidden-size", "8"]
    else:
        folder = write_parallel_files(tmp_path, {"train": 16, "dev": 4})
        args = ["seq2seq", "train", "--train-src", str(folder / "train.src"), "--train-tgt",
                str(folder / "train.tgt"), "--dev-src", str(folder / "dev.src"), "--dev-tgt",
                str(folder / "dev.tgt"), "--epochs", "1", "--embedding-dim", "8", "--encoder-hidden", "8",
                "--decoder-hidden", "8"]
    runner = CliRunner()
    ran = runner.invoke(cli, [*args, "--out", str(tmp_path / "bf16"), "--amp", "bf16", "--device", "auto", "-q"])
    assert ran.exit_code == 0, ran.output
    assert (tmp_path / "bf16" / "model").is_dir()
    refused = runner.invoke(cli, [*args, "--out", str(tmp_path / "fp16"), "--amp", "fp16", "-q"])
    assert refused.exit_code != 0 and "needs a CUDA device" in refused.output
