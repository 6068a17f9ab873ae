"""Chain potentials of the CRF, softmax and HMM layers, and Viterbi decoding, in numpy.

The same arithmetic, in the same order and float32, as `StructuredLayer.constrained` and
`hybrid.structured.chain.viterbi`, so that both engines pick the same paths.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

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


def layer_chain(layer: str, state: State) -> Chain:
    """The layer's transition, start and end scores, forbidden ones (saved constraints) at -inf."""
    k = state["projection.bias"].shape[0]
    zeros = np.zeros(k, dtype=np.float32)
    if layer == "crf":
        chain = Chain(state["layer.crf.transitions"], state["layer.crf.start_transitions"],
                      state["layer.crf.end_transitions"])
    elif layer == "softmax":
        chain = Chain(np.zeros((k, k), dtype=np.float32), zeros, zeros)
    else:  # hmm: log A (row-normalised logits), log pi, no end scores
        chain = Chain(log_softmax(state["layer.transition_logits"], axis=1), state["layer.log_start"], zeros)
    allowed, start, end = (state[f"layer.{name}"] for name in ("allowed", "allowed_start", "allowed_end"))
    if allowed.all() and start.all() and end.all():
        return chain
    return Chain(np.where(allowed, chain.transitions, -np.inf).astype(np.float32),
                 np.where(start, chain.start, -np.inf).astype(np.float32),
                 np.where(end, chain.end, -np.inf).astype(np.float32))


def layer_emissions(layer: str, scores: np.ndarray, log_prior: np.ndarray | None) -> np.ndarray:
    """(B, T, K) emission potentials from the network's scores: CRF as is, softmax and HMM normalised.

    log_prior (K,): the HMM layer's log P(y) (None for the other layers).
    """
    if layer == "crf":
        return scores
    if layer == "softmax":
        return log_softmax(scores)
    return log_softmax(scores) - log_prior  # HMM: scaled likelihoods (prior_scale is 1)


def viterbi(emissions: np.ndarray, lengths: np.ndarray, chain: Chain) -> tuple[np.ndarray, np.ndarray]:
    """Best paths (B, T) and scores (B,) of emissions (B, T, K) with right padding after `lengths`.

    Tag-major states (K, B) as in `chain._scan_values`; padded positions carry the state over
    and repeat the last tag; ties go to the lowest tag id, as torch's max.
    """
    b, t_len, _ = emissions.shape
    e = emissions.transpose(1, 2, 0)  # (T, K, B)
    real = np.arange(t_len)[:, None] < lengths[None, :]  # (T, B)
    trans = chain.transitions[:, :, None]  # (K_prev, K_next, 1)
    state = chain.start[:, None] + e[0]  # (K, B)
    states = [state]
    for t in range(1, t_len):
        new = (state[:, None, :] + trans).max(axis=0) + e[t]  # (K, B)
        state = np.where(real[t], new, state)
        states.append(state)
    final = states[-1] + chain.end[:, None]  # (K, B)
    cur = final.argmax(axis=0)  # (B,)
    scores = final[cur, np.arange(b)]
    history = np.stack(states).transpose(0, 2, 1)  # (T, B, K)
    trans_to = chain.transitions.T  # (K_next, K_prev)
    tags = [cur]
    for t in range(t_len - 1, 0, -1):
        prev = (history[t - 1] + trans_to[cur]).argmax(axis=-1)  # (B,)
        cur = np.where(real[t], prev, cur)
        tags.append(cur)
    return np.stack(tags[::-1], axis=1), scores
