"""WordEmbedding: learnt rows and fixed rows, one table in the state dict."""

from __future__ import annotations

import pytest
import torch

from hybrid.encoders.words import WordEmbedding


def test_it_looks_up_the_whole_table_and_only_the_learnt_rows_are_parameters():
    embedding = WordEmbedding(5, 3, 4)
    table = torch.randn(8, 4)
    embedding.set_table(table)
    words = torch.tensor([[0, 4, 5, 7], [7, 1, 2, 6]])
    assert torch.equal(embedding(words), table[words])
    assert [p.shape for p in embedding.parameters()] == [torch.Size([5, 4])]
    embedding(words).sum().backward()
    assert embedding.weight.grad is not None and embedding.weight.grad[0].abs().sum() == 0  # padding row
    assert embedding.weight.grad[4].abs().sum() > 0


def test_the_state_dict_holds_one_table_as_nn_embedding_does():
    embedding = WordEmbedding(5, 3, 4)
    embedding.set_table(torch.randn(8, 4))
    state = embedding.state_dict()
    assert list(state) == ["weight"] and state["weight"].shape == (8, 4)
    plain = torch.nn.Embedding(8, 4)
    plain.load_state_dict(state)
    again = WordEmbedding(5, 3, 4)
    again.load_state_dict(plain.state_dict())
    assert torch.equal(again.table(), embedding.table())
    with pytest.raises(RuntimeError, match="size mismatch for weight"):
        WordEmbedding(5, 2, 4).load_state_dict(state)
    without_fixed = WordEmbedding(8, 0, 4)
    without_fixed.load_state_dict(state)
    assert torch.equal(without_fixed(torch.tensor([6])), state["weight"][[6]])
