"""Character-level word features: a BiLSTM (Lample et al.) or a CNN (Ma & Hovy) over characters.

Both take char ids (N, C) for N words, 0 = padding at the right, and return (N, output_size).
A word's characters are the non-zero ids; padding never changes a word's features. A row
with no characters at all (a padding word) still gets a vector rather than an error: the
LSTM reads it as one padding character, the CNN returns zeros.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence

from hybrid.errors import ShapeError

CHAR_ENCODERS = ("lstm", "cnn")


def _check_chars(chars: Tensor) -> None:
    if chars.dim() != 2:
        raise ShapeError(f"expected char ids of shape (N, C), got {tuple(chars.shape)}")
    if chars.dtype != torch.long:
        raise ShapeError(f"expected long char ids, got dtype {chars.dtype}")


class CharLSTMEncoder(nn.Module):
    """Final forward and backward states of a char BiLSTM: (N, C) -> (N, 2 * hidden_size).

    Sequences are packed, so the backward LSTM starts at each word's last real character.
    """

    def __init__(self, num_chars: int, char_dim: int = 30, hidden_size: int = 50):
        super().__init__()
        self.embedding = nn.Embedding(num_chars, char_dim, padding_idx=0)
        self.lstm = nn.LSTM(char_dim, hidden_size, batch_first=True, bidirectional=True)
        self.hidden_size = hidden_size

    @property
    def output_size(self) -> int:
        return 2 * self.hidden_size

    def forward(self, chars: Tensor) -> Tensor:
        _check_chars(chars)
        if chars.shape[0] == 0:  # packing rejects an empty batch
            return self.embedding.weight.new_zeros(0, self.output_size)
        lengths = (chars != 0).sum(1).clamp_min(1).cpu()  # (N,)
        embedded = self.embedding(chars)  # (N, C, char_dim)
        packed = pack_padded_sequence(embedded, lengths, batch_first=True, enforce_sorted=False)
        _, (h, _) = self.lstm(packed)  # h (2, N, hidden): forward final, backward final
        return torch.cat([h[0], h[1]], dim=-1)


class CharCNNEncoder(nn.Module):
    """Convolution over characters, max-pooled over real positions: (N, C) -> (N, num_filters).

    The convolution pads both ends with zero vectors (output length C), and padding
    characters embed to zero too, so extra padding columns change neither the windows nor the pooled maximum.
    """

    def __init__(self, num_chars: int, char_dim: int = 30, num_filters: int = 50, kernel_size: int = 3):
        super().__init__()
        if kernel_size < 1:
            raise ValueError(f"kernel_size must be >= 1, got {kernel_size}")
        self.embedding = nn.Embedding(num_chars, char_dim, padding_idx=0)
        self.conv = nn.Conv1d(char_dim, num_filters, kernel_size)
        self.same_padding = ((kernel_size - 1) // 2, kernel_size // 2)  # output length = C
        self.num_filters = num_filters

    @property
    def output_size(self) -> int:
        return self.num_filters

    def forward(self, chars: Tensor) -> Tensor:
        _check_chars(chars)
        real = (chars != 0).unsqueeze(1)  # (N, 1, C)
        # zero padding vectors explicitly, in case the embedding's row 0 was overwritten
        embedded = self.embedding(chars).transpose(1, 2) * real  # (N, char_dim, C)
        h = self.conv(F.pad(embedded, self.same_padding))  # (N, F, C)
        h = h.masked_fill(~real, float("-inf"))
        if h.shape[2] == 0:
            return h.new_zeros(h.shape[0], self.num_filters)
        pooled = h.amax(dim=2)  # (N, F)
        return pooled.masked_fill(~real.any(dim=2), 0.0)  # words without characters -> zeros


def build_char_encoder(kind: str, num_chars: int, char_dim: int = 30,
                       hidden: int = 50) -> CharLSTMEncoder | CharCNNEncoder:
    """'lstm' -> CharLSTMEncoder (output 2 * hidden), 'cnn' -> CharCNNEncoder (hidden filters)."""
    if kind == "lstm":
        return CharLSTMEncoder(num_chars, char_dim, hidden)
    if kind == "cnn":
        return CharCNNEncoder(num_chars, char_dim, hidden)
    raise ValueError(f"unknown char encoder {kind!r}; expected one of {', '.join(CHAR_ENCODERS)}")
