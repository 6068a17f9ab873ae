"""The sequence autoencoder: source noise, the pooled summary, the bottleneck, sentence vectors and
retrieval, and the seed's word-order case trained end to end."""

from __future__ import annotations

import random

import pytest
import torch
import torch.nn.functional as F

from hybrid.config import Seq2SeqConfig, Seq2SeqModelConfig, Seq2SeqTrainConfig
from hybrid.data.noise import add_noise
from hybrid.data.pairs import Pair
from hybrid.data.parallel import Seq2SeqBatch, Seq2SeqVocabs
from hybrid.decoding import beam_search, greedy
from hybrid.encoders.pooling import POOLINGS, Pooling
from hybrid.models.evaluation import translate
from hybrid.models.sentence_vectors import encode_sentences, nearest
from hybrid.models.seq2seq_io import load_seq2seq, save_seq2seq
from hybrid.train.seq2seq import train_seq2seq
from tests.seq2seq_tiny import random_pairs, tiny_model

PAIRS = random_pairs(30, seed=3)
VOCABS = Seq2SeqVocabs.build(PAIRS, 1, 1)


# -- noise ------------------------------------------------------------------------------
@pytest.mark.parametrize("window", [1, 2, 3])
def test_shuffled_words_move_at_most_the_window(window):
    generator = torch.Generator().manual_seed(window)
    tokens = list(range(12))
    moved = 0
    for _ in range(200):
        out = add_noise(tokens, 0.0, window, generator)
        assert sorted(out) == tokens
        assert max(abs(position - token) for position, token in enumerate(out)) <= window
        moved = max(moved, max(abs(p - t) for p, t in enumerate(out)))
    assert moved == window  # the bound is reached, not just respected


def test_word_dropout_drops_at_its_rate_keeps_order_and_never_empties():
    generator = torch.Generator().manual_seed(0)
    tokens = list(range(10))
    kept = []
    for _ in range(400):
        out = add_noise(tokens, 0.3, 0, generator)
        assert list(out) == sorted(out) and set(out) <= set(tokens)
        kept.append(len(out))
    assert abs(sum(kept) / (400 * 10) - 0.7) < 0.03
    assert all(len(add_noise(["a", "b"], 0.99, 0, generator)) >= 1 for _ in range(100))


def test_no_noise_is_the_identity_and_a_seed_repeats_the_noise():
    assert add_noise(("a", "b", "c"), 0.0, 0) == ("a", "b", "c")
    runs = [add_noise(list("abcdefgh"), 0.2, 2, torch.Generator().manual_seed(5)) for _ in range(2)]
    assert runs[0] == runs[1]


# -- pooling and the summary --------------------------------------------------------------
def _states_and_mask(lengths=(4, 2, 3), size=6):
    torch.manual_seed(0)
    states = torch.randn(len(lengths), max(lengths), size)
    mask = torch.arange(max(lengths)).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    return states * mask.unsqueeze(-1), mask


@pytest.mark.parametrize("kind", POOLINGS)
def test_pooling_of_a_padded_batch_is_each_sequence_pooled_alone(kind):
    states, mask = _states_and_mask()
    pooling = Pooling(kind, 6, 5, half=3)
    batched = pooling(states, mask)
    for row, length in enumerate(mask.sum(1).tolist()):
        alone = pooling(states[row : row + 1, :length], mask[row : row + 1, :length])
        torch.testing.assert_close(batched[row : row + 1], alone)


def test_pooling_by_hand():
    states, mask = _states_and_mask()
    torch.testing.assert_close(Pooling("mean", 6)(states, mask)[1], states[1, :2].mean(0))
    torch.testing.assert_close(Pooling("max", 6)(states, mask)[2], states[2, :3].max(0).values)
    last = Pooling("last", 6, half=3)(states, mask)[2]  # forward half at position 2, backward half at 0
    torch.testing.assert_close(last, torch.cat([states[2, 2, :3], states[2, 0, 3:]]))
    attention = Pooling("attention", 6, 5)
    weights = attention.weights(states, mask)
    assert torch.all(weights[~mask] == 0) and torch.allclose(weights.sum(1), torch.ones(3))
    torch.testing.assert_close(attention(states, mask)[0], (weights[0].unsqueeze(-1) * states[0]).sum(0))


def test_the_default_summary_keeps_the_mean_bridge_of_earlier_models():
    """Directories saved before the summary option decode as before: start = tanh(W mean(memory))."""
    model = tiny_model(VOCABS)
    batch = VOCABS.encode(PAIRS[:5], with_targets=False)
    memory = model.encode(batch.src, batch.src_mask)
    m = memory.mask.unsqueeze(-1).float()
    expected = torch.tanh(model.bridge((memory.values * m).sum(1) / m.sum(1)))
    torch.testing.assert_close(model.start(memory).h, expected)


