"""Sequence tagger: word (+ char, + feature) embeddings -> RNN encoder -> structured layer.

The tagger is also a policy over tag sequences (`sample`, `greedy`, `log_prob`), so the
sequence-level trainers can fine-tune it like a generator.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from hybrid.config import ModelConfig
from hybrid.data.batching import Batch, TaggerVocabs, length_sorted_groups
from hybrid.data.sentence import Sentence
from hybrid.encoders import build_char_encoder
from hybrid.encoders.build import build_encoder
from hybrid.encoders.words import WordEmbedding
from hybrid.errors import ConfigError
from hybrid.structured import CRFLayer, HMMLayer, SoftmaxLayer, StructuredLayer, detect_scheme

if TYPE_CHECKING:
    from hybrid.models.hmm_tagger import ClassicHMMTagger


def build_layer(
    kind: str, num_tags: int, loss: str = "auto", prior_scale: float = 1.0, transition_scale: float = 1.0
) -> StructuredLayer:
    """The structured output layer named `kind` over `num_tags` tags, trained with `loss`.

    loss "auto" is the layer's own: the CRF's log-likelihood, the HMM hybrid's per-token
    cross-entropy; "nll", "perceptron" and "hinge" are sequence losses on the chain.
    prior_scale and transition_scale are the HMM hybrid's (see HMMLayer).
    """
    if kind == "crf":
        return CRFLayer(num_tags, loss="nll" if loss == "auto" else loss)
    if kind == "softmax":
        if loss != "auto":
            raise ConfigError(f"the softmax layer has no chain to train with loss {loss!r}; use crf or hmm")
        return SoftmaxLayer(num_tags)
    if kind == "hmm":  # A, pi and the tag prior come from training counts: `fit_counts`
        return HMMLayer(num_tags, prior_scale=prior_scale, loss="cross_entropy" if loss == "auto" else loss,
                        transition_scale=transition_scale)
    if kind == "hmm-classic":
        raise ConfigError("hmm-classic is a count-based HMM with no network: build it with ClassicHMMTagger.fit")
    if kind == "ctc":
        raise ConfigError("ctc labels are not aligned with the words: build it with CTCModel.from_config")
    raise ConfigError(f"unknown layer {kind!r}; expected one of crf, softmax, hmm, hmm-classic, ctc")


class CharFeatureCache:
    """Char features of the word forms seen so far, for inference: each form is encoded once.

    Entries are dropped whenever the char encoder's parameters change (in-place updates bump
    their version counters), so a cache never outlives the weights it was computed with.
    """

    def __init__(self, limit: int = 200_000):
        self.limit = limit
        self.rows: dict[str, Tensor] = {}
        self.key: tuple = ()

    def __call__(
        self, encoder: nn.Module, forms: list[str], encode_chars: Callable[[list[str]], Tensor]
    ) -> Tensor:
        """(U, D) features of `forms`; `encode_chars` gives the char ids (N, C) of new ones."""
        key = tuple((p.data_ptr(), p._version) for p in encoder.parameters())
        if key != self.key or len(self.rows) > self.limit:
            self.rows, self.key = {}, key
        missing = [form for form in dict.fromkeys(forms) if form not in self.rows]
        if missing:
            device = next(encoder.parameters()).device
            fresh = encoder(encode_chars(missing).to(device))
            self.rows.update(zip(missing, fresh.unbind(0), strict=True))
        return torch.stack([self.rows[form] for form in forms])


class Tagger(nn.Module):
    """Embeddings + bidirectional RNN + CRF/softmax over the tag vocabulary."""

    def __init__(self, config: ModelConfig, vocabs: TaggerVocabs):
        super().__init__()
        self.config = config
        self.vocabs = vocabs
        # the words only pretrained vectors brought never occur in training: their rows stay fixed
        self.word_embedding = WordEmbedding(len(vocabs.words) - vocabs.pretrained_only, vocabs.pretrained_only,
                                            config.word_dim)
        self.feature_embeddings = nn.ModuleList(
            nn.Embedding(len(v), config.feature_dim, padding_idx=0) for v in vocabs.features
        )
        input_size = config.word_dim + config.feature_dim * len(vocabs.features)
        self.char_encoder: nn.Module | None = None
        if config.char_encoder != "none":
            self.char_encoder = build_char_encoder(
                config.char_encoder, len(vocabs.chars), config.char_dim, config.char_hidden
            )
            input_size += self.char_encoder.output_size
        self.char_cache = CharFeatureCache()
        self.dropout = nn.Dropout(config.dropout)
        inner_dropout = config.attention_dropout if config.encoder == "transformer" else config.dropout
        self.encoder = build_encoder(
            config.encoder, input_size, config.hidden_size, config.num_layers, config.bidirectional,
            inner_dropout if config.num_layers > 1 or config.encoder == "transformer" else 0.0,
            config.heads, config.ff_size, config.positions,
        )
        self.projection = nn.Linear(self.encoder.output_size, len(vocabs.tags))
        self.layer = build_layer(config.layer, len(vocabs.tags), config.loss,
                                 config.hmm_prior_scale, config.hmm_transition_scale)
        tags = [vocabs.tags.token(i) for i in range(len(vocabs.tags))]
        scheme = detect_scheme(tags) if config.constraints == "auto" else config.constraints
        self.layer.set_constraints(tags, None if scheme == "none" else scheme)

    @property
    def tag_names(self) -> list[str]:
        return [self.vocabs.tags.token(i) for i in range(len(self.vocabs.tags))]

    def emissions(self, batch: Batch) -> Tensor:
        """(B, T, K) per-position tag scores from the encoder."""
        words = batch.words
        if self.training and self.config.word_dropout > 0:
            drop = torch.rand(words.shape, device=words.device) < self.config.word_dropout
            words = words.masked_fill(drop & batch.mask, self.vocabs.words.unk_index)
        parts = [self.word_embedding(words)]
        parts.extend(emb(ids) for emb, ids in zip(self.feature_embeddings, batch.features, strict=True))
        if self.char_encoder is not None:
            if not (self.training or torch.is_grad_enabled()) and batch.forms is not None:
                per_form = self.char_cache(self.char_encoder, batch.forms, self.vocabs.encode_chars)
            elif batch.chars is not None:
                per_form = self.char_encoder(batch.chars)  # (U, D_char)
            elif batch.forms is not None:
                per_form = self.char_encoder(self.vocabs.encode_chars(batch.forms).to(words.device))
            else:
                raise ValueError("this model reads characters: the batch has no chars and no forms")
            parts.append(per_form[batch.char_index])  # (B, T, D_char)
        x = self.dropout(torch.cat(parts, dim=-1))
        h = self.dropout(self.encoder(x, batch.mask))  # (B, T, H)
        scores = self.projection(h)
        # under mixed precision the structured layer still gets float32 scores
        return scores.float() if scores.dtype in (torch.float16, torch.bfloat16) else scores

    def loss(self, batch: Batch) -> Tensor:
        """The layer's training loss on a batch with gold tags."""
        if batch.tags is None:
            raise ValueError("loss needs a batch with gold tags")
        return self.layer.loss(self.emissions(batch), batch.tags, batch.mask)

    def decode(self, batch: Batch, k: int = 1) -> tuple[Tensor, Tensor]:
        """k best tag-id sequences (B, k, T) and their scores (B, k)."""
        with torch.no_grad():
            return self.layer.decode(self.emissions(batch), batch.mask, k)

    def tag(
        self, sentences: Sequence[Sequence[str] | Sentence], k: int = 1, batch_size: int = 256
    ) -> list[list[str]] | list[list[tuple[list[str], float]]]:
        """Tag sentences given as word lists (or `Sentence`s, which models with feature
        columns need): one tag list per sentence, or with k > 1 its k best (tags, score)."""
        items = [s if isinstance(s, Sentence) else Sentence(list(s)) for s in sentences]
        if self.vocabs.features and any(len(s.features) != len(self.vocabs.features) for s in items):
            raise ValueError(
                f"this model reads {len(self.vocabs.features)} feature column(s) besides the words: "
                "pass Sentence objects with `features`"
            )
        best = predict_tags(self, items, batch_size, k)
        return [b[0][0] for b in best] if k == 1 else best

    # -- policy protocol ---------------------------------------------------------
    def greedy(self, batch: Batch) -> Tensor:
        """(B, T) the Viterbi tag sequence of each sentence."""
        return self.decode(batch, 1)[0][:, 0]

    def sample(self, batch: Batch, n: int = 1, generator: torch.Generator | None = None) -> Tensor:
        """(B, n, T) exact samples from the tagger's distribution over tag sequences."""
        with torch.no_grad():
            return self.layer.sample(self.emissions(batch), batch.mask, n, generator)

    def log_prob(self, batch: Batch, tags: Tensor) -> Tensor:
        """Log-probability of tags (B, T) or (B, n, T); differentiable."""
        return self.layer.log_prob(self.emissions(batch), batch.mask, tags)


