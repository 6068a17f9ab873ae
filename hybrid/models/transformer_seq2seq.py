"""Transformer encoder-decoder (Vaswani et al. 2017) with pre-LayerNorm blocks, behind the same
interface as the GRU attention model (`encode`, `start`, `step`, `forward`, `loss`, `log_prob`,
`summarize`), so every decoder, policy, trainer and environment drives it unchanged.

Encoder: source embeddings -> TransformerEncoder (self-attention, key-padding mask) -> memory
(B, S, W). Decoder layer: causal self-attention, cross-attention over the memory, feed-forward,
each `x = x + Dropout(Sublayer(LayerNorm(x)))`; a final LayerNorm; logits = x E^T with E the
target embeddings (tied). Target embeddings are scaled by sqrt(W) and sinusoidal positions added.

Incremental decoding: `start` gives an empty key/value cache per layer, and each `step` runs one
token through the layers, appending its self-attention keys and values to the cache; the
memory's cross-attention keys and values are projected once, in `encode`. A step's cost thus
grows with the prefix instead of recomputing it. `step` returns the cross-attention weights of
one layer (`attention_layer`, heads averaged, or one head with `attention_head`), which the
attention plots draw; elsewhere attention runs on torch's scaled_dot_product_attention.
"""

from __future__ import annotations

import math
import typing
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hybrid.config import Seq2SeqModelConfig
from hybrid.data.parallel import Seq2SeqBatch, Seq2SeqVocabs
from hybrid.encoders.pooling import Pooling
from hybrid.encoders.transformer import TransformerEncoder, sinusoidal_positions
from hybrid.errors import ConfigError, ShapeError
from hybrid.models.seq2seq import EncoderDecoder


@dataclass
class TransformerMemory:
    """The encoded source: values (B, S, W), mask (B, S), and per decoder layer the
    cross-attention keys and values (B, H, S, d)."""

    values: Tensor
    mask: Tensor
    keys: list[Tensor]
    projected: list[Tensor]

    def select(self, index: Tensor) -> TransformerMemory:
        return TransformerMemory(self.values[index], self.mask[index], [k[index] for k in self.keys],
                                 [v[index] for v in self.projected])


@dataclass
class TransformerState:
    """The decoder's key/value cache: per layer (B, H, t, d) for the t tokens fed so far."""

    keys: list[Tensor]
    values: list[Tensor]

    @property
    def position(self) -> int:
        return self.keys[0].shape[2]

    def select(self, index: Tensor) -> TransformerState:
        return TransformerState([k[index] for k in self.keys], [v[index] for v in self.values])


def _heads(x: Tensor, heads: int) -> Tensor:
    """(B, T, W) -> (B, H, T, W / H)."""
    b, t, w = x.shape
    return x.view(b, t, heads, w // heads).transpose(1, 2)


def _merge(x: Tensor) -> Tensor:
    """(B, H, T, d) -> (B, T, H * d)."""
    b, h, t, d = x.shape
    return x.transpose(1, 2).reshape(b, t, h * d)


def _attend(q: Tensor, k: Tensor, v: Tensor, allowed: Tensor | None, dropout: float,
            weights: bool) -> tuple[Tensor, Tensor | None]:
    """Scaled dot-product attention (B, H, Tq, d); with `weights`, by hand, also returning the
    softmax (B, H, Tq, Tk). `allowed` broadcasts to (B, H, Tq, Tk); True = may attend."""
    if not weights:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=allowed, dropout_p=dropout), None
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    if allowed is not None:
        scores = scores.masked_fill(~allowed, float("-inf"))
    p = torch.softmax(scores, dim=-1)
    return F.dropout(p, dropout, dropout > 0) @ v, p


