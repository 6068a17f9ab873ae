"""The self-attention encoder: padding has no influence, causal attention looks left only, the
fused kernel equals the weights computed by hand, gradients check, and taggers and classifiers
built on it save and load to identical predictions."""

from __future__ import annotations

import math
import typing

import pytest
import torch
from click.testing import CliRunner

from cli.main import cli
from cli.params import ENCODERS as CLI_ENCODERS
from hybrid.config import ClassifierModelConfig, ConfigError, ModelConfig
from hybrid.encoders.build import ENCODERS, build_encoder
from hybrid.encoders.transformer import TransformerEncoder, sinusoidal_positions

LENGTHS = (6, 3, 1, 4)


def _batch(seed: int = 0, size: int = 5):
    torch.manual_seed(seed)
    x = torch.randn(len(LENGTHS), max(LENGTHS), size)
    mask = torch.arange(max(LENGTHS)).unsqueeze(0) < torch.tensor(LENGTHS).unsqueeze(1)
    return x, mask


def _encoder(causal: bool = False, positions: str = "sinusoidal", dtype=torch.float32) -> TransformerEncoder:
    torch.manual_seed(1)
    return TransformerEncoder(5, 8, num_layers=2, heads=2, dropout=0.0, positions=positions,
                              causal=causal).to(dtype).eval()


@pytest.mark.parametrize("positions", ["sinusoidal", "learned"])
@pytest.mark.parametrize("causal", [False, True])
def test_a_padded_batch_gives_each_sentence_what_it_gets_alone(causal, positions):
    encoder = _encoder(causal, positions)
    x, mask = _batch()
    out = encoder(x, mask)
    assert out.shape == (4, 6, 8) and bool((out[~mask] == 0).all())
    for row, length in enumerate(LENGTHS):
        alone = encoder(x[row : row + 1, :length], mask[row : row + 1, :length])
        torch.testing.assert_close(out[row, :length], alone[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("causal", [False, True])
def test_what_stands_in_the_padding_never_changes_the_outputs(causal):
    encoder = _encoder(causal)
    x, mask = _batch()
    noisy = x.clone()
    noisy[~mask] = torch.randn(int((~mask).sum()), 5) * 100
    torch.testing.assert_close(encoder(noisy, mask), encoder(x, mask))


def test_a_row_without_real_positions_is_refused_as_by_every_encoder():
    from hybrid.errors import ShapeError

    x, mask = _batch()
    mask[1] = False
    with pytest.raises(ShapeError, match=r"at least one real position; rows \[1\] are empty"):
        _encoder()(x, mask)


def test_causal_attention_looks_left_only():
    encoder = _encoder(causal=True)
    x, mask = _batch()
    changed = x.clone()
    changed[:, 3:] += 5.0
    before, after = encoder(x, mask), encoder(changed, mask)
    torch.testing.assert_close(before[:, :3], after[:, :3])
    assert not torch.allclose(before[0, 3:], after[0, 3:])
    assert not torch.allclose(_encoder(causal=False)(x, mask)[0, :3], _encoder(causal=False)(changed, mask)[0, :3])


@pytest.mark.parametrize("causal", [False, True])
def test_the_fused_kernel_equals_the_weights_computed_by_hand(causal):
    encoder = _encoder(causal)
    x, mask = _batch()
    fused = encoder(x, mask)
    by_hand, weights = encoder.run(x, mask, return_attention=True)
    torch.testing.assert_close(fused, by_hand, rtol=1e-5, atol=1e-6)
    assert weights is not None and weights.shape == (2, 4, 2, 6, 6)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 4, 2, 6))
    keys_padded = ~mask[:, None, None, :].expand_as(weights[0])
    assert bool((weights[:, keys_padded] == 0).all())
    if causal:
        assert bool((weights.triu(1) == 0).all())
    torch.testing.assert_close(encoder.attention(x, mask), weights)


def test_gradients_check():
    encoder = _encoder(dtype=torch.float64)
    x, mask = _batch()
    x = x.double().requires_grad_()
    assert torch.autograd.gradcheck(lambda inputs: encoder(inputs, mask), (x,), eps=1e-6, atol=1e-5)


