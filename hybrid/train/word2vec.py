"""word2vec training on the run loop: each step trains on one chunk of the corpus (about
`chunk_words` words) in SGD updates of `batch_size` examples; the learning rate falls linearly
from alpha to min_alpha over the whole run. Subsampling, windows and noise words are drawn
from a generator seeded by (seed, epoch, chunk), so a resumed run repeats them exactly.

The run directory is every trainer's; OUT/model is a word-vectors model directory
(hybrid.embeddings.directory) with vectors.bin beside it (word2vec binary, which gensim reads).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from hybrid.config import GloveConfig, Word2VecConfig, save_json
from hybrid.embeddings.corpus import EncodedCorpus, WordCounts, read_corpus
from hybrid.embeddings.directory import save_vectors_directory
from hybrid.embeddings.formats import WordVectors
from hybrid.embeddings.sampling import AliasSampler, keep_probabilities, noise_distribution
from hybrid.embeddings.word2vec import Word2Vec, cbow_windows, skipgram_pairs
from hybrid.errors import ConfigError
from hybrid.train.loop import Hooks, Schedule, run
from hybrid.train.rundir import claims_run_directory


def corpus_chunks(corpus: EncodedCorpus, chunk_words: int) -> list[tuple[int, int]]:
    """(first sentence, end sentence) ranges of about `chunk_words` words; a sentence longer
    than that is a chunk alone."""
    chunks, first = [], 0
    ends = corpus.starts[1:]
    while first < corpus.sentences:
        target = corpus.starts[first] + chunk_words
        end = max(first + 1, int(np.searchsorted(ends, target, side="right")))
        chunks.append((first, min(end, corpus.sentences)))
        first = end
    return chunks


# one SGD batch as Word2Vec.sgd_step takes it: centres, targets, noise, contexts, mask
Batch = tuple[Tensor, Tensor, Tensor | None, Tensor | None, Tensor | None]


class Word2VecTrainer(Hooks):
    """Skip-gram or CBOW with negative sampling or hierarchical softmax, as hooks on the run loop."""

    name = "word2vec"

    def __init__(self, config: Word2VecConfig, vocab: WordCounts, corpus: EncodedCorpus, device: str = "cpu"):
        self.config, self.vocab, self.corpus, self.device = config, vocab, corpus, device
        self.model = Word2Vec(vocab.counts, config.dim, config.model, config.loss, config.negative,
                              config.seed).to(device)
        self.keep = keep_probabilities(vocab.counts, config.sample)  # (V,)
        self.noise = AliasSampler(noise_distribution(vocab.counts))
        self.chunks = corpus_chunks(corpus, config.chunk_words)
        self.pool = ThreadPoolExecutor(config.workers) if config.workers > 1 else None
        # the next chunk's batches are made on a thread of their own while this chunk trains
        self.prefetcher = ThreadPoolExecutor(1)
        self.prefetched: dict[tuple[int, int], Future[list[Batch]]] = {}
        self.epoch_loss, self.epoch_examples = 0.0, 0

    def epoch_items(self, epoch: int) -> Sequence[Any]:
        return [(i, first, end) for i, (first, end) in enumerate(self.chunks)]

    def learning_rate(self, epoch: int, index: int) -> float:
        progress = (epoch * len(self.chunks) + index) / (self.config.epochs * len(self.chunks))
        alpha = self.config.learning_rate
        return max(self.config.min_alpha, alpha - (alpha - self.config.min_alpha) * progress)

    def examples(self, item: tuple[int, int, int], epoch: int) -> tuple[np.ndarray, ...]:
        """The chunk's training examples after subsampling: skip-gram (centres, contexts) or
        CBOW (centres, contexts (M, 2w), mask (M, 2w)), and its raw word count."""
        index, first, end = item
        rng = np.random.default_rng([self.config.seed, epoch, index])
        starts = self.corpus.starts[first : end + 1]
        ids = self.corpus.ids[starts[0] : starts[-1]]
        kept = rng.random(len(ids)) < self.keep[ids]
        per_sentence = np.add.reduceat(kept, starts[:-1] - starts[0]) if len(ids) else np.zeros(0, np.int64)
        per_sentence[np.diff(starts) == 0] = 0  # reduceat repeats a value for empty ranges
        local = np.concatenate([[0], np.cumsum(per_sentence)])
        words = ids[kept]
        if self.config.model == "skipgram":
            return skipgram_pairs(words, local, self.config.window, rng)
        return cbow_windows(words, local, self.config.window, rng)

    def batches(self, item: tuple[int, int, int], epoch: int) -> list[Batch]:
        """The chunk's SGD batches as `Word2Vec.sgd_step` takes them (centres, targets, noise,
        contexts, mask), noise drawn in order from a generator seeded by (seed, epoch, chunk)."""
        rng = np.random.default_rng([self.config.seed, epoch, item[0], 1])
        examples = self.examples(item, epoch)
        centres = torch.from_numpy(examples[0].astype(np.int64))
        batches: list[Batch] = []
        for start in range(0, len(centres), self.config.batch_size):
            rows = slice(start, start + self.config.batch_size)
            batch_centres = centres[rows].to(self.device)
            contexts = mask = None
            if self.config.model == "skipgram":
                targets = torch.from_numpy(examples[1][rows].astype(np.int64)).to(self.device)
            else:
                contexts = torch.from_numpy(examples[1][rows].astype(np.int64)).to(self.device)
                mask = torch.from_numpy(examples[2][rows]).to(self.device)
                targets = batch_centres
            noise = None
            if self.config.loss == "ns":
                noise = torch.from_numpy(self.noise.draw(rng, (len(targets), self.config.negative))).to(self.device)
            batches.append((batch_centres, targets, noise, contexts, mask))
        return batches

    def prefetch_after(self, epoch: int, index: int) -> None:
        """Start making the batches of the chunk after (epoch, index) (they are seeded by
        (seed, epoch, chunk), so made early they are the same)."""
        self.prefetched.clear()  # anything else was for another position (a resumed or stopped run)
        epoch, index = (epoch, index + 1) if index + 1 < len(self.chunks) else (epoch + 1, 0)
        if epoch < self.config.epochs:
            following = (index, *self.chunks[index])
            self.prefetched[(epoch, index)] = self.prefetcher.submit(self.batches, following, epoch)

    def step(self, item: Any, step: int, epoch: int) -> dict[str, float]:
        started = time.monotonic()
        lr = self.learning_rate(epoch, item[0])
        ahead = self.prefetched.pop((epoch, item[0]), None)
        batches = ahead.result() if ahead is not None else self.batches(item, epoch)
        self.prefetch_after(epoch, item[0])
        n = sum(len(batch[0]) for batch in batches)

        def train(part: Sequence[Batch]) -> float:
            total = 0.0
            for batch in part:
                total += self.model.sgd_step(lr, *batch)
            return total

        if self.pool is None:
            total = train(batches)
        else:  # Hogwild: the workers update the shared vectors at once, each its share of the batches
            total = sum(self.pool.map(train, [batches[k :: self.config.workers] for k in range(self.config.workers)]))
        self.epoch_loss += total
        self.epoch_examples += n
        words = int(self.corpus.starts[item[2]] - self.corpus.starts[item[1]])
        seconds = max(time.monotonic() - started, 1e-9)
        return {"loss": total / max(n, 1), "lr": lr, "words_per_s": words / seconds, "weight": float(max(n, 1))}

    def evaluate(self) -> dict[str, Any]:
        """Score: minus the mean example loss since the last evaluation (no held-out data)."""
        mean = self.epoch_loss / max(self.epoch_examples, 1)
        self.epoch_loss, self.epoch_examples = 0.0, 0
        return {"metric": "neg_loss", "score": -mean}

    def vectors(self) -> WordVectors:
        return WordVectors(list(self.vocab.words), self.model.inputs.weight.detach().cpu().numpy().copy(),
                           list(self.vocab.counts))

    def save_best(self, directory: Path, summary: dict[str, Any]) -> None:
        save_vectors_directory(self.vectors(), directory, self.config, summary)

    def finish(self, out: Path, summary: dict[str, Any], log: Callable[[str], None]) -> None:
        """word2vec has no held-out data: OUT/model holds the last vectors, not the lowest-loss ones."""
        save_vectors_directory(self.vectors(), out / "model", self.config, summary)

    def close(self) -> None:
        """Stop the prefetching and worker threads."""
        self.prefetched.clear()
        self.prefetcher.shutdown(cancel_futures=True)
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def state_dict(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "epoch_loss": self.epoch_loss,
                "epoch_examples": self.epoch_examples}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.epoch_loss, self.epoch_examples = float(state["epoch_loss"]), int(state["epoch_examples"])


def read_training_corpus(config: Word2VecConfig | GloveConfig, corpus: Sequence[str | Path], out: Path,
                         log: Callable[[str], None]) -> tuple[WordCounts, EncodedCorpus]:
    """What every word-vector trainer does first: read the corpus (vocabulary, then ids), say what
    was read, and record the settings in OUT/config.json."""
    if not corpus:
        raise ConfigError("no corpus files given")
    started = time.monotonic()
    vocab, encoded = read_corpus(corpus, config.min_count, config.max_vocab, config.lowercase,
                                 config.max_sentence_length)
    log(f"vocabulary {len(vocab)} words (min count {config.min_count}); corpus {encoded.raw_words} words, "
        f"{len(encoded.ids)} in the vocabulary; read in {time.monotonic() - started:.0f} s")
    save_json(config, out / "config.json")
    return vocab, encoded


def schedule_of(config: Word2VecConfig | GloveConfig) -> Schedule:
    """A word-vector trainer's run: its epochs within its budget (no held-out data, no patience)."""
    return Schedule(epochs=config.epochs, max_minutes=config.max_minutes, seed=config.seed)


@claims_run_directory
def train_word2vec(config: Word2VecConfig, corpus: Sequence[str | Path], out_dir: str | Path, resume: bool = False,
                   progress: bool = True, log: Callable[[str], None] | None = None, device: str = "cpu",
                   overwrite: bool = False) -> dict[str, Any]:
    """Count the vocabulary, encode the corpus, train; the vectors land in out_dir/model."""
    log = log or (lambda message: None)
    out = Path(out_dir)
    vocab, encoded = read_training_corpus(config, corpus, out, log)
    trainer = Word2VecTrainer(config, vocab, encoded, device)
    summary = run(trainer, schedule_of(config), out, resume, progress, log)
    summary.update(vocabulary=len(vocab), corpus_words=encoded.raw_words, trained_words=int(len(encoded.ids)),
                   steps_per_epoch=len(trainer.chunks))
    return summary
