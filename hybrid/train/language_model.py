"""Maximum-likelihood training of an unconditional generator (TextLanguageModel) on sentences:
minibatch epochs, the dev log-likelihood per token after each, the best model saved to
OUT/model, a time budget."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from hybrid.config import atomic_write_text
from hybrid.data.pairs import Pair
from hybrid.errors import ConfigError
from hybrid.models.language_model_io import TextLanguageModel
from hybrid.train.checkpoint import seed_everything
from hybrid.train.policies import LanguageModelPolicy


def train_language_model(model: TextLanguageModel, train: list[Pair], dev: list[Pair], out_dir: str | Path,
                         progress: bool = True, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Train `model` (its config has the schedule) on the `inputs` of `train`; returns the summary."""
    c = model.config
    for name in ("epochs", "batch_size"):
        if getattr(c, name) < 1:
            raise ConfigError(f"language model config: {name} must be >= 1, got {getattr(c, name)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    log = log or (lambda message: None)
    seed_everything(c.seed)
    rng = random.Random(c.seed)
    policy = LanguageModelPolicy(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=c.lr)
    started, best, history = time.monotonic(), float("-inf"), []
    stopped_by = "epochs"
    for epoch in range(1, c.epochs + 1):
        order = list(range(len(train)))
        rng.shuffle(order)
        model.train()
        total = 0.0
        batches = [order[i: i + c.batch_size] for i in range(0, len(order), c.batch_size)]
        for index in tqdm(batches, desc=f"epoch {epoch}", disable=None if progress else True, leave=False):
            loss = model.loss(*model.encode([train[i].inputs for i in index]))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimizer.step()
            total += loss.item()
        scores = policy.evaluate(dev)
        history.append({"epoch": epoch, "train_nll": total / len(batches), "dev_log_likelihood": scores["score"],
                        "dev_perplexity": scores["perplexity"]})
        improved = scores["score"] > best
        if improved:
            best = scores["score"]
            policy.save(out / "model", {"best_epoch": epoch, "history": history})
        log(f"epoch {epoch}: train NLL {total / len(batches):.3f}, dev perplexity {scores['perplexity']:.2f}"
            f"{'  (best, saved)' if improved else ''}")
        if c.max_minutes is not None and time.monotonic() - started > 60 * c.max_minutes:
            stopped_by = "max_minutes"
            break
    summary = {"best_dev_log_likelihood": best, "epochs_run": len(history), "stopped_by": stopped_by,
               "minutes": round((time.monotonic() - started) / 60, 2), "history": history}
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    return summary
