"""Unconditional sequence generator: token embeddings -> stacked RNN -> next-token logits.

The generator of unconditional GAN training (the condition is empty) and of SeqGAN's oracle
experiment, where a randomly initialised one (`init_normal_`) is the "true" data distribution.
It drives hybrid.decoding like a seq2seq decoder: `start(memory)` / `step(memory, state, tokens)`
with an `EmptyMemory` of the batch size, so greedy, sampling and beam search work unchanged.

Shapes: tokens (B, L) ids, the sequence without <s>; mask (B, L) real positions.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hybrid.encoders.rnn import TorchRNN

_CELLS: dict[str, TorchRNN] = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


@dataclass
class EmptyMemory:
    """No condition: only the batch size, as a (B, 0) mask."""

    mask: Tensor

    @classmethod
    def of(cls, batch_size: int, device: torch.device | str = "cpu") -> EmptyMemory:
        return cls(torch.zeros(batch_size, 0, dtype=torch.bool, device=device))

    def select(self, index: Tensor) -> EmptyMemory:
        return EmptyMemory(self.mask[index])


@dataclass
class RNNState:
    """h (layers, B, H); c (layers, B, H) for LSTMs, else None."""

    h: Tensor
    c: Tensor | None

    def select(self, index: Tensor) -> RNNState:
        return RNNState(self.h[:, index], None if self.c is None else self.c[:, index])


class LanguageModel(nn.Module):
    """p(y) = prod_t p(y_t | y_<t); `bos` is the id fed before the first token (never emitted),
    `pad` (default: bos) never emitted either."""

    _never: Tensor  # buffer (registered in __init__): the ids never emitted, bos and pad

    def __init__(self, vocab_size: int, embedding_dim: int = 32, hidden_size: int = 32, num_layers: int = 1,
                 cell: str = "lstm", bos: int = 0, dropout: float = 0.0, pad: int | None = None):
        super().__init__()
        if cell not in _CELLS:
            raise ValueError(f"unknown cell {cell!r}; expected one of {', '.join(_CELLS)}")
        for name, i in (("bos", bos), ("pad", bos if pad is None else pad)):
            if not 0 <= i < vocab_size:
                raise ValueError(f"{name} id {i} is outside the vocabulary of {vocab_size}")
        self.vocab_size, self.bos, self.cell = vocab_size, bos, cell
        self.pad = bos if pad is None else pad
        self.register_buffer("_never", torch.tensor(sorted({bos, self.pad})), persistent=False)
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.rnn = _CELLS[cell](embedding_dim, hidden_size, num_layers, batch_first=True,
                                dropout=dropout if num_layers > 1 else 0.0)
        self.output = nn.Linear(hidden_size, vocab_size)
        self.dropout = nn.Dropout(dropout)

    @torch.no_grad()
    def init_normal_(self, std: float = 1.0, generator: torch.Generator | None = None) -> LanguageModel:
        """Every parameter drawn from N(0, std^2): SeqGAN's oracle (std 1)."""
        for p in self.parameters():
            p.copy_(torch.randn(p.shape, generator=generator) * std)
        return self

    def start(self, memory: EmptyMemory) -> RNNState:
        """Zero state for each row of `memory`."""
        b = memory.mask.shape[0]
        h = torch.zeros(self.rnn.num_layers, b, self.rnn.hidden_size, device=memory.mask.device)
        return RNNState(h, h.clone() if self.cell == "lstm" else None)

    def step(self, memory: EmptyMemory, state: RNNState, tokens: Tensor) -> tuple[Tensor, RNNState, Tensor]:
        """tokens (B,) the previous ids -> logits (B, V), the new state, attention (B, 0) (none)."""
        x = self.dropout(self.embedding(tokens)).unsqueeze(1)  # (B, 1, E)
        out, hidden = self.rnn(x, state.h if state.c is None else (state.h, state.c))
        new = RNNState(hidden, None) if state.c is None else RNNState(*hidden)
        logits = self._never_bos(self.output(self.dropout(out[:, 0])))
        return logits, new, memory.mask.new_zeros(tokens.shape[0], 0, dtype=torch.float)

    def _never_bos(self, logits: Tensor) -> Tensor:
        """<s> is fed, never emitted (nor <pad>): their logits are -inf, so sampling and scoring
        share one distribution."""
        return logits.index_fill(-1, self._never, float("-inf"))

    def forward(self, tokens: Tensor) -> Tensor:
        """Teacher forcing: logits (B, L, V) for each position of tokens (B, L) given its prefix."""
        inputs = torch.cat([torch.full_like(tokens[:, :1], self.bos), tokens[:, :-1]], 1)
        out, _ = self.rnn(self.dropout(self.embedding(inputs)))
        return self._never_bos(self.output(self.dropout(out)))

    def token_log_probs(self, tokens: Tensor, mask: Tensor | None = None) -> Tensor:
        """(B, L) log p(y_t | y_<t), 0 at padded positions; differentiable."""
        logp = F.log_softmax(self(tokens).float(), dim=-1).gather(2, tokens.unsqueeze(-1)).squeeze(-1)
        return logp if mask is None else logp.masked_fill(~mask, 0.0)  # padding may be a never-emitted id

    def loss(self, tokens: Tensor, mask: Tensor | None = None) -> Tensor:
        """Mean negative log-likelihood per real token."""
        logp = self.token_log_probs(tokens, mask)
        count = tokens.numel() if mask is None else mask.sum().clamp_min(1)
        return -logp.sum() / count
