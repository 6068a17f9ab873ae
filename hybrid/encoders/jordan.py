"""Jordan network (Jordan, 1986): a recurrent layer whose recurrence is on its previous *output*,
not on its hidden state as in Elman's network:

    h_t = tanh(W x_t + U y_{t-1} + b)
    y_t = softmax(V h_t + c)           (the layer's own output distribution over F units)

with y_0 = 0. The encoder passes h_t on (to the next layer, or the tagger's projection); y_t is
what the next step sees. Torch has no such cell, so the time loop is Python's, over one matmul
per step; the inputs' part W x_t of every step is computed at once.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hybrid.encoders.stacked import StackedRecurrent
from hybrid.errors import ShapeError


class JordanCell(nn.Module):
    """One step: forward(x (B, D), y_prev (B, F)) -> (h (B, H), y (B, F)).

    Parameters: weight_ih (H, D), weight_yh (H, F), bias (H,) for the hidden layer; weight_out
    (F, H), bias_out (F,) for the output the next step reads. Uniform in +-1/sqrt(H), as torch's RNN.
    """

    def __init__(self, input_size: int, hidden_size: int, feedback_size: int):
        super().__init__()
        if min(input_size, hidden_size, feedback_size) < 1:
            raise ValueError(f"sizes must be >= 1, got input {input_size}, hidden {hidden_size}, "
                             f"feedback {feedback_size}")
        self.input_size, self.hidden_size, self.feedback_size = input_size, hidden_size, feedback_size
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size))
        self.weight_yh = nn.Parameter(torch.empty(hidden_size, feedback_size))
        self.bias = nn.Parameter(torch.empty(hidden_size))
        self.weight_out = nn.Parameter(torch.empty(feedback_size, hidden_size))
        self.bias_out = nn.Parameter(torch.empty(feedback_size))
        bound = hidden_size**-0.5
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def step(self, x_part: Tensor, y_prev: Tensor) -> tuple[Tensor, Tensor]:
        """From the precomputed input part x_part = W x + b (B, H) and y_{t-1} (B, F)."""
        h = torch.tanh(x_part + y_prev @ self.weight_yh.t())
        return h, F.softmax(h @ self.weight_out.t() + self.bias_out, dim=-1)

    def forward(self, x: Tensor, y_prev: Tensor) -> tuple[Tensor, Tensor]:
        if x.dim() != 2 or x.shape[1] != self.input_size:
            raise ShapeError(f"expected x of shape (B, {self.input_size}), got {tuple(x.shape)}")
        if tuple(y_prev.shape) != (x.shape[0], self.feedback_size):
            raise ShapeError(f"expected y_prev of shape ({x.shape[0]}, {self.feedback_size}), "
                             f"got {tuple(y_prev.shape)}")
        return self.step(x @ self.weight_ih.t() + self.bias, y_prev)


class JordanRNN(StackedRecurrent):
    """Stacked, optionally bidirectional Jordan network: x (B, T, D), mask (B, T) -> (B, T, dirs * H).

    The mask is right-padded; padded positions output zeros, and the backward direction reads each
    sequence from its own last real position. feedback_size (default hidden_size) is the size of
    the output each step feeds back. Dropout acts between stacked layers.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bidirectional: bool = False,
                 dropout: float = 0.0, feedback_size: int | None = None):
        super().__init__(input_size, hidden_size, num_layers, bidirectional, dropout)
        feedback = hidden_size if feedback_size is None else feedback_size
        # cells[layer * num_directions + direction]; direction 1 is the backward one
        self.cells = nn.ModuleList(
            JordanCell(self.layer_input_size(layer), hidden_size, feedback)
            for layer in range(num_layers) for _ in range(self.num_directions)
        )

    def run_layer(self, layer: int, xs: Tensor, real: Tensor) -> Tensor:
        outs = []
        for direction, x in enumerate(xs):
            cell = self.cells[layer * self.num_directions + direction]
            assert isinstance(cell, JordanCell)  # the list holds nothing else (for the type checker)
            outs.append(self._run(cell, x) * real)
        return torch.stack(outs)

    @staticmethod
    def _run(cell: JordanCell, x: Tensor) -> Tensor:
        """x (B, T, D) -> h (B, T, H), one sequence direction."""
        x_part = x @ cell.weight_ih.t() + cell.bias  # (B, T, H): every step's input part at once
        y = x.new_zeros(x.shape[0], cell.feedback_size)
        hs = []
        for step in range(x.shape[1]):
            h, y = cell.step(x_part[:, step], y)
            hs.append(h)
        return torch.stack(hs, dim=1)
