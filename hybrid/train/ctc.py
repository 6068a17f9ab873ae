"""Training the CTC model (`layer: ctc`) on (input, label sequence) pairs with the tagger trainer.

The optimiser and schedule are TaggerTrainer's, the epochs, checkpoints, early stopping and
budget the run loop's (hybrid.train.loop); only the batches, the loss and the dev score
differ. The dev score is HTK's label accuracy, 100 - LER.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from hybrid.config import TaggerConfig
from hybrid.data.batching import length_sorted_batches
from hybrid.data.pairs import CTCVocabs, Pair, read_pairs
from hybrid.errors import ConfigError
from hybrid.metrics import label_error_rate
from hybrid.models.ctc import CTCModel
from hybrid.structured.ctc import min_frames
from hybrid.train.trainer import TaggerTrainer


def read_labelled_pairs(path: str | Path) -> list[Pair]:
    return list(read_pairs(path))


def evaluate_ctc(model: CTCModel, pairs: list[Pair], batch_size: int = 256, beam: int | None = None) -> dict[str, Any]:
    """Decode `pairs` and score them against their labels (see hybrid.metrics.label_error_rate)."""
    was_training = model.training
    model.eval()
    try:
        predicted = model.predict(pairs, batch_size, beam)
    finally:
        model.train(was_training)
    return label_error_rate([p.labels for p in pairs], predicted)


class CTCTrainer(TaggerTrainer):
    """TaggerTrainer over pairs: CTC loss, dev label accuracy."""

    def _metric(self) -> str:
        return "label_accuracy"

    def _batches(self, train: list[Any], batch_size: int, seed: int) -> list[list[Any]]:
        return length_sorted_batches(train, batch_size, shuffle=True, seed=seed, length=lambda p: len(p.inputs))

    @property
    def ctc(self) -> CTCModel:
        if not isinstance(self.model, CTCModel):
            raise TypeError(f"CTCTrainer trains a CTCModel, not a {type(self.model).__name__}")
        return self.model

    def _loss(self, items: list[Any]) -> tuple[torch.Tensor, int]:
        if self.ctc.vocabs is None:
            raise ConfigError("the CTC model has no vocabularies: build it with CTCModel.from_config")
        batch = self.ctc.vocabs.encode(items).to(self.device)
        return self.ctc.loss(batch), len(batch)

    def _evaluate(self, dev: list[Any]) -> dict[str, Any]:
        return evaluate_ctc(self.ctc, dev)


def train_ctc_model(config: TaggerConfig, train: list[Pair], dev: list[Pair], out_dir: Path, resume: bool = False,
                    progress: bool = True, log: Callable[[str], None] | None = None,
                    device: str = "cpu", amp: str = "off") -> dict[str, Any]:
    """Build the CTC model from `config` and vocabularies counted on `train`, and train it."""
    if config.data.feature_columns:
        raise ConfigError("the CTC model reads the input tokens only: drop the feature columns")
    vocabs = CTCVocabs.build(train, config.data.min_word_freq)
    impossible = [p for p in train if len(p.inputs) < min_frames(vocabs.labels.encode(p.labels))]
    if impossible and log is not None:
        p = impossible[0]
        log(f"{len(impossible)} training pairs have fewer input tokens than their labels need "
            f"(e.g. {p.source}:{p.line}); they add no loss")
    torch.manual_seed(config.train.seed)
    model = CTCModel.from_config(config.model, vocabs)
    summary = CTCTrainer(model, config, out_dir, progress=progress, log=log, device=device,
                         amp=amp).fit(train, dev, resume)
    summary["impossible_pairs"] = len(impossible)
    return summary
