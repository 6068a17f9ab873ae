"""Training on several processes (torch.distributed, gloo): two ranks train the model one process
trains on the same global batches, a distributed run resumes, a dead rank ends the job, and
trainers that cannot run distributed say so."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from cli.main import cli
from cli.params import _runs, _without_nproc
from hybrid.config import save_json
from hybrid.errors import ConfigError
from hybrid.train import distributed
from hybrid.train.rundir import run_directory
from hybrid.train.world import World, launched
from tests.classify_tiny import write_labelled
from tests.tiny import tiny_config, write_conll_file

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 240


def hybrid(*args: object, nproc: int = 1, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`python -m cli ARGS` (with --nproc N: N processes under torchrun), from the repository root."""
    more = ["--nproc", str(nproc)] if nproc > 1 else []
    return subprocess.run([sys.executable, "-m", "cli", *map(str, args), *more], cwd=ROOT, capture_output=True,
                          text=True, timeout=TIMEOUT, env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})})


def trained_state(out: Path) -> dict[str, torch.Tensor]:
    return torch.load(out / "checkpoint.pt", weights_only=True)["trainer"]["model"]


def assert_same_model(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=1e-4, rtol=1e-4, msg=key)


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("distributed")
    write_conll_file(work / "train.txt", n=37)  # global batches of 8: the last one (5) splits 3 + 2
    write_conll_file(work / "dev.txt", n=8, seed=5)
    config = tiny_config()
    # no dropout: one process and two draw their masks differently, so only then are the models equal
    save_json(dataclasses.replace(config, model=dataclasses.replace(config.model, dropout=0.0, word_dropout=0.0)),
              work / "tiny.json")
    return work


def train_args(work: Path, out: Path, batch: int, epochs: int = 2) -> list[object]:
    return ["train", "--config", work / "tiny.json", "--train", work / "train.txt", "--dev", work / "dev.txt",
            "--out", out, "--batch-size", batch, "--epochs", epochs, "--quiet"]


@pytest.fixture(scope="module")
def two_ranks(work) -> tuple[Path, subprocess.CompletedProcess]:
    out = work / "two"
    result = hybrid(*train_args(work, out, batch=4), nproc=2)
    assert result.returncode == 0, result.stderr[-3000:]
    return out, result


