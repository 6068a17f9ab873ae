"""Encoder-decoder with attention (Luong-style input feeding) over the shared RNN encoders.

Encoder: source embeddings -> bidirectional RNNEncoder -> memory (B, S, 2*He).
Decoder, one step: input [embedding of y_{t-1}; attentional vector of t-1] -> RNN cell -> z_t;
attention of z_t over the memory -> context c_t; attentional vector a_t = tanh(W [c_t; z_t])
(size E); logits = a_t W_out (W_out tied to the target embeddings when asked).
The source's summary s = pool(encoder states) (mean by default; last, max or attention
pooling as configured) gives the initial decoder state tanh(W_b s) (cells: the same for h and c)
and is the sentence vector `hybrid encode` writes. With `bottleneck` the memory the decoder
attends to is s alone (B, 1, Dm): the sentence passes through one vector, as in a sequence
autoencoder.

Decoding (greedy, sampling, beam search) lives in hybrid.decoding and drives `start` and
`step`; `Memory` and `DecoderState` know how to select rows, which beam search needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hybrid.config import Seq2SeqModelConfig
from hybrid.data.parallel import Seq2SeqBatch, Seq2SeqVocabs
from hybrid.encoders.pooling import Pooling
from hybrid.encoders.rnn import RNNEncoder
from hybrid.errors import ShapeError
from hybrid.models.attention import Attention

_CELLS = {"lstm": nn.LSTMCell, "gru": nn.GRUCell, "rnn": nn.RNNCell}


@dataclass
class Memory:
    """The encoded source: values (B, S, Dm), attention keys (B, S, *), mask (B, S)."""

    values: Tensor
    keys: Tensor
    mask: Tensor

    def select(self, index: Tensor) -> Memory:
        """Rows `index` (N,) of every field: expand for beams, reorder, or drop rows."""
        return Memory(self.values[index], self.keys[index], self.mask[index])


@dataclass
class DecoderState:
    """h (B, Dh); c (B, Dh) for LSTM cells, else None; feed (B, E) the last attentional vector."""

    h: Tensor
    c: Tensor | None
    feed: Tensor

    def select(self, index: Tensor) -> DecoderState:
        return DecoderState(self.h[index], None if self.c is None else self.c[index], self.feed[index])


class EncoderDecoder(nn.Module):
    """What every seq2seq architecture offers: the decoding protocol (`encode`, `start`, `step`),
    teacher-forced scoring (`forward`, `loss`, `log_prob`) and the source's summary vector.
    `Seq2Seq` (recurrent, attention) and `TransformerSeq2Seq` implement it; decoders, policies,
    trainers and the environment are written against it."""

    config: Seq2SeqModelConfig
    vocabs: Seq2SeqVocabs
    summary: Pooling

    @property
    def summary_size(self) -> int:
        """Width of the sentence vectors `summarize` gives."""
        raise NotImplementedError

    def encode(self, src: Tensor, src_mask: Tensor) -> Any:
        raise NotImplementedError

    def start(self, memory: Any) -> Any:
        raise NotImplementedError

    def step(self, memory: Any, state: Any, tokens: Tensor) -> tuple[Tensor, Any, Tensor]:
        raise NotImplementedError

    def summarize(self, src: Tensor, src_mask: Tensor) -> Tensor:
        """src (B, S) ids, src_mask (B, S) -> the sentence vectors (B, summary_size)."""
        return self.vector(self.encode(src, src_mask))

    def vector(self, memory: Any) -> Tensor:
        """The summary of an encoded source (a bottleneck memory is its summary already)."""
        return self.summary(memory.values, memory.mask)

    def forward(self, batch: Seq2SeqBatch, feed_own: float = 0.0, generator: torch.Generator | None = None,
                with_attention: bool = False) -> tuple[Tensor, Tensor | None]:
        raise NotImplementedError

    def loss(self, batch: Seq2SeqBatch, feed_own: float = 0.0, label_smoothing: float = 0.0,
             generator: torch.Generator | None = None) -> Tensor:
        """Mean cross-entropy per target token (</s> included, padding excluded)."""
        logits, _ = self(batch, feed_own, generator)
        return F.cross_entropy(logits.flatten(0, 1), batch.tgt_out.flatten(),  # type: ignore[union-attr]
                               ignore_index=self.vocabs.target.pad_index, label_smoothing=label_smoothing)

    def log_prob(self, batch: Seq2SeqBatch) -> Tensor:
        """(B,) log p(tgt_out | src), the sum over target tokens incl. </s>; differentiable."""
        logits, _ = self(batch)
        return _summed(F.log_softmax(logits.float(), dim=-1), batch.tgt_out, batch.tgt_mask)  # type: ignore[arg-type]


class Seq2Seq(EncoderDecoder):
    """Source ids -> distribution over target sequences, one token at a time."""

    def __init__(self, config: Seq2SeqModelConfig, vocabs: Seq2SeqVocabs):
        super().__init__()
        self.config, self.vocabs = config, vocabs
        e, dh = config.embedding_dim, config.decoder_hidden
        self.src_embedding = nn.Embedding(len(vocabs.source), e, padding_idx=vocabs.source.pad_index)
        self.encoder = RNNEncoder(e, config.encoder_hidden, config.encoder_layers, config.encoder,
                                  bidirectional=True, dropout=config.dropout)
        dm = self.encoder.output_size
        self.summary = Pooling(config.summary, dm, config.attention_hidden, half=config.encoder_hidden)
        self.bridge = nn.Linear(dm, dh)
        self.tgt_embedding = nn.Embedding(len(vocabs.target), e, padding_idx=vocabs.target.pad_index)
        self.cell = _CELLS[config.decoder](2 * e, dh)
        self.attention = Attention(dh, dm, config.attention, config.attention_hidden)
        self.combine = nn.Linear(dm + dh, e)
        self.output = nn.Linear(e, len(vocabs.target))
        if config.tie_embeddings:
            self.output.weight = self.tgt_embedding.weight
        self.dropout = nn.Dropout(config.dropout)

    @property
    def summary_size(self) -> int:
        return self.encoder.output_size

    # -- encoding and one decoder step ---------------------------------------------
    def encode(self, src: Tensor, src_mask: Tensor) -> Memory:
        """src (B, S) ids, src_mask (B, S) -> Memory."""
        if src.dim() != 2 or src.shape != src_mask.shape:
            raise ShapeError(f"expected src and src_mask of one shape (B, S), got {tuple(src.shape)} "
                             f"and {tuple(src_mask.shape)}")
        values = self.encoder(self.dropout(self.src_embedding(src)), src_mask)  # (B, S, Dm)
        if self.config.bottleneck:
            values = self.summary(values, src_mask).unsqueeze(1)  # (B, 1, Dm)
            src_mask = src_mask.new_ones(values.shape[:2])
        return Memory(values, self.attention.prepare(values), src_mask)

    def start(self, memory: Memory) -> DecoderState:
        """The decoder state before the first token."""
        h = torch.tanh(self.bridge(self.vector(memory)))
        feed = h.new_zeros(h.shape[0], self.config.embedding_dim)
        return DecoderState(h, h.clone() if self.config.decoder == "lstm" else None, feed)

    def step(self, memory: Memory, state: DecoderState, tokens: Tensor) -> tuple[Tensor, DecoderState, Tensor]:
        """tokens (B,) = the previous target ids -> logits (B, V), the new state, attention (B, S)."""
        state, weights = self.advance(memory, state, tokens)
        return self.logits(state.feed), state, weights

    def advance(self, memory: Memory, state: DecoderState, tokens: Tensor) -> tuple[DecoderState, Tensor]:
        """One decoder step without the output layer: the new state (its `feed` is the
        attentional vector (B, E)) and the attention weights (B, S)."""
        x = torch.cat([self.dropout(self.tgt_embedding(tokens)), state.feed], dim=-1)  # (B, 2E)
        if state.c is None:
            h, c = self.cell(x, state.h), None
        else:
            h, c = self.cell(x, (state.h, state.c))
        context, weights = self.attention(h, memory.values, memory.keys, memory.mask)
        feed = torch.tanh(self.combine(torch.cat([context, h], dim=-1)))  # (B, E)
        return DecoderState(h, c, feed), weights

    def logits(self, feed: Tensor) -> Tensor:
        """Attentional vectors (..., E) -> logits (..., V)."""
        return self.output(self.dropout(feed))

    # -- training ------------------------------------------------------------------
    def forward(self, batch: Seq2SeqBatch, feed_own: float = 0.0, generator: torch.Generator | None = None,
                with_attention: bool = False) -> tuple[Tensor, Tensor | None]:
        """Logits (B, T, V) of tgt_out given the source and tgt_in (teacher forcing). With
        feed_own > 0 (scheduled sampling), each position after the first gets, with that
        probability, a token sampled from the model's previous prediction instead of the
        gold one. With with_attention, also the attention weights (B, T, S)."""
        if batch.tgt_in is None:
            raise ValueError("this batch has no targets")
        memory = self.encode(batch.src, batch.src_mask)
        state = self.start(memory)
        feeds: list[Tensor] = []  # (B, E) per step
        attention: list[Tensor] = []  # (B, S) per step
        tokens = batch.tgt_in[:, 0]
        for t in range(batch.tgt_in.shape[1]):
            if t > 0:
                tokens = batch.tgt_in[:, t]
                if feed_own > 0:
                    with torch.no_grad():
                        probs = F.softmax(self.logits(feeds[-1]).float(), dim=-1)
                        own = torch.multinomial(probs, 1, generator=generator).squeeze(1)
                        coin = torch.rand(tokens.shape, generator=generator, device=probs.device) < feed_own
                    tokens = torch.where(coin, own.to(tokens.device), tokens)
            state, weights = self.advance(memory, state, tokens)
            feeds.append(state.feed)
            if with_attention:
                attention.append(weights)
        # one output-layer product for all steps: far faster than one per step
        logits = self.logits(torch.stack(feeds, 1))  # (B, T, V)
        return logits, torch.stack(attention, 1) if with_attention else None


def _summed(log_probs: Tensor, targets: Tensor, mask: Tensor) -> Tensor:
    """(N,) sum over real positions of log_probs (N, L, V) at targets (N, L)."""
    picked = log_probs.gather(2, targets.unsqueeze(-1)).squeeze(-1)  # (N, L)
    return (picked * mask.to(picked.dtype)).sum(1)


def repeat_sources(src: Tensor, src_mask: Tensor, n: int) -> tuple[Tensor, Tensor]:
    """Each source row repeated n times in place: rows i*n .. i*n+n-1 are source i."""
    return src.repeat_interleave(n, 0), src_mask.repeat_interleave(n, 0)


def score_sequences(model: EncoderDecoder, src: Tensor, src_mask: Tensor, tokens: Tensor, mask: Tensor,
                    bos: int) -> tuple[Tensor, Tensor]:
    """log p(tokens | src) (N,) and the summed per-step entropy (N,) of the model's distributions
    along them, both differentiable; tokens (N, L) with mask (N, L), as decoders return them."""
    logp, entropy = score_tokens(model, src, src_mask, tokens, mask, bos)
    return logp.sum(1), entropy.sum(1)


def score_tokens(model: EncoderDecoder, src: Tensor, src_mask: Tensor, tokens: Tensor, mask: Tensor,
                 bos: int) -> tuple[Tensor, Tensor]:
    """Per position: log p(y_t | y_<t, src) (N, L) and the entropy of that step's distribution
    (N, L), 0 at padding; differentiable."""
    tgt_in = torch.cat([torch.full_like(tokens[:, :1], bos), tokens[:, :-1]], 1)
    logits, _ = model(Seq2SeqBatch(src, src_mask, tgt_in, tokens, mask))
    logp_all = F.log_softmax(logits.float(), dim=-1)  # (N, L, V)
    real = mask.to(logp_all.dtype)
    entropy = -(logp_all.exp() * logp_all).sum(-1)  # (N, L)
    return logp_all.gather(2, tokens.unsqueeze(-1)).squeeze(-1) * real, entropy * real
