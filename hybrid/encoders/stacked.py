"""What hybrid's own recurrent layers share (PeepholeLSTM, JordanRNN): stacked layers, the backward
direction over each sequence reversed within its own length, dropout between layers, zeros at
padding, and no work for trailing all-padding columns. A subclass says how one layer runs."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hybrid.encoders.shapes import check_sequence_batch, reverse_padded


class StackedRecurrent(nn.Module):
    """x (B, T, D), right-padded mask (B, T) -> (B, T, num_directions * hidden_size)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int, bidirectional: bool, dropout: float):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.num_directions = 2 if bidirectional else 1
        self.dropout = nn.Dropout(dropout)

    @property
    def output_size(self) -> int:
        return self.hidden_size * self.num_directions

    def layer_input_size(self, layer: int) -> int:
        return self.input_size if layer == 0 else self.output_size

    def run_layer(self, layer: int, xs: Tensor, real: Tensor) -> Tensor:
        """xs (dirs, B, T, D), direction 1 already reversed -> (dirs, B, T, H), zeros at padding;
        real (B, T, 1) is 1 at real positions."""
        raise NotImplementedError

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        lengths = check_sequence_batch(x, mask, self.input_size)
        b, t, _ = x.shape
        steps = int(lengths.max()) if b else 0  # no work for trailing all-padding columns
        if steps == 0:
            return x.new_zeros(b, t, self.output_size)
        x, real = x[:, :steps], mask[:, :steps].unsqueeze(-1).to(x.dtype)  # real (B, T', 1)
        for layer in range(self.num_layers):
            if layer:
                x = self.dropout(x)
            if self.num_directions == 1:
                x = self.run_layer(layer, x.unsqueeze(0), real)[0]  # (B, T', H)
                continue
            outs = self.run_layer(layer, torch.stack([x, reverse_padded(x, lengths)]), real)
            x = torch.cat([outs[0], reverse_padded(outs[1], lengths)], dim=-1)  # (B, T', 2H)
        return F.pad(x, (0, 0, 0, t - steps))  # zeros for the dropped padding columns