@pytest.mark.parametrize("summary", POOLINGS)
def test_a_bottleneck_decoder_sees_the_source_only_through_its_summary(summary):
    model = tiny_model(VOCABS, scale=2.0, summary=summary, bottleneck=True)
    batch = VOCABS.encode(PAIRS[:6])
    memory = model.encode(batch.src, batch.src_mask)
    assert memory.values.shape == (6, 1, model.encoder.output_size) and bool(memory.mask.all())
    torch.testing.assert_close(model.vector(memory), memory.values[:, 0])
    fixed = torch.randn(1, model.encoder.output_size)
    model.summary.forward = lambda states, mask: fixed.expand(states.shape[0], -1)  # type: ignore[method-assign]
    logits, _ = model(batch)
    other = VOCABS.encode([Pair(tuple(reversed(p.inputs)) + p.inputs, p.labels) for p in PAIRS[:6]])
    other_logits, _ = model(Seq2SeqBatch(other.src, other.src_mask, batch.tgt_in, batch.tgt_out, batch.tgt_mask))
    torch.testing.assert_close(logits, other_logits)  # other sources, one summary: the same outputs


def test_bottleneck_models_decode_greedy_and_beam_and_save_and_load(tmp_path):
    model = tiny_model(VOCABS, scale=2.0, summary="attention", bottleneck=True)
    batch = VOCABS.encode(PAIRS[:4], with_targets=False)
    memory = model.encode(batch.src, batch.src_mask)
    ids = VOCABS.bos, VOCABS.eos, VOCABS.target.pad_index
    one = greedy(model, memory, *ids, max_length=12)
    beam = beam_search(model, memory, *ids, beam=1, max_length=12)
    assert torch.equal(one.tokens, beam.tokens)
    save_seq2seq(model, tmp_path / "m", Seq2SeqConfig(model=model.config))
    loaded = load_seq2seq(tmp_path / "m")
    sentences = [p.inputs for p in PAIRS]
    assert torch.equal(encode_sentences(model, sentences), encode_sentences(loaded, sentences))
    assert translate(model, sentences) == translate(loaded, sentences)


# -- sentence vectors and retrieval --------------------------------------------------------
def test_sentence_vectors_in_sorted_batches_equal_each_sentence_alone():
    model = tiny_model(VOCABS, summary="max")
    sentences = [p.inputs for p in PAIRS]
    together = encode_sentences(model, sentences, batch_size=7)
    alone = torch.cat([encode_sentences(model, [s]) for s in sentences])
    torch.testing.assert_close(together, alone)
    assert together.shape == (len(sentences), model.encoder.output_size)


def test_nearest_equals_brute_force_cosine():
    torch.manual_seed(1)
    queries, index = torch.randn(9, 5), torch.randn(13, 5)
    scores, rows = nearest(queries, index, 3, chunk=4)
    for q in range(9):
        similarities = [F.cosine_similarity(queries[q], index[j], dim=0).item() for j in range(13)]
        best = sorted(range(13), key=lambda j: -similarities[j])[:3]
        assert rows[q].tolist() == best
        assert scores[q].tolist() == pytest.approx([similarities[j] for j in best], abs=1e-6)
    assert nearest(queries, index, 50)[1].shape == (9, 13)
    with pytest.raises(ValueError, match="one width"):
        nearest(queries, torch.randn(4, 6), 1)


# -- the seed's word-order case, trained -------------------------------------------------
def test_an_autoencoder_tells_word_orders_apart_and_decodes_each_back(tmp_path):
    """'the dog bites the man' and 'the man bites the dog': the same words, other vectors (less
    similar to each other than each to itself), and each decodes back to its own order."""
    torch.set_num_threads(1)
    rng = random.Random(0)
    nouns, verbs = ["dog", "man", "cat", "child", "woman", "bird"], ["bites", "sees", "chases", "follows"]
    sentences: set[tuple[str, ...]] = set()
    while len(sentences) < 120:
        a, b = rng.sample(nouns, 2)
        sentences.add(("the", a, rng.choice(verbs), "the", b))
    first, second = ("the", "dog", "bites", "the", "man"), ("the", "man", "bites", "the", "dog")
    pairs = [Pair(s, ()) for s in sorted(sentences | {first, second})]
    config = Seq2SeqConfig(
        model=Seq2SeqModelConfig(src_min_freq=1, tgt_min_freq=1, embedding_dim=32, encoder_hidden=32,
                                 decoder_hidden=64, dropout=0.0, bottleneck=True),
        train=Seq2SeqTrainConfig(autoencoder=True, batch_size=16, epochs=40, patience=40, lr=0.01,
                                 label_smoothing=0.0))
    dev = [Pair(first, ()), Pair(second, ())]
    summary = train_seq2seq(config, pairs, dev, tmp_path / "run", progress=False)
    model = load_seq2seq(tmp_path / "run" / "model")
    assert summary["best_dev"] == pytest.approx(100.0)
    assert translate(model, [first, second]) == [list(first), list(second)]
    vectors = encode_sentences(model, [first, second, first])
    across = F.cosine_similarity(vectors[0], vectors[1], dim=0).item()
    itself = F.cosine_similarity(vectors[0], vectors[2], dim=0).item()
    assert itself == pytest.approx(1.0, abs=1e-5) and across < 0.95
