"""Attention match functions: masking, normalisation, and each formula by hand."""

from __future__ import annotations

import pytest
import torch

from hybrid.errors import ConfigError
from hybrid.models.attention import Attention


@pytest.mark.parametrize("kind", ["dot", "general", "additive"])
def test_weights_are_a_distribution_over_real_positions(kind):
    torch.manual_seed(0)
    att = Attention(6, 6, kind, hidden_size=5).double()
    memory = torch.randn(3, 4, 6, dtype=torch.float64)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]], dtype=torch.bool)
    query = torch.randn(3, 6, dtype=torch.float64)
    context, weights = att(query, memory, att.prepare(memory), mask)
    assert (weights[~mask] == 0).all()
    torch.testing.assert_close(weights.sum(1), torch.ones(3, dtype=torch.float64))
    torch.testing.assert_close(context, torch.einsum("bs,bsd->bd", weights, memory))
    assert torch.autograd.gradcheck(lambda q, m: att(q, m, att.prepare(m), mask)[0],
                                    (query.requires_grad_(), memory.requires_grad_()))


def test_scores_by_hand():
    torch.manual_seed(1)
    memory, query = torch.randn(1, 3, 4), torch.randn(1, 4)
    mask = torch.ones(1, 3, dtype=torch.bool)
    dot = Attention(4, 4, "dot")
    torch.testing.assert_close(dot(query, memory, dot.prepare(memory), mask)[1],
                               torch.softmax(memory[0] @ query[0], 0)[None])
    gen = Attention(4, 4, "general")
    expected = torch.softmax(memory[0] @ gen.w_memory.weight.T @ query[0], 0)
    torch.testing.assert_close(gen(query, memory, gen.prepare(memory), mask)[1], expected[None])
    add = Attention(4, 4, "additive", hidden_size=3)
    e = add.v(torch.tanh(add.w_memory(memory[0]) + add.w_query(query[0]))).squeeze(-1)
    torch.testing.assert_close(add(query, memory, add.prepare(memory), mask)[1], torch.softmax(e, 0)[None])


def test_dot_needs_equal_sizes_and_kinds_are_checked():
    with pytest.raises(ConfigError, match="dot attention needs equal sizes"):
        Attention(4, 6, "dot")
    with pytest.raises(ConfigError, match="unknown attention 'cosine'"):
        Attention(4, 4, "cosine")
