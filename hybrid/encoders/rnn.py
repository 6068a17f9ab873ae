"""Recurrent sentence encoders: Elman RNN, Jordan network, LSTM, GRU, peephole LSTM; bidirectional,
stacked.

One call convention for every cell: x (B, T, D) with a right-padded mask (B, T) in,
(B, T, output_size) out, zeros at padded positions. Torch's own cells run on packed
sequences, so padding never reaches the recurrence (nor the backward direction's start).
"""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from hybrid.encoders.jordan import JordanRNN
from hybrid.encoders.peephole import PeepholeLSTM
from hybrid.encoders.shapes import check_sequence_batch

CELLS = ("rnn", "lstm", "gru", "peephole", "jordan")
OWN_CELLS = ("peephole", "jordan")  # hybrid's own layers (a Python time loop), not torch's
TorchRNN = type[nn.RNN] | type[nn.LSTM] | type[nn.GRU]  # torch's layers: one constructor signature
_TORCH_CELLS: dict[str, TorchRNN] = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class RNNEncoder(nn.Module):
    """x (B, T, D) with mask (B, T) -> (B, T, output_size); zeros at padded positions.

    cell: "rnn" (Elman, tanh), "lstm", "gru" (torch's), "peephole" (PeepholeLSTM) or "jordan"
    (JordanRNN: the recurrence is on each step's output).
    dropout applies to the outputs of every layer but the last, as in torch.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, cell: str = "lstm",
                 bidirectional: bool = True, dropout: float = 0.0):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"unknown cell {cell!r}; expected one of {', '.join(CELLS)}")
        if input_size < 1 or hidden_size < 1 or num_layers < 1:
            raise ValueError(
                f"sizes must be >= 1, got input_size {input_size}, hidden_size {hidden_size}, "
                f"num_layers {num_layers}"
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.cell, self.bidirectional = cell, bidirectional
        self.rnn: nn.Module
        if cell == "peephole":
            self.rnn = PeepholeLSTM(input_size, hidden_size, num_layers, bidirectional, dropout)
        elif cell == "jordan":
            self.rnn = JordanRNN(input_size, hidden_size, num_layers, bidirectional, dropout)
        else:
            # torch warns about dropout with a single layer, where it does nothing anyway
            self.rnn = _TORCH_CELLS[cell](
                input_size, hidden_size, num_layers, batch_first=True,
                bidirectional=bidirectional, dropout=dropout if num_layers > 1 else 0.0,
            )

    @property
    def output_size(self) -> int:
        """Size of each output vector: hidden_size, doubled when bidirectional."""
        return self.hidden_size * (2 if self.bidirectional else 1)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """x (B, T, input_size) float, mask (B, T) bool right-padded -> (B, T, output_size)."""
        lengths = check_sequence_batch(x, mask, self.input_size)
        if self.cell in OWN_CELLS:
            return self.rnn(x, mask)
        if x.shape[0] == 0:  # packing rejects an empty batch
            return x.new_zeros(0, x.shape[1], self.output_size)
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.rnn(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])  # (B, T, out)
        return out
