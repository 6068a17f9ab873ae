"""LSTM with peephole connections (Gers & Schmidhuber, 2000), which torch does not provide.

The input and forget gates look at the previous cell state c_{t-1}, the output gate at the
new cell state c_t, each through a diagonal (element-wise) peephole weight:

    i = sigmoid(W_i x + U_i h + p_i * c_{t-1} + b_i)
    f = sigmoid(W_f x + U_f h + p_f * c_{t-1} + b_f)
    g = tanh(W_g x + U_g h + b_g)
    c_t = f * c_{t-1} + i * g
    o = sigmoid(W_o x + U_o h + p_o * c_t + b_o)
    h_t = o * tanh(c_t)

Gates are stacked in torch's order (i, f, g, o), so with zero peepholes the weights of an
`nn.LSTM` carry over directly (bias = bias_ih + bias_hh).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from hybrid.encoders.stacked import StackedRecurrent
from hybrid.errors import ShapeError


def peephole_step(gates_x: Tensor, h: Tensor, c: Tensor, weight_hh: Tensor,
                  peephole: Tensor) -> tuple[Tensor, Tensor]:
    """One step from the precomputed input part gates_x = W_ih x + b.

    gates_x (..., B, 4H); h, c (..., B, H); weight_hh (..., 4H, H); peephole (..., 3, H).
    The leading `...` lets one call advance several directions with their own weights.
    """
    i, f, g, o = (gates_x + h @ weight_hh.transpose(-1, -2)).chunk(4, dim=-1)  # (..., B, H) each
    p_i, p_f, p_o = peephole.unsqueeze(-2).unbind(-3)  # (..., 1, H) each
    i = torch.sigmoid(i + p_i * c)
    f = torch.sigmoid(f + p_f * c)
    c = f * c + i * torch.tanh(g)
    o = torch.sigmoid(o + p_o * c)
    return o * torch.tanh(c), c


class PeepholeLSTMCell(nn.Module):
    """One step: forward(x (B, D), (h, c) each (B, H)) -> (h, c).

    Parameters: weight_ih (4H, D), weight_hh (4H, H), bias (4H,), peephole (3, H) with rows
    p_i, p_f, p_o. All start uniform in +-1/sqrt(H), like torch's LSTM.
    """

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        if input_size < 1 or hidden_size < 1:
            raise ValueError(f"sizes must be >= 1, got input {input_size}, hidden {hidden_size}")
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, hidden_size))
        self.bias = nn.Parameter(torch.empty(4 * hidden_size))
        self.peephole = nn.Parameter(torch.empty(3, hidden_size))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = self.hidden_size**-0.5
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def forward(self, x: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        h, c = state
        if x.dim() != 2 or x.shape[1] != self.input_size:
            raise ShapeError(f"expected x of shape (B, {self.input_size}), got {tuple(x.shape)}")
        expected = (x.shape[0], self.hidden_size)
        if tuple(h.shape) != expected or tuple(c.shape) != expected:
            raise ShapeError(f"expected h and c of shape {expected}, got {tuple(h.shape)} and {tuple(c.shape)}")
        gates_x = x @ self.weight_ih.t() + self.bias  # (B, 4H)
        return peephole_step(gates_x, h, c, self.weight_hh, self.peephole)


class PeepholeLSTM(StackedRecurrent):
    """Stacked, optionally bidirectional peephole LSTM: x (B, T, D), mask (B, T) -> (B, T, dirs * H).

    The mask is right-padded; padded positions output zeros. The backward direction reads
    each sequence from its own last real position. Dropout acts between stacked layers.
    For speed, each layer projects the inputs of all time steps in one matmul and advances
    both directions together, so Python loops only over time.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bidirectional: bool = False, dropout: float = 0.0):
        super().__init__(input_size, hidden_size, num_layers, bidirectional, dropout)
        # cells[layer * num_directions + direction]; direction 1 is the backward one
        self.cells = nn.ModuleList(
            PeepholeLSTMCell(self.layer_input_size(layer), hidden_size)
            for layer in range(num_layers) for _ in range(self.num_directions)
        )

    def run_layer(self, layer: int, xs: Tensor, real: Tensor) -> Tensor:
        return self._run_layer(self._layer_cells(layer), xs, real)

    def _layer_cells(self, layer: int) -> list[PeepholeLSTMCell]:
        """The cells of `layer`, one per direction (forward first); self.cells holds only cells."""
        n = self.num_directions
        modules = self.cells[layer * n:(layer + 1) * n]
        return [cell for cell in modules if isinstance(cell, PeepholeLSTMCell)]

    def _run_layer(self, cells: list[PeepholeLSTMCell], xs: Tensor, real: Tensor) -> Tensor:
        """xs (dirs, B, T, D) -> (dirs, B, T, H), each direction with its own cell."""
        weight_ih = torch.stack([cell.weight_ih for cell in cells])  # (dirs, 4H, D)
        weight_hh = torch.stack([cell.weight_hh for cell in cells])  # (dirs, 4H, H)
        bias = torch.stack([cell.bias for cell in cells])  # (dirs, 4H)
        peephole = torch.stack([cell.peephole for cell in cells])  # (dirs, 3, H)
        dirs, b, t, d = xs.shape
        gates_x = torch.baddbmm(bias.unsqueeze(1), xs.reshape(dirs, b * t, d), weight_ih.transpose(1, 2))
        gates_x = gates_x.view(dirs, b, t, -1)  # (dirs, B, T, 4H): every step's input part at once
        h = xs.new_zeros(dirs, b, self.hidden_size)
        c = xs.new_zeros(dirs, b, self.hidden_size)
        outputs = []
        for step in range(t):
            # right padding: once a row is past its end, its state is never read again
            h, c = peephole_step(gates_x[:, :, step], h, c, weight_hh, peephole)
            outputs.append(h * real[:, step])
        return torch.stack(outputs, dim=2)