def test_two_processes_train_the_model_one_process_trains(work, two_ranks):
    one = work / "one"
    result = hybrid(*train_args(work, one, batch=8))  # the same global batch: 8 = 4 per rank x 2
    assert result.returncode == 0, result.stderr[-3000:]
    out, two = two_ranks
    assert_same_model(trained_state(one), trained_state(out))
    history = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    alone = [json.loads(line) for line in (one / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in history] == [r["step"] for r in alone] == [5, 10]  # ceil(37 / 8) steps an epoch
    for mine, theirs in zip(history, alone, strict=True):  # the loss averaged over both ranks' sentences
        assert mine["loss"] == pytest.approx(theirs["loss"], rel=1e-4)
        assert mine["dev"] == theirs["dev"]
    assert two.stdout.count('"best_dev"') == 1  # rank 0 alone prints the summary
    assert (out / "model").is_dir() and not list(out.glob(".*.tmp"))


def test_a_distributed_run_resumes(work, two_ranks):
    out = work / "resumed"
    first = hybrid(*train_args(work, out, batch=4, epochs=1), nproc=2)
    assert first.returncode == 0, first.stderr[-3000:]
    more = hybrid(*train_args(work, out, batch=4, epochs=2), "--resume", nproc=2)
    assert more.returncode == 0, more.stderr[-3000:]
    assert "resumed from" in more.stdout
    assert_same_model(trained_state(two_ranks[0]), trained_state(out))


def rl_args(work: Path, start: Path, out: Path, batch: int, *more: object) -> list[object]:
    return ["rl-finetune", "--model", start, "--out", out, "--train", work / "train.txt", "--dev", work / "dev.txt",
            "--reward", "span-f1", "--baseline", "mean", "--samples", 2, "--steps", 3, "--eval-every", 3,
            "--batch-size", batch, "--quiet", *more]


def test_rl_finetune_on_two_processes_makes_one_update_of_the_global_batch(work, two_ranks):
    """Under zero-advantage only the MLE term trains: two ranks of 2 inputs then end at the model one
    process reaches with 4 (the same inputs drawn, the gradients combined); the rollouts, rewards and
    logged figures run on both ranks."""
    start = two_ranks[0] / "model"
    control = ("--control", "zero-advantage", "--mle-weight", 1)
    one = hybrid(*rl_args(work, start, work / "rl-one", 4, *control))
    two = hybrid(*rl_args(work, start, work / "rl-two", 2, *control), nproc=2)
    for result in (one, two):
        assert result.returncode == 0, result.stderr[-3000:]
    assert_same_model(trained_state(work / "rl-one"), trained_state(work / "rl-two"))
    steps = [json.loads(line) for line in (work / "rl-two" / "steps.jsonl").read_text().splitlines()]
    assert [s["step"] for s in steps] == [1, 2, 3]
    assert all(0 <= s["reward_mean"] <= 100 and s["entropy"] > 0 for s in steps)
    assert two.stdout.count('"best_dev"') == 1
    assert json.loads((work / "rl-two" / "rl_config.json").read_text())["batch_size"] == 2


def test_rl_finetune_samples_on_two_processes(work, two_ranks):
    out = work / "rl-sampled"
    result = hybrid(*rl_args(work, two_ranks[0] / "model", out, 2), nproc=2)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps_run"] == 3 and summary["stopped_by"] == "steps" and (out / "model").is_dir()
    assert len((out / "steps.jsonl").read_text().splitlines()) == 3


def test_gan_train_runs_on_two_processes_and_resumes(work, two_ranks):
    out = work / "gan"
    args = ["gan-train", "--model", two_ranks[0] / "model", "--out", out, "--train", work / "train.txt", "--dev",
            work / "dev.txt", "--batch-size", 2, "--d-samples", 7, "--pretrain-d-steps", 1, "--eval-every", 2,
            "--quiet"]
    first = hybrid(*args, "--rounds", 2, nproc=2)
    assert first.returncode == 0, first.stderr[-3000:]
    more = hybrid(*args, "--rounds", 3, "--resume", nproc=2)
    assert more.returncode == 0, more.stderr[-3000:]
    rounds = [json.loads(line) for line in (out / "steps.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rounds] == [1, 2, 3]
    assert all(0 <= r["g_reward"] <= 1 and 0 <= r["d_acc_fake"] <= 1 for r in rounds)
    assert (out / "discriminator").is_dir() and (out / "last").is_dir()
    state = torch.load(out / "checkpoint.pt", weights_only=True)
    generators = [rank["generator"] for rank in state["rank_states"]]  # each rank samples with its own
    assert len(generators) == 2 and not torch.equal(generators[0], generators[1])


def test_the_classifier_trains_on_two_processes_as_on_one(tmp_path):
    write_labelled(tmp_path / "train.tsv", 29)
    write_labelled(tmp_path / "dev.tsv", 6, seed=3)

    def args(out: str, batch: int) -> list[object]:
        return ["classify", "train", "--train", tmp_path / "train.tsv", "--dev", tmp_path / "dev.tsv", "--out",
                tmp_path / out, "--word-dim", 8, "--hidden-size", 8, "--dropout", 0, "--epochs", 2,
                "--batch-size", batch, "--quiet"]

    for result in (hybrid(*args("one", 6)), hybrid(*args("two", 3), nproc=2)):
        assert result.returncode == 0, result.stderr[-3000:]
    assert_same_model(trained_state(tmp_path / "one"), trained_state(tmp_path / "two"))


def test_a_trainer_that_cannot_run_distributed_refuses(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat on the mat\n" * 50, encoding="utf-8")
    args = ["embed", "train", "--corpus", corpus, "--model", "skipgram", "--min-count", 1, "--out",
            tmp_path / "vectors", "--quiet"]
    assert "No such option '--nproc'" in hybrid(*args, nproc=2).stderr  # only trainers that can offer it
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", "-m", "cli"]
    result = subprocess.run([*torchrun, *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode != 0
    assert "does not run on several processes yet" in result.stdout + result.stderr


def test_a_distributed_run_resumes_only_with_as_many_processes(work, two_ranks, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(two_ranks[0], out)
    result = hybrid(*train_args(work, out, batch=8, epochs=3), "--resume")
    assert result.returncode == 1
    assert "written by a run of 2 process(es); resume it with the same number (--nproc 2), not 1" in result.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_dead_rank_ends_the_job_with_a_clear_error(work, tmp_path):
    """Ranks started by hand (as any launcher would): kill rank 1, rank 0 must stop, not hang."""
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1",
           "MASTER_PORT": str(free_port()), "HYBRID_DIST_TIMEOUT": "60"}
    args = [sys.executable, "-m", "cli", *map(str, train_args(work, out, batch=2, epochs=100000)), "--patience",
            "100000"]
    ranks = [subprocess.Popen(args, cwd=ROOT, env={**env, "RANK": str(r), "LOCAL_RANK": str(r)},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for r in range(2)]
    try:
        deadline = time.monotonic() + TIMEOUT
        while not (out / "train_log.jsonl").is_file():  # the ranks are training together
            assert time.monotonic() < deadline and all(p.poll() is None for p in ranks), ranks[0].stderr
            time.sleep(0.2)
        ranks[1].send_signal(signal.SIGKILL)
        killed = time.monotonic()
        _stdout, stderr = ranks[0].communicate(timeout=90)
        assert ranks[0].returncode == 1
        assert time.monotonic() - killed < 60
        assert "rank 0 of 2: lost contact with the other processes" in stderr
        assert "Traceback" not in stderr
    finally:
        for p in ranks:
            if p.poll() is None:
                p.kill()
            p.communicate()


def rank_gradients(rank: int) -> dict[str, torch.Tensor | None]:
    """What each rank's backward pass left: an embedding with a few rows touched, a dense matrix,
    a vector, a gradient only rank 0 has and one no rank has."""
    g = torch.Generator().manual_seed(rank)
    embedding = torch.zeros(20, 3)
    embedding[[1, 4] if rank == 0 else [4, 7]] = torch.randn(2, 3, generator=g)
    return {"embedding": embedding, "dense": torch.randn(4, 2, generator=g), "vector": torch.randn(5, generator=g),
            "rank0_only": torch.randn(3, 3, generator=g) if rank == 0 else None, "nowhere": None}


WEIGHTS = (3.0, 1.0)
SHAPES = {"embedding": (20, 3), "dense": (4, 2), "vector": (5,), "rank0_only": (3, 3), "nowhere": (2,)}


def average_on_rank(rank: int, port: int, out: str) -> None:
    os.environ.update({"RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1",
                       "MASTER_PORT": str(port)})
    world, _ = distributed.join()
    params = {name: torch.nn.Parameter(torch.zeros(shape)) for name, shape in SHAPES.items()}
    for name, grad in rank_gradients(rank).items():
        params[name].grad = grad
    total = distributed.average_gradients(params.values(), WEIGHTS[rank], world)
    if rank == 0:
        torch.save({"total": total, **{name: p.grad for name, p in params.items()}}, out)
    distributed.leave()


def test_gradients_are_averaged_by_weight_with_sparse_rows_sent_packed(tmp_path):
    out = tmp_path / "grads.pt"
    torch.multiprocessing.spawn(average_on_rank, args=(free_port(), str(out)), nprocs=2)
    got = torch.load(out, weights_only=True)
    assert got["total"] == sum(WEIGHTS)
    ranks = [rank_gradients(r) for r in range(2)]
    for name, shape in SHAPES.items():
        if name == "nowhere":
            assert got[name] is None
            continue
        summed = sum(w * (g[name] if g[name] is not None else torch.zeros(shape))
                     for w, g in zip(WEIGHTS, ranks, strict=True))
        torch.testing.assert_close(got[name], summed / sum(WEIGHTS), msg=name)
    assert got["embedding"].ne(0).any(1).nonzero().squeeze(1).tolist() == [1, 4, 7]


def test_weighted_gradients_in_one_process_are_left_alone():
    p = torch.nn.Parameter(torch.ones(3))
    p.grad = torch.full((3,), 2.0)
    assert distributed.average_gradients([p], 5.0, World()) == 5.0
    assert torch.equal(p.grad, torch.full((3,), 2.0))


def test_the_world_comes_from_the_launchers_environment(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert launched() == World(0, 1, 0) and launched().main and not launched().distributed
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert launched() == World(3, 4, 1) and not launched().main
    monkeypatch.setenv("RANK", "4")
    with pytest.raises(ConfigError, match="RANK 4 does not fit WORLD_SIZE 4"):
        launched()
    monkeypatch.setenv("RANK", "x")
    with pytest.raises(ConfigError, match="whole numbers"):
        launched()


def test_further_ranks_neither_check_nor_lock_the_run_directory(monkeypatch, tmp_path):
    (tmp_path / "summary.json").write_text("{}")  # a previous run: rank 0 would refuse it
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    with run_directory(tmp_path) as out:
        assert out == tmp_path and not (tmp_path / ".lock").exists()


def test_the_timeout_is_checked(monkeypatch):
    monkeypatch.setenv(distributed.TIMEOUT_ENV, "soon")
    with pytest.raises(ConfigError, match="seconds"):
        distributed.timeout_s()
    monkeypatch.setenv(distributed.TIMEOUT_ENV, "90")
    assert distributed.timeout_s() == 90.0


def test_nproc_is_removed_from_the_relaunched_command_line():
    assert _without_nproc(["train", "--nproc", "2", "--out", "x", "--nproc=3"]) == ["train", "--out", "x"]
    assert _runs(["train"], ["--debug", "train", "--out", "x"])
    assert _runs(["classify", "train"], ["classify", "train"]) and not _runs(["classify", "train"], ["train"])
    assert not _runs(["train"], [])


def test_nproc_needs_a_command_line_to_relaunch(work, tmp_path):
    result = CliRunner().invoke(cli, ["train", "--nproc", "2", "--train", str(work / "train.txt"),
                                      "--out", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "--nproc relaunches the command line" in result.output
