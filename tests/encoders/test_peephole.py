"""PeepholeLSTMCell against hand-written gate formulas and gradcheck; PeepholeLSTM against nn.LSTM."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.func import functional_call
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from hybrid.encoders import PeepholeLSTM, PeepholeLSTMCell
from hybrid.errors import ShapeError


def batch(lengths: list[int], dim: int, seed: int = 0, dtype=torch.float32):
    """Random x (B, T, D) with garbage (not zeros) at padding, and the right-padded mask."""
    g = torch.Generator().manual_seed(seed)
    t = max(lengths) + 1  # one all-padding column too
    x = torch.randn(len(lengths), t, dim, generator=g, dtype=dtype) * 3
    mask = torch.arange(t).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    return x, mask


def test_cell_follows_the_gers_schmidhuber_equations():
    torch.manual_seed(0)
    cell = PeepholeLSTMCell(3, 2).double()
    x, h, c = torch.randn(4, 3).double(), torch.randn(4, 2).double(), torch.randn(4, 2).double()
    w_ih, w_hh, b = cell.weight_ih, cell.weight_hh, cell.bias
    pre = [x @ w_ih[k * 2:(k + 1) * 2].t() + h @ w_hh[k * 2:(k + 1) * 2].t() + b[k * 2:(k + 1) * 2]
           for k in range(4)]  # i, f, g, o
    i = torch.sigmoid(pre[0] + cell.peephole[0] * c)  # input gate sees c_{t-1}
    f = torch.sigmoid(pre[1] + cell.peephole[1] * c)  # forget gate sees c_{t-1}
    c_new = f * c + i * torch.tanh(pre[2])
    o = torch.sigmoid(pre[3] + cell.peephole[2] * c_new)  # output gate sees c_t
    h_got, c_got = cell(x, (h, c))
    torch.testing.assert_close(c_got, c_new)
    torch.testing.assert_close(h_got, o * torch.tanh(c_new))


def test_cell_gradcheck_inputs_and_parameters():
    torch.manual_seed(1)
    cell = PeepholeLSTMCell(3, 2).double()
    names = [n for n, _ in cell.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in cell.parameters()]
    x, h, c = (torch.randn(2, s, dtype=torch.float64, requires_grad=True) for s in (3, 2, 2))

    def f(x, h, c, *ps):
        return functional_call(cell, dict(zip(names, ps, strict=True)), (x, (h, c)))

    assert torch.autograd.gradcheck(f, (x, h, c, *params))


def test_sequence_gradcheck_bidirectional_variable_lengths():
    torch.manual_seed(2)
    rnn = PeepholeLSTM(2, 2, num_layers=2, bidirectional=True).double()
    x, mask = batch([3, 1], 2, dtype=torch.float64)
    x.requires_grad_()
    assert torch.autograd.gradcheck(lambda x: rnn(x, mask), (x,))


def copy_from_torch(lstm: nn.LSTM, model: PeepholeLSTM) -> None:
    dirs = 2 if lstm.bidirectional else 1
    with torch.no_grad():
        for layer in range(lstm.num_layers):
            for d in range(dirs):
                suffix = f"l{layer}" + ("_reverse" if d else "")
                cell = model.cells[layer * dirs + d]
                cell.weight_ih.copy_(getattr(lstm, f"weight_ih_{suffix}"))
                cell.weight_hh.copy_(getattr(lstm, f"weight_hh_{suffix}"))
                cell.bias.copy_(getattr(lstm, f"bias_ih_{suffix}") + getattr(lstm, f"bias_hh_{suffix}"))
                cell.peephole.zero_()


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_zero_peepholes_equal_torch_lstm(bidirectional, num_layers):
    torch.manual_seed(3)
    lstm = nn.LSTM(4, 5, num_layers, batch_first=True, bidirectional=bidirectional)
    model = PeepholeLSTM(4, 5, num_layers, bidirectional)
    copy_from_torch(lstm, model)
    lengths = [6, 2, 4, 1]
    x, mask = batch(lengths, 4)
    packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
    expected, _ = pad_packed_sequence(lstm(packed)[0], batch_first=True, total_length=x.shape[1])
    got = model(x, mask)
    assert got.shape == (4, 7, 5 * (2 if bidirectional else 1)) == (4, 7, model.output_size)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)
    assert (got[~mask] == 0).all()


def test_nonzero_peepholes_change_the_output():
    torch.manual_seed(4)
    lstm = nn.LSTM(3, 3, batch_first=True)
    model = PeepholeLSTM(3, 3)
    copy_from_torch(lstm, model)
    x, mask = batch([4], 3)
    plain = model(x, mask)
    with torch.no_grad():
        model.cells[0].peephole.fill_(0.5)
    assert not torch.allclose(model(x, mask), plain, atol=1e-3)


def test_rejects_bad_shapes():
    model = PeepholeLSTM(3, 2)
    x, mask = batch([2, 1], 3)
    with pytest.raises(ShapeError, match=r"expected x of shape \(B, T, 3\), got \(2, 3, 4\)"):
        model(torch.zeros(2, 3, 4), mask)
    with pytest.raises(ShapeError, match="right-padded"):
        model(x, mask.flip(1))
    with pytest.raises(ShapeError, match=r"expected x of shape \(B, 3\)"):
        PeepholeLSTMCell(3, 2)(torch.zeros(2, 4), (torch.zeros(2, 2), torch.zeros(2, 2)))
