"""word2vec training on the run loop: each step trains on one chunk of the corpus (about
`chunk_words` words) in SGD updates of `examples_per_batch` examples; the learning rate falls linearly
from alpha to min_alpha over the whole run. Subsampling, windows and noise words are drawn
from a generator seeded by (seed, epoch, chunk), so a resumed run repeats them exactly.

The run directory is every trainer's; OUT/model is a word-vectors model directory
(hybrid.embeddings.directory) with vectors.bin beside it (word2vec binary, which gensim reads).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
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
from hybrid.embeddings.word2vec import PreparedBatch, Word2Vec, cbow_windows, skipgram_pairs
from hybrid.errors import ConfigError, DistributedError
from hybrid.train.loop import Hooks, Schedule, run
from hybrid.train.rundir import claims_run_directory

ChunkBatches = tuple[list[PreparedBatch], int]  # a chunk's SGD batches and its number of examples
HS_NODE_STEPS = 32.0  # hierarchical softmax: the most summed steps an inner node takes in one batch


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


class Word2VecTrainer(Hooks):
    """Skip-gram or CBOW with negative sampling or hierarchical softmax, as hooks on the run loop."""

    name = "word2vec"

    def __init__(self, config: Word2VecConfig, vocab: WordCounts, corpus: EncodedCorpus, device: str = "cpu",
                 log: Callable[[str], None] | None = None):
        self.config, self.vocab, self.corpus, self.device = config, vocab, corpus, device
        self.model = Word2Vec(vocab.counts, config.dim, config.model, config.loss, config.negative, config.seed,
                              HS_NODE_STEPS if config.loss == "hs" else None).to(device)
        self.compiled = config.workers == 1 and \
            config.compiles(torch.device(device).type, len(corpus.ids) * config.epochs) and \
            self._compile(log or (lambda message: None))
        self.keep = keep_probabilities(vocab.counts, config.sample)  # (V,)
        self.noise = AliasSampler(noise_distribution(vocab.counts))
        self.chunks = corpus_chunks(corpus, config.chunk_words)
        self.pool: Any = None  # the worker processes (Hogwild), started at the first step
        if config.workers > 1:
            if torch.device(device).type != "cpu":
                raise ConfigError(f"--workers {config.workers}: several workers train on the CPU only; "
                                  f"on {device} use --workers 1")
            self.model.share_memory()  # the workers update these very tensors
        # the next chunk's batches are made on a thread of their own while this chunk trains
        # (several workers make their own chunks' batches: no thread)
        self.prefetcher = ThreadPoolExecutor(1) if config.workers == 1 else None
        self.prefetched: dict[tuple[int, int], Future[ChunkBatches]] = {}
        self.epoch_loss, self.epoch_examples = 0.0, 0

    def _compile(self, log: Callable[[str], None]) -> bool:
        """Compile the SGD step on a batch that changes nothing (every example padding); with
        --compile auto, a failure (no C++ compiler, say) is logged and training runs eagerly."""
        self.model.compile_steps()
        started = time.monotonic()
        empty = torch.zeros(0, dtype=torch.long, device=self.device)
        window = 2 * self.config.window
        sample = (empty, empty, empty.view(0, self.config.negative), empty.view(0, window),
                  empty.view(0, window).bool())
        try:
            padding = self.model.prepare(*sample).padded(self.rows_per_batch)
            self.model.update(torch.tensor(0.0, device=self.device), padding)
            if self.model.hot_nodes:  # skip-gram with hierarchical softmax: the hot nodes' step too
                self.model.update(torch.tensor(0.0, device=self.device), padding._replace(hot=len(padding.ids)))
        except Exception as error:  # torch.compile fails in many ways (compiler, platform, backend)
            self.model.compile_steps(False)
            if self.config.compile == "on":
                raise ConfigError(f"--compile on: torch.compile failed ({type(error).__name__}: "
                                  f"{str(error).splitlines()[0] if str(error) else ''}); use --compile off") from error
            log(f"torch.compile is not available here ({type(error).__name__}); the SGD step runs uncompiled")
            return False
        log(f"SGD step compiled in {time.monotonic() - started:.0f} s")
        return True

    def epoch_items(self, epoch: int) -> Sequence[Any]:
        """The epoch's chunks; with several workers, in groups of WORKER_CHUNKS consecutive chunks
        per worker (the parent waits for every worker at each step: longer steps wait less)."""
        items = [(i, first, end) for i, (first, end) in enumerate(self.chunks)]
        if self.config.workers == 1:
            return items
        size = self.config.workers * WORKER_CHUNKS
        return [tuple(items[k : k + size]) for k in range(0, len(items), size)]

    def learning_rate(self, epoch: int, index: int) -> float:
        progress = (epoch * len(self.chunks) + index) / (self.config.epochs * len(self.chunks))
        alpha = self.config.learning_rate
        return max(self.config.min_alpha, alpha - (alpha - self.config.min_alpha) * progress)

    def examples(self, item: tuple[int, int, int], epoch: int) -> tuple[np.ndarray, ...]:
        """The chunk's training examples after subsampling: skip-gram (input words, predicted
        words) or CBOW (centres, contexts (M, 2w), mask (M, 2w))."""
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
            # word2vec's orientation: each context word's vector predicts the centre word, whose
            # window was drawn. The other way round gives the same pairs in expectation, yet with
            # hierarchical softmax it scored 1.3-1.6 analogy points lower (a 4M-word slice of wiki100m)
            centres, contexts = skipgram_pairs(words, local, self.config.window, rng)
            return contexts, centres
        # CBOW windows in random order: windows next to each other share most of their words,
        # whose summed steps in one batch, all taken from the same old vectors, overshoot (in
        # window order CBOW fell 10 analogy points behind gensim); skip-gram's pairs, grouped by
        # distance, rarely repeat a row within a batch and keep their cache-friendly order
        windows = cbow_windows(words, local, self.config.window, rng)
        order = rng.permutation(len(windows[0]))
        return windows[0][order], windows[1][order], windows[2][order]

    @property
    def rows_per_batch(self) -> int:
        """Rows of a prepared batch: examples, or for skip-gram with hierarchical softmax
        (a row per tree decision) the decisions of about as many examples."""
        if self.config.model == "skipgram" and self.config.loss == "hs":
            return self.config.examples_per_batch * self.model.mean_code_length
        return self.config.examples_per_batch

    def batches(self, item: tuple[int, int, int], epoch: int) -> ChunkBatches:
        """The chunk's SGD batches as `Word2Vec.update` takes them, noise drawn from a generator
        seeded by (seed, epoch, chunk), padded to one shape when the step is compiled; and the
        chunk's number of examples."""
        rng = np.random.default_rng([self.config.seed, epoch, item[0], 1])
        examples = self.examples(item, epoch)
        centres = torch.from_numpy(examples[0].astype(np.int64)).to(self.device)
        contexts = mask = None
        if self.config.model == "skipgram":
            targets = torch.from_numpy(examples[1].astype(np.int64)).to(self.device)
        else:
            contexts = torch.from_numpy(examples[1].astype(np.int64)).to(self.device)
            mask = torch.from_numpy(examples[2]).to(self.device)
            targets = centres
        noise = None
        if self.config.loss == "ns":
            noise = torch.from_numpy(self.noise.draw(rng, (len(targets), self.config.negative))).to(self.device)
        whole = self.model.prepare(centres, targets, noise, contexts, mask)
        return whole.split(self.rows_per_batch, self.compiled), len(targets)

    def prefetch_after(self, epoch: int, index: int) -> None:
        """Start making the batches of the chunk after (epoch, index) (they are seeded by
        (seed, epoch, chunk), so made early they are the same)."""
        self.prefetched.clear()  # anything else was for another position (a resumed or stopped run)
        epoch, index = (epoch, index + 1) if index + 1 < len(self.chunks) else (epoch + 1, 0)
        if epoch < self.config.epochs and self.prefetcher is not None:
            following = (index, *self.chunks[index])
            self.prefetched[(epoch, index)] = self.prefetcher.submit(self.batches, following, epoch)

    def step(self, item: Any, step: int, epoch: int) -> dict[str, float]:
        started = time.monotonic()
        if self.config.workers > 1:
            return self._step_in_workers(item, epoch, started)
        lr = self.learning_rate(epoch, item[0])
        ahead = self.prefetched.pop((epoch, item[0]), None)
        batches, n = ahead.result() if ahead is not None else self.batches(item, epoch)
        self.prefetch_after(epoch, item[0])
        total = self.train_chunk(batches, lr)
        return self._account(total, n, int(self.corpus.starts[item[2]] - self.corpus.starts[item[1]]), lr, started)

    def train_chunk(self, batches: Sequence[PreparedBatch], lr: float) -> float:
        """SGD over a chunk's batches; the summed loss."""
        rate = torch.tensor(lr, device=self.device)
        total = torch.zeros((), device=self.device)
        for batch in batches:
            total += self.model.update(rate, batch)
        return float(total)

    def _step_in_workers(self, group: tuple[tuple[int, int, int], ...], epoch: int, started: float) -> dict[str, float]:
        """Hogwild across processes, as word2vec's threads and gensim's workers but free of
        Python's lock: each worker process makes and trains its consecutive chunks of the group
        on the shared vectors."""
        if self.pool is None:
            self.pool = start_workers(self)
        lr = self.learning_rate(epoch, group[0][0])
        share = -(-len(group) // self.config.workers)
        tasks = [[(item, epoch, self.learning_rate(epoch, item[0])) for item in group[k : k + share]]
                 for k in range(0, len(group), share)]
        try:
            results = list(self.pool.map(_worker_chunks, tasks))
        except BrokenProcessPool as error:  # killed (out of memory, a signal) or failed to start
            raise DistributedError(f"a word2vec worker process died ({error}); run again, with fewer "
                                   f"--workers if memory is short, or --workers 1") from None
        words = sum(int(self.corpus.starts[end] - self.corpus.starts[first]) for _, first, end in group)
        return self._account(sum(r[0] for r in results), sum(r[1] for r in results), words, lr, started)

    def _account(self, total: float, n: int, words: int, lr: float, started: float) -> dict[str, float]:
        self.epoch_loss += total
        self.epoch_examples += n
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
        """Stop the prefetching thread and the worker processes."""
        self.prefetched.clear()
        if self.prefetcher is not None:
            self.prefetcher.shutdown(cancel_futures=True)
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
            self.pool = None

    def state_dict(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "epoch_loss": self.epoch_loss,
                "epoch_examples": self.epoch_examples}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.epoch_loss, self.epoch_examples = float(state["epoch_loss"]), int(state["epoch_examples"])


WORKER_CHUNKS = 4  # chunks each worker trains per step (with --workers > 1)
_WORKER: Word2VecTrainer | None = None  # in a worker process: its trainer, on the shared vectors


def start_workers(trainer: Word2VecTrainer) -> Any:
    """`trainer.config.workers` processes (spawned: no fork of a threaded parent), each with a
    one-worker trainer of the same settings whose vectors are the parent's shared-memory tensors."""
    import torch.multiprocessing as mp

    config = dataclasses.replace(trainer.config, workers=1)
    weights = (trainer.model.inputs.weight.data, trainer.model.outputs.weight.data)
    return ProcessPoolExecutor(trainer.config.workers, mp.get_context("spawn"), _start_worker,
                               (config, trainer.vocab, trainer.corpus, weights))


def _start_worker(config: Word2VecConfig, vocab: WordCounts, corpus: EncodedCorpus,
                  weights: tuple[Tensor, Tensor]) -> None:
    global _WORKER
    torch.set_num_threads(1)
    _WORKER = Word2VecTrainer(config, vocab, corpus)
    _WORKER.model.inputs.weight.data, _WORKER.model.outputs.weight.data = weights
    _WORKER.close()  # a worker makes its chunk's batches itself: no prefetching thread


def _worker_chunks(tasks: list[tuple[tuple[int, int, int], int, float]]) -> tuple[float, int]:
    """In a worker: make and train each (chunk, epoch, learning rate) in turn; (summed loss, examples)."""
    assert _WORKER is not None
    total, n = 0.0, 0
    for item, epoch, lr in tasks:
        batches, examples = _WORKER.batches(item, epoch)
        total, n = total + _WORKER.train_chunk(batches, lr), n + examples
    return total, n


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
    trainer = Word2VecTrainer(config, vocab, encoded, device, log)
    summary = run(trainer, schedule_of(config), out, resume, progress, log)
    summary.update(vocabulary=len(vocab), corpus_words=encoded.raw_words, trained_words=int(len(encoded.ids)),
                   steps_per_epoch=len(trainer.epoch_items(0)))  # with several workers: groups of chunks
    return summary
