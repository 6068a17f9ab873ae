"""MLE training of seq2seq models on the run loop: teacher forcing with scheduled sampling, Adam,
clipping, early stopping on dev BLEU (sacreBLEU), best-model saving, resumable checkpoints, a budget.

`translate` and `bleu_of` (hybrid.models.evaluation) are the batched generation and scoring
used for dev scoring, `hybrid generate` and benchmarks.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from hybrid.config import Seq2SeqConfig, save_json
from hybrid.data.noise import add_noise
from hybrid.data.pairs import Pair
from hybrid.data.parallel import Seq2SeqVocabs
from hybrid.errors import ConfigError
from hybrid.models.evaluation import bleu_of, translate  # noqa: F401  (re-exported)
from hybrid.models.seq2seq import EncoderDecoder
from hybrid.models.seq2seq_io import build_seq2seq, save_seq2seq
from hybrid.train import distributed
from hybrid.train.checkpoint import seed_everything
from hybrid.train.loop import Hooks, Schedule, run
from hybrid.train.precision import Precision
from hybrid.train.rundir import claims_run_directory
from hybrid.train.world import launched


def scheduled_sampling_rate(config: Seq2SeqConfig, epoch: int) -> float:
    """Probability of feeding the model's own token in `epoch` (0-based): linear ss_start -> ss_end."""
    settings = config.train
    if settings.ss_epochs <= 1:
        return settings.ss_end
    return (settings.ss_start + (settings.ss_end - settings.ss_start) * min(epoch, settings.ss_epochs - 1)
            / (settings.ss_epochs - 1))


def warmup_steps(config: Seq2SeqConfig) -> int:
    """The configured warm-up, or the architecture's default: 1000 steps for the transformer,
    none (a constant learning rate) for the recurrent model."""
    if config.train.warmup_steps is not None:
        return config.train.warmup_steps
    return 1000 if config.model.arch == "transformer" else 0


def inverse_sqrt(step: int, warmup: int) -> float:
    """The learning-rate factor after `step` updates: linear up to 1 at `warmup`, then sqrt(warmup / step)."""
    step = max(step, 1)
    return min(step / warmup, math.sqrt(warmup / step))


class Seq2SeqTrainer(Hooks):
    """MLE training of a Seq2Seq model on the run loop: teacher forcing (with scheduled
    sampling), Adam, clipping; dev BLEU after every epoch. Under torchrun each rank takes its share
    of every global batch (batch_size pairs per rank)."""

    distributed = True

    def __init__(self, config: Seq2SeqConfig, model: EncoderDecoder, train: list[Pair], dev: list[Pair], device: str,
                 skipped: int = 0, amp: str = "off"):
        self.world = distributed.launched()
        self.config, self.train, self.dev = config, train, dev
        self.device, self.skipped = distributed.device_of(device, self.world), skipped
        self.precision = Precision(amp, self.device)
        self.model = model.to(self.device)
        self.optimizer = torch.optim.Adam(model.parameters(), lr=config.train.lr)
        warmup = warmup_steps(config)
        self.schedule = (torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda step: inverse_sqrt(step, warmup))
                         if warmup else None)
        self.generator = torch.Generator(device=self.device)  # scheduled sampling's coin flips
        self.noise = torch.Generator()  # the sources' word dropout and shuffling
        self.epoch = -1
        self.last_scores: dict[str, Any] = {}

    def epoch_items(self, epoch: int) -> list[list[Pair]]:
        return _batches(self.train, self.config.train.batch_size * self.world.size, self.config.train.seed + epoch)

    def step(self, item: list[Pair], step: int, epoch: int) -> dict[str, float]:
        settings = self.config.train
        if epoch != self.epoch:  # each epoch's coin flips start from a seed (a resumed epoch continues its state)
            self.epoch = epoch
            self.generator.manual_seed(settings.seed * 1000 + epoch)
            self.noise.manual_seed(settings.seed * 1000 + epoch + 7_919_000)  # not the coin flips' stream
        self.model.train()
        if settings.word_dropout > 0 or settings.shuffle_window > 0:
            item = [Pair(add_noise(p.inputs, settings.word_dropout, settings.shuffle_window, self.noise), p.labels)
                    for p in item]
        rate = scheduled_sampling_rate(self.config, epoch)
        self.optimizer.zero_grad(set_to_none=True)
        loss, tokens = None, 0.0
        if item:  # a rank's share of a tiny last batch may be empty
            batch = self.model.vocabs.encode(item).to(self.device)
            with self.precision.autocast():
                loss = self.model.loss(batch, feed_own=rate, label_smoothing=settings.label_smoothing,
                                       generator=self.generator)
            self.precision.backward(loss)
            tokens = float(batch.tgt_mask.sum())  # type: ignore[union-attr]  # the loss is a mean over these
        distributed.average_gradients(self.model.parameters(), tokens, self.world)
        self.precision.step(self.optimizer, self.model.parameters(), settings.clip_norm)
        if self.schedule is not None:
            self.schedule.step()
        return {"loss": loss.item() if loss is not None else 0.0, "feed_own": rate,
                "lr": self.optimizer.param_groups[0]["lr"], "weight": tokens}

    def parameters(self) -> list[torch.Tensor]:
        return list(self.model.parameters())

    def evaluate(self) -> dict[str, Any]:
        settings = self.config.train
        scores = bleu_of(self.model, self.dev, beam=settings.dev_beam, max_length=2 * settings.max_length)
        self.last_scores = scores
        return {"metric": "bleu", "score": scores["bleu"], "dev_chrf": scores["chrf"]}

    def save_best(self, directory: Path, summary: dict[str, Any]) -> None:
        summary = {**summary, "bleu_signature": self.last_scores.get("bleu_signature")}
        save_seq2seq(self.model, directory, self.config, summary)

    def finish(self, out: Path, summary: dict[str, Any], log: Callable[[str], None]) -> None:
        summary["skipped_pairs"] = self.skipped  # training pairs longer than max_length

    def state_dict(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "generator": self.generator.get_state(), "noise": self.noise.get_state(), "epoch": self.epoch,
                "schedule": None if self.schedule is None else self.schedule.state_dict(),
                "scaler": self.precision.state_dict()}

    def rank_state(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state(), "noise": self.noise.get_state()}

    def load_rank_state(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["generator"])
        self.noise.set_state(state["noise"])

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        if "noise" in state:  # checkpoints written before source noise existed have none
            self.noise.set_state(state["noise"])
        if self.schedule is not None and state.get("schedule") is not None:
            self.schedule.load_state_dict(state["schedule"])
        self.precision.load_state_dict(state.get("scaler", {}))
        self.epoch = state["epoch"]


