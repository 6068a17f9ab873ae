"""Word vectors drawn in two dimensions: t-SNE (scikit-learn) or PCA of chosen words."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hybrid.embeddings.formats import WordVectors


def project(vectors: WordVectors, words: Sequence[str], method: str = "tsne", seed: int = 0) -> np.ndarray:
    """(N, 2) positions of `words` (all known to `vectors`): t-SNE on their cosine geometry
    (perplexity below N), or the first two principal components."""
    matrix = np.stack([vectors.vectors[vectors.index[w]] for w in words]).astype(np.float64)
    matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    if method == "pca" or len(words) < 4:
        centred = matrix - matrix.mean(0)
        _, _, components = np.linalg.svd(centred, full_matrices=False)
        return centred @ components[:2].T
    if method != "tsne":
        raise ValueError(f"method must be tsne or pca, got {method!r}")
    from sklearn.manifold import TSNE

    perplexity = float(min(30, max(2, (len(words) - 1) // 3)))
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(matrix)
