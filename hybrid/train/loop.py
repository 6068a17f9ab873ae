"""The one run loop under every trainer: steps grouped in epochs, an evaluation schedule, early
stopping, a time budget, checkpoints that resume mid-epoch, the JSONL logs, the best model and
summary.json.

A trainer is a small set of hooks (`Hooks`): the work items of an epoch (batches, or step
numbers for trainers that sample their own inputs), one step on an item, an evaluation, and
how to save the best model. The loop owns everything else, so every trainer resumes, logs,
stops and reports alike:

    OUT/checkpoint.pt     every evaluation and every `checkpoint_every_s` seconds (tensors and
                          plain values only: loaded with weights_only=True, never unpickling code)
    OUT/train_log.jsonl   one record per evaluation: the step figures averaged since the last one
                          (e.g. loss), the dev score and its extras, elapsed time (and the
                          evaluation's own seconds, eval_s)
    OUT/steps.jsonl       one record per step, for trainers that ask (`Schedule.log_steps`)
    OUT/model             the best model by dev score (saved by the trainer's `save_best`)
    OUT/summary.json      how the run went and ended (also OUT/model/training.json)

A resumed run continues from the checkpoint's step with the same batches and random numbers,
so its result equals an uninterrupted run's.

Started by torchrun (several processes), the loop joins the process group and runs the same
epochs on every rank: each item (a global batch) is split across the ranks by the trainer's
`shard`, the trainer averages gradients (hybrid.train.distributed), rank 0 alone evaluates and
writes files, and its clock and dev scores decide for all, so every rank stops at the same step.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from hybrid.config import atomic_write_text
from hybrid.errors import CheckpointError, ConfigError
from hybrid.train import distributed
from hybrid.train.checkpoint import load_checkpoint, rng_state, save_checkpoint, seed_everything, set_rng_state
from hybrid.train.world import World

CHECKPOINT = "checkpoint.pt"
LOG = "train_log.jsonl"
STEP_LOG = "steps.jsonl"
Log = Callable[[str], None]


@dataclass(frozen=True)
class Schedule:
    """When a run evaluates, checkpoints and stops.

    epochs: passes over the trainer's epoch items.
    steps: instead of epochs, a number of steps whose items are the step numbers 0..steps-1
        (trainers that sample their own inputs each step: REINFORCE, adversarial rounds); a
        resumed run may be given more steps than the first.
    eval_every: steps between evaluations; 0 = at the end of each epoch.
    patience: evaluations without a better dev score before stopping; None = never.
    max_minutes: time budget; when spent the run evaluates, checkpoints and stops.
    eval_at_start: score the starting model (step 0) first, as fine-tuning trainers do.
    log_steps: write one record per step to steps.jsonl (kept in the checkpoint too).
    """

    epochs: int = 1
    steps: int | None = None
    eval_every: int = 0
    patience: int | None = None
    max_minutes: float | None = None
    seed: int = 1
    eval_at_start: bool = False
    log_steps: bool = False
    checkpoint_every_s: float = 300.0

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ConfigError(f"epochs must be >= 1, got {self.epochs}")
        if self.steps is not None and self.steps < 1:
            raise ConfigError(f"steps must be >= 1, got {self.steps}")
        if self.eval_every < 0:
            raise ConfigError(f"eval_every must be >= 0, got {self.eval_every}")
        if self.patience is not None and self.patience < 1:
            raise ConfigError(f"patience must be >= 1, got {self.patience}")
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise ConfigError(f"max_minutes must be > 0, got {self.max_minutes}")


class Hooks:
    """What a trainer tells the loop. `epoch_items`, `step`, `evaluate` and `save_best` are
    required; the rest have do-nothing defaults."""

    #: shown on the progress bar
    name = "train"
    #: what one step is called in log lines (a GAN's step is a round)
    unit = "step"
    #: whether the trainer runs on several processes: it splits items with `shard` and averages
    #: gradients with hybrid.train.distributed.average_gradients; the loop refuses the others
    distributed = False
    #: where the trainer's tensors live (picks the process group's backend: NCCL for CUDA, else gloo)
    device: str | torch.device = "cpu"

    def epoch_items(self, epoch: int) -> Sequence[Any]:
        """The work of epoch `epoch` (0-based): the same on every call (seeded), so a resumed
        epoch continues where it stopped."""
        raise NotImplementedError

    def step(self, item: Any, step: int, epoch: int) -> dict[str, float]:
        """One update on `item` (`step` counts from 1, `epoch` from 0); returns figures to log. A "weight" entry
        weighs this step's figures in the averages of the evaluation record (default 1)."""
        raise NotImplementedError

    def evaluate(self) -> dict[str, Any]:
        """Dev figures: "metric" (name) and "score" (higher is better), and any extras."""
        raise NotImplementedError

    def save_best(self, directory: Path, summary: dict[str, Any]) -> None:
        """Save the model (just scored best) to `directory`, with the running summary."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """Everything the trainer needs to resume: module, optimiser and generator states, counters
        (tensors and plain values only)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned."""

    def begin(self, log: Log) -> None:
        """Work before the first step of a fresh run (not on resume), e.g. pre-training."""

    def end_epoch(self, epoch: int) -> None:
        """After the last step of epoch `epoch`, e.g. a learning-rate schedule."""

    def finish(self, out: Path, summary: dict[str, Any], log: Log) -> None:
        """After the run (summary is written after this, so it may add keys): plots, last model."""

    def close(self) -> None:
        """Release threads or other resources; called when the run ends, however it ends."""

    def shard(self, item: Any, world: World) -> Any:
        """This rank's part of `item` (a global batch) in a distributed run; may be empty."""
        return item[world.rank::world.size]

    def parameters(self) -> list[torch.Tensor]:
        """The trained tensors: a distributed run starts every rank from rank 0's values."""
        return []

    def rank_state(self) -> dict[str, Any]:
        """State that differs between the ranks of a distributed run (e.g. a generator of one's own),
        checkpointed for each rank; `state_dict` is rank 0's alone."""
        return {}

    def load_rank_state(self, state: dict[str, Any]) -> None:
        """Restore what `rank_state` returned on this rank."""


