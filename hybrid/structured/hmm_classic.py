"""Classic generative HMM with categorical emissions, convertible to and from hmmlearn.

Holds log pi (K,), log A (K, K) and log B (K, V) for K hidden states (tags) and V symbols
(word ids). Its chain potentials for an observation sequence o are

    emissions[b, t, k] = log B[k, o_t],  transitions = log A,  start = log pi,  end = 0

so the chain's Viterbi score is hmmlearn's `decode` log-probability (log P(x, y*)) and the
chain's log-partition is hmmlearn's `score` (log P(x)). Decoding runs batched on the shared
chain programs; `to_hmmlearn` gives the equivalent `hmmlearn.hmm.CategoricalHMM` (for
Baum-Welch with `fit`, or as a reference), `from_hmmlearn` takes one back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from hybrid.structured import chain
from hybrid.structured.chain import ChainPotentials
from hybrid.structured.hmm import _as_ids, _check_log_distribution, count_statistics, smoothed_log


def _probabilities(log_p: Tensor) -> Any:
    """float64 numpy probabilities, renormalised so hmmlearn's sum-to-one check passes exactly."""
    p = log_p.detach().double().exp().cpu()
    return (p / p.sum(dim=-1, keepdim=True)).numpy()


class ClassicHMM(nn.Module):
    """A count-based (or Baum-Welch) HMM tagger over K tags and V symbols; no network.

    The parameters are buffers (saved with the state dict); the constructor gives uniform
    distributions. `dtype` is that of the buffers (float64 for exact agreement with hmmlearn).
    """

    # buffers (registered in __init__)
    log_start: Tensor  # (K,) log pi
    log_transitions: Tensor  # (K, K) log A
    log_emissions: Tensor  # (K, V) log B

    def __init__(self, num_tags: int, num_symbols: int, dtype: torch.dtype = torch.float32):
        super().__init__()
        if num_tags < 1 or num_symbols < 1:
            raise ValueError(f"need num_tags >= 1 and num_symbols >= 1, got {num_tags}, {num_symbols}")
        self.num_tags, self.num_symbols = num_tags, num_symbols
        k, v = num_tags, num_symbols
        self.register_buffer("log_start", torch.full((k,), -math.log(k), dtype=dtype))  # (K,)
        self.register_buffer("log_transitions", torch.full((k, k), -math.log(k), dtype=dtype))  # (K, K)
        self.register_buffer("log_emissions", torch.full((k, v), -math.log(v), dtype=dtype))  # (K, V)

    def set_parameters(self, log_start: Tensor, log_transitions: Tensor, log_emissions: Tensor) -> None:
        """Set log pi (K,), log A (K, K) and log B (K, V); each must be normalised (rows)."""
        k, v = self.num_tags, self.num_symbols
        values = {
            "log_start": _check_log_distribution("log_start", log_start, (k,)),
            "log_transitions": _check_log_distribution("log_transitions", log_transitions, (k, k)),
            "log_emissions": _check_log_distribution("log_emissions", log_emissions, (k, v)),
        }
        with torch.no_grad():
            for name, value in values.items():
                getattr(self, name).copy_(value)

    @classmethod
    def from_counts(
        cls, tag_sequences: Sequence[Sequence[int] | Tensor], symbol_sequences: Sequence[Sequence[int] | Tensor],
        num_tags: int, num_symbols: int, smoothing: float = 1.0, emission_smoothing: float | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> ClassicHMM:
        """Add-`smoothing` estimates of pi and A (as `count_statistics`) and of the emissions
        B[k, o] = (#(tag k, symbol o) + e) / (#tag k + V e), e = emission_smoothing (default: smoothing).
        """
        if len(tag_sequences) != len(symbol_sequences):
            raise ValueError(f"{len(tag_sequences)} tag sequences but {len(symbol_sequences)} symbol sequences")
        tags, symbols = [_as_ids(s) for s in tag_sequences], [_as_ids(s) for s in symbol_sequences]
        for i, (t, o) in enumerate(zip(tags, symbols, strict=True)):
            if t.shape != o.shape:
                raise ValueError(f"sequence {i}: {t.numel()} tags but {o.numel()} symbols")
        all_tags, all_symbols = torch.cat(tags), torch.cat(symbols)
        if all_symbols.numel() and (int(all_symbols.min()) < 0 or int(all_symbols.max()) >= num_symbols):
            raise ValueError(f"symbol ids must lie in [0, {num_symbols})")
        stats = count_statistics(tags, num_tags, smoothing)
        pairs = torch.bincount(all_tags * num_symbols + all_symbols, minlength=num_tags * num_symbols)
        e = smoothing if emission_smoothing is None else emission_smoothing
        log_b = smoothed_log(pairs.view(num_tags, num_symbols), e)
        model = cls(num_tags, num_symbols, dtype=dtype)
        model.set_parameters(stats.log_start, stats.log_transitions, log_b)
        return model

    # -- inference on the shared chain programs ----------------------------------
    def potentials(self, observations: Tensor, mask: Tensor) -> ChainPotentials:
        """Chain potentials for symbol ids (B, T) (any valid id at padding) and mask (B, T)."""
        obs = torch.where(mask, observations, torch.zeros_like(observations))
        emissions = self.log_emissions.t()[obs]  # (B, T, K)
        return ChainPotentials(
            emissions, self.log_transitions, self.log_start, self.log_start.new_zeros(self.num_tags), mask
        )

    def decode(self, observations: Tensor, mask: Tensor, k: int = 1) -> tuple[Tensor, Tensor]:
        """k best state sequences (B, k, T) and their log P(x, y) (B, k); Viterbi when k == 1."""
        with torch.no_grad():
            return chain.kbest(self.potentials(observations, mask), k)

    def log_likelihood(self, observations: Tensor, mask: Tensor) -> Tensor:
        """(B,) log P(x) of each sequence (the forward algorithm)."""
        return chain.log_partition(self.potentials(observations, mask))

    def marginals(self, observations: Tensor, mask: Tensor) -> Tensor:
        """(B, T, K) posterior state probabilities P(y_t = k | x) (zeros at padding)."""
        return chain.marginals(self.potentials(observations, mask))

    # -- hmmlearn ----------------------------------------------------------------
    def to_hmmlearn(self, **kwargs: Any) -> Any:
        """An `hmmlearn.hmm.CategoricalHMM` with these parameters (float64).

        `init_params` defaults to "" so that `fit` starts Baum-Welch from these parameters
        instead of re-initialising them; other keyword arguments go to the constructor.
        """
        from hmmlearn.hmm import CategoricalHMM

        kwargs.setdefault("init_params", "")
        model = CategoricalHMM(n_components=self.num_tags, n_features=self.num_symbols, **kwargs)
        model.startprob_ = _probabilities(self.log_start)
        model.transmat_ = _probabilities(self.log_transitions)
        model.emissionprob_ = _probabilities(self.log_emissions)
        return model

    @classmethod
    def from_hmmlearn(cls, model: Any, dtype: torch.dtype = torch.float64) -> ClassicHMM:
        """The ClassicHMM of a fitted `hmmlearn.hmm.CategoricalHMM` (zero probabilities become -inf)."""
        for name in ("startprob_", "transmat_", "emissionprob_"):
            if not hasattr(model, name):
                raise ValueError(f"hmmlearn model has no {name}: fit it or set its parameters first")
        emission = torch.as_tensor(model.emissionprob_, dtype=torch.float64)
        out = cls(int(model.n_components), int(emission.shape[1]), dtype=dtype)
        out.set_parameters(
            torch.as_tensor(model.startprob_, dtype=torch.float64).log(),
            torch.as_tensor(model.transmat_, dtype=torch.float64).log(),
            emission.log(),
        )
        return out


def observations_to_hmmlearn(observations: Tensor, mask: Tensor) -> tuple[Any, Any]:
    """Padded symbol ids (B, T) and mask to hmmlearn's inputs: X (N, 1) int64 and lengths (B,)."""
    lengths = mask.sum(dim=1)
    return observations[mask].reshape(-1, 1).cpu().numpy(), lengths.cpu().numpy()

