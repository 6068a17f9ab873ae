"""Baum-Welch for the DNN-HMM hybrid on unlabeled text, through hmmlearn.

`ScaledLikelihoodHMM` (hybrid.structured.hmm_scaled) is an hmmlearn `BaseHMM` whose emission
log-likelihoods are given: each row of X is the network's scaled log-likelihood vector
log P(y|x_t) - s log P(y) for one token (K columns). EM then re-estimates only the start and transition
probabilities, the
network staying fixed, as hybrid speech recognisers re-estimate their HMM on new data.
`reestimate_transitions` runs it for a trained `--layer hmm` tagger on untagged sentences.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from hybrid.errors import ConfigError


def scaled_likelihoods(tagger: Any, sentences: Sequence[Any], batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """X (n_tokens, K) float64 = the hybrid's scaled log-likelihoods of every token, and lengths."""
    from hybrid.models.tagger import encode_for_prediction

    tagger.eval()
    rows: list[np.ndarray] = [np.empty((0, 0))] * len(sentences)
    with torch.inference_mode():
        for idx, batch in encode_for_prediction(tagger.vocabs, sentences, batch_size).batches:
            values = tagger.layer.scaled_likelihoods(tagger.emissions(batch)).double().numpy()  # (B, T, K)
            lengths = batch.mask.sum(1).tolist()
            for row, i in enumerate(idx):
                rows[i] = values[row, : lengths[row]]
    return np.concatenate(rows), np.array([len(r) for r in rows])


def reestimate_transitions(tagger: Any, sentences: Sequence[Any], n_iter: int = 20, tol: float = 1e-3,
                           smoothing: float = 0.0) -> dict[str, Any]:
    """Re-estimate the tagger's HMM start and transition probabilities on untagged sentences by
    Baum-Welch over the network's scaled likelihoods (add-`smoothing` Dirichlet prior); the
    layer's pi and A are replaced. Returns the per-iteration log-likelihoods."""
    from hybrid.structured.hmm import HMMLayer

    if not isinstance(tagger.layer, HMMLayer):
        raise ConfigError(f"re-estimation needs a --layer hmm tagger, this one has {type(tagger.layer).__name__}")
    if not sentences:
        raise ConfigError("no sentences to re-estimate on")
    x, lengths = scaled_likelihoods(tagger, sentences)
    layer = tagger.layer
    hmm = layer.to_hmmlearn(startprob_prior=1.0 + smoothing, transmat_prior=1.0 + smoothing, n_iter=n_iter, tol=tol)
    hmm.fit(x, lengths)
    layer.load_hmmlearn(hmm)
    return {"log_likelihood": list(hmm.monitor_.history), "iterations": hmm.monitor_.iter,
            "converged": bool(hmm.monitor_.converged), "tokens": int(lengths.sum())}
