"""split_dev (seeded, disjoint, complete), read_tagged and build_tagger."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from hybrid.config import DataConfig
from hybrid.data.sentence import Sentence
from hybrid.errors import DataFormatError
from hybrid.train.tagging import build_tagger, read_tagged, split_dev
from tests.tiny import conll_text, tiny_config, write_conll_file


def _numbered(n: int) -> list[Sentence]:
    return [Sentence([f"w{i}"], ["X"]) for i in range(n)]


def _ids(sentences: list[Sentence]) -> list[str]:
    return [s.words[0] for s in sentences]


def test_split_is_disjoint_complete_and_keeps_file_order():
    sentences = _numbered(50)
    train, dev = split_dev(sentences, 0.2, seed=1)
    assert len(dev) == 10 and len(train) == 40
    assert not set(_ids(train)) & set(_ids(dev))
    assert sorted(_ids(train) + _ids(dev)) == sorted(_ids(sentences))
    position = {s: i for i, s in enumerate(_ids(sentences))}
    for part in (train, dev):
        assert [position[w] for w in _ids(part)] == sorted(position[w] for w in _ids(part))


def test_split_is_seeded():
    sentences = _numbered(50)
    assert _ids(split_dev(sentences, 0.2, seed=1)[1]) == _ids(split_dev(sentences, 0.2, seed=1)[1])
    assert _ids(split_dev(sentences, 0.2, seed=1)[1]) != _ids(split_dev(sentences, 0.2, seed=2)[1])
    assert _ids(split_dev(sentences, 0.2, seed=1)[1]) != _ids(sentences[:10])  # shuffled, not the head


def test_split_holds_out_at_least_one_sentence():
    train, dev = split_dev(_numbered(5), 0.01, seed=0)
    assert (len(train), len(dev)) == (4, 1)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_split_rejects_bad_fractions(fraction):
    with pytest.raises(ValueError, match="dev fraction must be between 0 and 1"):
        split_dev(_numbered(10), fraction, seed=0)


def test_split_needs_two_sentences():
    with pytest.raises(ValueError, match=r"too few sentences \(1\)"):
        split_dev(_numbered(1), 0.5, seed=0)


def test_read_tagged_columns(tmp_path):
    path = write_conll_file(tmp_path / "t.txt", n=3)
    data = DataConfig(feature_columns=(1,))
    sentences = read_tagged(path, data)
    assert len(sentences) == 3
    first = sentences[0]
    assert first.tags[0] == "B-NP" and first.features[0][0] == "DT" and first.words[-1] == "."
    untagged = tmp_path / "words.txt"
    untagged.write_text("the\ncat\n\n", encoding="utf-8")
    assert read_tagged(untagged, DataConfig(), require_tags=False)[0].tags is None
    with pytest.raises(DataFormatError, match="missing tag column"):
        read_tagged(untagged, DataConfig())


def test_build_tagger_counts_vocabularies_on_train_only(tmp_path):
    sentences = read_tagged(write_conll_file(tmp_path / "t.txt", n=10), DataConfig(feature_columns=(1,)))
    tagger = build_tagger(tiny_config(features=True), sentences)
    assert sorted(tagger.tag_names) == sorted({t for s in sentences for t in s.tags})
    assert not bool(tagger.layer.allowed.all())  # BIO detected: constraints on
    assert "the" in tagger.vocabs.words and "DT" in tagger.vocabs.features[0]
    assert tagger.word_embedding.weight.shape[1] == 8


def test_build_tagger_loads_pretrained_vectors(tmp_path):
    path = tmp_path / "train.txt"
    path.write_text(conll_text([[("the", "B-NP"), ("Cat", "I-NP")]]), encoding="utf-8")
    sentences = read_tagged(path, DataConfig())
    vectors = tmp_path / "vectors.txt"
    vectors.write_text("the " + " ".join(["0.5"] * 8) + "\ncat " + " ".join(["-1"] * 8) + "\n",
                       encoding="utf-8")
    config = tiny_config()
    config = dataclasses.replace(config, model=dataclasses.replace(config.model, embeddings=str(vectors)))
    tagger = build_tagger(config, sentences)
    weight = tagger.word_embedding.table()
    assert torch.equal(weight[tagger.vocabs.words.index("the")], torch.full((8,), 0.5))
    assert torch.equal(weight[tagger.vocabs.words.index("Cat")], torch.full((8,), -1.0))  # lowercase fallback
    wrong = dataclasses.replace(config, model=dataclasses.replace(config.model, word_dim=5))
    with pytest.raises(ValueError, match="vectors have 8 dimensions, but word_dim is 5"):
        build_tagger(wrong, sentences)


def test_the_vectors_words_join_the_vocabulary_and_keep_their_vectors(tmp_path):
    path = tmp_path / "train.txt"
    path.write_text(conll_text([[("the", "B-NP"), ("Cat", "I-NP")]]), encoding="utf-8")
    sentences = read_tagged(path, DataConfig())
    vectors = tmp_path / "vectors.txt"
    rows = [("the", 0.5), ("cat", -1.0), ("zebra", 2.0), ("1999", 3.0), ("okapi", 4.0)]
    vectors.write_text("5 8\n" + "".join(f"{w} " + " ".join([str(v)] * 8) + "\n" for w, v in rows),
                       encoding="utf-8")
    config = tiny_config()
    model = dataclasses.replace(config.model, embeddings=str(vectors), embeddings_vocab=4)
    tagger = build_tagger(dataclasses.replace(config, model=model), sentences)
    vocabs, weight = tagger.vocabs, tagger.word_embedding.table()
    # training words first, at the indices they had; then the vectors' first 4 words (digits as 0s)
    assert vocabs.words.tokens == ["<pad>", "<unk>", "Cat", "the", "cat", "zebra", "0000"]
    assert torch.equal(weight[vocabs.words.index("zebra")], torch.full((8,), 2.0))
    test = [Sentence(["Zebra", "okapi", "the"], ["B-NP", "I-NP", "B-NP"])]
    ids = vocabs.encode(test).words[0].tolist()
    assert ids == [vocabs.words.index("zebra"), vocabs.words.unk_index, vocabs.words.index("the")]
    from hybrid.data.batching import TaggerVocabs

    again = TaggerVocabs.from_dict(vocabs.to_dict())
    assert again.lowercase_fallback and again.encode(test).words[0].tolist() == ids
    plain = build_tagger(config, sentences).vocabs
    assert not plain.lowercase_fallback and plain.encode(test).words[0, 0] == plain.words.unk_index
    legacy = {k: v for k, v in plain.to_dict().items() if k != "lowercase_fallback"}
    assert TaggerVocabs.from_dict(legacy) == plain  # models saved before the field read as before
    only_train = dataclasses.replace(model, embeddings_vocab=0)
    assert build_tagger(dataclasses.replace(config, model=only_train), sentences).vocabs.words.tokens == [
        "<pad>", "<unk>", "Cat", "the"]
