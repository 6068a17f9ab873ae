"""The adversarial trainer: a policy (seq2seq, tagger, language model) against a discriminator,
on the run loop, with SeqGAN's primitives (hybrid.train.gan).

The policy samples outputs y for inputs x; D judges (x, y) pairs (y alone for unconditional
generators). Each round (one step of the run loop) runs g_steps REINFORCE updates and d_steps
discriminator updates:

- g-step: R = D(x, y) per sequence (rollouts 0), or SeqGAN's per-token Monte Carlo rewards
  (rollouts N, policies that generate left to right). Optionally mixed with a task reward
  (BLEU, span F1, ... through hybrid.rewards): R = (1 - w) D + w reward_scale task. The loss is
  `reinforce_loss` (per sequence: leave-one-out mean baseline with samples >= 2, else the
  batch mean) or `token_policy_loss`; every mle_every g-steps the references' cross-entropy
  is added (teacher forcing keeps the generator near the data).
- d-step: d_samples training inputs, one sample each against their references, plus the
  references with another input's condition (mismatched) as extra negatives.

D is pre-trained for pretrain_d_steps d-steps before the first round. The dev score (BLEU, F1,
log-likelihood, or any policy's `evaluate`) is measured every eval_every rounds; the best
model goes to OUT/model, the last to OUT/last, D to OUT/discriminator. steps.jsonl holds one
record per round (D's accuracy on fresh real and generated pairs before it trains on them, G's
reward), plotted in gan_curves.png (score.png: the dev score); the run loop's checkpoints make
the run resumable.

Under torchrun each g-step's global batch (batch_size inputs per rank) is drawn the same on every
rank; each rank samples (and rolls out) its share with a generator of its own, and the policy
gradients are combined into one update. For a d-step every rank samples its share of the
d_samples inputs; rank 0 trains D on all of them and its D is copied to the other ranks. Per-token
baselines (the batch mean of Q at each position) are over each rank's share.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from hybrid.config import GANConfig, save_json
from hybrid.errors import ConfigError
from hybrid.models.discriminator import Discriminator, save_discriminator
from hybrid.rewards import Reward, load_reward
from hybrid.train import distributed
from hybrid.train.controls import controlled_baseline, controlled_rewards
from hybrid.train.gan import (
    Judge,
    concat,
    fit_discriminator,
    judge_with,
    plot_rounds,
    token_policy_loss,
)
from hybrid.train.loop import Hooks, Schedule, load_step_log, run
from hybrid.train.protocols import AdversarialPolicy, Rollout, is_sequence_policy
from hybrid.train.reinforce import RANK_SEED_STRIDE, baseline_of, reinforce_loss
from hybrid.train.rundir import claims_run_directory
from hybrid.train.world import World, launched


def discriminator_for(policy: AdversarialPolicy, embedding_dim: int = 64, hidden_size: int = 64, cell: str = "gru",
                      dropout: float = 0.2) -> Discriminator:
    """A D over the policy's output and condition ids (no condition: an unconditional D)."""
    outputs, conditions = policy.discriminator_vocab()
    return Discriminator(outputs, conditions, embedding_dim, hidden_size, cell, dropout)


