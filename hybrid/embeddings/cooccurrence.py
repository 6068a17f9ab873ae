"""GloVe's co-occurrence counts, in bounded memory.

Every pair of words at distance d <= window in one sentence adds 1/d to X[w, c] and to X[c, w]
(GloVe's symmetric window with harmonic weighting). X is symmetric, so only its upper triangle
is kept: entries (lo, hi, x) with lo <= hi, x = X[lo, hi] (a word beside itself counts twice,
once from each side, as the symmetric count does).

The corpus is read in chunks whose pairs are sorted and summed in numpy (keys lo * V + hi).
Summed chunks are buffered; past an eighth of the memory cap the buffer is summed into one
sorted shard and spilled to disk. The shards are then merged a range of keys at a time, each
range small enough for the cap, so memory stays bounded however large the corpus.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hybrid.embeddings.corpus import EncodedCorpus
from hybrid.errors import DataFormatError

_PAIR_BYTES = 48  # bytes per pair while a batch of pairs is sorted and summed (keys, values, order, copies)
_ENTRY_BYTES = 16  # bytes per summed entry held in memory or in a shard (int64 key, float64 value)
FILES = ("rows.int32", "cols.int32", "values.float32", "meta.json")


@dataclass
class Cooccurrences:
    """The upper triangle of X: rows[k] <= cols[k], values[k] = X[rows[k], cols[k]] > 0,
    sorted by (row, col)."""

    rows: np.ndarray  # (N,) int32
    cols: np.ndarray  # (N,) int32
    values: np.ndarray  # (N,) float32
    vocab_size: int
    window: int

    def __len__(self) -> int:
        return len(self.values)

    def dense(self) -> np.ndarray:
        """(V, V) the full symmetric matrix (small vocabularies only: tests, pictures)."""
        matrix = np.zeros((self.vocab_size, self.vocab_size))
        matrix[self.rows, self.cols] = self.values
        matrix[self.cols, self.rows] = self.values
        return matrix


def _sum_sorted(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort (keys, values) by key and add the values of equal keys."""
    if len(keys) == 0:
        return keys.astype(np.int64), values.astype(np.float64)
    order = np.argsort(keys)
    keys, values = keys[order], values[order]
    del order
    first = np.concatenate([[0], np.flatnonzero(keys[1:] != keys[:-1]) + 1])
    return keys[first], np.add.reduceat(values, first)


def _chunk_entries(ids: np.ndarray, sentence: np.ndarray, window: int, vocab_size: int,
                   first: int, end: int) -> tuple[np.ndarray, np.ndarray]:
    """Summed (keys, values) of the pairs whose left word is at a position in [first, end)."""
    keys, values = [], []
    n = len(ids)
    for d in range(1, window + 1):
        stop = min(end, n - d)
        if stop <= first:
            break
        left, right = ids[first:stop], ids[first + d : stop + d]
        same = sentence[first:stop] == sentence[first + d : stop + d]
        lo = np.minimum(left, right)[same].astype(np.int64)
        hi = np.maximum(left, right)[same].astype(np.int64)
        keys.append(lo * vocab_size + hi)
        values.append(np.where(lo == hi, 2.0 / d, 1.0 / d))  # X[w, w] is counted from both sides
    if not keys:
        return np.zeros(0, np.int64), np.zeros(0, np.float64)
    return _sum_sorted(np.concatenate(keys), np.concatenate(values))


