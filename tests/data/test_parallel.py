"""Parallel text: aligned reading with file:line errors, vocabularies with <s>/</s>, batches."""

from __future__ import annotations

import pytest
import torch

from hybrid.data.pairs import Pair
from hybrid.data.parallel import BOS, EOS, Seq2SeqVocabs, read_parallel
from hybrid.errors import DataFormatError


def _write(tmp_path, name, lines):
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_reads_aligned_pairs_with_their_line_numbers(tmp_path):
    src = _write(tmp_path, "a.de", ["ein hund .", "zwei katzen"])
    tgt = _write(tmp_path, "a.en", ["a dog .", "two cats"])
    pairs = read_parallel(src, tgt)
    assert [(p.inputs, p.labels, p.line) for p in pairs] == [
        (("ein", "hund", "."), ("a", "dog", "."), 1), (("zwei", "katzen"), ("two", "cats"), 2)]
    assert read_parallel(src)[1] == Pair(("zwei", "katzen"), (), str(src), 2)


@pytest.mark.parametrize("short", ["src", "tgt"])
def test_a_file_that_ends_early_is_named_with_the_line(tmp_path, short):
    full = ["a", "b", "c"]
    src = _write(tmp_path, "s.txt", full[:2] if short == "src" else full)
    tgt = _write(tmp_path, "t.txt", full[:2] if short == "tgt" else full)
    with pytest.raises(DataFormatError) as err:
        read_parallel(src, tgt)
    name = str(src if short == "src" else tgt)
    assert err.value.path == name and err.value.line == 3
    assert "ends before" in str(err.value)


def test_an_empty_line_is_an_error(tmp_path):
    src = _write(tmp_path, "s.txt", ["a b", "  ", "c"])
    tgt = _write(tmp_path, "t.txt", ["x", "y", "z"])
    with pytest.raises(DataFormatError, match=r"s\.txt:2.*empty line"):
        read_parallel(src, tgt)


def test_vocabularies_and_batches():
    pairs = [Pair(("a", "b"), ("x",)), Pair(("a",), ("x", "y", "x"))]
    vocabs = Seq2SeqVocabs.build(pairs)
    assert vocabs.target.tokens[:4] == ["<pad>", "<unk>", BOS, EOS]
    assert (vocabs.bos, vocabs.eos) == (2, 3)
    batch = vocabs.encode(pairs)
    x, y = vocabs.target.index("x"), vocabs.target.index("y")
    assert batch.tgt_in.tolist() == [[2, x, 0, 0], [2, x, y, x]]
    assert batch.tgt_out.tolist() == [[x, 3, 0, 0], [x, y, x, 3]]
    assert batch.tgt_mask.tolist() == [[True, True, False, False], [True] * 4]
    assert batch.src_mask.tolist() == [[True, True], [True, False]]
    assert vocabs.decode([x, y, 3, x]) == ["x", "y"]
    assert Seq2SeqVocabs.from_dict(vocabs.to_dict()).target == vocabs.target
    assert vocabs.encode(pairs, with_targets=False).tgt_in is None
    assert torch.equal(batch.to("cpu").src, batch.src)


def test_min_freq_maps_rare_target_words_to_unk():
    pairs = [Pair(("a",), ("x", "x", "rare"))]
    vocabs = Seq2SeqVocabs.build(pairs, tgt_min_freq=2)
    assert "rare" not in vocabs.target and vocabs.encode(pairs).tgt_out[0, 2] == vocabs.target.unk_index
