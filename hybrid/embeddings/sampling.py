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


def draw_noise(cdf: np.ndarray, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Word ids of `shape` drawn from the distribution whose cumulative sums are `cdf` (V,)."""
    return np.minimum(np.searchsorted(cdf, rng.random(shape), side="right"), len(cdf) - 1)

