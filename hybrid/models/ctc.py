"""CTC sequence model: token embeddings -> RNN encoder -> CTC head.

For outputs not aligned with the input (characters -> words, frames -> phones, spelled-out
numbers -> digits): each input position emits a label or the blank, and a labelling is the
sum over its alignments. Input ids 0 are padding; label ids are 1..num_labels (0 is the blank).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from hybrid.encoders import RNNEncoder
from hybrid.structured.ctc import CTCHead


class CTCModel(nn.Module):
    """ids (B, T) long, right padded with 0 -> log-probabilities (B, T, num_labels + 1)."""

    def __init__(self, vocab_size: int, num_labels: int, embedding_dim: int = 32, hidden_size: int = 64,
                 num_layers: int = 1, cell: str = "lstm", dropout: float = 0.0, zero_infinity: bool = False):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        self.encoder = RNNEncoder(embedding_dim, hidden_size, num_layers, cell, bidirectional=True,
                                  dropout=dropout)
        self.dropout = nn.Dropout(dropout)
        self.head = CTCHead(self.encoder.output_size, num_labels, blank=0, zero_infinity=zero_infinity)

    def forward(self, ids: Tensor) -> tuple[Tensor, Tensor]:
        """ids (B, T) -> (log_probs (B, T, C), lengths (B,))."""
        mask = ids != 0  # (B, T)
        h = self.encoder(self.dropout(self.embedding(ids)), mask)  # (B, T, H)
        return self.head(self.dropout(h)), mask.sum(1)

    def loss(self, ids: Tensor, targets: Tensor, target_lengths: Tensor) -> Tensor:
        """Mean CTC loss of right-padded targets (B, S) with lengths (B,)."""
        log_probs, lengths = self(ids)
        return self.head.loss(log_probs, lengths, targets, target_lengths)

    @torch.no_grad()
    def decode(self, ids: Tensor, beam: int = 1) -> list[list[int]]:
        """Label ids of each sentence: best-path for beam 1, prefix beam search otherwise."""
        log_probs, lengths = self(ids)
        return self.head.decode(log_probs, lengths, beam)
