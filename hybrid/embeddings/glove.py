"""GloVe (Pennington et al. 2014): word vectors w_i, context vectors w~_j and biases fitted to
the log co-occurrence counts by weighted least squares,

    J = 1/2 sum_{i, j: X_ij > 0} f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij)^2,
    f(x) = min(1, (x / x_max)^power),

(the 1/2 is glove.c's, so the gradient is f * error), trained with AdaGrad as glove.c does: each
term steps its rows by g / sqrt(the sum of the squares of the row's earlier steps g, from 1),
where g = lr * gradient (glove.c scales the gradient by eta before both).
A batch of terms is one gather and one index_add_ per table, each table row holding a word's
vector, bias and their squared-gradient sums side by side (no autograd: a sparse optimiser's
coalescing, or separate gathers of each part, cost more than the arithmetic; random row access
is what bounds the speed). The final vectors are W + W~, as the paper recommends.
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


def glove_loss(w: Tensor, wt: Tensor, b: Tensor, bt: Tensor, rows: Tensor, cols: Tensor, values: Tensor,
               x_max: float = 10.0, power: float = 0.75) -> Tensor:
    """J over the terms (rows (N,), cols (N,), values (N,) = X_ij > 0) of vectors w, wt (V, D) and
    biases b, bt (V,)."""
    predicted = (w[rows] * wt[cols]).sum(-1) + b[rows] + bt[cols]  # (N,)
    return 0.5 * (weighting(values, x_max, power) * (predicted - values.log()).square()).sum()


class GloVe(nn.Module):
    """Two tables (V, 2 (D + 1)), words' and contexts': each row [vector (D), bias, AdaGrad's sums
    of squared gradients of both (D + 1, from 1 as in glove.c)]; vectors and biases start uniform
    in +-0.5 / D, as in glove.c. Buffers, not parameters: the model updates itself."""

    def __init__(self, vocab_size: int, dim: int, seed: int = 1):
        super().__init__()
        self.dim = dim
        generator = torch.Generator().manual_seed(seed)
        start = (torch.rand(2, vocab_size, dim + 1, generator=generator) - 0.5) / dim
        sums = torch.ones(vocab_size, dim + 1)
        self.words: Tensor
        self.contexts: Tensor
        self.register_buffer("words", torch.cat([start[0], sums], 1))
        self.register_buffer("contexts", torch.cat([start[1], sums], 1))

    def parts(self, table: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Views of a table: vectors (V, D), biases (V,), squared-gradient sums (V, D + 1)."""
        return table[:, : self.dim], table[:, self.dim], table[:, self.dim + 1 :]

    def loss(self, rows: Tensor, cols: Tensor, values: Tensor, x_max: float = 10.0, power: float = 0.75) -> Tensor:
        """J summed over the terms."""
        (w, b, _), (wt, bt, _) = self.parts(self.words), self.parts(self.contexts)
        return glove_loss(w, wt, b, bt, rows, cols, values, x_max, power)

    @torch.no_grad()
    def adagrad_step(self, rows: Tensor, cols: Tensor, values: Tensor, lr: float, x_max: float = 10.0,
                     power: float = 0.75) -> float:
        """One AdaGrad step on the terms (rows (N,), cols (N,), values (N,)); returns their J before
        it. Each row's step uses its sums from before the batch, as glove.c's per-term updates
        would where no row repeats within the batch (a row that does takes each term's step)."""
        d = self.dim
        # index_select, not table[rows]: several times faster on CPU
        left, right = self.words.index_select(0, rows), self.contexts.index_select(0, cols)  # (N, 2D + 2)
        error = torch.einsum("nd,nd->n", left[:, :d], right[:, :d]) + left[:, d] + right[:, d] - values.log()
        weighted = (weighting(values, x_max, power) * error).unsqueeze(-1)  # (N, 1): dJ / d(prediction)
        loss = 0.5 * float((weighted.squeeze(-1) * error).sum())
        for table, index, mine, other in ((self.words, rows, left, right), (self.contexts, cols, right, left)):
            scaled = torch.cat([weighted * other[:, :d], weighted], 1).mul_(lr)  # (N, D + 1): lr * gradient
            step = mine[:, d + 1 :].rsqrt().mul_(scaled).neg_()
            table.index_add_(0, index, torch.cat([step, scaled.square()], 1))
        return loss

    def vectors(self) -> np.ndarray:
        """(V, D) W + W~, the vectors GloVe reports."""
        return (self.words[:, : self.dim] + self.contexts[:, : self.dim]).cpu().numpy().copy()