def test_sinusoidal_positions_follow_the_formula():
    table = sinusoidal_positions(7, 6)
    for pos in range(7):
        for i in range(3):
            angle = pos / 10000 ** (2 * i / 6)
            assert table[pos, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
            assert table[pos, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)


def test_bad_settings_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="multiple of the heads"):
        TransformerEncoder(5, 10, heads=4)
    encoder = TransformerEncoder(5, 8, heads=2, positions="learned", max_positions=4)
    x, mask = _batch()
    with pytest.raises(ValueError, match="longer than the 4 learned positions"):
        encoder(x, mask)
    with pytest.raises(ConfigError, match=r"hidden_size \(6\) must be a multiple of its heads \(4\)"):
        ModelConfig(encoder="transformer", hidden_size=6)
    with pytest.raises(ValueError, match="unknown encoder"):
        build_encoder("cnn", 4, 4)


def test_every_encoder_name_is_offered_alike_by_configs_builder_and_cli():
    for config in (ModelConfig, ClassifierModelConfig):
        assert set(typing.get_args(typing.get_type_hints(config)["encoder"])) == set(ENCODERS)
    assert set(CLI_ENCODERS) == set(ENCODERS)


def test_a_transformer_tagger_trains_tags_on_torch_and_loads_to_identical_predictions(tmp_path):
    rows = []
    for i in range(60):
        words = ["the", "dog" if i % 2 else "cat", "runs" if i % 3 else "sleeps", "."]
        rows.append("\n".join(f"{w}\t{t}" for w, t in zip(words, ["DET", "NOUN", "VERB", "PUNCT"], strict=True)))
    (tmp_path / "train.tsv").write_text("\n\n".join(rows) + "\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(cli, ["train", "--train", str(tmp_path / "train.tsv"), "--out", str(tmp_path / "run"),
                                 "--encoder", "transformer", "--hidden-size", "18", "--heads", "3", "--num-layers",
                                 "2", "--word-dim", "16", "--epochs", "3", "--positions", "learned", "-q"])
    assert result.exit_code == 0, result.output
    text = "the dog runs .\nthe cat sleeps .\n"
    model = str(tmp_path / "run" / "model")
    tagged = runner.invoke(cli, ["tag", "--model", model, "--engine", "auto"], input=text)
    again = runner.invoke(cli, ["tag", "--model", model, "--engine", "torch"], input=text)
    assert tagged.exit_code == 0 and tagged.output == again.output and tagged.output.count("\n") >= 2
    refused = runner.invoke(cli, ["tag", "--model", model, "--engine", "onnx"], input=text)
    assert refused.exit_code != 0 and "the transformer encoder runs on torch" in refused.output
    info = runner.invoke(cli, ["info", model])
    # 18 is no multiple of the default 4 heads: the options are checked together, not one by one
    assert "transformer, 2 layer(s), width 18, 3 heads, feed-forward 72, learned positions" in info.output


@pytest.mark.parametrize("layer", ["crf", "hmm", "softmax", "ctc"])
def test_taggers_on_the_transformer_save_and_load_bit_identical(tmp_path, layer):
    from hybrid.config import DataConfig, TaggerConfig
    from hybrid.data.batching import TaggerVocabs
    from hybrid.data.pairs import CTCVocabs, Pair
    from hybrid.models.ctc import CTCModel
    from hybrid.models.io import load_tagger, save_tagger
    from hybrid.models.tagger import Tagger, predict_tags
    from tests.runtime.test_runtime import corpus

    model = ModelConfig(encoder="transformer", hidden_size=8, heads=2, num_layers=2, word_dim=8, char_dim=4,
                        char_hidden=4, layer=layer, positions="learned")
    torch.manual_seed(3)
    if layer == "ctc":
        pairs = [Pair(("a", "b", "c", "d"), ("x",)), Pair(("b", "c"), ("y", "x"))]
        ctc = CTCModel.from_config(model, CTCVocabs.build(pairs)).eval()
        save_tagger(ctc, tmp_path / "m", TaggerConfig(data=DataConfig(format="pairs"), model=model))
        assert load_tagger(tmp_path / "m").predict(pairs) == ctc.predict(pairs)
        return
    sentences = corpus()
    tagger = Tagger(model, TaggerVocabs.build(sentences)).eval()
    save_tagger(tagger, tmp_path / "m", TaggerConfig(model=model))
    loaded = load_tagger(tmp_path / "m")
    batch = tagger.vocabs.encode(sentences)
    with torch.inference_mode():
        assert torch.equal(tagger.emissions(batch), loaded.emissions(batch))
    assert predict_tags(tagger, sentences) == predict_tags(loaded, sentences)