def load_step_log(out_dir: str | Path) -> list[dict[str, Any]]:
    """The per-step records of a run (steps.jsonl; empty if the trainer logs no steps)."""
    path = Path(out_dir) / STEP_LOG
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def run(hooks: Hooks, schedule: Schedule, out_dir: str | Path, resume: bool = False, progress: bool = True,
        log: Log | None = None) -> dict[str, Any]:
    """Run `hooks` on `schedule` in `out_dir` (resuming from its checkpoint if asked and there);
    returns the summary."""
    joined = False
    try:
        world, joined = distributed.join(hooks.device)
        if world.distributed and not hooks.distributed:
            raise ConfigError(f"{type(hooks).__name__} does not run on several processes yet: run it as one process")
        quiet: Log = lambda message: None  # noqa: E731
        say = (log or quiet) if world.main else quiet
        return _Run(hooks, schedule, Path(out_dir), progress and world.main, say, world).run(resume)
    finally:
        hooks.close()
        if joined:
            distributed.leave()


def _merged(parts: list[tuple[dict[str, float], float]]) -> tuple[dict[str, float], float]:
    """The weighted step-figure sums and total weight of several ranks, added up."""
    sums: dict[str, float] = {}
    for rank_sums, _weight in parts:
        for key, value in rank_sums.items():
            sums[key] = sums.get(key, 0.0) + value
    return sums, sum(weight for _sums, weight in parts)


