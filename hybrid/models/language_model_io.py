"""An unconditional generator with its vocabulary: build from text, save and load as a directory.

Token ids 0..3 are <pad>, <unk>, <s>, </s>; sequences end in </s>. The directory holds
config.json (a LanguageModelConfig, format "hybrid-lm"), vocab.json and model.safetensors.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from hybrid.config import LanguageModelConfig
from hybrid.data.parallel import BOS, EOS
from hybrid.data.vocab import Vocabulary
from hybrid.models.language_model import LanguageModel
from hybrid.models.registry import LANGUAGE_MODEL
from hybrid.models.storage import load_model_directory, write_model_directory

FORMAT, FORMAT_VERSION = LANGUAGE_MODEL.format, 1


class TextLanguageModel(LanguageModel):
    """A LanguageModel over the words of a Vocabulary (with <s> and </s>)."""

    def __init__(self, config: LanguageModelConfig, vocab: Vocabulary):
        super().__init__(len(vocab), config.embedding_dim, config.hidden_size, config.num_layers, config.cell,
                         bos=vocab.index(BOS), dropout=config.dropout, pad=vocab.pad_index)
        self.config, self.vocab, self.eos = config, vocab, vocab.index(EOS)

    @classmethod
    def build(cls, config: LanguageModelConfig, sentences: Sequence[Sequence[str]]) -> TextLanguageModel:
        counted = Vocabulary((t for s in sentences for t in s), config.min_freq)
        words = [t for t in counted.tokens[2:] if t not in (BOS, EOS)]
        vocab = Vocabulary.from_dict({"tokens": ["<pad>", "<unk>", BOS, EOS, *words], "pad": "<pad>", "unk": "<unk>"})
        return cls(config, vocab)

    def encode(self, sentences: Sequence[Sequence[str]]) -> tuple[Tensor, Tensor]:
        """tokens (B, L) = the words' ids then </s>, padded; mask (B, L)."""
        rows = [[*self.vocab.encode(s), self.eos] for s in sentences]
        width = max((len(r) for r in rows), default=0)
        device = self.embedding.weight.device
        tokens = torch.tensor([r + [self.pad] * (width - len(r)) for r in rows], dtype=torch.long, device=device)
        return tokens.reshape(len(rows), width), tokens.reshape(len(rows), width) != self.pad

    def decode(self, ids: Sequence[int]) -> list[str]:
        """Words of `ids` up to (not including) the first </s>; padding dropped."""
        out = []
        for i in ids:
            if i == self.eos:
                break
            if i != self.pad:
                out.append(self.vocab.token(int(i)))
        return out


def save_language_model(model: TextLanguageModel, directory: str | Path,
                        training: dict[str, Any] | None = None) -> Path:
    return write_model_directory(directory, FORMAT, FORMAT_VERSION, model.config, model.vocab.to_dict(),
                                 model.state_dict(), training)


def load_language_model(directory: str | Path) -> TextLanguageModel:
    """Rebuild a saved generator, in eval mode."""
    return load_model_directory(directory, FORMAT, FORMAT_VERSION, LanguageModelConfig, Vocabulary.from_dict,
                                TextLanguageModel)
