"""Brute-force enumeration over every tag sequence: the reference for the chain dynamic programs."""

from __future__ import annotations

import itertools

import torch

from hybrid.structured.chain import ChainPotentials


def all_paths(p: ChainPotentials, b: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every tag sequence of chain b (over its real length) and its score: (N, L), (N,)."""
    length = int(p.mask[b].sum())
    k = p.emissions.shape[2]
    e, tr = p.emissions[b].double(), p.transitions.double()
    paths, scores = [], []
    for path in itertools.product(range(k), repeat=length):
        s = p.start.double()[path[0]] + p.end.double()[path[-1]]
        for t, tag in enumerate(path):
            s = s + e[t, tag]
            if t:
                s = s + tr[path[t - 1], tag]
        paths.append(path)
        scores.append(s)
    return torch.tensor(paths), torch.stack(scores)


def random_potentials(
    batch: int, max_len: int, k: int, generator: torch.Generator, dtype=torch.float64
) -> ChainPotentials:
    """Random potentials with random lengths 1..max_len (one row always of max_len)."""
    lengths = torch.randint(1, max_len + 1, (batch,), generator=generator)
    lengths[0] = max_len
    mask = torch.arange(max_len).unsqueeze(0) < lengths.unsqueeze(1)
    return ChainPotentials(
        torch.randn(batch, max_len, k, generator=generator, dtype=dtype),
        torch.randn(k, k, generator=generator, dtype=dtype),
        torch.randn(k, generator=generator, dtype=dtype),
        torch.randn(k, generator=generator, dtype=dtype),
        mask,
    )
