"""CTC sequence model: token embeddings -> RNN encoder -> CTC head.

For outputs not aligned with the input (characters -> words, frames -> phones, spelled-out
numbers -> digits): each input position emits a label or the blank, and a labelling is the
sum over its alignments. Input ids 0 are padding; label ids are 1..num_labels (0 is the blank).
`CTCModel.from_config` builds one from a tagger config (`layer: ctc`) and `CTCVocabs`; that is
what `hybrid train --layer ctc` trains and `load_tagger` returns for such a directory.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from hybrid.config import ModelConfig
from hybrid.data.pairs import CTCBatch, CTCVocabs, Pair
from hybrid.encoders.build import build_encoder
from hybrid.structured.ctc import CTCHead


class CTCModel(nn.Module):
    """ids (B, T) long, right padded with 0 -> log-probabilities (B, T, num_labels + 1)."""

    def __init__(self, vocab_size: int, num_labels: int, embedding_dim: int = 32, hidden_size: int = 64,
                 num_layers: int = 1, cell: str = "lstm", dropout: float = 0.0, zero_infinity: bool = False,
                 bidirectional: bool = True, heads: int = 4, ff_size: int = 0, positions: str = "sinusoidal",
                 attention_dropout: float = 0.1):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        self.encoder = build_encoder(cell, embedding_dim, hidden_size, num_layers, bidirectional,
                                     attention_dropout if cell == "transformer" else dropout, heads, ff_size,
                                     positions)
        self.dropout = nn.Dropout(dropout)
        self.head = CTCHead(self.encoder.output_size, num_labels, blank=0, zero_infinity=zero_infinity)
        self.vocabs: CTCVocabs | None = None
        self.config: ModelConfig | None = None  # the tagger config it was built from, if any
        self.beam = 1  # decoding beam of `predict`: 1 = best path

    @classmethod
    def from_config(cls, config: ModelConfig, vocabs: CTCVocabs) -> CTCModel:
        """The model a tagger config with `layer: ctc` describes (word_dim, encoder, hidden_size,
        num_layers, bidirectional, dropout, ctc_beam); training pairs too short for their labels
        count as zero loss instead of infinity."""
        model = cls(len(vocabs.inputs), vocabs.num_labels, config.word_dim, config.hidden_size, config.num_layers,
                    config.encoder, config.dropout, zero_infinity=True, bidirectional=config.bidirectional,
                    heads=config.heads, ff_size=config.ff_size, positions=config.positions,
                    attention_dropout=config.attention_dropout)
        model.vocabs, model.config, model.beam = vocabs, config, config.ctc_beam
        return model

    def forward(self, ids: Tensor) -> tuple[Tensor, Tensor]:
        """ids (B, T) -> (log_probs (B, T, C), lengths (B,))."""
        mask = ids != 0  # (B, T)
        h = self.encoder(self.dropout(self.embedding(ids)), mask)  # (B, T, H)
        return self.head(self.dropout(h)), mask.sum(1)

    def loss(self, ids: Tensor | CTCBatch, targets: Tensor | None = None,
             target_lengths: Tensor | None = None) -> Tensor:
        """Mean CTC loss of right-padded targets (B, S) with lengths (B,), or of a CTCBatch."""
        if isinstance(ids, CTCBatch):
            return self.loss(ids.ids, ids.targets, ids.target_lengths)
        if targets is None or target_lengths is None:
            raise ValueError("the CTC loss needs targets and target_lengths (or a CTCBatch)")
        log_probs, lengths = self(ids)
        return self.head.loss(log_probs, lengths, targets, target_lengths)

    @torch.no_grad()
    def decode(self, ids: Tensor, beam: int = 1) -> list[list[int]]:
        """Label ids of each sentence: best-path for beam 1, prefix beam search otherwise."""
        log_probs, lengths = self(ids)
        return self.head.decode(log_probs, lengths, beam)

    @torch.no_grad()
    def predict(self, pairs: Sequence[Pair], batch_size: int = 256, beam: int | None = None) -> list[list[str]]:
        """The label sequence of each pair's input (needs `vocabs`); beam defaults to the model's."""
        if self.vocabs is None:
            raise ValueError("this CTC model has no vocabularies: build it with CTCModel.from_config")
        beam = self.beam if beam is None else beam
        device = next(self.parameters()).device
        out: list[list[str]] = []
        for start in range(0, len(pairs), batch_size):
            batch = self.vocabs.encode(pairs[start : start + batch_size], with_labels=False)
            out.extend(self.vocabs.decode(ids) for ids in self.decode(batch.ids.to(device), beam))
        return out
