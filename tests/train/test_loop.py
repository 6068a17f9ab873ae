"""The run loop on a toy trainer whose every step is recorded: which items each epoch trains,
when it evaluates, ends epochs, stops and resumes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hybrid.errors import CheckpointError
from hybrid.train import loop
from hybrid.train.loop import Hooks, Schedule, run


class Toy(Hooks):
    """Items are (epoch, index); the 'model' is the list of items trained; dev scores are given (the
    last one repeats) or the number of items trained."""

    def __init__(self, per_epoch: int = 4, scores: list[float] | None = None):
        self.per_epoch, self.scores = per_epoch, scores
        self.trained: list[Any] = []
        self.epochs_ended: list[int] = []
        self.evaluations = 0

    def epoch_items(self, epoch: int) -> list[tuple[int, int]]:
        return [(epoch, i) for i in range(self.per_epoch)]

    def step(self, item: Any, step: int, epoch: int) -> dict[str, float]:
        if isinstance(item, tuple):  # epochs mode; steps mode gives the step number
            assert item[0] == epoch
        self.trained.append(list(item) if isinstance(item, tuple) else item)
        return {"loss": float(step)}

    def evaluate(self) -> dict[str, Any]:
        self.evaluations += 1
        score = self.scores[min(self.evaluations, len(self.scores)) - 1] if self.scores else float(len(self.trained))
        return {"metric": "toy", "score": score}

    def save_best(self, directory: Path, summary: dict[str, Any]) -> None:
        directory.mkdir(parents=True, exist_ok=True)

    def end_epoch(self, epoch: int) -> None:
        self.epochs_ended.append(epoch)

    def state_dict(self) -> dict[str, Any]:
        return {"trained": self.trained, "ended": self.epochs_ended, "evaluations": self.evaluations}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.trained, self.epochs_ended = state["trained"], state["ended"]
        self.evaluations = state["evaluations"]


@pytest.mark.parametrize("eval_every", [0, 1, 2, 3, 4, 5])
def test_every_item_of_every_epoch_is_trained_once_whatever_the_evaluation_schedule(tmp_path, eval_every):
    toy = Toy()
    summary = run(toy, Schedule(epochs=3, eval_every=eval_every), tmp_path, progress=False)
    assert toy.trained == [[e, i] for e in range(3) for i in range(4)]
    assert toy.epochs_ended == [0, 1, 2]
    assert summary["epochs_run"] == 3 and summary["steps_run"] == 12 and summary["stopped_by"] == "epochs"
    evaluated_at = [r["step"] for r in summary["history"]]
    expected = list(range(4, 13, 4)) if eval_every == 0 else sorted(
        set(range(eval_every, 13, eval_every)) | {12})
    assert evaluated_at == expected


@pytest.mark.parametrize("eval_every", [0, 2, 3])
def test_a_kill_after_any_checkpoint_resumes_to_the_straight_run(tmp_path, monkeypatch, eval_every):
    schedule = Schedule(epochs=3, eval_every=eval_every, checkpoint_every_s=-1.0)  # a checkpoint every step
    straight = Toy()
    expected = run(straight, schedule, tmp_path / "straight", progress=False)
    real_save = loop.save_checkpoint
    for kill_after in range(1, 13):
        out = tmp_path / f"kill{kill_after}"
        saved = {"n": 0}

        def save_then_die(path, state, kill_after=kill_after, saved=saved):
            real_save(path, state)
            saved["n"] += 1
            if saved["n"] == kill_after:
                raise KeyboardInterrupt

        monkeypatch.setattr(loop, "save_checkpoint", save_then_die)
        with pytest.raises(KeyboardInterrupt):
            run(Toy(), schedule, out, progress=False)
        monkeypatch.setattr(loop, "save_checkpoint", real_save)
        resumed = Toy()
        summary = run(resumed, schedule, out, resume=True, progress=False)
        assert resumed.trained == straight.trained and resumed.epochs_ended == straight.epochs_ended, kill_after
        drop = ("elapsed_s", "eval_s")
        assert [{k: v for k, v in r.items() if k not in drop} for r in summary["history"]] == [
            {k: v for k, v in r.items() if k not in drop} for r in expected["history"]], kill_after


def test_patience_stops_and_a_resumed_stopped_run_stays_stopped(tmp_path):
    toy = Toy(scores=[1.0, 0.5, 0.5, 0.5])
    summary = run(toy, Schedule(epochs=10, patience=2), tmp_path, progress=False)
    assert summary["stopped_by"] == "patience" and summary["epochs_run"] == 3 and summary["best_epoch"] == 1
    again = Toy()
    resumed = run(again, Schedule(epochs=10, patience=2), tmp_path, resume=True, progress=False)
    assert resumed["stopped_by"] == "patience" and again.trained == toy.trained  # no more training
    more = run(Toy(scores=[2.0]), Schedule(epochs=10, patience=3), tmp_path, resume=True, progress=False)
    assert more["epochs_run"] > 3  # a larger patience continues it


def test_steps_mode_counts_steps_and_resumes_with_more(tmp_path):
    toy = Toy(per_epoch=1)
    first = run(toy, Schedule(steps=5, eval_every=2, eval_at_start=True, log_steps=True), tmp_path, progress=False)
    assert [r["step"] for r in first["history"]] == [0, 2, 4, 5]
    assert first["best_epoch"] is None and first["epochs_run"] is None and first["start_dev"] == 0.0
    more = run(Toy(per_epoch=1), Schedule(steps=8, eval_every=2, eval_at_start=True, log_steps=True), tmp_path,
               resume=True, progress=False)
    assert more["steps_run"] == 8
    steps = [json.loads(line)["step"] for line in (tmp_path / loop.STEP_LOG).read_text().splitlines()]
    assert steps == list(range(1, 9))


def test_a_checkpoint_of_another_shape_is_refused(tmp_path):
    from hybrid.train.checkpoint import save_checkpoint

    save_checkpoint(tmp_path / loop.CHECKPOINT, {"loop": {"step": 1}, "trainer": {}})
    with pytest.raises(CheckpointError, match="not a checkpoint of this hybrid's run loop"):
        run(Toy(), Schedule(), tmp_path, resume=True, progress=False)