class _Shards:
    """Sorted, summed (keys, values) runs spilled to a directory."""

    def __init__(self, directory: Path, vocab_size: int):
        self.directory, self.vocab_size = directory, vocab_size
        self.count = 0

    def spill(self, keys: np.ndarray, values: np.ndarray) -> None:
        np.save(self.directory / f"keys-{self.count}.npy", keys)
        np.save(self.directory / f"values-{self.count}.npy", values)
        self.count += 1

    def runs(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(np.load(self.directory / f"keys-{i}.npy", mmap_mode="r"),
                 np.load(self.directory / f"values-{i}.npy", mmap_mode="r")) for i in range(self.count)]

    def key_ranges(self, max_entries: int) -> list[tuple[int, int]]:
        """Consecutive key ranges [a, b) covering every key, each holding at most `max_entries`
        entries over all runs. Every k-th key of each run is a sample; a range spans at most m
        samples, so it holds at most (m + runs) k entries: k and m are chosen to keep that
        within the cap (a heavy row is split like any other stretch of keys)."""
        runs = self.runs()
        every = max(1, max_entries // (2 * len(runs)))
        span = max(1, max_entries // every - len(runs))
        samples = np.sort(np.concatenate([np.asarray(keys[every::every]) for keys, _ in runs]))
        bounds = np.unique(samples[span - 1 :: span])  # (R - 1,) the ranges' inner edges
        edges = [0, *(int(b) for b in bounds), self.vocab_size * self.vocab_size]
        return [(a, b) for a, b in zip(edges, edges[1:], strict=False) if b > a]

    def merge(self, max_entries: int, write: Callable[[np.ndarray, np.ndarray], None]) -> None:
        """Sum the runs a key range at a time, in order, handing each range to `write`."""
        runs = self.runs()
        for low, high in self.key_ranges(max_entries):
            keys, values = [], []
            for run_keys, run_values in runs:
                a, b = np.searchsorted(run_keys, [low, high])
                keys.append(np.asarray(run_keys[a:b]))
                values.append(np.asarray(run_values[a:b]))
            write(*_sum_sorted(np.concatenate(keys), np.concatenate(values)))


def count_cooccurrences(corpus: EncodedCorpus, vocab_size: int, window: int, out_dir: str | Path,
                        memory_mb: float = 1024.0, progress: Callable[[int], None] | None = None,
                        fingerprint: dict[str, Any] | None = None) -> Cooccurrences:
    """Count the corpus's co-occurrences into `out_dir` (rows.int32, cols.int32, values.float32,
    meta.json with `fingerprint`; written under a temporary name and renamed, so a crash leaves
    no half matrix) and return them memory-mapped. `progress(words)` is called after each chunk."""
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    budget = int(memory_mb * 2**20)
    chunk = max(16, budget // 4 // (_PAIR_BYTES * window))  # one chunk's raw pairs: a quarter of the cap
    buffer_entries = max(16, budget // 8 // _ENTRY_BYTES)  # summed entries held before a spill (summing them
    # for the spill takes about three times as much again)
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        ids = corpus.ids
        sentence = np.repeat(np.arange(corpus.sentences, dtype=np.int32), np.diff(corpus.starts))  # (N,)
        shards = _Shards(work, vocab_size)
        held_keys: list[np.ndarray] = []
        held_values: list[np.ndarray] = []
        held = 0
        for first in range(0, len(ids), chunk):
            keys, values = _chunk_entries(ids, sentence, window, vocab_size, first, first + chunk)
            held_keys.append(keys)
            held_values.append(values)
            held += len(keys)
            if held > buffer_entries:
                shards.spill(*_sum_sorted(np.concatenate(held_keys), np.concatenate(held_values)))
                held_keys, held_values, held = [], [], 0
            if progress is not None:
                progress(min(chunk, len(ids) - first))
        del sentence
        if held_keys:
            shards.spill(*_sum_sorted(np.concatenate(held_keys), np.concatenate(held_values)))
        del held_keys, held_values
        entries = _merge_into(shards, work / "matrix", max(16, budget // 4 // _PAIR_BYTES))
        (work / "matrix" / "meta.json").write_text(
            json.dumps({"entries": entries, "vocab_size": vocab_size, "window": window,
                        "fingerprint": fingerprint or {}}) + "\n", encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        os.replace(work / "matrix", out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return load_cooccurrences(out, memory_map=True)


def _merge_into(shards: _Shards, directory: Path, max_entries: int) -> int:
    """Merge the shards into the three column files of `directory`; returns the entry count."""
    directory.mkdir()
    handles = [open(directory / name, "wb") for name in FILES[:3]]
    entries = 0
    try:
        def write(keys: np.ndarray, values: np.ndarray) -> None:
            nonlocal entries
            (keys // shards.vocab_size).astype(np.int32).tofile(handles[0])
            (keys % shards.vocab_size).astype(np.int32).tofile(handles[1])
            values.astype(np.float32).tofile(handles[2])
            entries += len(keys)

        shards.merge(max_entries, write)
    finally:
        for handle in handles:
            handle.close()
    return entries


def read_meta(directory: str | Path) -> dict[str, Any]:
    """meta.json of counts `count_cooccurrences` wrote (DataFormatError if unreadable)."""
    path = Path(directory) / "meta.json"
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataFormatError(f"cannot read co-occurrence counts: {exc}", path) from None
    if not isinstance(meta, dict) or not isinstance(meta.get("entries"), int):
        raise DataFormatError("not the meta.json of co-occurrence counts", path)
    return meta


def load_cooccurrences(directory: str | Path, memory_map: bool = False) -> Cooccurrences:
    """The counts `count_cooccurrences` wrote to `directory` (memory-mapped read-only, or read)."""
    directory = Path(directory)
    meta = read_meta(directory)

    def column(name: str, dtype: type) -> np.ndarray:
        if memory_map and meta["entries"] > 0:
            return np.memmap(directory / name, dtype=dtype, mode="r")
        return np.fromfile(directory / name, dtype=dtype)

    try:
        rows, cols, values = column(FILES[0], np.int32), column(FILES[1], np.int32), column(FILES[2], np.float32)
    except (OSError, ValueError) as exc:
        raise DataFormatError(f"cannot read co-occurrence counts: {exc}", directory) from None
    if not len(rows) == len(cols) == len(values) == meta["entries"]:
        raise DataFormatError("co-occurrence files of different lengths (an interrupted write?)", directory)
    return Cooccurrences(rows, cols, values, int(meta["vocab_size"]), int(meta["window"]))
