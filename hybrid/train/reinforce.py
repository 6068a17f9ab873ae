"""REINFORCE on sequence-level rewards that cannot be differentiated, over the policy protocol.

Each step samples n outputs per input, scores them with the reward, subtracts a baseline
(self-critical: the greedy output's reward; mean: the other samples' mean, leave-one-out;
ema: a running mean) and minimises -(R - b) log p(y|x), plus an entropy bonus, an MLE term
and a KL penalty to the starting model when asked. The run log records reward mean/std,
baseline, entropy (steps.jsonl) and the dev score (train_log.jsonl); the best model by dev score
is saved; runs resume. The steps run on the run loop (hybrid.train.loop).

Under torchrun each step's global batch (batch_size inputs per rank) is drawn the same on every
rank, and each rank samples the rollouts of its share of the inputs with a generator of its own.
Baselines that compare samples of one input (mean, self-critical) stay on the rank that drew
them; the running mean (ema) and the logged figures are over the global batch; the gradients of
the per-sample mean loss are combined so that the update is one process's on the global batch.
The shuffled-reward control shuffles within each rank's share.
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from hybrid.config import ReinforceConfig, save_json
from hybrid.errors import ConfigError
from hybrid.rewards import Reward, load_reward
from hybrid.train import distributed
from hybrid.train.controls import controlled_baseline, controlled_rewards
from hybrid.train.loop import Hooks, Schedule, load_step_log, run
from hybrid.train.protocols import Policy
from hybrid.train.rundir import claims_run_directory
from hybrid.train.world import World, launched

#: a rank's rollouts are seeded apart from the other ranks' (rank 0 keeps one process's seeds)
RANK_SEED_STRIDE = 7_919


def reinforce_loss(log_probs: Tensor, rewards: Tensor, baseline: Tensor) -> Tensor:
    """-(R - b) log p, averaged: its gradient is the REINFORCE estimator mean_i (R_i - b_i) grad log p_i
    (negated); rewards and baseline carry no gradient."""
    return -((rewards - baseline).detach() * log_probs).mean()


def baseline_of(kind: str, rewards: Tensor, n: int, greedy_rewards: Tensor | None = None,
                ema: float | None = None) -> Tensor:
    """(B*n,) baseline for rewards (B*n,) laid out as n consecutive samples per input."""
    if kind == "self-critical":
        if greedy_rewards is None:
            raise ValueError("the self-critical baseline needs the greedy outputs' rewards")
        return greedy_rewards.repeat_interleave(n)
    if kind == "mean":
        if n < 2:
            raise ConfigError("the mean (leave-one-out) baseline needs at least 2 samples per input")
        groups = rewards.view(-1, n)
        return ((groups.sum(1, keepdim=True) - groups) / (n - 1)).reshape(-1)
    if kind == "ema":
        return torch.full_like(rewards, float(rewards.mean()) if ema is None else ema)
    raise ConfigError(f"unknown baseline {kind!r}; expected self-critical, mean or ema")


class ReinforceTrainer(Hooks):
    """REINFORCE steps on the run loop: each step samples its own batch (seeded by the step)."""

    name = "reinforce"
    distributed = True

    def __init__(self, policy: Policy, config: ReinforceConfig, train: list, dev: list, reward: Reward):
        self.policy, self.config, self.train, self.dev, self.reward = policy, config, train, dev, reward
        self.world = launched()
        if len(train) < self.world.size:
            raise ConfigError(f"{len(train)} training inputs cannot be shared by {self.world.size} processes")
        self.device = next(policy.model.parameters()).device
        self.optimizer = torch.optim.Adam(policy.model.parameters(), lr=config.lr)
        self.reference = copy.deepcopy(policy) if config.kl_weight > 0 else None  # the starting model
        self.generator = torch.Generator(device=self.device)  # samples are drawn where the model is
        self.ema: float | None = None

    def shard(self, item: int, world: World) -> int:
        return item  # a step number: every rank draws the same global batch and takes its share in `step`

    def parameters(self) -> list[Tensor]:
        return list(self.policy.model.parameters())

    def step(self, item: int, step: int, epoch: int) -> dict[str, float]:
        config, policy, world = self.config, self.policy, self.world
        rng = random.Random(config.seed * 100_003 + item)  # a step's batch and samples do not depend on resuming
        self.generator.manual_seed(config.seed * 100_003 + item + RANK_SEED_STRIDE * world.rank)
        inputs = rng.sample(self.train, min(config.batch_size * world.size, len(self.train)))[world.rank::world.size]
        started = time.monotonic()
        rollout = policy.sample(inputs, config.samples, config.temperature, self.generator, config.max_length)
        rewards, reward_seconds = self._rewards(rollout.outputs, inputs, config.samples)
        greedy_rewards = None
        if config.baseline == "self-critical":
            greedy_rewards, seconds = self._rewards(policy.greedy(inputs, config.max_length), inputs, 1)
            reward_seconds += seconds
        true_rewards = rewards
        rewards, greedy_rewards = controlled_rewards(config.control, rewards, self.generator, greedy_rewards)
        if config.baseline == "ema" and self.ema is None:  # the first step's running mean: this batch's
            total, count = distributed.sum_floats([float(rewards.sum()), rewards.numel()], world)
            self.ema = total / count
        baseline = baseline_of(config.baseline, rewards, config.samples, greedy_rewards, self.ema)
        logp, entropy = policy.score(rollout)
        shaped = rewards
        if self.reference is not None:
            with torch.no_grad():
                ref_logp, _ = self.reference.score(rollout)
            shaped = rewards - config.kl_weight * (logp.detach() - ref_logp)
        baseline = controlled_baseline(config.control, shaped, baseline)
        loss = reinforce_loss(logp, shaped, baseline) - config.entropy_weight * entropy.mean()
        if config.mle_weight > 0:
            loss = loss + config.mle_weight * policy.mle_loss(inputs)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        n = rewards.numel()
        distributed.average_gradients(policy.model.parameters(), n, world)  # the loss is a mean over samples
        if config.clip_norm > 0:
            torch.nn.utils.clip_grad_norm_(policy.model.parameters(), config.clip_norm)
        self.optimizer.step()
        totals = distributed.sum_floats(  # the global batch's figures (one process: this batch's)
            [n, float(rewards.sum()), float(true_rewards.sum()), float(true_rewards.square().sum()),
             float(baseline.sum()), float(entropy.detach().sum()), float(loss.detach()) * n, reward_seconds], world)
        count, reward_sum, true_sum, true_squares, baseline_sum, entropy_sum, loss_sum, reward_seconds = totals
        mean = reward_sum / count
        self.ema = mean if self.ema is None else config.ema_decay * self.ema + (1 - config.ema_decay) * mean
        true_mean = true_sum / count
        variance = (true_squares - count * true_mean ** 2) / (count - 1) if count > 1 else 0.0
        return {"reward_mean": true_mean / config.reward_scale,  # the real reward, under a control too
                "reward_std": max(variance, 0.0) ** 0.5 / config.reward_scale,
                "baseline_mean": baseline_sum / count / config.reward_scale,
                "entropy": entropy_sum / count,
                "loss": loss_sum / count, "reward_seconds": round(reward_seconds / world.size, 4),
                "step_seconds": round(time.monotonic() - started, 4)}

    def _rewards(self, outputs: list[list[str]], inputs: list, n: int) -> tuple[Tensor, float]:
        """Scaled rewards of `outputs` (n per input) and the seconds the reward took."""
        references = [y for y in self.policy.references(inputs) for _ in range(n)]
        sources = [x for x in self.policy.sources(inputs) for _ in range(n)]
        started = time.monotonic()
        rewards = self.reward(outputs, references, sources) * self.config.reward_scale
        return rewards, time.monotonic() - started

    def evaluate(self) -> dict[str, Any]:
        return self.policy.evaluate(self.dev, beam=self.config.dev_beam, max_length=self.config.max_length)

    def save_best(self, directory: Path, summary: dict[str, Any]) -> None:
        self.policy.save(directory, {**summary, "reward_signature": self.reward.signature})

    def state_dict(self) -> dict[str, Any]:
        state = {"model": self.policy.model.state_dict(), "optimizer": self.optimizer.state_dict(), "ema": self.ema}
        if self.reference is not None:
            state["reference"] = self.reference.model.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.policy.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.ema = state["ema"]
        if self.reference is not None:
            self.reference.model.load_state_dict(state["reference"])

    def finish(self, out: Path, summary: dict[str, Any], log: Callable[[str], None]) -> None:
        steps = load_step_log(out)
        summary["reward_signature"] = self.reward.signature
        spent = sum(h["step_seconds"] for h in steps)
        summary["reward_seconds_share"] = sum(h["reward_seconds"] for h in steps) / max(spent, 1e-9) if steps else None
        _plot(steps, summary["history"], out / "curves.png", log)


@claims_run_directory
def reinforce(policy: Policy, config: ReinforceConfig, train: list, dev: list, out_dir: str | Path,
              resume: bool = False, progress: bool = True, log: Callable[[str], None] | None = None,
              reward: Reward | None = None, overwrite: bool = False) -> dict[str, Any]:
    """Fine-tune `policy` (see hybrid.train.policies) on `train`; dev is scored every eval_every steps."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if launched().main:  # the other ranks of a distributed run write nothing
        save_json(config, out / "rl_config.json")
    trainer = ReinforceTrainer(policy, config, train, dev, reward or load_reward(config.reward))
    schedule = Schedule(steps=config.steps, eval_every=config.eval_every, max_minutes=config.max_minutes,
                        seed=config.seed, eval_at_start=True,
                        log_steps=True)
    return run(trainer, schedule, out, resume, progress, log)


def _plot(steps: list[dict[str, Any]], evals: list[dict[str, Any]], path: Path, log: Callable[[str], None]) -> None:
    """Reward, baseline and dev-score curves as PNG (skipped, with a note, without matplotlib)."""
    try:
        from hybrid.plots import plot_curves
    except ImportError:  # pragma: no cover - hybrid.plots itself has no hard dependency
        return
    try:
        plot_curves({"reward (mean of samples)": [(h["step"], h["reward_mean"]) for h in steps],
                     "baseline": [(h["step"], h["baseline_mean"]) for h in steps],
                     "dev": [(e["step"], e["dev"]) for e in evals]}, path, xlabel="step")
    except ConfigError as exc:
        log(f"no curves plot: {exc}")
