"""Greedy, sampling and beam search: beam 1 = greedy, a wide beam = exhaustive search,
scores = the model's log-probability of the output, EOS and max-length handling."""

from __future__ import annotations

import itertools

import pytest
import torch

from hybrid.data.parallel import Seq2SeqVocabs
from hybrid.decoding import beam_search, greedy, sample
from hybrid.models.seq2seq import score_sequences
from tests.seq2seq_tiny import random_pairs, tiny_model

PAIRS = random_pairs()
VOCABS = Seq2SeqVocabs.build(PAIRS)
SPECIAL = {"bos": VOCABS.bos, "eos": VOCABS.eos, "pad": VOCABS.target.pad_index}


def _memory(model, n=12):
    batch = VOCABS.encode(PAIRS[:n], with_targets=False)
    return model.encode(batch.src, batch.src_mask), batch


def _score_outputs(model, batch, generated):
    """The model's log-probability of each generated row, by teacher forcing."""
    return score_sequences(model, batch.src, batch.src_mask, generated.tokens, generated.mask, VOCABS.bos)[0]


@pytest.mark.parametrize("seed", range(12))
def test_beam_one_is_greedy_token_for_token(seed):
    model = tiny_model(VOCABS, seed, scale=3.0, decoder=["gru", "lstm", "rnn"][seed % 3],
                       attention=["dot", "general", "additive"][seed // 4])
    with torch.no_grad():
        memory, _ = _memory(model)
        g = greedy(model, memory, max_length=10, **SPECIAL)
        b = beam_search(model, memory, beam=1, max_length=10, **SPECIAL)
    assert torch.equal(g.tokens, b.tokens) and torch.equal(g.mask, b.mask)
    assert torch.equal(g.scores, b.scores)


@pytest.mark.parametrize("seed", range(6))
def test_scores_are_the_models_log_probability_and_rows_stop_at_eos(seed):
    model = tiny_model(VOCABS, seed, scale=2.0)
    with torch.no_grad():
        memory, batch = _memory(model)
        for out in (greedy(model, memory, max_length=8, **SPECIAL),
                    beam_search(model, memory, beam=4, max_length=8, **SPECIAL),
                    sample(model, memory, max_length=8, generator=torch.Generator().manual_seed(seed), **SPECIAL)):
            torch.testing.assert_close(out.scores, _score_outputs(model, batch, out))
            for row, m in zip(out.tokens.tolist(), out.mask.tolist(), strict=True):
                n = sum(m)
                assert m == [True] * n + [False] * (len(m) - n)
                assert VOCABS.eos not in row[: n - 1]  # only the last real token may be </s>
                assert n == 8 or row[n - 1] == VOCABS.eos
                assert all(t == SPECIAL["pad"] for t in row[n:])
                assert SPECIAL["bos"] not in row[:n] and SPECIAL["pad"] not in row[:n]


def _exhaustive_best(model, memory, max_length, vocabs, alpha=0.0):
    """Best hypothesis per source over every sequence: ended by </s> within max_length, or
    max_length tokens without one (what the decoders may return); by log p / lp(length)."""
    allowed = [i for i in range(len(vocabs.target)) if i not in (vocabs.bos, vocabs.target.pad_index)]
    best = []
    for row in range(memory.mask.shape[0]):
        one = memory.select(torch.tensor([row]))
        scores = {}
        for length in range(1, max_length + 1):
            for seq in itertools.product(allowed, repeat=length):
                if vocabs.eos in seq[:-1] or (length < max_length and seq[-1] != vocabs.eos):
                    continue
                state, tokens, total = model.start(one), torch.tensor([vocabs.bos]), 0.0
                for t in seq:
                    logits, state, _ = model.step(one, state, tokens)
                    total += torch.log_softmax(logits.double(), -1)[0, t].item()
                    tokens = torch.tensor([t])
                scores[seq] = total / ((5.0 + length) / 6.0) ** alpha
        best.append(max(scores.values()))
    return torch.tensor(best, dtype=torch.float64)


@pytest.mark.parametrize(("seed", "alpha"), [(0, 0.0), (1, 0.0), (2, 0.0), (0, 1.0), (1, 2.0)])
def test_a_beam_wider_than_the_search_space_finds_the_exact_best(seed, alpha):
    pairs = random_pairs(10, seed=seed, max_len=3)
    small = Seq2SeqVocabs.build([p.__class__(p.inputs, tuple(w for w in p.labels if w in ("w0", "w1")) or ("w0",))
                                 for p in pairs])
    assert len(small.target) <= 6  # <pad> <unk> <s> </s> w0 w1: 4 emittable tokens
    model = tiny_model(small, seed, scale=3.0)
    batch = small.encode(pairs[:3], with_targets=False)
    special = {"bos": small.bos, "eos": small.eos, "pad": small.target.pad_index}
    with torch.no_grad():
        memory = model.encode(batch.src, batch.src_mask)
        out = beam_search(model, memory, beam=64, max_length=3, length_penalty=alpha, **special)
        lengths = out.mask.sum(1).double()
        torch.testing.assert_close(out.scores.double() / ((5.0 + lengths) / 6.0) ** alpha,
                                   _exhaustive_best(model, memory, 3, small, alpha), atol=1e-5, rtol=0)


def test_sampling_is_seeded_and_top_k_one_is_greedy():
    model = tiny_model(VOCABS, 3, scale=2.0)
    with torch.no_grad():
        memory, _ = _memory(model)
        a = sample(model, memory, generator=torch.Generator().manual_seed(5), **SPECIAL)
        b = sample(model, memory, generator=torch.Generator().manual_seed(5), **SPECIAL)
        assert torch.equal(a.tokens, b.tokens)
        top1 = sample(model, memory, top_k=1, generator=torch.Generator().manual_seed(0), **SPECIAL)
        assert torch.equal(top1.tokens, greedy(model, memory, **SPECIAL).tokens)


def test_attention_comes_back_with_the_tokens():
    model = tiny_model(VOCABS, 0)
    with torch.no_grad():
        memory, batch = _memory(model, 4)
        for out in (greedy(model, memory, max_length=5, with_attention=True, **SPECIAL),
                    beam_search(model, memory, beam=3, max_length=5, with_attention=True, **SPECIAL)):
            assert out.attention.shape == (*out.tokens.shape, batch.src.shape[1])
            sums = out.attention.sum(-1)
            torch.testing.assert_close(sums, torch.ones_like(sums))


@pytest.mark.parametrize("bad", [{"beam": 0}, {"max_length": 0}, {"length_penalty": -1.0}])
def test_bad_beam_arguments(bad):
    model = tiny_model(VOCABS, 0)
    memory, _ = _memory(model, 2)
    with pytest.raises(ValueError):
        beam_search(model, memory, **SPECIAL, **bad)
    with pytest.raises(ValueError, match="temperature"):
        sample(model, memory, temperature=0.0, **SPECIAL)


@pytest.mark.parametrize("seed", range(8))
def test_beam_never_scores_below_greedy_and_its_greedy_fallback_is_what_guarantees_it(seed):
    model = tiny_model(VOCABS, seed, scale=4.0, attention=["dot", "general", "additive"][seed % 3])
    with torch.no_grad():
        memory, batch = _memory(model, 24)
        g = greedy(model, memory, max_length=12, **SPECIAL)
        for beam in (2, 3, 5):
            out = beam_search(model, memory, beam=beam, max_length=12, with_attention=True, **SPECIAL)
            assert bool((out.scores >= g.scores - 1e-5).all())
            torch.testing.assert_close(out.scores, _score_outputs(model, batch, out))  # tokens and score agree
            pure = beam_search(model, memory, beam=beam, max_length=12, keep_greedy=False, **SPECIAL)
            lost = pure.scores < g.scores - 1e-5  # where the beam alone lost the greedy path, greedy is returned
            assert torch.equal(out.tokens[lost][:, : g.tokens.shape[1]], g.tokens[lost])
            assert torch.equal(out.scores[~lost], pure.scores[~lost])


def test_categorical_draws_follow_the_probabilities_and_never_a_zero():
    from hybrid.decoding.search import categorical

    probs = torch.tensor([[0.0, 0.2, 0.0, 0.5, 0.3], [1.0, 0.0, 0.0, 0.0, 0.0]]).repeat(20000, 1)
    draws = categorical(probs * 3.0, torch.Generator().manual_seed(0)).view(20000, 2)  # unnormalised is fine
    counts = torch.bincount(draws[:, 0], minlength=5).float() / 20000
    assert counts[0] == 0 and counts[2] == 0 and bool((draws[:, 1] == 0).all())
    torch.testing.assert_close(counts, probs[0], atol=0.015, rtol=0)  # ~5 standard errors


def test_with_a_length_penalty_each_source_is_decoded_as_if_alone():
    # a source that is done must not pick up longer hypotheses while the others are still searching
    model = tiny_model(VOCABS, 4, scale=4.0)
    with torch.no_grad():
        memory, _ = _memory(model, 12)
        together = beam_search(model, memory, beam=2, max_length=10, length_penalty=2.0, **SPECIAL)
        for row in range(12):
            alone = beam_search(model, memory.select(torch.tensor([row])), beam=2, max_length=10, length_penalty=2.0,
                                **SPECIAL)
            n = int(alone.mask.sum())
            assert together.tokens[row, :n].tolist() == alone.tokens[0, :n].tolist()
            assert int(together.mask[row].sum()) == n


def test_categorical_refuses_a_row_without_probability():
    from hybrid.decoding.search import categorical

    with pytest.raises(ValueError, match="no positive probability"):
        categorical(torch.tensor([[0.2, 0.8], [0.0, 0.0]]))
