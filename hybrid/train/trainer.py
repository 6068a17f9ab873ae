"""Supervised tagger training: Adam/SGD, clipping, LR decay, early stopping, budget, resume.

The best model (by dev score) is saved to `out/` after every improvement; `out/checkpoint.pt`
is written atomically at the end of each epoch and every few minutes inside one, so a
killed run resumes where it stopped (same batches, same RNG state).
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from hybrid.config import TaggerConfig, atomic_write_text
from hybrid.data.batching import length_sorted_batches
from hybrid.data.sentence import Sentence
from hybrid.metrics import evaluate_tags
from hybrid.models.io import load_tagger, save_tagger
from hybrid.models.tagger import Tagger, predict_tags
from hybrid.structured.constraints import detect_scheme
from hybrid.train.checkpoint import load_checkpoint, save_checkpoint, seed_everything
from hybrid.train.hmm_scales import tune_hmm_scales

CHECKPOINT = "checkpoint.pt"
CHECKPOINT_EVERY_S = 300.0


def dev_metric(config: TaggerConfig, tags: list[str]) -> str:
    """'f1' for chunk tags (BIO/BIOES), 'accuracy' otherwise, unless the config names one."""
    if config.train.metric != "auto":
        return config.train.metric
    return "f1" if detect_scheme(tags) is not None else "accuracy"


def evaluate(tagger: Tagger, sentences: list[Sentence], batch_size: int = 256) -> dict[str, Any]:
    """Tag `sentences` and score them against their gold tags."""
    predicted = [best[0][0] for best in predict_tags(tagger, sentences, batch_size)]
    # The model's tag set decides whether span F1 applies, not the few tags these sentences use.
    return evaluate_tags([s.tags for s in sentences], predicted, tagger.tag_names)  # type: ignore[misc]


class TaggerTrainer:
    """Trains a Tagger on sentences with gold tags, early-stopping on a dev set."""

    def __init__(
        self, tagger: Tagger, config: TaggerConfig, out_dir: str | Path, progress: bool = True,
        log: Callable[[str], None] | None = None, device: str = "cpu",
    ):
        self.device = torch.device(device)
        self.model = tagger.to(self.device)  # a Tagger, or any model the hooks below handle
        self.config = config
        self.out_dir = Path(out_dir)
        self.progress = progress
        self.log = log or (lambda message: tqdm.write(message))
        t = config.train
        params = [p for p in tagger.parameters() if p.requires_grad]
        if t.optimizer == "adam":
            self.optimizer: torch.optim.Optimizer = torch.optim.Adam(params, lr=t.lr, weight_decay=t.weight_decay)
        else:
            self.optimizer = torch.optim.SGD(params, lr=t.lr, momentum=t.momentum, weight_decay=t.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda epoch: 1.0 / (1.0 + t.lr_decay * epoch)
        )
        self.metric = self._metric()
        self.state: dict[str, Any] = {
            "epoch": 0, "batch": 0, "best": -math.inf, "best_epoch": 0, "bad_epochs": 0,
            "elapsed": 0.0, "history": [],
        }

    # the hooks a trainer of another model kind overrides (see hybrid.train.ctc)
    def _metric(self) -> str:
        return dev_metric(self.config, self.model.tag_names)

    def _batches(self, train: list[Any], batch_size: int, seed: int) -> list[list[Any]]:
        return length_sorted_batches(train, batch_size, shuffle=True, seed=seed)

    def _loss(self, items: list[Any]) -> tuple[torch.Tensor, int]:
        """Mean loss of a batch of training items, and the batch size."""
        batch = self.model.vocabs.encode(items, with_tags=True).to(self.device)
        return self.model.loss(batch), len(batch)

    def _evaluate(self, dev: list[Any]) -> dict[str, Any]:
        return evaluate(self.model, dev)

    def _save_checkpoint(self) -> None:
        save_checkpoint(self.out_dir / CHECKPOINT, {
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(), "trainer": self.state,
        })

    def _resume(self) -> bool:
        path = self.out_dir / CHECKPOINT
        if not path.is_file():
            return False
        ckpt = load_checkpoint(path, self.device)
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.scheduler.load_state_dict(ckpt["scheduler"])
        self.state = ckpt["trainer"]
        self.log(f"resumed from {path} at epoch {self.state['epoch'] + 1}, batch {self.state['batch']}")
        return True

    def fit(self, train: list[Sentence], dev: list[Sentence], resume: bool = False) -> dict[str, Any]:
        """Train until `epochs`, `patience` or `max_minutes` runs out; returns the summary."""
        t = self.config.train
        if not (resume and self._resume()):
            seed_everything(t.seed)
            (self.out_dir / "train_log.jsonl").unlink(missing_ok=True)  # a fresh run, a fresh log
        st = self.state
        budget = None if t.max_minutes is None else 60.0 * t.max_minutes
        started = time.monotonic() - st["elapsed"]
        last_ckpt = time.monotonic()
        stop_reason = "epochs"
        while st["epoch"] < t.epochs:
            epoch = st["epoch"]
            batches = self._batches(train, t.batch_size, seed=t.seed + epoch)
            self.model.train()
            # running loss of this epoch; kept in the state so a resumed epoch reports all of it
            total, count = (st.get("loss_sum", 0.0), st.get("loss_count", 0)) if st["batch"] else (0.0, 0)
            bar = tqdm(
                batches, desc=f"epoch {epoch + 1}/{t.epochs}", initial=st["batch"],
                total=len(batches), disable=None if self.progress else True, leave=False,  # None: off when not a terminal
            )
            for i in range(st["batch"], len(batches)):
                loss, size = self._loss(batches[i])
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if t.clip_norm > 0:
                    torch.nn.utils.clip_grad_norm_(self.model.parameters(), t.clip_norm)
                self.optimizer.step()
                total += loss.item() * size
                count += size
                st["batch"], st["loss_sum"], st["loss_count"] = i + 1, total, count
                bar.update(1)
                bar.set_postfix(loss=f"{total / count:.3f}", best=f"{st['best']:.2f}")
                st["elapsed"] = time.monotonic() - started
                if budget is not None and st["elapsed"] > budget:
                    stop_reason = "max_minutes"
                    break
                if time.monotonic() - last_ckpt > CHECKPOINT_EVERY_S:
                    self._save_checkpoint()
                    last_ckpt = time.monotonic()
            bar.close()
            scores = self._evaluate(dev)
            score = scores[self.metric]
            record = {
                "epoch": epoch + 1, "loss": total / max(count, 1), "dev": score, "metric": self.metric,
                "lr": self.optimizer.param_groups[0]["lr"], "elapsed_s": round(st["elapsed"], 1),
            }
            st["history"].append(record)
            improved = score > st["best"]
            if improved:
                st["best"], st["best_epoch"], st["bad_epochs"] = score, epoch + 1, 0
                save_tagger(self.model, self.out_dir / "model", self.config, self._summary("running"))
            else:
                st["bad_epochs"] += 1
            self.log(
                f"epoch {epoch + 1}: loss {record['loss']:.4f}  dev {self.metric} {score:.2f}"
                f"{'  (best, saved)' if improved else ''}  [{st['elapsed'] / 60:.1f} min]"
            )
            with open(self.out_dir / "train_log.jsonl", "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")
            self.scheduler.step()
            st["epoch"], st["batch"] = epoch + 1, 0
            self._save_checkpoint()
            last_ckpt = time.monotonic()
            if stop_reason == "max_minutes":
                break
            if st["bad_epochs"] >= t.patience:
                stop_reason = "patience"
                break
        summary = self._summary(stop_reason)
        if self.config.model.layer == "hmm" and self.config.model.hmm_tune_scales:
            self._tune_hmm_scales(dev, summary)
        text = json.dumps(summary, indent=2) + "\n"
        atomic_write_text(self.out_dir / "summary.json", text)
        if (self.out_dir / "model").is_dir():  # the best model's figures, now with how the run ended
            atomic_write_text(self.out_dir / "model" / "training.json", text)
        return summary

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
        save_tagger(best, model_dir, self.config, summary)  # type: ignore[arg-type]
        self.log(f"hmm scales chosen on dev: prior {choice['prior_scale']}, transitions "
                 f"{choice['transition_scale']} -> dev {self.metric} {choice['dev']:.2f}")

    def _summary(self, stop_reason: str) -> dict[str, Any]:
        st = self.state
        return {
            "metric": self.metric, "best_dev": st["best"], "best_epoch": st["best_epoch"],
            "epochs_run": len(st["history"]), "train_minutes": round(st["elapsed"] / 60, 2),
            "stopped_by": stop_reason, "history": st["history"],
        }