class _Run:
    """One run: the loop state (plain values: checkpointed as they are) and the loop."""

    def __init__(self, hooks: Hooks, schedule: Schedule, out: Path, progress: bool, log: Log, world: World):
        self.hooks, self.schedule, self.out, self.progress, self.log = hooks, schedule, out, progress, log
        self.world = world
        self.state: dict[str, Any] = {
            "step": 0, "epoch": 0, "position": 0, "elapsed": 0.0, "best": -math.inf, "best_step": 0,
            "best_epoch": 0, "bad_evals": 0, "sums": {}, "weight": 0.0, "history": [], "steps": [],
        }

    # -- the loop -----------------------------------------------------------------------------
    def run(self, resume: bool) -> dict[str, Any]:
        self.out.mkdir(parents=True, exist_ok=True)
        if not (resume and self._resume()):
            seed_everything(self.schedule.seed + self.world.rank)  # ranks draw their own dropout masks
            if self.world.main:
                for name in (LOG, STEP_LOG):
                    (self.out / name).unlink(missing_ok=True)  # a fresh run, fresh logs
            self.hooks.begin(self.log)
            distributed.broadcast_parameters(self.hooks.parameters(), self.world)
            if self.schedule.eval_at_start:
                self._evaluate()
        self.started = time.monotonic() - self.state["elapsed"]
        self.last_checkpoint = time.monotonic()
        stopped_by = self._epochs()
        summary = self.summary(stopped_by)
        if not self.world.main:
            return summary  # rank 0 finishes and writes
        self.hooks.finish(self.out, summary, self.log)
        text = json.dumps(summary, indent=2) + "\n"
        atomic_write_text(self.out / "summary.json", text)
        if (self.out / "model").is_dir():  # the best model's figures, now with how the run ended
            atomic_write_text(self.out / "model" / "training.json", text)
        return summary

    def _epochs(self) -> str:
        """Run epochs (or steps) until one of the schedule's limits; returns which one stopped the run."""
        state, schedule = self.state, self.schedule
        if schedule.patience is not None and state["bad_evals"] >= schedule.patience:
            return "patience"  # a resumed run that had already stopped (a larger patience continues it)
        if self._spent():
            return "max_minutes"  # likewise: a larger --max-minutes continues it
        if schedule.steps is not None:
            state["position"] = state["step"]
            bar = tqdm(total=schedule.steps, initial=state["step"], desc=self.hooks.name, leave=False,
                       disable=None if self.progress else True)
            try:
                stopped_by = self._steps(range(schedule.steps), bar)
            finally:
                bar.close()
            if stopped_by is None and self._unscored():  # steps since the last evaluation: score them too
                self._evaluate_and_checkpoint()
            return stopped_by or "steps"
        while state["epoch"] < schedule.epochs:
            items = self.hooks.epoch_items(state["epoch"])
            desc = f"epoch {state['epoch'] + 1}/{schedule.epochs}" if schedule.epochs > 1 else self.hooks.name
            bar = tqdm(total=len(items), initial=state["position"], desc=desc, leave=False,
                       disable=None if self.progress else True)  # None: off when not a terminal
            try:
                stopped_by = self._steps(items, bar)
            finally:
                bar.close()
            if stopped_by is not None:
                return stopped_by
            self.hooks.end_epoch(state["epoch"])
            state["epoch"], state["position"] = state["epoch"] + 1, 0
            if schedule.eval_every == 0:
                if self._evaluate_and_checkpoint():
                    return "patience"
            else:
                self._checkpoint()
        if self._unscored():  # steps since the last evaluation: score them too
            self._evaluate_and_checkpoint()
        return "epochs"

    def _steps(self, items: Sequence[Any], bar: Any) -> str | None:
        """The rest of one epoch's steps; a reason if the run must stop inside it."""
        state, schedule = self.state, self.schedule
        world = self.world
        for position in range(state["position"], len(items)):
            item = self.hooks.shard(items[position], world) if world.distributed else items[position]
            figures = dict(self.hooks.step(item, state["step"] + 1, state["epoch"]))
            state["step"], state["position"] = state["step"] + 1, position + 1
            state["elapsed"] = time.monotonic() - self.started
            checkpoint_due = time.monotonic() - self.last_checkpoint > schedule.checkpoint_every_s
            if world.distributed:  # rank 0's clock decides for all
                state["elapsed"], due_flag = distributed.broadcast_floats(
                    [state["elapsed"], float(checkpoint_due)], world)
                checkpoint_due = due_flag > 0
            self._add(figures)
            bar.update(1)
            bar.set_postfix(**{k: f"{v:.3f}" for k, v in self._means().items()}, best=f"{state['best']:.2f}")
            spent = self._spent()
            due = schedule.eval_every > 0 and state["step"] % schedule.eval_every == 0
            if spent or due:  # at an epoch's last item, the caller (or a resumed run) ends the epoch
                if self._evaluate_and_checkpoint():
                    return "patience"
                if spent:
                    return "max_minutes"
            elif checkpoint_due:
                self._checkpoint()
        return None

    def _unscored(self) -> bool:
        """Whether steps ran since the last evaluation (the same answer on every rank)."""
        history = self.state["history"]
        return bool(self.state["step"] > (history[-1]["step"] if history else 0))

    def _spent(self) -> bool:
        budget = self.schedule.max_minutes
        return budget is not None and self.state["elapsed"] > 60.0 * budget

    # -- figures, evaluation, checkpoints -----------------------------------------------------------
    def _add(self, figures: dict[str, float]) -> None:
        state = self.state
        weight = float(figures.pop("weight", 1.0))
        for key, value in figures.items():
            state["sums"][key] = state["sums"].get(key, 0.0) + weight * float(value)
        state["weight"] += weight
        if self.schedule.log_steps:
            record = {"step": state["step"], **figures}
            state["steps"].append(record)
            if self.world.main:
                with open(self.out / STEP_LOG, "a", encoding="utf-8") as handle:
                    handle.write(json.dumps(record) + "\n")

    def _means(self) -> dict[str, float]:
        state = self.state
        return {k: v / state["weight"] for k, v in state["sums"].items()} if state["weight"] > 0 else {}

    def _evaluate(self) -> bool:
        """Score dev, log the record, save the model if it is the best; True if patience ran out."""
        state = self.state
        started = time.monotonic()
        if self.world.distributed:  # the step figures of every rank; rank 0 scores dev for all
            state["sums"], state["weight"] = _merged(distributed.gather((state["sums"], state["weight"]), self.world))
            scores = distributed.broadcast(dict(self.hooks.evaluate()) if self.world.main else {}, self.world)
        else:
            scores = dict(self.hooks.evaluate())
        score = float(scores.pop("score"))
        means = self._means()
        record = {"step": state["step"], "epoch": state["epoch"], **means, **scores, "dev": score,
                  "elapsed_s": round(state["elapsed"], 1), "eval_s": round(time.monotonic() - started, 2)}
        state["sums"], state["weight"] = {}, 0.0
        state["history"].append(record)
        improved = score > state["best"]
        if improved:
            state["best"], state["best_step"], state["best_epoch"], state["bad_evals"] = (
                score, state["step"], state["epoch"], 0)
            if self.world.main:
                self.hooks.save_best(self.out / "model", self.summary("running"))
        elif state["step"] > 0:
            state["bad_evals"] += 1
        train = "".join(f"{k} {v:.4f}  " for k, v in means.items() if not k.endswith("seconds"))
        extras = ", ".join(f"{k} {v:.2f}" for k, v in scores.items() if isinstance(v, float))
        where = f"epoch {state['epoch']}" if self.schedule.eval_every == 0 else f"{self.hooks.unit} {state['step']}"
        self.log(f"{where}: {train}dev {scores.get('metric', 'score')} {score:.2f}"
                 f"{f' ({extras})' if extras else ''}{'  (best, saved)' if improved else ''}"
                 f"  [{state['elapsed'] / 60:.1f} min]")
        if self.world.main:
            with open(self.out / LOG, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")
        return self.schedule.patience is not None and state["bad_evals"] >= self.schedule.patience

    def _evaluate_and_checkpoint(self) -> bool:
        stop = self._evaluate()
        self._checkpoint()
        return stop

    def _checkpoint(self) -> None:
        extra: dict[str, Any] = {}
        loop = self.state
        if self.world.distributed:
            # every rank's random numbers and own trainer state, so that each resumes its own; the
            # step figures of all ranks since the last evaluation, merged (rank 0 resumes with them)
            parts = distributed.gather((rng_state(), self.hooks.rank_state(), loop["sums"], loop["weight"]),
                                       self.world)
            sums, weight = _merged([(part[2], part[3]) for part in parts])
            loop = {**loop, "sums": sums, "weight": weight}
            extra = {"ranks": [part[0] for part in parts], "rank_states": [part[1] for part in parts],
                     "world_size": self.world.size}
        if self.world.main:
            save_checkpoint(self.out / CHECKPOINT, {"loop": loop, "trainer": self.hooks.state_dict(), **extra})
        self.last_checkpoint = time.monotonic()

    def _resume(self) -> bool:
        path = self.out / CHECKPOINT
        if not distributed.broadcast(path.is_file(), self.world):  # rank 0's directory decides
            return False
        checkpoint = load_checkpoint(path)
        ranks, rank_states = checkpoint.pop("ranks", None), checkpoint.pop("rank_states", None)
        written_by = int(checkpoint.pop("world_size", 1))
        if written_by != self.world.size:  # a global batch is batch_size x processes: the epoch's batches differ
            raise CheckpointError(f"{path}: written by a run of {written_by} process(es); resume it with the same "
                                  f"number (--nproc {written_by}), not {self.world.size}")
        loop_state, trainer_state = checkpoint.get("loop"), checkpoint.get("trainer")
        if not (isinstance(loop_state, dict) and isinstance(trainer_state, dict)
                and set(loop_state) == set(self.state)):
            raise CheckpointError(f"{path}: not a checkpoint of this hybrid's run loop; start the run afresh "
                                  "(--overwrite)")
        try:
            self.hooks.load_state_dict(trainer_state)
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CheckpointError(f"{path}: does not fit this run (other data, model or settings?): {first}") from None
        self.state = loop_state
        if isinstance(ranks, list) and isinstance(rank_states, list):
            set_rng_state(ranks[self.world.rank])  # this rank's own random numbers and trainer state
            self.hooks.load_rank_state(rank_states[self.world.rank])
        if not self.world.main:
            self.state["sums"], self.state["weight"] = {}, 0.0  # rank 0 holds the merged figures
            return True
        # logs may hold records written after the checkpoint: rewrite them from it
        atomic_write_text(self.out / LOG, "".join(json.dumps(r) + "\n" for r in self.state["history"]))
        if self.schedule.log_steps:
            atomic_write_text(self.out / STEP_LOG, "".join(json.dumps(r) + "\n" for r in self.state["steps"]))
        where = (f"{self.hooks.unit} {self.state['step']}" if self.schedule.steps is not None
                 else f"step {self.state['step']} (epoch {self.state['epoch'] + 1})")
        self.log(f"resumed from {path} after {where}")
        return True

    def summary(self, stopped_by: str) -> dict[str, Any]:
        """How the run went: best dev score and where, steps and epochs run, minutes, what stopped
        it, and the evaluation records."""
        state = self.state
        history = state["history"]
        return {
            "metric": history[-1].get("metric") if history else None, "best_dev": state["best"],
            "best_step": state["best_step"],
            "best_epoch": None if self.schedule.steps is not None else state["best_epoch"],
            "start_dev": history[0]["dev"] if history and self.schedule.eval_at_start else None,
            "steps_run": state["step"],
            "epochs_run": None if self.schedule.steps is not None else state["epoch"] + (state["position"] > 0),
            "minutes": round(state["elapsed"] / 60, 2),
            "stopped_by": stopped_by, "history": history,
        }
