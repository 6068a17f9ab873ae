"""GloVe training on the run loop: the co-occurrence counts are made once (OUT/cooccurrence,
reused by `--resume`), then each epoch visits every matrix entry once in a seeded random
order, `step_entries` entries a run-loop step, in AdaGrad updates of `batch_size` entries.

OUT/model is a word-vectors model directory (hybrid.embeddings.directory) holding W + W~ of
the last epoch, with vectors.bin beside it (word2vec binary).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from hybrid.config import GloveConfig
from hybrid.embeddings.cooccurrence import Cooccurrences, count_cooccurrences, load_cooccurrences, read_meta
from hybrid.embeddings.corpus import EncodedCorpus, WordCounts
from hybrid.embeddings.directory import save_vectors_directory
from hybrid.embeddings.formats import WordVectors
from hybrid.embeddings.glove import GloVe, both_directions
from hybrid.errors import ConfigError, DataFormatError
from hybrid.train.loop import Hooks, run
from hybrid.train.rundir import claims_run_directory
from hybrid.train.word2vec import read_training_corpus, schedule_of

COUNTS = "cooccurrence"


class GloveTrainer(Hooks):
    """GloVe's weighted least squares with AdaGrad (the model's own step), as hooks on the run loop."""

    name = "glove"

    def __init__(self, config: GloveConfig, vocab: WordCounts, matrix: Cooccurrences, device: str = "cpu"):
        if matrix.vocab_size != len(vocab):
            raise ConfigError(f"the co-occurrence counts are over {matrix.vocab_size} words, the vocabulary "
                              f"has {len(vocab)}")
        if len(matrix) == 0:
            raise ConfigError("no two vocabulary words occur within the window: nothing to fit")
        self.config, self.vocab, self.matrix, self.device = config, vocab, matrix, device
        self.model = GloVe(len(vocab), config.dim, config.seed).to(device)
        self.rows = torch.from_numpy(matrix.rows)  # int32: half the memory of int64 on a large matrix
        self.cols = torch.from_numpy(matrix.cols)
        self.values = torch.from_numpy(matrix.values)
        self.order_epoch, self.order = -1, torch.zeros(0, dtype=torch.long)
        self.pool = ThreadPoolExecutor(config.workers) if config.workers > 1 else None
        self.epoch_loss, self.epoch_terms = 0.0, 0

    def epoch_items(self, epoch: int) -> Sequence[Any]:
        if self.order_epoch != epoch:  # every entry once, in an order seeded by (seed, epoch)
            generator = torch.Generator().manual_seed(self.config.seed * 1_000_003 + epoch)
            self.order_epoch, self.order = epoch, torch.randperm(len(self.matrix), generator=generator,
                                                                   dtype=torch.int32)
        size = self.config.step_entries
        return [(start, min(start + size, len(self.matrix))) for start in range(0, len(self.matrix), size)]

    def fit(self, picked: torch.Tensor) -> tuple[float, int]:
        """AdaGrad steps on the matrix entries `picked` (K,), `batch_size` at a time; J and its terms."""
        total, terms = 0.0, 0
        for start in range(0, len(picked), self.config.batch_size):
            batch = picked[start : start + self.config.batch_size]
            rows, cols, values = both_directions(self.rows.index_select(0, batch).long(),
                                                 self.cols.index_select(0, batch).long(),
                                                 self.values.index_select(0, batch))
            total += self.model.adagrad_step(rows.to(self.device), cols.to(self.device), values.to(self.device),
                                             self.config.lr, self.config.x_max, self.config.power)
            terms += len(rows)
        return total, terms

    def step(self, item: tuple[int, int], step: int, epoch: int) -> dict[str, float]:
        started = time.monotonic()
        picked = self.order[item[0] : item[1]]
        if self.pool is None:
            total, terms = self.fit(picked)
        else:  # Hogwild, as glove.c: the workers update the shared tables at once, each its share
            shares = self.pool.map(self.fit, picked.chunk(self.config.workers))
            total, terms = (sum(figures) for figures in zip(*shares, strict=True))
        self.epoch_loss += total
        self.epoch_terms += int(terms)
        seconds = max(time.monotonic() - started, 1e-9)
        return {"loss": total / max(terms, 1), "entries_per_s": len(picked) / seconds, "weight": float(max(terms, 1))}

    def evaluate(self) -> dict[str, Any]:
        """Score: minus the mean term of J since the last evaluation (GloVe has no held-out data)."""
        mean = self.epoch_loss / max(self.epoch_terms, 1)
        self.epoch_loss, self.epoch_terms = 0.0, 0
        return {"metric": "neg_loss", "score": -mean}

    def vectors(self) -> WordVectors:
        return WordVectors(list(self.vocab.words), self.model.vectors(), list(self.vocab.counts))

    def save_best(self, directory: Path, summary: dict[str, Any]) -> None:
        save_vectors_directory(self.vectors(), directory, self.config, summary)

    def finish(self, out: Path, summary: dict[str, Any], log: Callable[[str], None]) -> None:
        """No held-out data: OUT/model holds the last vectors, not the lowest-loss ones."""
        save_vectors_directory(self.vectors(), out / "model", self.config, summary)

    def close(self) -> None:
        """Stop the worker threads."""
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def state_dict(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "epoch_loss": self.epoch_loss, "epoch_terms": self.epoch_terms}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.epoch_loss, self.epoch_terms = float(state["epoch_loss"]), int(state["epoch_terms"])


def fingerprint(config: GloveConfig, vocab: WordCounts, encoded: EncodedCorpus) -> dict[str, Any]:
    """What the counts depend on: a resumed run reuses OUT/cooccurrence only if this matches."""
    digest = hashlib.sha256("\n".join(f"{w}\t{c}" for w, c in zip(vocab.words, vocab.counts, strict=True))
                            .encode("utf-8")).hexdigest()
    return {"vocabulary": digest, "corpus_words": encoded.raw_words, "kept_words": int(len(encoded.ids)),
            "sentences": encoded.sentences, "window": config.window}


def cooccurrences_for(config: GloveConfig, vocab: WordCounts, encoded: EncodedCorpus, out: Path, resume: bool,
                      progress: bool, log: Callable[[str], None]) -> Cooccurrences:
    """OUT/cooccurrence, read into memory: counted now, or the resumed run's when made from the
    same vocabulary, corpus and window."""
    directory, expected = out / COUNTS, fingerprint(config, vocab, encoded)
    if resume and (directory / "meta.json").is_file():
        try:
            if read_meta(directory).get("fingerprint") == expected:
                return load_cooccurrences(directory)
        except DataFormatError:
            pass
        log(f"{directory} was counted from another corpus, vocabulary or window (or is damaged): counting again")
    started = time.monotonic()
    with tqdm(total=len(encoded.ids), unit="word", unit_scale=True, desc="counting", disable=not progress,
              dynamic_ncols=True) as bar:
        entries = len(count_cooccurrences(encoded, len(vocab), config.window, directory, config.memory_mb,
                                          bar.update, expected))
    log(f"co-occurrence matrix: {entries} entries (upper triangle), window {config.window}, counted in "
        f"{time.monotonic() - started:.0f} s within {config.memory_mb:g} MB")
    return load_cooccurrences(directory)


@claims_run_directory
def train_glove(config: GloveConfig, corpus: Sequence[str | Path], out_dir: str | Path, resume: bool = False,
                progress: bool = True, log: Callable[[str], None] | None = None, device: str = "cpu",
                overwrite: bool = False) -> dict[str, Any]:
    """Count the vocabulary and the co-occurrences, fit; the vectors land in out_dir/model."""
    log = log or (lambda message: None)
    out = Path(out_dir)
    vocab, encoded = read_training_corpus(config, corpus, out, log)
    matrix = cooccurrences_for(config, vocab, encoded, out, resume, progress, log)
    del encoded
    trainer = GloveTrainer(config, vocab, matrix, device)
    summary = run(trainer, schedule_of(config), out, resume, progress, log)
    summary.update(vocabulary=len(vocab), cooccurrence_entries=len(matrix),
                   steps_per_epoch=-(-len(matrix) // config.step_entries))
    return summary
