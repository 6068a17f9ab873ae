"""Many-to-one sequence classification: word embeddings -> recurrent encoder (any cell) -> pooling
over the positions (last state, mean, max, or attention with a learned query) -> softmax over
the classes. Shapes: ids and mask (B, T); states (B, T, H); logits (B, C).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hybrid.config import ClassifierModelConfig
from hybrid.data.labelled import Labelled
from hybrid.data.vocab import Vocabulary
from hybrid.encoders.build import build_encoder
from hybrid.encoders.pooling import Pooling
from hybrid.encoders.words import WordEmbedding


@dataclass
class ClassifierVocabs:
    """Words (with <pad>, <unk>) and labels (neither)."""

    words: Vocabulary
    labels: Vocabulary
    lowercase: bool = False
    lowercase_fallback: bool = False  # a word absent as written is looked up lowercased (as the tagger's)
    pretrained_only: int = 0  # the last words of `words`, which only the pretrained vectors brought

    @classmethod
    def build(cls, examples: Sequence[Labelled], min_freq: int = 1, lowercase: bool = False) -> ClassifierVocabs:
        words = Vocabulary((t.lower() if lowercase else t for e in examples for t in e.tokens), min_freq)
        labels = Vocabulary(sorted({e.label for e in examples if e.label is not None}), pad=None, unk=None)
        return cls(words, labels, lowercase)

    def encode(self, examples: Sequence[Labelled], with_labels: bool = True) -> tuple[Tensor, Tensor, Tensor | None]:
        """ids (B, T) right-padded, mask (B, T), label ids (B,) (None without labels)."""
        rows = [[self._word_id(t) for t in e.tokens] for e in examples]
        width = max((len(r) for r in rows), default=0)
        ids = torch.tensor([r + [0] * (width - len(r)) for r in rows], dtype=torch.long).reshape(len(rows), width)
        labels = None
        if with_labels:
            labels = torch.tensor([self.labels.index(e.label) for e in examples if e.label is not None],
                                  dtype=torch.long)
        return ids, ids != 0, labels

    def _word_id(self, token: str) -> int:
        word = token.lower() if self.lowercase else token
        return self.words.index_or_lowercase(word) if self.lowercase_fallback else self.words.index(word)

    def with_words(self, words: Iterable[str]) -> ClassifierVocabs:
        """These vocabularies with `words` (pretrained vectors' words) added after the training
        words, and the lowercase fallback on."""
        extended = self.words.extended(w.lower() if self.lowercase else w for w in words)
        return dataclasses.replace(self, words=extended, lowercase_fallback=True,
                                   pretrained_only=self.pretrained_only + len(extended) - len(self.words))

    def to_dict(self) -> dict[str, Any]:
        return {"words": self.words.to_dict(), "labels": self.labels.to_dict(), "lowercase": self.lowercase,
                "lowercase_fallback": self.lowercase_fallback, "pretrained_only": self.pretrained_only}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClassifierVocabs:
        return cls(Vocabulary.from_dict(data["words"]), Vocabulary.from_dict(data["labels"]),
                   bool(data.get("lowercase", False)), bool(data.get("lowercase_fallback", False)),
                   int(data.get("pretrained_only", 0)))


class SequenceClassifier(nn.Module):
    """Logits over the labels for each sentence; `attention` gives the pooling weights (B, T)."""

    def __init__(self, config: ClassifierModelConfig, vocabs: ClassifierVocabs):
        super().__init__()
        self.config, self.vocabs = config, vocabs
        # the words only pretrained vectors brought never occur in training: their rows stay fixed
        self.embedding = WordEmbedding(len(vocabs.words) - vocabs.pretrained_only, vocabs.pretrained_only,
                                       config.word_dim)
        transformer = config.encoder == "transformer"
        self.encoder = build_encoder(config.encoder, config.word_dim, config.hidden_size, config.num_layers,
                                     config.bidirectional, config.attention_dropout if transformer else config.dropout,
                                     config.heads, config.ff_size, config.positions)
        size = self.encoder.output_size
        self.dropout = nn.Dropout(config.dropout)
        self.pooling = Pooling(config.pooling, size, config.attention_size,
                               config.hidden_size if config.bidirectional and not transformer else None)
        self._register_load_state_dict_pre_hook(_rename_pooling_keys)
        self.output = nn.Linear(size, len(vocabs.labels))

    @property
    def label_names(self) -> list[str]:
        return self.vocabs.labels.tokens

    def states(self, ids: Tensor, mask: Tensor) -> Tensor:
        """(B, T, H) the encoder's states, zeros at padding."""
        return self.encoder(self.dropout(self.embedding(ids)), mask)

    def attention(self, states: Tensor, mask: Tensor) -> Tensor:
        """(B, T) the attention pooling's weights over the real positions; zeros at padding."""
        return self.pooling.weights(states, mask)

    def pool(self, states: Tensor, mask: Tensor) -> Tensor:
        """(B, H) one vector per sentence."""
        return self.pooling(states, mask)

    def forward(self, ids: Tensor, mask: Tensor) -> Tensor:
        """(B, C) logits."""
        return self.output(self.dropout(self.pool(self.states(ids, mask), mask)))

    def loss(self, ids: Tensor, mask: Tensor, labels: Tensor, weights: Tensor | None = None) -> Tensor:
        """Mean cross-entropy, each class weighed by `weights` (C,) if given."""
        return F.cross_entropy(self(ids, mask), labels, weight=weights)

    @torch.no_grad()
    def predict(self, examples: Sequence[Labelled], batch_size: int = 256) -> list[tuple[str, float]]:
        """(label, probability) of the most probable class of each example, in input order."""
        self.eval()
        device = self.output.weight.device
        order = sorted(range(len(examples)), key=lambda i: len(examples[i].tokens))
        out: list[tuple[str, float]] = [("", 0.0)] * len(examples)
        for start in range(0, len(order), batch_size):
            index = order[start: start + batch_size]
            ids, mask, _ = self.vocabs.encode([examples[i] for i in index], with_labels=False)
            probs = F.softmax(self(ids.to(device), mask.to(device)).float(), dim=-1)
            best = probs.max(-1)
            for row, i in enumerate(index):
                out[i] = (self.label_names[int(best.indices[row])], float(best.values[row]))
        return out


def _rename_pooling_keys(state: dict[str, Tensor], prefix: str, *args: Any) -> None:
    """Directories written before the pooling became its own module name its weights
    `attention_in.*` and `query`: read them as `pooling.attention_in.*` and `pooling.query`."""
    for old in [k for k in state if k.startswith((prefix + "attention_in.", prefix + "query"))]:
        state[prefix + "pooling." + old[len(prefix):]] = state.pop(old)
