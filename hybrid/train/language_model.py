"""Maximum-likelihood training of an unconditional generator (TextLanguageModel) on sentences,
on the run loop: minibatch epochs, the dev log-likelihood per token after each, the best model
saved to OUT/model, a time budget, resumable."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from hybrid.data.pairs import Pair
from hybrid.errors import ConfigError
from hybrid.models.language_model_io import TextLanguageModel
from hybrid.train.loop import Hooks, Schedule, run
from hybrid.train.policies import FixedLengthLMPolicy, LanguageModelPolicy
from hybrid.train.rundir import claims_run_directory


class LanguageModelTrainer(Hooks):
    """Maximum-likelihood (teacher forcing) minibatch epochs of an unconditional generator on the
    run loop, through its policy (words or fixed-length ids); dev score: the policy's `evaluate`
    (log-likelihood per token, or a given quality)."""

    name = "language model"

    def __init__(self, policy: LanguageModelPolicy | FixedLengthLMPolicy, train: list, dev: list, lr: float,
                 batch_size: int, seed: int, clip_norm: float = 5.0):
        self.policy, self.model, self.train, self.dev = policy, policy.model, train, dev
        self.batch_size, self.seed, self.clip_norm = batch_size, seed, clip_norm
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=lr)

    def epoch_items(self, epoch: int) -> list[list[int]]:
        order = list(range(len(self.train)))
        random.Random(self.seed * 1000 + epoch).shuffle(order)
        return [order[i: i + self.batch_size] for i in range(0, len(order), self.batch_size)]

    def step(self, item: list[int], step: int, epoch: int) -> dict[str, float]:
        self.model.train()
        loss = self.model.loss(*self.policy.encode_inputs([self.train[i] for i in item]))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip_norm)
        self.optimizer.step()
        return {"train_nll": loss.item()}

    def evaluate(self) -> dict[str, Any]:
        return self.policy.evaluate(self.dev)

    def save_best(self, directory: Path, summary: dict[str, Any]) -> None:
        self.policy.save(directory, summary)

    def state_dict(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])


@claims_run_directory
def train_language_model(model: TextLanguageModel, train: list[Pair], dev: list[Pair], out_dir: str | Path,
                         progress: bool = True, log: Callable[[str], None] | None = None,
                         resume: bool = False, overwrite: bool = False) -> dict[str, Any]:
    """Train `model` (its config has the schedule) on the `inputs` of `train`; returns the summary."""
    config = model.config
    log = log or (lambda message: None)
    train, skipped_train = _within(train, config.max_length)
    dev, skipped_dev = _within(dev, config.max_length)
    if skipped_train or skipped_dev:  # one 200,000-word line would need tens of GB of logits
        log(f"skipping {skipped_train} training and {skipped_dev} dev sentences longer than max_length "
            f"{config.max_length}")
    if not train or not dev:
        raise ConfigError(f"nothing to train on: {len(train)} training and {len(dev)} dev sentences of at most "
                          f"max_length {config.max_length} tokens")
    trainer = LanguageModelTrainer(LanguageModelPolicy(model), train, dev, config.lr, config.batch_size, config.seed)
    schedule = Schedule(epochs=config.epochs, max_minutes=config.max_minutes, seed=config.seed)
    return run(trainer, schedule, out_dir, resume, progress, log)


def _within(sentences: list[Pair], max_length: int) -> tuple[list[Pair], int]:
    """The sentences of at most `max_length` tokens, and how many were longer."""
    kept = [p for p in sentences if len(p.inputs) <= max_length]
    return kept, len(sentences) - len(kept)

