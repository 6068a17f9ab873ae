"""Adversarial fine-tuning of a policy (seq2seq, tagger, unconditional LM) against a discriminator.

The conditional GAN of hybrid.train.gan over the policy protocol (hybrid.train.policies): the
policy samples outputs y for inputs x; D judges (x, y) pairs. Each round runs g_steps
REINFORCE updates and d_steps discriminator updates:

- g-step: R = D(x, y) per sequence (rollouts 0), or SeqGAN's per-token Monte Carlo rewards
  (rollouts N, policies that generate left to right). Optionally mixed with a task reward
  (BLEU, span F1, ... through hybrid.rewards): R = (1 - w) D + w reward_scale task. The loss is
  `reinforce_loss` (per sequence: leave-one-out mean baseline with samples >= 2, else the
  batch mean) or `token_policy_loss`; every mle_every g-steps the references' cross-entropy
  is added (teacher forcing keeps the generator near the data).
- d-step: d_samples training inputs, one sample each against their references, plus the
  references with another input's condition (mismatched) as extra negatives.

The dev score (BLEU, F1) is measured every eval_every rounds; the best model goes to OUT/model,
the last to OUT/last, D to OUT/discriminator. gan_log.jsonl holds one record per round (D's
accuracy on fresh real and generated pairs before it trains on them, G's reward), plotted in
gan_curves.png (score.png: the dev score); the checkpoint at each evaluation makes the run resumable.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from hybrid.config import GANConfig, atomic_write_text, save_json
from hybrid.errors import ConfigError
from hybrid.models.discriminator import Discriminator, save_discriminator
from hybrid.rewards import Reward, load_reward
from hybrid.train.checkpoint import seed_everything
from hybrid.train.gan import (
    CHECKPOINT,
    check_config,
    concat,
    fit_discriminator,
    judge_with,
    plot_rounds,
    resume_gan,
    save_gan_checkpoint,
    token_policy_loss,
)
from hybrid.train.reinforce import baseline_of, reinforce_loss


def discriminator_for(policy: Any, embedding_dim: int = 64, hidden_size: int = 64, cell: str = "gru",
                      dropout: float = 0.2) -> Discriminator:
    """A conditional D over the policy's output and condition ids."""
    outputs, conditions = policy.discriminator_vocab()
    return Discriminator(outputs, conditions, embedding_dim, hidden_size, cell, dropout)


