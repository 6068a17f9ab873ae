"""The two sampling rules of word2vec (Mikolov et al. 2013): frequent words are dropped from
the training stream with a probability that grows with their frequency (subsampling), and
negative-sampling noise words are drawn from the unigram distribution raised to 3/4."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def keep_probabilities(counts: Sequence[int], sample: float) -> np.ndarray:
    """(V,) the probability of keeping each occurrence of a word with frequency f = count / total:
    (sqrt(f / sample) + 1) * sample / f, capped at 1 (the word2vec C code's rule); sample <= 0
    keeps everything."""
    c = np.asarray(counts, dtype=np.float64)
    if sample <= 0:
        return np.ones_like(c)
    f = c / c.sum()
    with np.errstate(divide="ignore"):
        keep = (np.sqrt(f / sample) + 1) * sample / f
    return np.minimum(np.nan_to_num(keep, nan=1.0, posinf=1.0), 1.0)


def noise_distribution(counts: Sequence[int], power: float = 0.75) -> np.ndarray:
    """(V,) counts^power, normalised: the distribution negative samples are drawn from."""
    weights = np.asarray(counts, dtype=np.float64) ** power
    total = weights.sum()
    if total <= 0:
        raise ValueError("the noise distribution needs a word with a positive count")
    return weights / total


class AliasSampler:
    """Draws from a discrete distribution in O(1) a draw (Walker's alias method, Vose's
    construction): pick a column uniformly, keep it with its probability, else take its alias.
    Exact, and several times faster than a binary search of the cumulative sums."""

    def __init__(self, probabilities: np.ndarray):
        p = np.asarray(probabilities, dtype=np.float64)
        n = len(p)
        scaled = p * n / p.sum()
        self.keep = np.ones(n)  # (V,) the chance of keeping the column drawn
        self.alias = np.arange(n)  # (V,) what it becomes otherwise
        small = [i for i in range(n) if scaled[i] < 1.0]
        large = [i for i in range(n) if scaled[i] >= 1.0]
        while small and large:
            less, more = small.pop(), large.pop()
            self.keep[less], self.alias[less] = scaled[less], more
            scaled[more] -= 1.0 - scaled[less]
            (small if scaled[more] < 1.0 else large).append(more)
        # what is left holds 1 up to rounding: kept as is

    def draw(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        """Ids of `shape`."""
        column = rng.integers(0, len(self.keep), size=shape)
        return np.where(rng.random(shape) < self.keep[column], column, self.alias[column])
