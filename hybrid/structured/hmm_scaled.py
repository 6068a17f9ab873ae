"""An hmmlearn HMM whose emission log-likelihoods are given, for the DNN-HMM hybrid.

Each row of X is the network's scaled log-likelihood vector log P(y|x_t) - s log P(y) of one
token (K columns), so hmmlearn's decode, score and Baum-Welch (start and transitions only)
run on the hybrid's potentials. `HMMLayer.to_hmmlearn` returns one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hmmlearn.base import BaseHMM


class ScaledLikelihoodHMM(BaseHMM):
    """An HMM over K states whose emission log-likelihoods are the rows of X (n_samples, K)."""

    def __init__(self, n_components: int = 1, startprob_prior: float = 1.0, transmat_prior: float = 1.0,
                 n_iter: int = 10, tol: float = 1e-2, verbose: bool = False, params: str = "st",
                 init_params: str = "", implementation: str = "log"):
        super().__init__(n_components, startprob_prior=startprob_prior, transmat_prior=transmat_prior,
                         n_iter=n_iter, tol=tol, verbose=verbose, params=params, init_params=init_params,
                         implementation=implementation)

    def _get_n_fit_scalars_per_param(self) -> dict[str, int]:
        k = self.n_components
        return {"s": k - 1, "t": k * (k - 1)}

    def _check_and_set_n_features(self, X: np.ndarray) -> None:
        if X.ndim != 2 or X.shape[1] != self.n_components:
            raise ValueError(f"expected emission log-likelihoods of shape (n_samples, {self.n_components}), "
                             f"got {X.shape}")
        self.n_features = self.n_components

    def _compute_log_likelihood(self, X: np.ndarray) -> np.ndarray:
        return X

    def _generate_sample_from_state(self, state: int, random_state: Any = None) -> np.ndarray:
        raise NotImplementedError("the emissions come from a network: this HMM cannot generate observations")