def adversarial_finetune(policy: Any, d: Discriminator, train: list, dev: list, config: GANConfig,
                         out_dir: str | Path, resume: bool = False, progress: bool = True,
                         log: Callable[[str], None] | None = None, task_reward: Reward | None = None) -> dict[str, Any]:
    """Fine-tune `policy` against `d` on `train` (inputs with references); see the module doc."""
    c = config
    _check_policy(policy, c)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    log = log or (lambda message: None)
    if task_reward is None and c.task_reward and c.task_weight > 0:
        task_reward = load_reward(c.task_reward)
    save_json(c, out / "gan_config.json")
    model = policy.model
    g_opt = torch.optim.Adam(model.parameters(), lr=c.g_lr)
    d_opt = torch.optim.Adam(d.parameters(), lr=c.d_lr)
    generator = torch.Generator().manual_seed(c.seed)
    rng = random.Random(c.seed)
    st: dict[str, Any] = {"round": 0, "elapsed": 0.0, "history": [], "evals": [], "best": float("-inf"),
                          "best_round": 0}
    if resume and (out / CHECKPOINT).is_file():
        ckpt = resume_gan(out, model, d, g_opt, d_opt, generator, log)
        rng.setstate(ckpt["rng_inputs"])
        st = ckpt["state"]
    else:
        seed_everything(c.seed)
        (out / "gan_log.jsonl").unlink(missing_ok=True)
        for step in range(c.pretrain_d_steps):
            stats = _d_step(policy, d, d_opt, train, c, rng, generator)
            if step == c.pretrain_d_steps - 1:
                log(f"discriminator pre-trained: accuracy on fresh pairs real {stats['d_acc_real']:.2f} "
                    f"generated {stats['d_acc_fake']:.2f}")
        _evaluate(policy, dev, c, st, out, log)  # the starting model: round 0
    started = time.monotonic() - st["elapsed"]
    bar = tqdm(total=c.rounds, initial=st["round"], desc="adversarial", disable=None if progress else True, leave=False)
    while st["round"] < c.rounds:
        g_records = [_g_step(policy, d, g_opt, train, c, rng, generator, task_reward,
                             st["round"] * c.g_steps + i + 1) for i in range(c.g_steps)]
        d_stats: dict[str, float] = {}
        for _ in range(c.d_steps):
            d_stats = _d_step(policy, d, d_opt, train, c, rng, generator)
        st["round"] += 1
        st["elapsed"] = time.monotonic() - started
        record = {"round": st["round"], **{k: sum(r[k] for r in g_records) / len(g_records) for k in g_records[0]},
                  **d_stats, "elapsed_s": round(st["elapsed"], 1)}
        st["history"].append(record)
        with open(out / "gan_log.jsonl", "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        bar.update(1)
        bar.set_postfix(reward=f"{record['g_reward']:.2f}", d_real=f"{record['d_acc_real']:.2f}",
                        d_fake=f"{record['d_acc_fake']:.2f}")
        budget_spent = c.max_minutes is not None and st["elapsed"] > 60 * c.max_minutes
        if st["round"] % c.eval_every == 0 or st["round"] == c.rounds or budget_spent:
            _evaluate(policy, dev, c, st, out, log)
            save_gan_checkpoint(out, model, d, g_opt, d_opt, generator, st, rng_inputs=rng.getstate())
        if budget_spent:
            break
    bar.close()
    policy.save(out / "last", _summary(st))
    save_discriminator(d, out / "discriminator", _summary(st))
    summary = _summary(st)
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    plot_rounds(st["history"], st["evals"], out, "score", log)
    return summary


def _check_policy(policy: Any, c: GANConfig) -> None:
    check_config(c)
    if c.samples < 1:
        raise ConfigError(f"GAN config: samples must be >= 1, got {c.samples}")
    if not 0.0 <= c.task_weight <= 1.0:
        raise ConfigError(f"GAN config: task_weight must be in [0, 1], got {c.task_weight}")
    if c.task_weight > 0 and not c.task_reward:
        raise ConfigError("GAN config: task_weight > 0 needs a task_reward (e.g. bleu, span-f1)")
    if c.rollouts > 0 and not hasattr(policy, "rollout_rewards"):
        raise ConfigError(f"{type(policy).__name__} has no per-token (Monte Carlo rollout) rewards: use rollouts 0 "
                          "(one reward per sequence)")


def _g_step(policy: Any, d: Discriminator, optimizer: torch.optim.Optimizer, train: list, c: GANConfig,
            rng: random.Random, generator: torch.Generator, task_reward: Reward | None, step: int) -> dict[str, float]:
    """One policy-gradient update on D's (and the task's) reward; returns the rewards seen."""
    inputs = rng.sample(train, min(c.batch_size, len(train)))
    rollout = policy.sample(inputs, c.samples, 1.0, generator, c.max_length)
    fake = policy.judged(rollout)
    judge = judge_with(d, fake)
    rows = torch.arange(len(fake), device=fake.tokens.device)
    q = None
    if c.rollouts > 0:  # per-token rewards; the last real token's is D of the whole output
        q = policy.rollout_rewards(rollout, judge, c.rollouts, generator, c.max_length)  # (N, L)
        d_score = q[rows, fake.mask.sum(1) - 1]
    else:
        with torch.no_grad():
            d_score = judge(fake.tokens, fake.mask, rows).float()  # (N,)
    record = {"g_reward": float(d_score.mean())}
    task = None
    if task_reward is not None and c.task_weight > 0:
        references = [y for y in policy.references(inputs) for _ in range(c.samples)]
        sources = [x for x in policy.sources(inputs) for _ in range(c.samples)]
        task = task_reward(rollout.outputs, references, sources).to(d_score.device) * c.reward_scale  # (N,)
        record["task_reward"] = float(task.mean()) / c.reward_scale
    if q is not None:
        if task is not None:
            q = (1 - c.task_weight) * q + c.task_weight * task.unsqueeze(1) * fake.mask
        loss = token_policy_loss(policy.token_log_probs(rollout), q, fake.mask, c.baseline)
    else:
        r = d_score if task is None else (1 - c.task_weight) * d_score + c.task_weight * task
        if c.baseline == "none":
            b = torch.zeros_like(r)
        elif c.samples >= 2:
            b = baseline_of("mean", r, c.samples)  # the other samples of the same input
        else:
            b = r.mean().expand_as(r)
        logp, _ = policy.score(rollout)
        loss = reinforce_loss(logp, r, b)
    if c.mle_every and step % c.mle_every == 0:
        loss = loss + policy.mle_loss(inputs)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(policy.model.parameters(), c.clip_norm)
    optimizer.step()
    return record


def _d_step(policy: Any, d: Discriminator, optimizer: torch.optim.Optimizer, train: list, c: GANConfig,
            rng: random.Random, generator: torch.Generator) -> dict[str, float]:
    """d_samples inputs: their references against one fresh sample each (and, for conditional
    policies, mismatched pairs)."""
    inputs = rng.sample(train, min(c.d_samples, len(train)))
    chunks = [inputs[i: i + c.batch_size] for i in range(0, len(inputs), c.batch_size)]
    fake = concat([policy.judged(policy.sample(chunk, 1, 1.0, generator, c.max_length)) for chunk in chunks])
    real = concat([policy.real(chunk) for chunk in chunks])
    return fit_discriminator(d, optimizer, real, fake, c, generator, negatives=c.mismatched and real.src is not None)


def _evaluate(policy: Any, dev: list, c: GANConfig, st: dict[str, Any], out: Path, log: Callable[[str], None]) -> None:
    scores = policy.evaluate(dev, beam=c.dev_beam, max_length=c.max_length)
    st["evals"].append({"round": st["round"], **scores})
    improved = scores["score"] > st["best"]
    if improved:
        st["best"], st["best_round"] = scores["score"], st["round"]
        policy.save(out / "model", _summary(st))
    log(f"round {st['round']}: dev {scores['metric']} {scores['score']:.2f}{'  (best, saved)' if improved else ''}")


def _summary(st: dict[str, Any]) -> dict[str, Any]:
    return {"best_dev": st["best"], "best_round": st["best_round"],
            "start_dev": st["evals"][0]["score"] if st["evals"] else None, "rounds_run": st["round"],
            "minutes": round(st["elapsed"] / 60, 2), "evals": st["evals"],
            "last": st["history"][-1] if st["history"] else None}
