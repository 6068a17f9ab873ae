"""Character encoders: shapes, and padding characters never change a word's features."""

from __future__ import annotations

import pytest
import torch

from hybrid.encoders import CharCNNEncoder, CharLSTMEncoder, build_char_encoder
from hybrid.errors import ShapeError

WORDS = [[3, 4, 5, 6], [7], [2, 9, 2]]  # char ids; 0 is padding


def pad(words: list[list[int]], width: int) -> torch.Tensor:
    return torch.tensor([w + [0] * (width - len(w)) for w in words])  # (N, C)


@pytest.mark.parametrize("kind,expected_size", [("lstm", 2 * 6), ("cnn", 6)])
def test_shapes_and_padding_invariance(kind, expected_size):
    torch.manual_seed(0)
    encoder = build_char_encoder(kind, num_chars=10, char_dim=5, hidden=6)
    assert encoder.output_size == expected_size
    tight = encoder(pad(WORDS, 4))
    assert tight.shape == (3, expected_size)
    torch.testing.assert_close(encoder(pad(WORDS, 9)), tight, rtol=0, atol=1e-6)
    for n, word in enumerate(WORDS):  # a word alone, without any padding
        torch.testing.assert_close(encoder(torch.tensor([word]))[0], tight[n], rtol=0, atol=1e-6)


def test_lstm_output_is_final_forward_and_backward_state():
    torch.manual_seed(1)
    encoder = CharLSTMEncoder(10, char_dim=4, hidden_size=3)
    word = torch.tensor([[3, 4, 5]])
    outputs, _ = encoder.lstm(encoder.embedding(word))  # (1, 3, 6)
    expected = torch.cat([outputs[0, -1, :3], outputs[0, 0, 3:]])
    torch.testing.assert_close(encoder(word)[0], expected)


def test_cnn_pools_over_real_positions_only():
    torch.manual_seed(2)
    encoder = CharCNNEncoder(10, char_dim=4, num_filters=3, kernel_size=3)
    with torch.no_grad():
        encoder.conv.bias.fill_(-50.0)  # every activation negative: padding 0s would win a max
    out = encoder(pad(WORDS, 8))
    assert (out < 0).all()
    assert (encoder(torch.zeros(2, 5, dtype=torch.long)) == 0).all()  # no chars -> zeros


@pytest.mark.parametrize("kernel_size", [1, 2, 4, 5])
def test_cnn_any_kernel_size(kernel_size):
    torch.manual_seed(3)
    encoder = CharCNNEncoder(10, char_dim=4, num_filters=3, kernel_size=kernel_size)
    torch.testing.assert_close(encoder(pad(WORDS, 7)), encoder(pad(WORDS, 4)), rtol=0, atol=1e-6)


def test_errors():
    with pytest.raises(ValueError, match="unknown char encoder 'rnn'; expected one of lstm, cnn"):
        build_char_encoder("rnn", 10, 5, 6)
    with pytest.raises(ShapeError, match=r"expected char ids of shape \(N, C\), got \(2, 3, 4\)"):
        CharCNNEncoder(10)(torch.ones(2, 3, 4, dtype=torch.long))
    with pytest.raises(ShapeError, match="long char ids"):
        CharLSTMEncoder(10)(torch.ones(2, 3))