class DecoderLayer(nn.Module):
    """Causal self-attention, cross-attention over the memory, feed-forward; pre-LayerNorm."""

    def __init__(self, width: int, heads: int, ff_size: int, dropout: float):
        super().__init__()
        self.heads, self.p = heads, dropout
        self.self_norm, self.cross_norm, self.ff_norm = nn.LayerNorm(width), nn.LayerNorm(width), nn.LayerNorm(width)
        self.self_qkv, self.self_out = nn.Linear(width, 3 * width), nn.Linear(width, width)
        self.cross_q, self.cross_kv, self.cross_out = nn.Linear(width, width), nn.Linear(width, 2 * width), \
            nn.Linear(width, width)
        self.ff = nn.Sequential(nn.Linear(width, ff_size), nn.GELU(), nn.Dropout(dropout), nn.Linear(ff_size, width))
        self.dropout = nn.Dropout(dropout)

    def memory_keys(self, memory: Tensor) -> tuple[Tensor, Tensor]:
        """Cross-attention keys and values (B, H, S, d) of the memory (B, S, W)."""
        k, v = self.cross_kv(memory).chunk(2, dim=-1)
        return _heads(k, self.heads), _heads(v, self.heads)

    def forward(self, x: Tensor, past: tuple[Tensor, Tensor] | None, memory_k: Tensor, memory_v: Tensor,
                memory_mask: Tensor, weights: bool = False) -> tuple[Tensor, tuple[Tensor, Tensor], Tensor | None]:
        """x (B, T, W): the next T target positions. With `past` (cached keys and values of
        the earlier positions) they attend to those and causally among themselves. Returns the
        new x, the keys and values of all positions so far, and the cross-attention weights
        (B, H, T, S) when asked."""
        p = self.p if self.training else 0.0
        q, k, v = (_heads(t, self.heads) for t in self.self_qkv(self.self_norm(x)).chunk(3, dim=-1))
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        t, total = q.shape[2], k.shape[2]
        causal = torch.ones(t, total, dtype=torch.bool, device=x.device).tril(total - t)  # (T, total)
        attended, _ = _attend(q, k, v, causal, p, weights=False)
        x = x + self.dropout(self.self_out(_merge(attended)))
        q = _heads(self.cross_q(self.cross_norm(x)), self.heads)
        allowed = memory_mask[:, None, None, :]  # (B, 1, 1, S)
        context, cross = _attend(q, memory_k, memory_v, allowed, p, weights)
        x = x + self.dropout(self.cross_out(_merge(context)))
        x = x + self.dropout(self.ff(self.ff_norm(x)))
        return x, (k, v), cross


