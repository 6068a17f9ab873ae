"""The one place that turns a config's encoder name into a module: the recurrent cells
(RNNEncoder) and the Transformer (TransformerEncoder), all with the (B, T, D) + mask (B, T) ->
(B, T, output_size) convention."""

from __future__ import annotations

from hybrid.encoders.rnn import CELLS, RNNEncoder
from hybrid.encoders.transformer import TransformerEncoder

ENCODERS = (*CELLS, "transformer")


def build_encoder(kind: str, input_size: int, hidden_size: int, num_layers: int = 1, bidirectional: bool = True,
                  dropout: float = 0.0, heads: int = 4, ff_size: int = 0,
                  positions: str = "sinusoidal") -> RNNEncoder | TransformerEncoder:
    """A recurrent encoder (hidden_size per direction) or, for "transformer", a self-attention
    stack hidden_size wide (heads, ff_size (0: 4 x hidden_size) and positions apply to it alone;
    without bidirectional it attends to the left only)."""
    if kind == "transformer":
        return TransformerEncoder(input_size, hidden_size, num_layers, heads, ff_size, dropout, positions,
                                  causal=not bidirectional)
    if kind not in CELLS:
        raise ValueError(f"unknown encoder {kind!r}; expected one of {', '.join(ENCODERS)}")
    return RNNEncoder(input_size, hidden_size, num_layers, kind, bidirectional, dropout)
