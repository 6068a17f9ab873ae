"""Tagger: shapes, loss, decoding under BIO constraints, the policy protocol, predict_tags order."""

from __future__ import annotations

import itertools

import pytest
import torch

from hybrid.data.readers import read_conll
from hybrid.models.tagger import Tagger, build_layer, predict_tags
from hybrid.structured.constraints import split_tag
from hybrid.train.tagging import build_tagger
from tests.tiny import conll_text, tiny_config, tiny_sentences


def _sentences(n: int, seed: int = 0):
    return list(read_conll(conll_text(tiny_sentences(n, seed)).splitlines(), feature_columns=[1]))


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    torch.manual_seed(0)
    tagger = build_tagger(tiny_config(features=True), _sentences(20))
    with torch.no_grad():  # strong random potentials, so that constraints actually bite
        tagger.projection.weight.normal_(0.0, 2.0)
        for p in tagger.layer.parameters():
            p.normal_(0.0, 2.0)
    return tagger.eval()


def test_emissions_and_loss(tagger):
    sentences = _sentences(5, seed=1)
    batch = tagger.vocabs.encode(sentences, with_tags=True)
    emissions = tagger.emissions(batch)
    assert emissions.shape == (5, max(len(s) for s in sentences), len(tagger.tag_names))
    loss = tagger.loss(batch)
    assert loss.dim() == 0 and torch.isfinite(loss) and loss > 0
    loss.backward()
    assert tagger.projection.weight.grad is not None
    tagger.zero_grad(set_to_none=True)
    with pytest.raises(ValueError, match="needs a batch with gold tags"):
        tagger.loss(tagger.vocabs.encode(sentences))


def test_bio_tags_turn_constraints_on_and_decoding_respects_them(tagger):
    assert not bool(tagger.layer.allowed.all())  # B-NP/I-NP/... detected as BIO
    results = predict_tags(tagger, _sentences(12, seed=2), k=3)
    for best in results:
        for tags, score in best:
            assert score > float("-inf")
            prev = ("O", "")
            for tag in tags:
                prefix, kind = split_tag(tag)
                if prefix == "I":
                    assert prev[0] in ("B", "I") and prev[1] == kind, tags
                prev = (prefix, kind)


def test_k_best_scores_are_sorted_and_exact(tagger):
    sentence = _sentences(1, seed=3)[0]
    short = type(sentence)(sentence.words[:4], sentence.tags[:4], [f[:4] for f in sentence.features])
    best = predict_tags(tagger, [short], k=5)[0]
    scores = [score for _, score in best]
    assert scores == sorted(scores, reverse=True)
    assert len({tuple(tags) for tags, _ in best}) == 5
    # Brute force over all allowed sequences of 4 tags: the top 5 scores are the same.
    batch = tagger.vocabs.encode([short])
    with torch.no_grad():
        emissions = tagger.emissions(batch)[0]
    layer, names = tagger.layer, tagger.tag_names
    allowed = [
        path for path in itertools.product(range(len(names)), repeat=4)
        if layer.allowed_start[path[0]] and layer.allowed_end[path[-1]]
        and all(layer.allowed[a, b] for a, b in itertools.pairwise(path))
    ]
    with torch.no_grad():
        every = layer.log_prob(emissions[None], batch.mask, torch.tensor([allowed]))[0].tolist()
    # decode scores are unnormalised; log_prob differences between paths must match.
    top = sorted(every, reverse=True)[:5]
    assert [s - scores[0] for s in scores] == pytest.approx([t - top[0] for t in top], abs=1e-4)


def test_policy_protocol(tagger):
    batch = tagger.vocabs.encode(_sentences(4, seed=4))
    greedy = tagger.greedy(batch)
    paths, _ = tagger.decode(batch, 1)
    assert torch.equal(greedy, paths[:, 0])
    generator = torch.Generator().manual_seed(0)
    samples = tagger.sample(batch, 6, generator)
    assert samples.shape == (4, 6, batch.mask.shape[1])
    lp_samples = tagger.log_prob(batch, samples)  # (B, n)
    lp_greedy = tagger.log_prob(batch, greedy)  # (B,)
    assert lp_samples.shape == (4, 6) and lp_greedy.shape == (4,)
    assert bool((lp_samples <= 0).all()) and bool((lp_samples <= lp_greedy[:, None] + 1e-5).all())


def test_predict_tags_keeps_input_order_whatever_the_batching(tagger):
    sentences = _sentences(9, seed=5)
    together = predict_tags(tagger, sentences, batch_size=3, k=2)
    alone = [predict_tags(tagger, [s], batch_size=1, k=2)[0] for s in sentences]
    assert [len(r[0][0]) for r in together] == [len(s) for s in sentences]
    for a, b in zip(together, alone, strict=True):
        assert [tags for tags, _ in a] == [tags for tags, _ in b]
        assert [s for _, s in a] == pytest.approx([s for _, s in b], abs=1e-4)


def test_cached_char_features_match_fresh_ones(tagger):
    sentences = _sentences(6, seed=6)
    batch = tagger.vocabs.encode(sentences)
    with torch.no_grad():  # grad enabled off -> inference path, possibly cached
        cached = tagger.emissions(batch)
        again = tagger.emissions(batch)
    fresh = tagger.emissions(batch).detach()  # grad enabled: chars encoded afresh
    torch.testing.assert_close(cached, fresh)
    torch.testing.assert_close(again, fresh)
    # After a weight update the cache must not serve stale features.
    with torch.no_grad():
        for p in tagger.char_encoder.parameters():
            p.add_(0.5)
        updated = tagger.emissions(batch)
    fresh_updated = tagger.emissions(batch).detach()
    with torch.no_grad():
        for p in tagger.char_encoder.parameters():
            p.sub_(0.5)
    torch.testing.assert_close(updated, fresh_updated)
    assert not torch.allclose(updated, fresh)


def test_unknown_layer():
    with pytest.raises(ValueError, match="unknown layer 'hmmm'"):
        build_layer("hmmm", 3)


@pytest.mark.parametrize(
    ("layer", "loss", "attribute", "expected"),
    [("crf", "auto", "loss_name", "nll"), ("crf", "hinge", "loss_name", "hinge"),
     ("crf", "perceptron", "loss_name", "perceptron"), ("hmm", "auto", "loss_name", "cross_entropy"),
     ("hmm", "nll", "loss_name", "nll"), ("hmm", "hinge", "loss_name", "hinge")],
)
def test_build_layer_maps_the_loss_option(layer, loss, attribute, expected):
    assert getattr(build_layer(layer, 5, loss), attribute) == expected


def test_softmax_with_a_chain_loss_is_a_config_error():
    from hybrid.errors import ConfigError

    with pytest.raises(ConfigError, match="softmax layer has no chain"):
        build_layer("softmax", 5, "hinge")


@pytest.mark.parametrize("loss", ["perceptron", "hinge"])
def test_sequence_losses_train_a_tagger(loss):
    """A few steps of the perceptron / hinge loss lower it on the batch they see."""
    import dataclasses

    config = tiny_config(features=True)
    config = dataclasses.replace(config, model=dataclasses.replace(config.model, loss=loss, dropout=0.0))
    torch.manual_seed(0)
    sentences = _sentences(16)
    model = build_tagger(config, sentences)
    batch = model.vocabs.encode(sentences, with_tags=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    first = model.loss(batch).item()
    for _ in range(30):
        optimizer.zero_grad()
        model.loss(batch).backward()
        optimizer.step()
    assert model.loss(batch).item() < 0.5 * first
