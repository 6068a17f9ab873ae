"""Discriminator D(x, y) = P(the pair is real) for conditional GAN training of sequences.

y (the output: a translation, a tag sequence, or an unconditional sample) runs through a
bidirectional RNN; its max- and mean-pooled states are the sequence's features. With a
condition x (source sentence), x is encoded the same way and the pair's features are
[y; x; y * x] (the product lets D judge whether y fits this x, which mismatched real pairs
train); without one (source_vocab_size 0), the features are y's alone. A highway layer and a
linear output give the logit, as in SeqGAN's discriminator.

Shapes: tokens (B, L) with mask (B, L); src (B, S) with src_mask (B, S); logits (B,).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from hybrid.config import DiscriminatorConfig
from hybrid.encoders.rnn import RNNEncoder
from hybrid.models.registry import DISCRIMINATOR


@dataclass
class Judged:
    """Sequences for D: tokens (B, L), mask (B, L), and their conditions src (B, S), src_mask (B, S)."""

    tokens: Tensor
    mask: Tensor
    src: Tensor | None = None
    src_mask: Tensor | None = None

    def __len__(self) -> int:
        return self.tokens.shape[0]

    def rows(self, index: Tensor) -> Judged:
        return Judged(self.tokens[index], self.mask[index], None if self.src is None else self.src[index],
                      None if self.src_mask is None else self.src_mask[index])


class Discriminator(nn.Module):
    def __init__(self, vocab_size: int, source_vocab_size: int = 0, embedding_dim: int = 64,
                 hidden_size: int = 64, cell: str = "gru", dropout: float = 0.2):
        super().__init__()
        self.config = DiscriminatorConfig(vocab_size, source_vocab_size, embedding_dim, hidden_size, cell,  # type: ignore[arg-type]
                                          dropout)
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.encoder = RNNEncoder(embedding_dim, hidden_size, 1, cell, bidirectional=True)
        d = 2 * self.encoder.output_size  # max and mean pooled
        self.conditional = source_vocab_size > 0
        if self.conditional:
            self.src_embedding = nn.Embedding(source_vocab_size, embedding_dim)
            self.src_encoder = RNNEncoder(embedding_dim, hidden_size, 1, cell, bidirectional=True)
            d *= 3
        self.highway = nn.Linear(d, 2 * d)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(d, 1)

    def _features(self, embedding: nn.Embedding, encoder: RNNEncoder, ids: Tensor, mask: Tensor) -> Tensor:
        h = encoder(embedding(ids), mask)  # (B, L, 2H)
        m = mask.unsqueeze(-1)
        mean = (h * m).sum(1) / m.sum(1).clamp_min(1)
        top = h.masked_fill(~m, float("-inf")).max(1).values
        return torch.cat([top.masked_fill(~torch.isfinite(top), 0.0), mean], -1)  # (B, 4H)

    def forward(self, tokens: Tensor, mask: Tensor, src: Tensor | None = None,
                src_mask: Tensor | None = None) -> Tensor:
        """Logits (B,) of P(real); sigmoid gives the probability."""
        f = self._features(self.embedding, self.encoder, tokens, mask)
        if self.conditional:
            if src is None or src_mask is None:
                raise ValueError("this discriminator is conditional: give src and src_mask")
            g = self._features(self.src_embedding, self.src_encoder, src, src_mask)
            f = torch.cat([f, g, f * g], -1)
        gate, transformed = self.highway(f).chunk(2, -1)
        t = torch.sigmoid(gate)
        f = t * torch.relu(transformed) + (1 - t) * f
        return self.out(self.dropout(f)).squeeze(-1)

    @classmethod
    def from_config(cls, config: DiscriminatorConfig) -> Discriminator:
        return cls(config.vocab_size, config.source_vocab_size, config.embedding_dim, config.hidden_size,
                   config.cell, config.dropout)


FORMAT, FORMAT_VERSION = DISCRIMINATOR.format, 1


def save_discriminator(d: Discriminator, directory: str | Path, training: dict[str, Any] | None = None) -> Path:
    """Write D as a model directory (config.json, model.safetensors; its ids are its generator's,
    so vocab.json is empty), atomically."""
    from hybrid.models.storage import write_model_directory

    return write_model_directory(directory, FORMAT, FORMAT_VERSION, d.config, {}, d.state_dict(), training)


def load_discriminator(directory: str | Path) -> Discriminator:
    """Rebuild a saved D, in eval mode."""
    from hybrid.models.storage import load_model_directory

    return load_model_directory(directory, FORMAT, FORMAT_VERSION, DiscriminatorConfig, lambda data: data,
                                lambda config, _: Discriminator.from_config(config))
