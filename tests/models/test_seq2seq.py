"""The seq2seq model: log-probabilities by hand, scheduled sampling, save/load, learning."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from hybrid.config import Seq2SeqConfig, Seq2SeqModelConfig, Seq2SeqTrainConfig
from hybrid.data.pairs import Pair
from hybrid.data.parallel import Seq2SeqVocabs
from hybrid.errors import ModelLoadError, ShapeError
from hybrid.models.seq2seq_io import load_seq2seq, save_seq2seq
from hybrid.train.seq2seq import bleu_of, scheduled_sampling_rate, train_seq2seq, translate
from tests.seq2seq_tiny import random_pairs, tiny_model

PAIRS = random_pairs()
VOCABS = Seq2SeqVocabs.build(PAIRS)


@pytest.mark.parametrize("decoder", ["gru", "lstm", "rnn"])
def test_log_prob_is_the_sum_of_step_log_probabilities(decoder):
    model = tiny_model(VOCABS, 1, decoder=decoder)
    batch = VOCABS.encode(PAIRS[:5])
    with torch.no_grad():
        memory = model.encode(batch.src, batch.src_mask)
        for row in range(5):
            one = memory.select(torch.tensor([row]))
            state, total = model.start(one), 0.0
            n = int(batch.tgt_mask[row].sum())
            for t in range(n):
                logits, state, _ = model.step(one, state, batch.tgt_in[row, t : t + 1])
                total += torch.log_softmax(logits, -1)[0, batch.tgt_out[row, t]].item()
            assert model.log_prob(batch)[row].item() == pytest.approx(total, abs=1e-5)


def test_padding_does_not_change_a_sentences_score():
    model = tiny_model(VOCABS, 2)
    with torch.no_grad():
        alone = model.log_prob(VOCABS.encode(PAIRS[:1]))
        padded = model.log_prob(VOCABS.encode([PAIRS[0], Pair(("w1",) * 9, ("w2",) * 9)]))
    torch.testing.assert_close(alone[0], padded[0])


def test_scheduled_sampling_zero_is_teacher_forcing_and_one_feeds_own_tokens():
    model = tiny_model(VOCABS, 3, scale=2.0)
    batch = VOCABS.encode(PAIRS[:8])
    with torch.no_grad():
        forced, _ = model(batch)
        again, _ = model(batch, feed_own=0.0, generator=torch.Generator().manual_seed(0))
        torch.testing.assert_close(forced, again)
        own, _ = model(batch, feed_own=1.0, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(own[:, 0], forced[:, 0])  # the first input is always <s>
    assert not torch.allclose(own[:, 1:], forced[:, 1:])


def test_scheduled_sampling_schedule_is_linear():
    config = Seq2SeqConfig(train=Seq2SeqTrainConfig(ss_start=0.0, ss_end=0.25, ss_epochs=6))
    assert [scheduled_sampling_rate(config, e) for e in range(8)] == pytest.approx(
        [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.25, 0.25])


def test_encode_checks_shapes():
    model = tiny_model(VOCABS)
    with pytest.raises(ShapeError, match=r"\(B, S\)"):
        model.encode(torch.zeros(3, dtype=torch.long), torch.ones(3, dtype=torch.bool))


@pytest.mark.parametrize("tie", [True, False])
def test_save_load_round_trip_is_exact(tmp_path, tie):
    model = tiny_model(VOCABS, 4, tie_embeddings=tie, attention="additive")
    config = Seq2SeqConfig(model=model.config)
    save_seq2seq(model, tmp_path / "m", config)
    loaded = load_seq2seq(tmp_path / "m")
    batch = VOCABS.encode(PAIRS[:6])
    with torch.no_grad():
        assert torch.equal(model.log_prob(batch), loaded.log_prob(batch))
    assert translate(model, [p.inputs for p in PAIRS], beam=3) == translate(loaded, [p.inputs for p in PAIRS], beam=3)
    assert (loaded.output.weight is loaded.tgt_embedding.weight) == tie


def test_loading_a_tagger_directory_as_seq2seq_is_refused(tmp_path):
    model = tiny_model(VOCABS)
    save_seq2seq(model, tmp_path / "m", Seq2SeqConfig(model=model.config))
    config = (tmp_path / "m" / "config.json").read_text().replace("hybrid-seq2seq", "hybrid-tagger")
    (tmp_path / "m" / "config.json").write_text(config)
    with pytest.raises(ModelLoadError, match="is not a 'hybrid-seq2seq' model"):
        load_seq2seq(tmp_path / "m")


def _reverse_task(n: int, seed: int) -> list[Pair]:
    pairs = random_pairs(n, seed=seed, max_len=5)
    return [Pair(p.inputs, tuple(reversed(p.inputs))) for p in pairs]


def test_training_learns_to_reverse_and_resumes(tmp_path):
    """A task attention makes easy; dev BLEU must climb far above chance, greedy and beam agree."""
    model_config = Seq2SeqModelConfig(src_min_freq=1, tgt_min_freq=1, embedding_dim=32, encoder_hidden=32,
                                      decoder_hidden=32, dropout=0.0)
    config = Seq2SeqConfig(model=model_config, train=Seq2SeqTrainConfig(
        lr=5e-3, batch_size=16, epochs=12, patience=12, label_smoothing=0.0, seed=3))
    train, dev = _reverse_task(400, 0), _reverse_task(40, 1)
    summary = train_seq2seq(config, train, dev, tmp_path, progress=False)
    assert summary["best_dev"] > 80, summary["history"]
    model = load_seq2seq(tmp_path / "model")
    assert bleu_of(model, dev, beam=4)["bleu"] > 80
    # a run stopped after 2 epochs and resumed equals the straight run's epoch log
    short = dataclasses.replace(config, train=dataclasses.replace(config.train, epochs=2))
    train_seq2seq(short, train, dev, tmp_path / "r", progress=False)
    resumed = train_seq2seq(config, train, dev, tmp_path / "r", resume=True, progress=False)
    strip = [{k: v for k, v in h.items() if k not in ("elapsed_s", "eval_s")} for h in resumed["history"]]
    assert strip == [{k: v for k, v in h.items() if k not in ("elapsed_s", "eval_s")} for h in summary["history"]]