class AdversarialTrainer(Hooks):
    """Rounds of g-steps and d-steps (see the module doc); `judge`, if given, replaces D as the
    generator's reward (a control: e.g. a constant shows what policy gradient does without D)."""

    name = "adversarial"
    unit = "round"
    distributed = True

    def __init__(self, policy: AdversarialPolicy, d: Discriminator, train: list, dev: list, config: GANConfig,
                 task_reward: Reward | None = None, judge: Judge | None = None):
        self.policy, self.d, self.train, self.dev, self.config = policy, d, train, dev, config
        self.task_reward, self.judge = task_reward, judge
        self.world = launched()
        if len(train) < self.world.size:
            raise ConfigError(f"{len(train)} training inputs cannot be shared by {self.world.size} processes")
        self.device = next(policy.model.parameters()).device
        self.g_opt = torch.optim.Adam(policy.model.parameters(), lr=config.g_lr)
        self.d_opt = torch.optim.Adam(d.parameters(), lr=config.d_lr)
        # samples and rollouts: each rank its own
        self.generator = torch.Generator(device=self.device)  # drawn where the model is
        self.generator.manual_seed(config.seed + RANK_SEED_STRIDE * self.world.rank)
        self.rng = random.Random(config.seed)  # which training inputs each step takes: the same on every rank
        self.g_steps_done = 0

    # -- the run loop's hooks ---------------------------------------------------------------
    def begin(self, log: Callable[[str], None]) -> None:
        for step in range(self.config.pretrain_d_steps):
            stats = self._d_step()
            if step == self.config.pretrain_d_steps - 1:
                log(f"discriminator pre-trained: accuracy on fresh pairs real {stats['d_acc_real']:.2f} "
                    f"generated {stats['d_acc_fake']:.2f}")

    def step(self, item: int, step: int, epoch: int) -> dict[str, float]:
        g_records = [self._g_step() for _ in range(self.config.g_steps)]
        d_stats: dict[str, float] = {}
        for _ in range(self.config.d_steps):
            d_stats = self._d_step()
        return {**{k: sum(r[k] for r in g_records) / len(g_records) for k in g_records[0]}, **d_stats}

    def shard(self, item: int, world: World) -> int:
        return item  # a round number: every rank draws the same inputs and takes its share

    def parameters(self) -> list[torch.Tensor]:
        return [*self.policy.model.parameters(), *self.d.parameters()]

    def rank_state(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state()}

    def load_rank_state(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["generator"])

    def evaluate(self) -> dict[str, Any]:
        return self.policy.evaluate(self.dev, beam=self.config.dev_beam, max_length=self.config.max_length)

    def save_best(self, directory: Path, summary: dict[str, Any]) -> None:
        self.policy.save(directory, summary)

    def state_dict(self) -> dict[str, Any]:
        return {"g": self.policy.model.state_dict(), "d": self.d.state_dict(), "g_opt": self.g_opt.state_dict(),
                "d_opt": self.d_opt.state_dict(), "generator": self.generator.get_state(),
                "rng_inputs": self.rng.getstate(), "g_steps_done": self.g_steps_done}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.policy.model.load_state_dict(state["g"])
        self.d.load_state_dict(state["d"])
        self.g_opt.load_state_dict(state["g_opt"])
        self.d_opt.load_state_dict(state["d_opt"])
        self.generator.set_state(state["generator"])
        self.rng.setstate(state["rng_inputs"])
        self.g_steps_done = state["g_steps_done"]

    def finish(self, out: Path, summary: dict[str, Any], log: Callable[[str], None]) -> None:
        self.policy.save(out / "last", summary)
        save_discriminator(self.d, out / "discriminator", summary)
        plot_rounds(load_step_log(out), summary["history"], out, log)

    # -- one generator and one discriminator update ----------------------------------------------
    def _g_step(self) -> dict[str, float]:
        """One policy-gradient update on D's (and the task's) reward; returns the rewards seen."""
        config, policy, world = self.config, self.policy, self.world
        self.g_steps_done += 1
        inputs = self.rng.sample(self.train, min(config.batch_size * world.size, len(self.train)))
        inputs = inputs[world.rank::world.size]
        rollout = policy.sample(inputs, config.samples, 1.0, self.generator, config.max_length)
        fake = policy.judged(rollout)
        self.d.eval()  # D judges without dropout (a fresh or resumed D is in training mode)
        judge = self.judge or judge_with(self.d, fake)
        rows = torch.arange(len(fake), device=fake.tokens.device)
        per_token = None
        if config.rollouts > 0 and is_sequence_policy(policy):  # per-token rewards; the last one is D of the whole
            per_token = policy.rollout_rewards(rollout, judge, config.rollouts, self.generator,
                                               config.max_length)  # (N, L)
            d_score = per_token[rows, fake.mask.sum(1) - 1]
        else:
            with torch.no_grad():
                d_score = judge(fake.tokens, fake.mask, rows).float()  # (N,)
        task = self._task_rewards(rollout, inputs, d_score.device)
        if per_token is not None and is_sequence_policy(policy):
            if task is not None:
                per_token = (1 - config.task_weight) * per_token + config.task_weight * task.unsqueeze(1) * fake.mask
            loss = token_policy_loss(policy.token_log_probs(rollout), per_token, fake.mask, config.baseline)
            weight = float(fake.mask.sum())  # the loss is a mean over tokens
        else:
            rewards = d_score if task is None else (1 - config.task_weight) * d_score + config.task_weight * task
            rewards, _ = controlled_rewards(config.control, rewards, self.generator)
            logp, _ = policy.score(rollout)
            loss = reinforce_loss(logp, rewards, controlled_baseline(config.control, rewards, self._baseline(rewards)))
            weight = float(len(fake))  # the loss is a mean over sequences
        if config.mle_every and self.g_steps_done % config.mle_every == 0:
            loss = loss + policy.mle_loss(inputs)
        self.g_opt.zero_grad(set_to_none=True)
        loss.backward()
        distributed.average_gradients(policy.model.parameters(), weight, world)
        torch.nn.utils.clip_grad_norm_(policy.model.parameters(), config.clip_norm)
        self.g_opt.step()
        count, d_sum, task_sum = distributed.sum_floats(  # over the global batch
            [float(len(fake)), float(d_score.sum()), 0.0 if task is None else float(task.sum())], world)
        record = {"g_reward": d_sum / count}
        if task is not None:
            record["task_reward"] = task_sum / count / config.reward_scale
        return record

    def _task_rewards(self, rollout: Rollout, inputs: list, device: torch.device) -> torch.Tensor | None:
        """(N,) the task reward of each sample, scaled, or None without one."""
        config = self.config
        if self.task_reward is None or config.task_weight == 0:
            return None
        references = [y for y in self.policy.references(inputs) for _ in range(config.samples)]
        sources = [x for x in self.policy.sources(inputs) for _ in range(config.samples)]
        return self.task_reward(rollout.outputs, references, sources).to(device) * config.reward_scale

    def _baseline(self, rewards: torch.Tensor) -> torch.Tensor:
        """Per sequence: none, the other samples of the same input (samples >= 2), or the batch mean."""
        if self.config.baseline == "none":
            return torch.zeros_like(rewards)
        if self.config.samples >= 2:
            return baseline_of("mean", rewards, self.config.samples)
        return rewards.mean().expand_as(rewards)

    def _d_step(self) -> dict[str, float]:
        """d_samples inputs: their references against one fresh sample each (and, for conditional
        policies, mismatched pairs). Each rank samples its share; rank 0 trains D on them all."""
        config, policy, world = self.config, self.policy, self.world
        inputs = self.rng.sample(self.train, min(config.d_samples, len(self.train)))
        size = max(config.batch_size, config.d_batch)
        mine = inputs[world.rank::world.size]
        fakes = [policy.judged(policy.sample(mine[i: i + size], 1, 1.0, self.generator, config.max_length))
                 for i in range(0, len(mine), size)]
        if world.distributed:
            fakes = [part for parts in distributed.gather(fakes, world) for part in parts]
        stats: dict[str, float] = {}
        if world.main:
            real = concat([policy.real(inputs[i: i + size]) for i in range(0, len(inputs), size)])
            stats = fit_discriminator(self.d, self.d_opt, real, concat(fakes), config, self.generator,
                                      negatives=config.mismatched and real.src is not None)
        if world.distributed:  # rank 0's D on every rank
            distributed.broadcast_parameters(self.d.parameters(), world)
            stats = distributed.broadcast(stats, world)
        return stats


@claims_run_directory
def adversarial_finetune(policy: AdversarialPolicy, d: Discriminator, train: list, dev: list, config: GANConfig,
                         out_dir: str | Path, resume: bool = False, progress: bool = True,
                         log: Callable[[str], None] | None = None, task_reward: Reward | None = None,
                         judge: Judge | None = None, overwrite: bool = False) -> dict[str, Any]:
    """Train `policy` against `d` on `train` (inputs with references); see the module doc."""
    if config.rollouts > 0 and not is_sequence_policy(policy):
        raise ConfigError(f"{type(policy).__name__} has no per-token (Monte Carlo rollout) rewards: use rollouts 0 "
                          "(one reward per sequence)")
    if task_reward is None and config.task_reward and config.task_weight > 0:
        task_reward = load_reward(config.task_reward)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if launched().main:  # the other ranks of a distributed run write nothing
        save_json(config, out / "gan_config.json")
    trainer = AdversarialTrainer(policy, d, train, dev, config, task_reward, judge)
    schedule = Schedule(steps=config.rounds, eval_every=config.eval_every, max_minutes=config.max_minutes,
                        seed=config.seed,
                        eval_at_start=True, log_steps=True)
    return run(trainer, schedule, out, resume, progress, log)
