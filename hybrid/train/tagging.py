"""End-to-end tagger training from files: read, split, build vocabularies and model, train.

This is what `hybrid train` runs; pipelines call `train_tagger` the same way.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from hybrid.config import DataConfig, TaggerConfig, atomic_write_text, save_json
from hybrid.data.batching import TaggerVocabs
from hybrid.data.lines import nonempty
from hybrid.data.readers import read_sentences
from hybrid.data.sentence import Sentence
from hybrid.encoders import load_word_vectors, vector_words
from hybrid.errors import ConfigError
from hybrid.models.hmm_tagger import ClassicHMMTagger
from hybrid.models.io import save_tagger
from hybrid.models.tagger import Tagger
from hybrid.structured import HMMLayer
from hybrid.train.ctc import read_labelled_pairs, train_ctc_model
from hybrid.train.rundir import claims_run_directory
from hybrid.train.trainer import TaggerTrainer, dev_metric, evaluate
from hybrid.train.world import launched


def read_tagged(path: str | Path, data: DataConfig, require_tags: bool = True) -> list[Sentence]:
    """All sentences of a file, read with the word/tag/feature columns of `data`."""
    return list(read_sentences(
        path, data.format, data.word_column, data.tag_column if require_tags else None,
        data.feature_columns, require_tags=require_tags,
    ))


def split_dev(sentences: list[Any], fraction: float, seed: int) -> tuple[list[Any], list[Any]]:
    """Hold out a seeded random `fraction` of the training sentences as a dev set."""
    if not 0.0 < fraction < 1.0:
        raise ConfigError(f"dev fraction must be between 0 and 1, got {fraction}")
    order = list(range(len(sentences)))
    random.Random(seed).shuffle(order)
    n_dev = max(1, round(fraction * len(sentences)))
    dev_idx = set(order[:n_dev])
    train = [s for i, s in enumerate(sentences) if i not in dev_idx]
    dev = [s for i, s in enumerate(sentences) if i in dev_idx]
    if not train:
        raise ConfigError(f"too few sentences ({len(sentences)}) to hold out a dev set: give --dev or more data")
    return train, dev


def build_tagger(config: TaggerConfig, train: list[Sentence]) -> Tagger:
    """A fresh tagger with vocabularies counted on `train` (and pretrained vectors if named)."""
    d = config.data
    vocabs = TaggerVocabs.build(train, d.min_word_freq, d.lowercase_words, d.max_word_length)
    if config.model.embeddings and config.model.embeddings_vocab:
        vocabs = vocabs.with_words(vector_words(config.model.embeddings, config.model.embeddings_vocab))
    tagger = Tagger(config.model, vocabs)
    if isinstance(tagger.layer, HMMLayer):  # the hybrid's transitions and tag prior: training counts
        tagger.layer.fit_counts([vocabs.tags.index(t) for t in s.tags] for s in train if s.tags)
    if config.model.embeddings:
        tokens = [vocabs.words.token(i) for i in range(len(vocabs.words))]
        vectors, _found = load_word_vectors(config.model.embeddings, tokens)
        if vectors.shape[1] != config.model.word_dim:
            raise ValueError(
                f"{config.model.embeddings}: vectors have {vectors.shape[1]} dimensions, "
                f"but word_dim is {config.model.word_dim}"
            )
        tagger.word_embedding.set_table(vectors)
    return tagger


@claims_run_directory
def train_tagger(
    config: TaggerConfig, train_path: str | Path, out_dir: str | Path, dev_path: str | Path | None = None,
    resume: bool = False, progress: bool = True, log: Callable[[str], None] | None = None,
    device: str = "cpu", overwrite: bool = False, amp: str = "off",
) -> dict[str, Any]:
    """Train a tagger on `train_path`; the best model lands in `out_dir/model`. `amp`: mixed
    precision of the training steps ("off", "bf16", "fp16"; see hybrid.train.precision)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ctc = config.model.layer == "ctc"
    if ctc != (config.data.format == "pairs"):
        raise ConfigError(f"the {config.model.layer} layer reads "
                         f"{'pairs (input<TAB>labels)' if ctc else 'tagged CoNLL / CoNLL-U'} data, "
                         f"not format {config.data.format!r}")
    metric = config.train.metric
    if (ctc and metric not in ("auto", "label_accuracy")) or (not ctc and metric == "label_accuracy"):
        raise ConfigError(f"dev metric {metric!r} does not fit the {config.model.layer} layer "
                         f"({'auto or label_accuracy' if ctc else 'auto, f1 or accuracy'})")
    read: Callable[[str | Path], list[Any]] = read_labelled_pairs if ctc else (
        lambda path: read_tagged(path, config.data))
    train = nonempty(read(train_path), train_path)
    if dev_path is not None:
        dev = nonempty(read(dev_path), dev_path)
    else:
        train, dev = split_dev(train, config.train.dev_fraction, config.train.seed)
    world = launched()
    if world.distributed and config.model.layer == "hmm-classic":
        raise ConfigError("the classic HMM is counted in one pass: train it as one process (no --nproc)")
    if world.main:  # the other ranks of a distributed run write nothing
        save_json(config, out_dir / "config.json")
    if ctc:
        summary = train_ctc_model(config, train, dev, out_dir, resume, progress, log, device, amp)
    elif config.model.layer == "hmm-classic":
        summary = fit_classic_hmm(config, train, dev, out_dir, log=log)
    else:
        torch.manual_seed(config.train.seed)
        tagger = build_tagger(config, train)
        trainer = TaggerTrainer(tagger, config, out_dir, progress=progress, log=log, device=device, amp=amp)
        summary = trainer.fit(train, dev, resume=resume)
    summary.update(train_sentences=len(train), dev_sentences=len(dev), dev_source=str(dev_path or "held-out"))
    return summary


def fit_classic_hmm(
    config: TaggerConfig, train: list[Sentence], dev: list[Sentence], out_dir: Path,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Count the classic HMM tagger on `train` (one pass), score it on `dev`, save it to out_dir/model.

    The summary has the neural trainer's keys (one "epoch": the counting pass).
    """
    if config.data.feature_columns:
        raise ValueError("the classic HMM tagger reads words only: drop the feature columns")
    started = time.monotonic()
    tagger = ClassicHMMTagger.fit(config.model, train, lowercase=config.data.lowercase_words)
    elapsed = time.monotonic() - started
    metric = dev_metric(config, tagger.tag_names)
    score = evaluate(tagger, dev)[metric]
    record = {"step": 1, "epoch": 1, "metric": metric, "dev": score, "elapsed_s": round(elapsed, 1)}
    summary = {  # the run loop's summary keys (hybrid.train.loop), for one counting pass
        "metric": metric, "best_dev": score, "best_step": 1, "best_epoch": 1, "start_dev": None, "steps_run": 1,
        "epochs_run": 1, "minutes": round(elapsed / 60, 2), "stopped_by": "counts", "history": [record],
    }
    if log is not None:
        log(f"counted {len(train)} sentences in {elapsed:.1f} s: dev {metric} {score:.2f} (saved)")
    save_tagger(tagger, out_dir / "model", config, summary)
    text = json.dumps(summary, indent=2) + "\n"
    atomic_write_text(out_dir / "summary.json", text)
    (out_dir / "train_log.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    return summary

