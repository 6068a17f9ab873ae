"""Vocabulary order, min_freq, unknowns, JSON round trip; word shapes and normalisation."""

from __future__ import annotations

import json

import pytest

from hybrid.data.vocab import UnknownTokenError, Vocabulary, normalize_word, word_shape
from hybrid.errors import ConfigError


def test_order_specials_then_frequency_then_string():
    vocab = Vocabulary(["b", "a", "c", "a", "b", "d", "a"])
    assert vocab.tokens == ["<pad>", "<unk>", "a", "b", "c", "d"]
    assert (vocab.pad_index, vocab.unk_index) == (0, 1)
    assert Vocabulary(reversed(["b", "a", "c", "a", "b", "d", "a"])) == vocab  # input order irrelevant


def test_min_freq_drops_rare_tokens_to_unknown():
    vocab = Vocabulary(["x", "x", "y", "z", "z", "z"], min_freq=2)
    assert vocab.tokens == ["<pad>", "<unk>", "z", "x"]
    assert "y" not in vocab and "x" in vocab
    assert vocab.encode(["z", "y", "x"]) == [2, 1, 3]
    assert vocab.decode([2, 1, 3]) == ["z", "<unk>", "x"]
    with pytest.raises(ConfigError, match="min_freq"):
        Vocabulary(["a"], min_freq=0)


def test_tag_vocabulary_has_no_specials_and_rejects_unknown():
    tags = Vocabulary(["O", "B-NP", "O", "I-NP", "B-NP", "O"], pad=None, unk=None)
    assert tags.tokens == ["O", "B-NP", "I-NP"]
    with pytest.raises(UnknownTokenError, match="'B-XX' is not in the vocabulary of 3 tokens") as info:
        tags.index("B-XX")
    assert isinstance(info.value, KeyError)
    assert str(info.value).startswith("'B-XX'")  # not wrapped in KeyError's extra quotes
    with pytest.raises(KeyError):
        _ = tags.pad_index
    with pytest.raises(IndexError, match="token index 3 out of range 0..2"):
        tags.token(3)


def test_specials_in_data_are_not_duplicated():
    vocab = Vocabulary(["<unk>", "a", "<pad>"])
    assert vocab.tokens == ["<pad>", "<unk>", "a"]


def test_json_round_trip_keeps_indices():
    vocab = Vocabulary(["été", "x", "x", "y"], pad="<p>", unk=None)
    again = Vocabulary.from_dict(json.loads(json.dumps(vocab.to_dict())))
    assert again == vocab
    assert [again.index(t) for t in vocab.tokens] == list(range(len(vocab)))
    assert (again.pad, again.unk, again.pad_index) == ("<p>", None, 0)


@pytest.mark.parametrize(
    "data, message",
    [
        ({"tokens": ["a"]}, "expected keys"),
        ({"tokens": ["a", "a"], "pad": None, "unk": None}, "'a' appears more than once"),
        ({"tokens": ["a"], "pad": "<pad>", "unk": None}, "pad token '<pad>' is not among"),
        ({"tokens": "ab", "pad": None, "unk": None}, "list of strings"),
    ],
)
def test_from_dict_rejects_malformed(data, message):
    with pytest.raises(ConfigError, match=message):
        Vocabulary.from_dict(data)


@pytest.mark.parametrize(
    "word, shape",
    [("Apple", "Xxxxx"), ("Mississippi", "Xxxxx"), ("U.S.", "X.X."), ("42", "dd"),
     ("1999", "dddd"), ("well-known", "xxxx-xxxx"), ("iPhone", "xXxxxx"), ("", "")],
)
def test_word_shape(word, shape):
    assert word_shape(word) == shape


def test_normalize_word():
    assert normalize_word("1,999.50") == "0,000.00"
    assert normalize_word("The", lowercase=True) == "the"
    assert normalize_word("The") == "The"


def test_an_extended_vocabulary_keeps_its_indices_and_appends_new_tokens_once():
    vocab = Vocabulary(["b", "a", "b"])
    extended = vocab.extended(["c", "a", "d", "c"])
    assert extended.tokens == [*vocab.tokens, "c", "d"]
    assert [extended.index(t) for t in vocab.tokens] == list(range(len(vocab)))
    assert extended.unk == vocab.unk and extended.pad == vocab.pad and len(vocab) == 4  # the original unchanged


def test_index_or_lowercase_prefers_the_exact_form_then_the_lowercased_one():
    vocab = Vocabulary(["Apple", "apple", "pear"])
    assert vocab.index_or_lowercase("Apple") == vocab.index("Apple")
    assert vocab.index_or_lowercase("PEAR") == vocab.index("pear")
    assert vocab.index_or_lowercase("Fig") == vocab.unk_index