@claims_run_directory
def train_seq2seq(config: Seq2SeqConfig, train: list[Pair], dev: list[Pair], out_dir: str | Path,
                  resume: bool = False, progress: bool = True, log: Callable[[str], None] | None = None,
                  device: str = "cpu", overwrite: bool = False, amp: str = "off") -> dict[str, Any]:
    """Train on `train`, early-stop on dev BLEU; the best model lands in out_dir/model. With
    config.train.autoencoder the targets are the sources (the pairs' own targets are ignored);
    `amp` is hybrid.train.precision's mixed precision ("off", "bf16", "fp16")."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    settings = config.train
    log = log or (lambda message: None)
    if settings.autoencoder:
        train, dev = ([Pair(p.inputs, p.inputs, p.source, p.line) for p in pairs] for pairs in (train, dev))
    kept = [p for p in train if len(p.inputs) <= settings.max_length and len(p.labels) <= settings.max_length]
    skipped = len(train) - len(kept)
    if skipped:
        log(f"skipping {skipped} training pairs longer than max_length {settings.max_length}")
    if not kept or not dev:
        raise ConfigError(f"nothing to train on: {len(kept)} training pairs of at most max_length "
                          f"{settings.max_length} tokens, {len(dev)} dev pairs")
    seed_everything(settings.seed)
    vocabs = Seq2SeqVocabs.build(kept, config.model.src_min_freq, config.model.tgt_min_freq)
    model = build_seq2seq(config.model, vocabs).to(device)
    if launched().main:  # the other ranks of a distributed run write nothing
        save_json(config, out / "config.json")
    trainer = Seq2SeqTrainer(config, model, kept, dev, device, skipped, amp)
    schedule = Schedule(epochs=settings.epochs, patience=settings.patience, max_minutes=settings.max_minutes,
                        seed=settings.seed)
    summary = run(trainer, schedule, out, resume, progress, log)
    return summary


def _batches(pairs: list[Pair], batch_size: int, seed: int) -> list[list[Pair]]:
    """Batches of similar source length (little padding), in a seeded random order."""
    rng = random.Random(seed)
    order = sorted(range(len(pairs)), key=lambda i: (len(pairs[i].inputs), rng.random()))
    batches = [[pairs[i] for i in order[s : s + batch_size]] for s in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches
