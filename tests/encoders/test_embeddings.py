"""load_word_vectors: word2vec and GloVe text, gzip, lowercase fallback, and every error case."""

from __future__ import annotations

import gzip

import pytest
import torch

from hybrid.encoders import load_word_vectors
from hybrid.errors import DataFormatError

VOCAB = ["<pad>", "the", "cat", "Paris", "unseen"]
ROWS = "the 0.1 0.2 0.3\ncat -1 2.5 1e-1\nparis 4 5 6\ndog 7 8 9\n"


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    if name.endswith(".gz"):
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name,text", [
    ("vectors.txt", ROWS),  # GloVe: no header
    ("w2v.txt", "4 3\n" + ROWS),  # word2vec: "count dim" header
    ("vectors.txt.gz", "4 3\n" + ROWS),
    ("glove.gz", ROWS.replace("\n", " \r\n")),  # trailing space, Windows line ends
])
def test_reads_formats(tmp_path, name, text):
    vectors, found = load_word_vectors(write(tmp_path, name, text), VOCAB)
    assert vectors.shape == (5, 3) and vectors.dtype == torch.float32
    assert found == 3  # the, cat, Paris (via "paris")
    torch.testing.assert_close(vectors[1], torch.tensor([0.1, 0.2, 0.3]))
    torch.testing.assert_close(vectors[2], torch.tensor([-1.0, 2.5, 0.1]))
    torch.testing.assert_close(vectors[3], torch.tensor([4.0, 5.0, 6.0]))
    assert (vectors[0] == 0).all()  # padding row
    assert vectors[4].abs().sum() > 0  # random init for a missing word...
    again, _ = load_word_vectors(write(tmp_path, name, text), VOCAB)
    torch.testing.assert_close(again, vectors)  # ...from a fixed seed


def test_missing_rows_are_small_gaussian(tmp_path):
    vocab = ["<pad>"] + [f"w{i}" for i in range(400)]
    vectors, found = load_word_vectors(write(tmp_path, "v.txt", ROWS), vocab)
    assert found == 0
    assert 0.09 < vectors[1:].std().item() < 0.11
    assert abs(vectors[1:].mean().item()) < 0.01


def test_lowercase_fallback_and_exact_match_priority(tmp_path):
    text = "paris 1 1\nParis 2 2\nlondon 3 3\nLondon 4 4\nberlin 5 5\nberlin 6 6\n"
    path = write(tmp_path, "v.txt", text)
    vocab = ["<pad>", "Paris", "London", "BERLIN", "berlin"]
    vectors, found = load_word_vectors(path, vocab)
    assert found == 4
    assert vectors[1].tolist() == [2, 2]  # exact row wins even when it comes second
    assert vectors[2].tolist() == [4, 4]
    assert vectors[3].tolist() == [5, 5]  # fallback: first "berlin" row
    assert vectors[4].tolist() == [5, 5]  # exact: first occurrence wins
    vectors, found = load_word_vectors(path, vocab, lowercase_fallback=False)
    assert found == 3 and vectors[3].tolist() != [5, 5]


def test_padding_index_none_keeps_row_zero(tmp_path):
    vectors, _ = load_word_vectors(write(tmp_path, "v.txt", ROWS), ["the", "cat"], padding_index=None)
    torch.testing.assert_close(vectors[0], torch.tensor([0.1, 0.2, 0.3]))


@pytest.mark.parametrize("text,line,message", [
    ("the 1 2 3\ncat 1 2\n", 2, "expected 3 values as on line 1, got 2"),
    ("a 1 2\nb 1 2\nthe 1 2 3\n", 3, "expected 2 values as on line 1, got 3"),
    ("300 3\nthe 1 2\n", 2, "expected 3 values as on line 1, got 2"),
    ("\nthe 1 2 3\ncat 4 5 6 7\n", 3, "expected 3 values as on line 2, got 4"),
    ("the 1 x 3\n", 1, "expected numeric vector values, got 'x'"),
    ("dog 1 2\ncat 1 2 nan3\n", 2, "expected 2 values as on line 1, got 3"),
    ("dog 1 2\ncat 1 two\n", 2, "expected numeric vector values, got 'two'"),
    ("the\n", 1, "expected a word followed by its vector values"),
])
def test_format_errors_name_file_and_line(tmp_path, text, line, message):
    path = write(tmp_path, "bad.txt", text)
    with pytest.raises(DataFormatError, match=message) as info:
        load_word_vectors(path, VOCAB)
    assert info.value.line == line
    assert str(info.value).startswith(f"{path}:{line}: ")


@pytest.mark.parametrize("name,text", [("empty.txt", ""), ("blank.txt", "\n\n"),
                                       ("header.txt", "0 300\n"), ("empty.gz", "")])
def test_empty_files(tmp_path, name, text):
    with pytest.raises(DataFormatError, match="empty file"):
        load_word_vectors(write(tmp_path, name, text), VOCAB)


def test_unreadable_files(tmp_path):
    with pytest.raises(DataFormatError, match="no such file"):
        load_word_vectors(tmp_path / "nope.txt", VOCAB)
    (tmp_path / "bad.txt").write_bytes(b"the 1 2\ncat \xff 2\n")
    with pytest.raises(DataFormatError, match="not UTF-8") as info:
        load_word_vectors(tmp_path / "bad.txt", VOCAB)
    assert info.value.line == 2
    (tmp_path / "cut.gz").write_bytes(gzip.compress(ROWS.encode())[:20])
    with pytest.raises(DataFormatError, match="cannot read vectors"):
        load_word_vectors(tmp_path / "cut.gz", VOCAB)
