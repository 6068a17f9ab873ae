"""Self-attention sentence encoder: the Transformer's encoder stack (Vaswani et al. 2017) with
pre-LayerNorm residual blocks (Xiong et al. 2020), for every model that takes an encoder.

x (B, T, D) with a right-padded mask (B, T) -> (B, T, width), zeros at padded positions, the
recurrent encoders' convention. The input is projected to `width`, positions are added
(sinusoidal, or learned up to `max_positions`), then each layer is

    x = x + Dropout(SelfAttention(LayerNorm(x)))      key-padding mask: padding is never attended
    x = x + Dropout(FeedForward(LayerNorm(x)))        width -> ff_size -> width, GELU

and a final LayerNorm. `causal` lets each position attend only to itself and the left (the
counterpart of a unidirectional RNN). The attention runs on torch's scaled_dot_product_attention;
only `return_attention` computes the weights by hand, for plots.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hybrid.encoders.shapes import check_sequence_batch

POSITIONS = ("sinusoidal", "learned")


def sinusoidal_positions(length: int, width: int, device: torch.device | None = None) -> Tensor:
    """(length, width): sin at even, cos at odd dimensions, wavelengths 2pi .. 10000 * 2pi."""
    position = torch.arange(length, dtype=torch.float32, device=device).unsqueeze(1)
    rate = torch.exp(torch.arange(0, width, 2, dtype=torch.float32, device=device) * (-math.log(10000.0) / width))
    table = torch.zeros(length, width, device=device)
    table[:, 0::2] = torch.sin(position * rate)
    table[:, 1::2] = torch.cos(position * rate[: width // 2])
    return table


class SelfAttention(nn.Module):
    """Multi-head self-attention over (B, T, W) with an allowed-keys mask (B, 1, T or T, T)."""

    def __init__(self, width: int, heads: int, dropout: float):
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)

    def forward(self, x: Tensor, allowed: Tensor, return_attention: bool = False) -> tuple[Tensor, Tensor | None]:
        b, t, w = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, w // self.heads).permute(2, 0, 3, 1, 4)  # 3 x (B, H, T, d)
        mask = allowed.unsqueeze(1)  # (B, 1, 1 or T, T): broadcast over heads
        weights = None
        if return_attention:
            scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
            weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)  # (B, H, T, T)
            context = F.dropout(weights, self.dropout, self.training) @ v
        else:
            context = F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                                     dropout_p=self.dropout if self.training else 0.0)
        return self.out(context.transpose(1, 2).reshape(b, t, w)), weights


class TransformerLayer(nn.Module):
    """One pre-LayerNorm block: self-attention, then the position-wise feed-forward network."""

    def __init__(self, width: int, heads: int, ff_size: int, dropout: float):
        super().__init__()
        self.attention_norm, self.ff_norm = nn.LayerNorm(width), nn.LayerNorm(width)
        self.attention = SelfAttention(width, heads, dropout)
        self.ff = nn.Sequential(nn.Linear(width, ff_size), nn.GELU(), nn.Dropout(dropout), nn.Linear(ff_size, width))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, allowed: Tensor, return_attention: bool = False) -> tuple[Tensor, Tensor | None]:
        attended, weights = self.attention(self.attention_norm(x), allowed, return_attention)
        x = x + self.dropout(attended)
        return x + self.dropout(self.ff(self.ff_norm(x))), weights


class TransformerEncoder(nn.Module):
    """x (B, T, input_size) with mask (B, T) -> (B, T, width); zeros at padded positions."""

    def __init__(self, input_size: int, width: int, num_layers: int = 2, heads: int = 4, ff_size: int = 0,
                 dropout: float = 0.1, positions: str = "sinusoidal", causal: bool = False,
                 max_positions: int = 512):
        super().__init__()
        if min(input_size, width, num_layers, heads) < 1:
            raise ValueError(f"sizes must be >= 1, got input_size {input_size}, width {width}, "
                             f"num_layers {num_layers}, heads {heads}")
        if width % heads:
            raise ValueError(f"the width ({width}) must be a multiple of the heads ({heads}): each head gets "
                             "width / heads dimensions")
        if positions not in POSITIONS:
            raise ValueError(f"positions must be one of {', '.join(POSITIONS)}, got {positions!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.input_size, self.width, self.causal = input_size, width, causal
        self.positions, self.max_positions = positions, max_positions
        self.project = nn.Linear(input_size, width)
        self.position_embedding = nn.Embedding(max_positions, width) if positions == "learned" else None
        self.layers = nn.ModuleList(TransformerLayer(width, heads, ff_size or 4 * width, dropout)
                                    for _ in range(num_layers))
        self.norm = nn.LayerNorm(width)
        self.dropout = nn.Dropout(dropout)

    @property
    def output_size(self) -> int:
        return self.width

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        return self.run(x, mask)[0]

    def attention(self, x: Tensor, mask: Tensor) -> Tensor:
        """Every layer's attention weights (num_layers, B, heads, T, T), for plots: the softmax
        is computed by hand here, not by the fused kernel."""
        weights = self.run(x, mask, return_attention=True)[1]
        assert weights is not None
        return weights

    def run(self, x: Tensor, mask: Tensor, return_attention: bool = False) -> tuple[Tensor, Tensor | None]:
        """(B, T, width) outputs, zeros at padding; and the attention weights when asked."""
        check_sequence_batch(x, mask, self.input_size)
        t = x.shape[1]
        h = self.project(x)
        if self.position_embedding is not None:
            if t > self.max_positions:
                raise ValueError(f"a sentence of {t} tokens is longer than the {self.max_positions} learned "
                                 "positions of this encoder")
            h = h + self.position_embedding(torch.arange(t, device=x.device))
        else:
            h = h + sinusoidal_positions(t, self.width, x.device).to(h.dtype)
        h = self.dropout(h)
        allowed = self.allowed_keys(mask)
        weights: list[Tensor] = []
        for layer in self.layers:
            h, w = layer(h, allowed, return_attention)
            if w is not None:
                weights.append(w)
        return self.norm(h).masked_fill(~mask.unsqueeze(-1), 0.0), torch.stack(weights) if weights else None

    def allowed_keys(self, mask: Tensor) -> Tensor:
        """(B, 1, T) real keys, or (B, T, T) real keys at or left of each query when causal.
        Every row has a real position (checked on entry), so no query is left without a key."""
        allowed = mask.unsqueeze(1)  # (B, 1, T)
        if self.causal:
            t = mask.shape[1]
            left = torch.ones(t, t, dtype=torch.bool, device=mask.device).tril()
            allowed = allowed & left  # (B, T, T); the diagonal keeps every real query's row non-empty
        return allowed
