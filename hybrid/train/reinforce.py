"""REINFORCE on sequence-level rewards that cannot be differentiated, over the policy protocol.

Each step samples n outputs per input, scores them with the reward, subtracts a baseline
(self-critical: the greedy output's reward; mean: the other samples' mean, leave-one-out;
ema: a running mean) and minimises -(R - b) log p(y|x), plus an entropy bonus, an MLE term
and a KL penalty to the starting model when asked. The run log records reward mean/std,
baseline, entropy and the dev score; the best model by dev score is saved; runs resume.
"""

from __future__ import annotations

import copy
import json
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from tqdm import tqdm

from hybrid.config import ReinforceConfig, atomic_write_text, save_json
from hybrid.errors import ConfigError
from hybrid.rewards import Reward, load_reward
from hybrid.train.checkpoint import load_checkpoint, save_checkpoint, seed_everything

CHECKPOINT = "checkpoint.pt"


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


def reinforce(policy: Any, config: ReinforceConfig, train: list, dev: list, out_dir: str | Path,
              resume: bool = False, progress: bool = True, log: Callable[[str], None] | None = None,
              reward: Reward | None = None) -> dict[str, Any]:
    """Fine-tune `policy` (see hybrid.train.policies) on `train`; dev is scored every eval_every steps."""
    c = config
    if c.samples < 1 or c.steps < 1 or c.batch_size < 1:
        raise ConfigError("samples, steps and batch_size must be >= 1")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    log = log or (lambda message: None)
    reward = reward or load_reward(c.reward)
    save_json(config, out / "rl_config.json")
    seed_everything(c.seed)
    model = policy.model
    optimizer = torch.optim.Adam(model.parameters(), lr=c.lr)
    reference = copy.deepcopy(policy) if c.kl_weight > 0 else None
    st: dict[str, Any] = {"step": 0, "ema": None, "best": float("-inf"), "best_step": 0, "history": [],
                          "evals": [], "elapsed": 0.0}
    if resume and (out / CHECKPOINT).is_file():
        ckpt = load_checkpoint(out / CHECKPOINT)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        if reference is not None:
            reference.model.load_state_dict(ckpt["reference"])
        st = ckpt["state"]
        log(f"resumed after step {st['step']}")
    else:
        (out / "rl_log.jsonl").unlink(missing_ok=True)
        _evaluate(policy, dev, c, st, out, reward, log)  # the starting model's score: step 0
    generator = torch.Generator()
    rng = random.Random(c.seed)
    started = time.monotonic() - st["elapsed"]
    stop_reason = "steps"
    bar = tqdm(total=c.steps, initial=st["step"], desc="reinforce", disable=None if progress else True, leave=False)
    while st["step"] < c.steps:
        step = st["step"]
        rng.seed(c.seed * 100_003 + step)  # a step's batch and samples do not depend on resuming
        generator.manual_seed(c.seed * 100_003 + step)
        inputs = rng.sample(train, min(c.batch_size, len(train)))
        t0 = time.monotonic()
        rollout = policy.sample(inputs, c.samples, c.temperature, generator, c.max_length)
        references = [x for x in policy.references(inputs) for _ in range(c.samples)]
        sources = [x for x in policy.sources(inputs) for _ in range(c.samples)]
        t1 = time.monotonic()
        rewards = reward(rollout.outputs, references, sources) * c.reward_scale
        reward_seconds = time.monotonic() - t1  # the reward computations alone, not the decoding
        greedy_rewards = None
        if c.baseline == "self-critical":
            greedy = policy.greedy(inputs, c.max_length)
            t2 = time.monotonic()
            greedy_rewards = reward(greedy, policy.references(inputs), policy.sources(inputs)) * c.reward_scale
            reward_seconds += time.monotonic() - t2
        baseline = baseline_of(c.baseline, rewards, c.samples, greedy_rewards, st["ema"])
        shaped = rewards
        logp, entropy = policy.score(rollout)
        if reference is not None:
            with torch.no_grad():
                ref_logp, _ = reference.score(rollout)
            shaped = rewards - c.kl_weight * (logp.detach() - ref_logp)
        loss = reinforce_loss(logp, shaped, baseline) - c.entropy_weight * entropy.mean()
        if c.mle_weight > 0:
            loss = loss + c.mle_weight * policy.mle_loss(inputs)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if c.clip_norm > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), c.clip_norm)
        optimizer.step()
        mean = float(rewards.mean())
        st["ema"] = mean if st["ema"] is None else c.ema_decay * st["ema"] + (1 - c.ema_decay) * mean
        st["step"] = step + 1
        st["elapsed"] = time.monotonic() - started
        record = {"step": step + 1, "reward_mean": mean / c.reward_scale, "reward_std": float(rewards.std()) / c.reward_scale
                  if rewards.numel() > 1 else 0.0, "baseline_mean": float(baseline.mean()) / c.reward_scale,
                  "entropy": float(entropy.detach().mean()), "loss": float(loss.detach()), "reward_seconds": round(reward_seconds, 4),
                  "step_seconds": round(time.monotonic() - t0, 4)}
        st["history"].append(record)
        with open(out / "rl_log.jsonl", "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        bar.update(1)
        bar.set_postfix(reward=f"{record['reward_mean']:.2f}", best=f"{st['best']:.2f}")
        budget_spent = c.max_minutes is not None and st["elapsed"] > 60 * c.max_minutes
        if st["step"] % c.eval_every == 0 or st["step"] == c.steps or budget_spent:
            _evaluate(policy, dev, c, st, out, reward, log)
            state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "state": st}
            if reference is not None:
                state["reference"] = reference.model.state_dict()
            save_checkpoint(out / CHECKPOINT, state)
        if budget_spent:
            stop_reason = "max_minutes"
            break
    bar.close()
    summary = _summary(st, stop_reason, reward)
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    _plot(st, out / "curves.png", log)
    return summary


