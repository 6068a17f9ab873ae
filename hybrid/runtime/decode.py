"""Emission potentials and Viterbi decoding of a saved tagger, in numpy.

The chain and the emission transform are the ones the torch layer saved with the model
(`StructuredLayer.decoding_tensors`); the arithmetic is torch's, in the same order and
float32, as `StructuredLayer.emission_potentials` and `hybrid.structured.chain.viterbi`, so
that both engines pick the same paths.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from hybrid.models.directory import DECODING_PREFIX

State = dict[str, np.ndarray]


class Chain(NamedTuple):
    """Scores of a linear chain: transitions (K, K) row i = from tag i; start, end (K,)."""

    transitions: np.ndarray
    start: np.ndarray
    end: np.ndarray


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """log_softmax along `axis` as torch computes it: x - max - log(sum(exp(x - max)))."""
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


class Decoding(NamedTuple):
    """How a saved tagger turns the network's scores into a chain: log-softmax them first or
    not, add a bias (K,) or not, then Viterbi over `chain`."""

    chain: Chain
    normalize: bool
    emission_bias: np.ndarray | None


def saved_decoding(state: State) -> Decoding:
    """The decoding tensors the torch layer wrote at save time (constraints and scales applied).

    The runtime derives nothing from the layer's own parameters, so every setting that changes
    decoding reaches both engines through `StructuredLayer.decoding_tensors`. KeyError when absent.
    """
    get = {name: state[DECODING_PREFIX + name] for name in ("transitions", "start", "end", "normalize")}
    return Decoding(Chain(get["transitions"], get["start"], get["end"]), bool(get["normalize"][0]),
                    state.get(DECODING_PREFIX + "emission_bias"))


def emission_potentials(decoding: Decoding, scores: np.ndarray) -> np.ndarray:
    """(B, T, K) emission potentials from the network's scores, as `StructuredLayer.emission_potentials`."""
    emissions = log_softmax(scores) if decoding.normalize else scores
    return emissions if decoding.emission_bias is None else emissions + decoding.emission_bias


def viterbi(emissions: np.ndarray, lengths: np.ndarray, chain: Chain) -> tuple[np.ndarray, np.ndarray]:
    """Best paths (B, T) and scores (B,) of emissions (B, T, K) with right padding after `lengths`.

    The sentences are taken longest first, so that those still running at step t are a prefix
    of the batch and padding costs nothing; tag-major states (K, B) as in `chain._scan_values`.
    Padded positions repeat the last tag; ties go to the lowest tag id, as torch's max.
    """
    b, t_len, k = emissions.shape
    if b == 1:
        return _viterbi_one(emissions[0], int(lengths[0]), chain)
    order = np.argsort(-lengths, kind="stable")
    e = np.ascontiguousarray(emissions[order].transpose(1, 2, 0))  # (T, K, B)
    running = (lengths[order][None, :] > np.arange(t_len)[:, None]).sum(axis=1)  # (T,) sentences with a tag at t
    trans = chain.transitions[:, :, None]  # (K_prev, K_next, 1)
    history = np.empty((t_len, b, k), dtype=e.dtype)  # best score of each tag at each step
    state = chain.start[:, None] + e[0]  # (K, B)
    history[0] = state.T
    for t in range(1, t_len):
        n = running[t]
        new = (state[:, None, :n] + trans).max(axis=0) + e[t, :, :n]  # (K, n)
        state[:, :n] = new
        history[t, :n] = new.T
    final = state + chain.end[:, None]  # (K, B)
    cur = final.argmax(axis=0)  # (B,)
    scores = final[cur, np.arange(b)]
    trans_to = chain.transitions.T  # (K_next, K_prev)
    path = np.empty((t_len, b), dtype=np.int64)
    path[-1] = cur
    for t in range(t_len - 1, 0, -1):  # the first n have a tag at t: step back; the rest repeat their last tag
        n = running[t]
        cur[:n] = (history[t - 1, :n] + trans_to[cur[:n]]).argmax(axis=-1)
        path[t - 1] = cur
    inverse = np.empty_like(order)
    inverse[order] = np.arange(b)
    return path.T[inverse], scores[inverse]


def _viterbi_one(emissions: np.ndarray, length: int, chain: Chain) -> tuple[np.ndarray, np.ndarray]:
    """`viterbi` of one sentence (T, K): the same scores and ties, with back-pointers kept as
    Python lists (a single chain's steps are too small for numpy's per-call cost to pay off)."""
    t_len, n_tags = emissions.shape
    columns = np.arange(n_tags)
    state = chain.start + emissions[0]  # (K,)
    pointers = []
    for t in range(1, length):
        candidates = state[:, None] + chain.transitions  # (K_prev, K_next)
        best = candidates.argmax(axis=0)  # (K_next,) the lowest tag id among ties, as torch's max
        pointers.append(best.tolist())
        state = candidates[best, columns] + emissions[t]
    final = state + chain.end
    last = int(final.argmax())
    tags, cur = [last], last
    for back in reversed(pointers):
        cur = back[cur]
        tags.append(cur)
    tags.reverse()
    tags.extend([last] * (t_len - length))  # padded positions repeat the last tag
    return np.array([tags], dtype=np.int64), final[[last]]
