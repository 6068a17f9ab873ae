"""RNNEncoder: shapes, zeros at padding, no leakage from padding, argument checks."""

from __future__ import annotations

import pytest
import torch

from hybrid.encoders import CELLS, RNNEncoder
from hybrid.errors import ShapeError

LENGTHS = [5, 2, 3, 1]


def padded_batch(dim: int, seed: int = 0):
    """x (B, T, D) with large garbage at padded positions, and the right-padded mask (B, T)."""
    g = torch.Generator().manual_seed(seed)
    t = max(LENGTHS) + 2
    x = torch.randn(len(LENGTHS), t, dim, generator=g)
    mask = torch.arange(t).unsqueeze(0) < torch.tensor(LENGTHS).unsqueeze(1)
    x[~mask] = 100.0
    return x, mask


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_shapes_zero_padding_and_no_leakage(cell, bidirectional):
    torch.manual_seed(0)
    encoder = RNNEncoder(4, 3, num_layers=2, cell=cell, bidirectional=bidirectional).eval()
    assert encoder.output_size == (6 if bidirectional else 3)
    x, mask = padded_batch(4)
    out = encoder(x, mask)
    assert out.shape == (4, 7, encoder.output_size)
    assert (out[~mask] == 0).all()
    assert (out[mask].abs().sum(-1) > 0).all()
    for b, length in enumerate(LENGTHS):
        alone = encoder(x[b:b + 1, :length], mask[b:b + 1, :length])  # (1, length, out)
        torch.testing.assert_close(out[b, :length], alone[0], rtol=0, atol=1e-5)


def test_backward_direction_sees_the_future():
    """Bidirectional outputs at position 0 depend on the last real token, unidirectional do not:
    the gradient of the first output with respect to the last token is nonzero, resp. exactly zero.
    (A gradient, not a perturbation: the Jordan network's dependence through its small output
    distribution shrinks about tenfold a step, below a tolerance-based comparison.)"""
    torch.manual_seed(1)
    last = LENGTHS[0] - 1
    for cell in CELLS:
        x, mask = padded_batch(4)
        for bidirectional in (True, False):
            inputs = x.clone().requires_grad_()
            encoder = RNNEncoder(4, 3, cell=cell, bidirectional=bidirectional)
            (grad,) = torch.autograd.grad(encoder(inputs, mask)[0, 0].sum(), inputs)
            sees = bool(grad[0, last].abs().sum() > 0)
            assert sees == bidirectional, (cell, bidirectional)


@pytest.mark.parametrize("cell", CELLS)
def test_dropout_between_layers_only_in_training(cell):
    torch.manual_seed(2)
    encoder = RNNEncoder(4, 8, num_layers=2, cell=cell, dropout=0.5)
    x, mask = padded_batch(4)
    assert not torch.allclose(encoder(x, mask), encoder(x, mask))
    encoder.eval()
    torch.testing.assert_close(encoder(x, mask), encoder(x, mask))


def test_gradients_reach_the_inputs():
    encoder = RNNEncoder(4, 3, cell="peephole")
    x, mask = padded_batch(4)
    x.requires_grad_()
    encoder(x, mask).sum().backward()
    assert x.grad[mask].abs().sum() > 0
    assert (x.grad[~mask] == 0).all()


def test_argument_errors():
    with pytest.raises(ValueError, match="unknown cell 'elman'; expected one of rnn, lstm, gru, peephole"):
        RNNEncoder(4, 3, cell="elman")
    with pytest.raises(ValueError, match="dropout"):
        RNNEncoder(4, 3, dropout=1.5)
    with pytest.raises(ValueError, match="hidden_size 0"):
        RNNEncoder(4, 0)
    encoder = RNNEncoder(4, 3)
    x, mask = padded_batch(4)
    with pytest.raises(ShapeError, match=r"expected x of shape \(B, T, 4\), got \(4, 7, 5\)"):
        encoder(torch.zeros(4, 7, 5), mask)
    with pytest.raises(ShapeError, match=r"expected x of shape \(B, T, 4\), got \(7, 4\)"):
        encoder(torch.zeros(7, 4), mask)
    with pytest.raises(ShapeError, match=r"expected mask of shape \(4, 7\) \(B, T\), got \(4, 6\)"):
        encoder(x, mask[:, :6])
    with pytest.raises(ShapeError, match="bool mask"):
        encoder(x, mask.long())
    with pytest.raises(ShapeError, match=r"rows \[1\] are empty"):
        encoder(x, mask & torch.tensor([True, False, True, True]).unsqueeze(1))
    with pytest.raises(ShapeError, match="right-padded"):
        encoder(x, mask.flip(1))
