"""Checks shared by the sequence encoders: a (B, T, D) batch with a right-padded (B, T) mask.

Checked up front so that a wrong batch fails with "expected ..., got ..." instead of a
matmul error deep inside the time loop (or, worse, a silently wrong packing).
"""

from __future__ import annotations

import torch
from torch import Tensor

from hybrid.errors import ShapeError


def check_sequence_batch(x: Tensor, mask: Tensor, input_size: int) -> Tensor:
    """Validate x (B, T, input_size) and mask (B, T) bool; return the lengths (B,) long.

    The mask must be right-padded (each row is some Trues followed by Falses) with at
    least one True per row, because encoders run each sequence from its first position.
    """
    if x.dim() != 3 or x.shape[2] != input_size:
        raise ShapeError(f"expected x of shape (B, T, {input_size}), got {tuple(x.shape)}")
    if mask.shape != x.shape[:2]:
        raise ShapeError(f"expected mask of shape {tuple(x.shape[:2])} (B, T), got {tuple(mask.shape)}")
    if mask.dtype != torch.bool:
        raise ShapeError(f"expected a bool mask, got dtype {mask.dtype}")
    lengths = mask.sum(1)  # (B,)
    if x.shape[0] and not bool((lengths > 0).all()):
        rows = (lengths == 0).nonzero().flatten().tolist()
        raise ShapeError(f"every sequence needs at least one real position; rows {rows} are empty")
    positions = torch.arange(mask.shape[1], device=mask.device)
    if not torch.equal(mask, positions.unsqueeze(0) < lengths.unsqueeze(1)):
        raise ShapeError("expected a right-padded mask (Trues, then Falses, in every row)")
    return lengths


def reverse_padded(x: Tensor, lengths: Tensor) -> Tensor:
    """Reverse each sequence of x (B, T, ...) within its own length; padding stays at the right.

    Applying it twice gives x back, so it both prepares the input of a backward RNN and
    puts that RNN's outputs back in reading order.
    """
    t = x.shape[1]
    pos = torch.arange(t, device=x.device).unsqueeze(0)  # (1, T)
    last = lengths.to(x.device).unsqueeze(1) - 1  # (B, 1)
    idx = torch.where(pos <= last, last - pos, pos)  # (B, T)
    idx = idx.view(*idx.shape, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(1, idx)
