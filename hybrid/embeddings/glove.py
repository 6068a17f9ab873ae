"""GloVe (Pennington et al. 2014): word vectors w_i, context vectors w~_j and biases fitted to
the log co-occurrence counts by weighted least squares,

    J = 1/2 sum_{i, j: X_ij > 0} f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij)^2,
    f(x) = min(1, (x / x_max)^power),

(the 1/2 is glove.c's, so the gradient is f * error) trained with AdaGrad on sparse rows; the
final vectors are W + W~, as the paper recommends.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn


def weighting(x: Tensor, x_max: float, power: float) -> Tensor:
    """f(x) = min(1, (x / x_max)^power): rare pairs count less, frequent ones are capped."""
    return (x / x_max).pow(power).clamp(max=1.0)


def both_directions(rows: Tensor, cols: Tensor, values: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Upper-triangle entries (rows <= cols) as the (i, j, X_ij) terms of J: each off-diagonal
    entry stands for X_ij and X_ji."""
    off = rows != cols
    return (torch.cat([rows, cols[off]]), torch.cat([cols, rows[off]]), torch.cat([values, values[off]]))


class GloVe(nn.Module):
    """W, W~ (V, D) and b, b~ (V,) as sparse-gradient embeddings, initialised uniform in
    +-0.5 / D as glove.c does."""

    def __init__(self, vocab_size: int, dim: int, seed: int = 1):
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.inputs = nn.Embedding(vocab_size, dim, sparse=True)  # W
        self.contexts = nn.Embedding(vocab_size, dim, sparse=True)  # W~
        self.input_bias = nn.Embedding(vocab_size, 1, sparse=True)  # b
        self.context_bias = nn.Embedding(vocab_size, 1, sparse=True)  # b~
        with torch.no_grad():
            for table in (self.inputs, self.contexts, self.input_bias, self.context_bias):
                table.weight.copy_((torch.rand(table.weight.shape, generator=generator) - 0.5) / dim)

    def loss(self, rows: Tensor, cols: Tensor, values: Tensor, x_max: float = 10.0, power: float = 0.75) -> Tensor:
        """J summed over the terms (rows (N,), cols (N,), values (N,) = X_ij > 0)."""
        predicted = ((self.inputs(rows) * self.contexts(cols)).sum(-1)
                     + self.input_bias(rows).squeeze(-1) + self.context_bias(cols).squeeze(-1))  # (N,)
        error = predicted - values.log()
        return 0.5 * (weighting(values, x_max, power) * error.square()).sum()

    def vectors(self) -> np.ndarray:
        """(V, D) W + W~, the vectors GloVe reports."""
        return (self.inputs.weight + self.contexts.weight).detach().cpu().numpy().copy()
