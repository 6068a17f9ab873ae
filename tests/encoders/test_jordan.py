"""The Jordan network against a hand-unrolled loop, padding, directions, stacking, gradcheck, and
a tagger that learns with it."""

from __future__ import annotations

import pytest
import torch

from hybrid.encoders import JordanCell, JordanRNN, RNNEncoder
from hybrid.errors import ShapeError


def _by_hand(cell: JordanCell, x: torch.Tensor) -> torch.Tensor:
    """x (T, D) -> h (T, H), h_t = tanh(W x_t + U y_{t-1} + b), y_t = softmax(V h_t + c), y_0 = 0."""
    y = torch.zeros(cell.feedback_size, dtype=x.dtype)
    hs = []
    for x_t in x:
        h = torch.tanh(cell.weight_ih @ x_t + cell.weight_yh @ y + cell.bias)
        y = torch.softmax(cell.weight_out @ h + cell.bias_out, dim=0)
        hs.append(h)
    return torch.stack(hs)


def test_one_direction_equals_the_hand_unrolled_loop():
    torch.manual_seed(0)
    rnn = JordanRNN(3, 4, feedback_size=5).double()
    x = torch.randn(1, 6, 3, dtype=torch.double)
    out = rnn(x, torch.ones(1, 6, dtype=torch.bool))
    torch.testing.assert_close(out[0], _by_hand(rnn.cells[0], x[0]))


def test_bidirectional_stacked_with_padding_equals_each_sentence_alone():
    torch.manual_seed(1)
    rnn = JordanRNN(3, 4, num_layers=2, bidirectional=True).double().eval()
    lengths = [5, 2, 1, 4]
    x = torch.randn(4, 5, 3, dtype=torch.double)
    mask = torch.arange(5).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    out = rnn(x, mask)
    assert out.shape == (4, 5, 8) and bool((out[~mask] == 0).all())
    for row, n in enumerate(lengths):
        alone = rnn(x[row : row + 1, :n], torch.ones(1, n, dtype=torch.bool))
        torch.testing.assert_close(out[row, :n], alone[0])
    # the backward half of layer 1 is the forward recurrence over the reversed sentence
    first = JordanRNN(3, 4, bidirectional=True).double()
    first.cells = torch.nn.ModuleList(list(rnn.cells)[:2])
    one = first(x[:1], torch.ones(1, 5, dtype=torch.bool))[0]
    torch.testing.assert_close(one[:, 4:], _by_hand(first.cells[1], x[0].flip(0)).flip(0))


def test_gradients_pass_gradcheck():
    torch.manual_seed(2)
    rnn = JordanRNN(2, 3, bidirectional=True, feedback_size=2).double()
    x = torch.randn(2, 3, 2, dtype=torch.double, requires_grad=True)
    mask = torch.tensor([[True, True, True], [True, True, False]])
    assert torch.autograd.gradcheck(lambda inputs: rnn(inputs, mask), (x,))
    names = [name for name, _ in rnn.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_() for _, p in rnn.named_parameters())

    def with_params(*values: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(rnn, dict(zip(names, values, strict=True)), (x.detach(), mask))

    assert torch.autograd.gradcheck(with_params, params)


def test_the_encoder_takes_it_and_checks_shapes():
    encoder = RNNEncoder(3, 4, num_layers=2, cell="jordan", bidirectional=True)
    assert encoder.output_size == 8
    assert encoder(torch.randn(2, 3, 3), torch.ones(2, 3, dtype=torch.bool)).shape == (2, 3, 8)
    with pytest.raises(ShapeError):
        encoder(torch.randn(2, 3, 5), torch.ones(2, 3, dtype=torch.bool))
    with pytest.raises(ShapeError):
        JordanCell(3, 4, 5)(torch.randn(2, 3), torch.zeros(2, 4))


def test_a_jordan_tagger_learns_the_tiny_task(tmp_path):
    from hybrid.train.tagging import train_tagger
    from tests.tiny import tiny_config, write_conll_file

    config = tiny_config(epochs=6)
    config = type(config)(data=config.data, model=type(config.model)(**{**config.model.__dict__, "encoder": "jordan"}),
                          train=config.train)
    summary = train_tagger(config, write_conll_file(tmp_path / "t.txt", n=40), tmp_path / "run", progress=False)
    assert summary["best_dev"] > 60.0, summary["history"]