class TransformerSeq2Seq(EncoderDecoder):
    """Source ids -> distribution over target sequences; the GRU model's interface."""

    def __init__(self, config: Seq2SeqModelConfig, vocabs: Seq2SeqVocabs):
        super().__init__()
        if config.embedding_dim % config.heads:
            raise ConfigError(f"the transformer's width (embedding_dim {config.embedding_dim}) must be a multiple "
                              f"of its heads ({config.heads})")
        self.config, self.vocabs = config, vocabs
        w, layers = config.embedding_dim, config.transformer_layers
        ff = config.ff_size or 4 * w
        self.src_embedding = nn.Embedding(len(vocabs.source), w, padding_idx=vocabs.source.pad_index)
        self.encoder = TransformerEncoder(w, w, layers, config.heads, ff, config.dropout)
        self.summary = Pooling(config.summary, w, config.attention_hidden)
        self.tgt_embedding = nn.Embedding(len(vocabs.target), w, padding_idx=vocabs.target.pad_index)
        self.layers = nn.ModuleList(DecoderLayer(w, config.heads, ff, config.dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(w)
        self.output = nn.Linear(w, len(vocabs.target), bias=False)
        if config.tie_embeddings:
            self.output.weight = self.tgt_embedding.weight
        self.dropout = nn.Dropout(config.dropout)
        for embedding in (self.src_embedding, self.tgt_embedding):  # x sqrt(W) in use: unit scale; tied logits O(1)
            nn.init.normal_(embedding.weight, std=w**-0.5)
            with torch.no_grad():
                embedding.weight[embedding.padding_idx or 0].zero_()
        self.attention_layer, self.attention_head = layers - 1, None  # what `step` returns: the last layer, mean

    # -- encoding and one decoder step ---------------------------------------------
    def encode(self, src: Tensor, src_mask: Tensor) -> TransformerMemory:
        """src (B, S) ids, src_mask (B, S) -> TransformerMemory."""
        if src.dim() != 2 or src.shape != src_mask.shape:
            raise ShapeError(f"expected src and src_mask of one shape (B, S), got {tuple(src.shape)} "
                             f"and {tuple(src_mask.shape)}")
        values = self.encoder(self.src_embedding(src) * math.sqrt(self.config.embedding_dim), src_mask)
        if self.config.bottleneck:
            values = self.summary(values, src_mask).unsqueeze(1)  # (B, 1, W)
            src_mask = src_mask.new_ones(values.shape[:2])
        keys, projected = [], []
        for layer in self.layers:
            k, v = typing.cast(DecoderLayer, layer).memory_keys(values)
            keys.append(k)
            projected.append(v)
        return TransformerMemory(values, src_mask, keys, projected)

    @property
    def summary_size(self) -> int:
        return self.config.embedding_dim

    def start(self, memory: TransformerMemory) -> TransformerState:
        """An empty cache: no target token fed yet."""
        b, heads = memory.values.shape[0], self.config.heads
        empty = memory.values.new_zeros(b, heads, 0, self.config.embedding_dim // heads)
        return TransformerState([empty] * len(self.layers), [empty] * len(self.layers))

    def step(self, memory: TransformerMemory, state: TransformerState,
             tokens: Tensor) -> tuple[Tensor, TransformerState, Tensor]:
        """tokens (B,) = the previous target ids -> logits (B, V), the new cache, and the
        cross-attention weights (B, S) of `attention_layer` (heads averaged, or `attention_head`)."""
        x = self._embed(tokens.unsqueeze(1), state.position)  # (B, 1, W)
        keys, values, weights = [], [], None
        for i, layer in enumerate(self.layers):
            x, (k, v), cross = layer(x, (state.keys[i], state.values[i]), memory.keys[i], memory.projected[i],
                                     memory.mask, weights=i == self.attention_layer)
            keys.append(k)
            values.append(v)
            if cross is not None:
                weights = self._pick_heads(cross)[:, 0]  # (B, S)
        assert weights is not None
        return self.logits(x[:, 0]), TransformerState(keys, values), weights

    def _embed(self, tokens: Tensor, start: int) -> Tensor:
        """Target ids (B, T) at positions start.. -> scaled embeddings plus positions (B, T, W)."""
        w = self.config.embedding_dim
        positions = sinusoidal_positions(start + tokens.shape[1], w, tokens.device)[start:]
        return self.dropout(self.tgt_embedding(tokens) * math.sqrt(w) + positions)

    def logits(self, x: Tensor) -> Tensor:
        """Decoder outputs (..., W) -> logits (..., V)."""
        return self.output(self.norm(x))

    # -- training ------------------------------------------------------------------
    def forward(self, batch: Seq2SeqBatch, feed_own: float = 0.0, generator: torch.Generator | None = None,
                with_attention: bool = False) -> tuple[Tensor, Tensor | None]:
        """Logits (B, T, V) of tgt_out given the source and tgt_in, all positions at once
        (causal self-attention); with with_attention also the weights (B, T, S) `step` gives."""
        if batch.tgt_in is None:
            raise ValueError("this batch has no targets")
        if feed_own > 0:
            raise ConfigError("scheduled sampling (feeding the model's own tokens) needs a recurrent decoder; "
                              "the transformer trains with teacher forcing (set ss_start and ss_end to 0)")
        memory = self.encode(batch.src, batch.src_mask)
        x = self._embed(batch.tgt_in, 0)
        attention = None
        for i, layer in enumerate(self.layers):
            wanted = with_attention and i == self.attention_layer
            x, _, cross = layer(x, None, memory.keys[i], memory.projected[i], memory.mask, weights=wanted)
            if cross is not None:
                attention = self._pick_heads(cross)
        return self.logits(x), attention

    def _pick_heads(self, cross: Tensor) -> Tensor:
        """Cross-attention (B, H, T, S) -> (B, T, S): the heads' mean, or `attention_head`."""
        return cross.mean(1) if self.attention_head is None else cross[:, self.attention_head]
