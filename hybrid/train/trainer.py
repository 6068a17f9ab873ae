"""Supervised tagger training on the run loop (hybrid.train.loop): Adam/SGD, clipping, LR decay.

The loop saves the best model (by dev score) to `out/model` after every improvement and
`out/checkpoint.pt` after each epoch and every few minutes inside one, so a killed run resumes
where it stopped (same batches, same RNG state).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from hybrid.config import TaggerConfig, atomic_write_text
from hybrid.data.batching import length_sorted_batches
from hybrid.data.sentence import Sentence
from hybrid.models.ctc import CTCModel
from hybrid.models.evaluation import dev_metric, evaluate  # noqa: F401  (re-exported)
from hybrid.models.io import load_tagger, save_tagger
from hybrid.models.tagger import Tagger
from hybrid.train import distributed
from hybrid.train.hmm_scales import tune_hmm_scales
from hybrid.train.loop import Hooks, Schedule, run
from hybrid.train.precision import Precision

CHECKPOINT_EVERY_S = 300.0


class TaggerTrainer(Hooks):
    """Trains a Tagger on sentences with gold tags on the run loop, early-stopping on a dev set:
    Adam or SGD, gradient clipping, 1 / (1 + lr_decay * epoch) learning-rate decay. Under torchrun
    each rank takes its share of every global batch (batch_size sentences per rank)."""

    distributed = True

    def __init__(
        self, tagger: Tagger | CTCModel, config: TaggerConfig, out_dir: str | Path, progress: bool = True,
        log: Callable[[str], None] | None = None, device: str = "cpu", amp: str = "off",
    ):
        self.world = distributed.launched()
        self.device = distributed.device_of(device, self.world)
        self.precision = Precision(amp, self.device)
        self.model: Tagger | CTCModel = tagger.to(self.device)  # a CTCModel for CTCTrainer
        self.config = config
        self.out_dir = Path(out_dir)
        self.progress = progress
        self.log = log or (lambda message: tqdm.write(message))
        settings = config.train
        params = [p for p in tagger.parameters() if p.requires_grad]
        if settings.optimizer == "adam":
            self.optimizer: torch.optim.Optimizer = torch.optim.Adam(params, lr=settings.lr,
                                                                     weight_decay=settings.weight_decay)
        else:
            self.optimizer = torch.optim.SGD(params, lr=settings.lr, momentum=settings.momentum,
                                             weight_decay=settings.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda epoch: 1.0 / (1.0 + settings.lr_decay * epoch)
        )
        self.metric = self._metric()
        self.train_items: list[Any] = []
        self.dev_items: list[Any] = []

    @property
    def tagger(self) -> Tagger:
        """The model as a Tagger (CTCTrainer trains a CTCModel and overrides every hook that uses this)."""
        if not isinstance(self.model, Tagger):
            raise TypeError(f"{type(self).__name__} trains a Tagger, not a {type(self.model).__name__}")
        return self.model

    # the hooks a trainer of another model kind overrides (see hybrid.train.ctc)
    def _metric(self) -> str:
        return dev_metric(self.config, self.tagger.tag_names)

    def _batches(self, train: list[Any], batch_size: int, seed: int) -> list[list[Any]]:
        return length_sorted_batches(train, batch_size, shuffle=True, seed=seed)

    def _loss(self, items: list[Any]) -> tuple[torch.Tensor, int]:
        """Mean loss of a batch of training items, and the batch size."""
        batch = self.tagger.vocabs.encode(items, with_tags=True).to(self.device)
        return self.tagger.loss(batch), len(batch)

    def _evaluate(self, dev: list[Any]) -> dict[str, Any]:
        return evaluate(self.tagger, dev)

    # -- the run loop's hooks ---------------------------------------------------------------
    def epoch_items(self, epoch: int) -> list[list[Any]]:
        global_batch = self.config.train.batch_size * self.world.size
        return self._batches(self.train_items, global_batch, seed=self.config.train.seed + epoch)

    def step(self, item: list[Any], step: int, epoch: int) -> dict[str, float]:
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        loss, size = None, 0
        if item:  # a rank's share of a tiny last batch may be empty
            with self.precision.autocast():
                loss, size = self._loss(item)
            self.precision.backward(loss)
        distributed.average_gradients(self.model.parameters(), size, self.world)
        self.precision.step(self.optimizer, self.model.parameters(), self.config.train.clip_norm)
        return {"loss": loss.item() if loss is not None else 0.0, "lr": self.optimizer.param_groups[0]["lr"],
                "weight": size}

    def evaluate(self) -> dict[str, Any]:
        scores = self._evaluate(self.dev_items)
        return {"metric": self.metric, "score": scores[self.metric]}

    def parameters(self) -> list[torch.Tensor]:
        return list(self.model.parameters())

    def save_best(self, directory: Path, summary: dict[str, Any]) -> None:
        save_tagger(self.model, directory, self.config, summary)

    def end_epoch(self, epoch: int) -> None:
        self.scheduler.step()

    def state_dict(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "scaler": self.precision.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.precision.load_state_dict(state.get("scaler", {}))

    def finish(self, out: Path, summary: dict[str, Any], log: Callable[[str], None]) -> None:
        if self.config.model.layer == "hmm" and self.config.model.hmm_tune_scales:
            self._tune_hmm_scales(self.dev_items, summary)

    def fit(self, train: list[Any], dev: list[Any], resume: bool = False) -> dict[str, Any]:
        """Train until `epochs`, `patience` or `max_minutes` runs out; returns the summary."""
        settings = self.config.train
        self.train_items, self.dev_items = train, dev
        schedule = Schedule(epochs=settings.epochs, patience=settings.patience, max_minutes=settings.max_minutes,
                            seed=settings.seed,
                            checkpoint_every_s=CHECKPOINT_EVERY_S)
        return run(self, schedule, self.out_dir, resume, self.progress, self.log)

    def _tune_hmm_scales(self, dev: list[Sentence], summary: dict[str, Any]) -> None:
        """Choose the hybrid's prior and transition scales on dev for the best model and save
        them in its config; the summary's best_dev becomes the tuned model's dev score."""
        model_dir = self.out_dir / "model"
        if not model_dir.is_dir():
            return
        best = load_tagger(model_dir).to(self.device)
        choice = tune_hmm_scales(best, dev, self.metric)  # type: ignore[arg-type]
        model = dataclasses.replace(self.config.model, hmm_prior_scale=choice["prior_scale"],
                                    hmm_transition_scale=choice["transition_scale"])
        self.config = dataclasses.replace(self.config, model=model)
        atomic_write_text(self.out_dir / "hmm_scales.json", json.dumps(choice, indent=2) + "\n")  # the whole grid
        summary.update(dev_before_scales=summary["best_dev"], best_dev=choice["dev"],
                       hmm_scales={k: v for k, v in choice.items() if k != "grid"})
        save_tagger(best, model_dir, self.config, summary)
        self.log(f"hmm scales chosen on dev: prior {choice['prior_scale']}, transitions "
                 f"{choice['transition_scale']} -> dev {self.metric} {choice['dev']:.2f}")
