"""Training sequence classifiers on the run loop: read, split, build, train, keep the best by dev
accuracy. This is what `hybrid classify train` runs; pipelines call `train_classifier`."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from hybrid.config import ClassifierConfig, save_json
from hybrid.data.batching import length_sorted_batches
from hybrid.data.labelled import Labelled, read_labelled
from hybrid.data.lines import nonempty
from hybrid.data.noise import add_noise
from hybrid.encoders import load_word_vectors, vector_words
from hybrid.errors import CheckpointError, ConfigError
from hybrid.metrics import classification_scores
from hybrid.models.classifier import ClassifierVocabs, SequenceClassifier
from hybrid.models.classifier_io import save_classifier
from hybrid.train import distributed
from hybrid.train.loop import Hooks, Schedule, run
from hybrid.train.precision import Precision
from hybrid.train.rundir import claims_run_directory
from hybrid.train.world import launched


def evaluate_classifier(model: SequenceClassifier, examples: list[Labelled], batch_size: int = 256) -> dict[str, Any]:
    """classification_scores of the model's predictions against the examples' labels."""
    predicted = [label for label, _ in model.predict(examples, batch_size)]
    return classification_scores([e.label or "" for e in examples], predicted, model.label_names)


def class_weights(examples: list[Labelled], vocabs: ClassifierVocabs) -> torch.Tensor:
    """(C,) n / (C x count of the class): rare classes weigh more (sklearn's "balanced")."""
    counts = torch.zeros(len(vocabs.labels))
    for e in examples:
        counts[vocabs.labels.index(e.label or "")] += 1
    return len(examples) / (len(counts) * counts.clamp_min(1))


class ClassifierTrainer(Hooks):
    """Adam, clipping, cross-entropy (optionally class-weighted); dev accuracy after each epoch. Under
    torchrun each rank takes its share of every global batch (batch_size examples per rank)."""

    name = "classifier"
    distributed = True

    def __init__(self, model: SequenceClassifier, config: ClassifierConfig, train: list[Labelled],
                 dev: list[Labelled], device: str = "cpu", amp: str = "off"):
        self.world = distributed.launched()
        self.device = distributed.device_of(device, self.world)
        self.precision = Precision(amp, self.device)
        self.model, self.config, self.train, self.dev = model.to(self.device), config, train, dev
        self.optimizer = torch.optim.Adam(model.parameters(), lr=config.train.lr)
        balanced = config.train.class_weights == "balanced"
        self.weights = class_weights(train, model.vocabs).to(self.device) if balanced else None

    def epoch_items(self, epoch: int) -> list[list[Labelled]]:
        settings = self.config.train
        return length_sorted_batches(self.train, settings.batch_size * self.world.size, shuffle=True,
                                     seed=settings.seed + epoch,
                                     length=lambda e: len(e.tokens))

    def step(self, item: list[Labelled], step: int, epoch: int) -> dict[str, float]:
        self.model.train()
        if self.config.train.word_dropout > 0:  # words left out, drawn from the step's own seed (resumes alike)
            generator = torch.Generator().manual_seed(self.config.train.seed * 1_000_003 + step)
            item = [replace(e, tokens=add_noise(e.tokens, self.config.train.word_dropout, 0, generator))
                    for e in item]
        self.optimizer.zero_grad(set_to_none=True)
        loss, share = None, 0.0
        if item:  # a rank's share of a tiny last batch may be empty
            ids, mask, labels = self.model.vocabs.encode(item)
            assert labels is not None  # training examples have labels (the reader requires them)
            labels = labels.to(self.device)
            with self.precision.autocast():
                loss = self.model.loss(ids.to(self.device), mask.to(self.device), labels, self.weights)
            self.precision.backward(loss)
            # what the loss is a mean over: examples, or their class weights (cross-entropy's weighted mean)
            share = float(len(item)) if self.weights is None else float(self.weights[labels].sum())
        distributed.average_gradients(self.model.parameters(), share, self.world)
        self.precision.step(self.optimizer, self.model.parameters(), self.config.train.clip_norm)
        return {"loss": loss.item() if loss is not None else 0.0, "weight": len(item)}

    def parameters(self) -> list[torch.Tensor]:
        return list(self.model.parameters())

    def evaluate(self) -> dict[str, Any]:
        scores = evaluate_classifier(self.model, self.dev)
        return {"metric": "accuracy", "score": scores["accuracy"], "macro_f1": scores["macro_f1"]}

    def save_best(self, directory: Path, summary: dict[str, Any]) -> None:
        save_classifier(self.model, directory, self.config, summary)

    def state_dict(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scaler": self.precision.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if any(k == "query" or k.startswith("attention_in.") for k in state["model"]):
            # the optimizer's moments follow the parameters' order, which has changed since
            raise CheckpointError("this checkpoint was written by an earlier hybrid whose classifier kept its "
                                  "attention pooling elsewhere; it cannot be resumed: start over (--overwrite)")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.precision.load_state_dict(state.get("scaler", {}))


def build_classifier(config: ClassifierConfig, train: list[Labelled]) -> SequenceClassifier:
    """A fresh classifier with vocabularies counted on `train` (and pretrained vectors if named)."""
    m = config.model
    vocabs = ClassifierVocabs.build(train, m.min_word_freq, m.lowercase)
    if m.embeddings and m.embeddings_vocab:
        vocabs = vocabs.with_words(vector_words(m.embeddings, m.embeddings_vocab))
    model = SequenceClassifier(m, vocabs)
    if m.embeddings:
        vectors, _found = load_word_vectors(m.embeddings, model.vocabs.words.tokens)
        if vectors.shape[1] != m.word_dim:
            raise ConfigError(f"{m.embeddings}: vectors have {vectors.shape[1]} dimensions, but word_dim is "
                              f"{m.word_dim}")
        model.embedding.set_table(vectors)
    return model


@claims_run_directory
def train_classifier(config: ClassifierConfig, train_path: str | Path, out_dir: str | Path,
                     dev_path: str | Path | None = None, resume: bool = False, progress: bool = True,
                     log: Callable[[str], None] | None = None, device: str = "cpu",
                     overwrite: bool = False, amp: str = "off") -> dict[str, Any]:
    """Train a classifier on `train_path` (label<TAB>text, or TSV with a header); the best model by
    dev accuracy lands in out_dir/model. Without `dev_path` a seeded dev_fraction of train is held out;
    `amp` is hybrid.train.precision's mixed precision ("off", "bf16", "fp16")."""
    train = nonempty(list(read_labelled(train_path)), train_path, "labelled sentences")
    if dev_path is not None:
        dev = nonempty(list(read_labelled(dev_path)), dev_path, "labelled sentences")
    else:
        order = list(range(len(train)))
        random.Random(config.train.seed).shuffle(order)
        n_dev = max(1, round(config.train.dev_fraction * len(train)))
        if n_dev >= len(train):
            raise ConfigError(f"too few examples ({len(train)}) to hold out a dev set: give a dev file")
        held = set(order[:n_dev])
        dev, train = [e for i, e in enumerate(train) if i in held], [e for i, e in enumerate(train) if i not in held]
    torch.manual_seed(config.train.seed)
    model = build_classifier(config, train)
    unknown = sorted({e.label for e in dev if e.label is not None} - set(model.label_names))
    if unknown:
        raise ConfigError(f"dev labels {unknown} never occur in the training data")
    if launched().main:  # the other ranks of a distributed run write nothing
        save_json(config, Path(out_dir) / "config.json")
    trainer = ClassifierTrainer(model, config, train, dev, device, amp)
    settings = config.train
    schedule = Schedule(epochs=settings.epochs, patience=settings.patience, max_minutes=settings.max_minutes,
                        seed=settings.seed)
    summary = run(trainer, schedule, out_dir, resume, progress, log)
    summary.update(train_examples=len(train), dev_examples=len(dev), dev_source=str(dev_path or "held-out"))
    return summary