def _evaluate(policy: Any, dev: list, c: ReinforceConfig, st: dict[str, Any], out: Path, reward: Reward,
              log: Callable[[str], None]) -> None:
    scores = policy.evaluate(dev, beam=c.dev_beam, max_length=c.max_length)
    st["evals"].append({"step": st["step"], **scores})
    improved = scores["score"] > st["best"]
    if improved:
        st["best"], st["best_step"] = scores["score"], st["step"]
        policy.save(out / "model", _summary(st, "running", reward))
    log(f"step {st['step']}: dev {scores['metric']} {scores['score']:.2f}{'  (best, saved)' if improved else ''}")


def _summary(st: dict[str, Any], stop_reason: str, reward: Reward) -> dict[str, Any]:
    history = st["history"]
    return {"best_dev": st["best"], "best_step": st["best_step"], "start_dev": st["evals"][0]["score"] if st["evals"] else None,
            "steps_run": st["step"], "minutes": round(st["elapsed"] / 60, 2), "stopped_by": stop_reason,
            "reward_signature": reward.signature, "evals": st["evals"],
            "reward_seconds_share": (sum(h["reward_seconds"] for h in history) / max(sum(h["step_seconds"] for h in history), 1e-9))
            if history else None}


def _plot(st: dict[str, Any], path: Path, log: Callable[[str], None]) -> None:
    """Reward, baseline and dev-score curves as PNG (skipped, with a note, without matplotlib)."""
    try:
        from hybrid.plots import plot_curves
    except ImportError:  # pragma: no cover - hybrid.plots itself has no hard dependency
        return
    try:
        plot_curves({"reward (mean of samples)": [(h["step"], h["reward_mean"]) for h in st["history"]],
                     "baseline": [(h["step"], h["baseline_mean"]) for h in st["history"]],
                     "dev": [(e["step"], e["score"]) for e in st["evals"]]}, path, xlabel="step")
    except ConfigError as exc:
        log(f"no curves plot: {exc}")