@dataclass
class EncodedChunk:
    """Sentences encoded for prediction: length-sorted batches and the input rows of each."""

    size: int  # number of sentences
    batches: list[tuple[list[int], Batch]]  # (input indices, batch) per batch


def encode_for_prediction(vocabs: TaggerVocabs, sentences: Sequence[Sentence], batch_size: int = 256) -> EncodedChunk:
    """Group `sentences` into length-sorted batches (little padding) and encode them.

    Pure Python and torch.tensor calls: a reader thread can run it while the model computes.
    """
    batches = [(idx, vocabs.encode([sentences[i] for i in idx], with_chars=False))
               for idx in length_sorted_groups(sentences, batch_size)]
    return EncodedChunk(len(sentences), batches)


def predict_encoded(
    tagger: Tagger | ClassicHMMTagger, chunk: EncodedChunk, k: int = 1
) -> list[list[tuple[list[str], float]]]:
    """The k best (tags, score) of each sentence of an encoded chunk, in input order."""
    tagger.eval()
    device = next(itertools.chain(tagger.parameters(), tagger.buffers())).device
    names = tagger.tag_names
    results: list = [None] * chunk.size
    with torch.inference_mode():
        for idx, batch in chunk.batches:
            batch = batch.to(device)
            paths, scores = tagger.decode(batch, k)
            lengths = batch.mask.sum(1).tolist()
            ids, values = paths.tolist(), scores.tolist()
            for row, i in enumerate(idx):
                n = lengths[row]
                results[i] = [([names[t] for t in ids[row][r][:n]], values[row][r])
                              for r in range(k)]
    return results


def predict_tags(
    tagger: Tagger | ClassicHMMTagger, sentences: Sequence[Sentence], batch_size: int = 256,
    k: int = 1,
) -> list[list[tuple[list[str], float]]]:
    """The k best (tags, score) of each sentence, in input order; batches sorted by length."""
    return predict_encoded(tagger, encode_for_prediction(tagger.vocabs, sentences, batch_size), k)
