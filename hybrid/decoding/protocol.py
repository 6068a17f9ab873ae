"""The decoder protocol every generator implements, so that greedy, sampling and beam search
(and SeqGAN's rollouts) drive a GRU attention model, a language model or a Transformer alike.

A decoder encodes nothing itself: it reads a `Memory` (the encoded condition, possibly empty),
starts a `State` per row, and steps one token at a time.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

from torch import Tensor

S = TypeVar("S", bound="Selectable")


class Selectable(Protocol):
    """Per-row values that can be gathered (beam search reorders rows; rollouts repeat them)."""

    def select(self: S, index: Tensor) -> S:
        """The rows `index` (N,) of this batch, in that order."""
        ...


class Memory(Selectable, Protocol):
    """The encoded condition of a batch: `mask` (B, S) says which source positions are real
    (S = 0 for unconditional generators)."""

    @property
    def mask(self) -> Tensor: ...


M = TypeVar("M", bound=Memory, contravariant=True)
St = TypeVar("St", bound=Selectable)


class Decoder(Protocol[M, St]):
    """start(memory) -> state; step(memory, state, tokens (B,)) -> (logits (B, V), state, attention (B, S))."""

    def start(self, memory: M) -> St: ...

    def step(self, memory: M, state: St, tokens: Tensor) -> tuple[Tensor, St, Tensor]: ...
