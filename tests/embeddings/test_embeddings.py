"""Word vectors: Huffman codes against brute force, the sampling rules against their formulas,
word2vec text/binary round trips (and gensim both ways, when installed), GloVe text, bad files,
and the analogy and similarity evaluation against direct computation."""

from __future__ import annotations

import gzip
import itertools
import math

import numpy as np
import pytest

from hybrid.embeddings import (
    WordVectors,
    analogy,
    analogy_scores,
    huffman_codes,
    keep_probabilities,
    nearest_words,
    noise_distribution,
    read_analogies,
    read_similarity,
    read_vectors,
    similarity_scores,
    write_vectors,
)
from hybrid.embeddings.sampling import AliasSampler
from hybrid.errors import DataFormatError


# -- Huffman codes -------------------------------------------------------------------
def _all_prefix_code_lengths(n: int, max_len: int):
    """Every multiset of code lengths a full binary tree with n leaves can have (Kraft equality)."""
    for lengths in itertools.product(range(1, max_len + 1), repeat=n):
        if abs(sum(2.0 ** -length for length in lengths) - 1.0) < 1e-12:
            yield lengths


@pytest.mark.parametrize("counts", [[5, 3], [1, 1, 1], [10, 1, 1, 1], [7, 5, 3, 2, 1], [4, 4, 4, 4, 4],
                                    [100, 50, 20, 10, 5, 1]])
def test_huffman_codes_are_prefix_free_and_minimise_the_weighted_length(counts):
    codes, paths = huffman_codes(counts)
    strings = ["".join(map(str, c)) for c in codes]
    assert len(set(strings)) == len(counts)
    for a, b in itertools.permutations(strings, 2):
        assert not b.startswith(a)
    for code, path in zip(codes, paths, strict=True):
        assert len(code) == len(path) and all(0 <= node < len(counts) - 1 for node in path)
    assert all(p[0] == len(counts) - 2 for p in paths)  # every path starts at the root
    weighted = sum(c * len(code) for c, code in zip(counts, codes, strict=True))
    best = min(sum(c * length for c, length in zip(counts, lengths, strict=True))
               for lengths in _all_prefix_code_lengths(len(counts), len(counts) - 1))
    assert weighted == best


def test_hierarchical_softmax_probabilities_over_the_tree_sum_to_one():
    rng = np.random.default_rng(0)
    counts = [30, 12, 9, 7, 4, 2, 1]
    codes, paths = huffman_codes(counts)
    inner = rng.normal(size=(len(counts) - 1, 5))
    h = rng.normal(size=5)

    def sigmoid(x):
        return 1 / (1 + math.exp(-x))

    probs = [math.prod(sigmoid((1 - 2 * bit) * inner[node] @ h) for bit, node in zip(code, path, strict=True))
             for code, path in zip(codes, paths, strict=True)]
    assert sum(probs) == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(ValueError, match="at least 2 words"):
        huffman_codes([3])


# -- sampling rules ----------------------------------------------------------------------
def test_keep_probabilities_follow_the_word2vec_formula():
    counts = [1000, 100, 10, 1]
    keep = keep_probabilities(counts, 1e-2)
    total = sum(counts)
    for c, p in zip(counts, keep, strict=True):
        f = c / total
        assert p == pytest.approx(min(1.0, (math.sqrt(f / 1e-2) + 1) * 1e-2 / f))
    assert keep[0] < keep[1] < 1.0 and keep[-1] == 1.0
    assert np.all(keep_probabilities(counts, 0) == 1.0)


def test_noise_samples_follow_counts_to_the_three_quarters():
    from scipy.stats import chisquare

    counts = [500, 120, 40, 9, 1]
    p = noise_distribution(counts)
    assert p == pytest.approx(np.asarray(counts) ** 0.75 / np.sum(np.asarray(counts) ** 0.75))
    draws = AliasSampler(p).draw(np.random.default_rng(1), (4000, 5)).ravel()  # the trainer's sampler
    observed = np.bincount(draws, minlength=len(counts))
    assert chisquare(observed, p * 20000).pvalue > 0.001


# -- formats ---------------------------------------------------------------------------------
WORDS = ["the", "king", "queen", "man", "woman", "Straße"]


def _vectors(dim=4, seed=0):
    rng = np.random.default_rng(seed)
    return WordVectors(list(WORDS), rng.normal(size=(len(WORDS), dim)).astype(np.float32))


@pytest.mark.parametrize("binary", [False, True])
def test_word2vec_round_trips(tmp_path, binary):
    vectors = _vectors()
    write_vectors(vectors, tmp_path / "v", binary=binary)
    back = read_vectors(tmp_path / "v")
    assert back.words == WORDS
    np.testing.assert_allclose(back.vectors, vectors.vectors, rtol=1e-5 if not binary else 0)
    gz = tmp_path / "v.gz"
    gz.write_bytes(gzip.compress((tmp_path / "v").read_bytes()))
    assert read_vectors(gz).words == WORDS


@pytest.mark.parametrize("seed", range(20))
def test_wide_text_files_are_never_mistaken_for_binary(tmp_path, seed):
    """The format check reads a window of the first row: a number cut at its edge is not binary."""
    rng = np.random.default_rng(seed)
    vectors = WordVectors(["the", "of"], (rng.normal(size=(2, 300)) * 10.0 ** rng.integers(-6, 3)).astype(np.float32))
    write_vectors(vectors, tmp_path / "v.txt")
    back = read_vectors(tmp_path / "v.txt")
    assert back.words == ["the", "of"]
    np.testing.assert_array_equal(back.vectors, vectors.vectors)  # .9g: float32 round-trips exactly


def test_a_header_that_promises_more_vectors_than_the_text_holds_is_refused(tmp_path):
    (tmp_path / "v.txt").write_text("3 2\nthe 0.1 0.2\nof 0.3 0.4\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="declares 3 vectors, the file holds 2"):
        read_vectors(tmp_path / "v.txt")


def test_glove_text_without_a_header_reads(tmp_path):
    (tmp_path / "glove.txt").write_text("the 0.1 0.2\nking 0.3 -0.4\n", encoding="utf-8")
    vectors = read_vectors(tmp_path / "glove.txt")
    assert vectors.words == ["the", "king"] and vectors.vectors.shape == (2, 2)


@pytest.mark.parametrize(("content", "message"), [
    (b"2 3\nthe 0.1 0.2 0.3\nking 0.1 0.2\n", "bad:3: expected 3 values, got 2"),
    (b"the 0.1 x\n", "bad:1: expected numeric vector values"),
    (b"", "empty file"),
    (b"3 2\n" + b"a " + np.ones(2, "<f4").tobytes() + b"\n", "the file ends after 1 of the 3 vectors"),
    (b"the\n", "expected a word followed by its vector values"),
])
def test_bad_vector_files_name_the_problem(tmp_path, content, message):
    (tmp_path / "bad").write_bytes(content)
    with pytest.raises(DataFormatError, match=message):
        read_vectors(tmp_path / "bad")


def test_words_with_spaces_cannot_be_written(tmp_path):
    with pytest.raises(ValueError, match="without whitespace"):
        write_vectors(WordVectors(["a b"], np.zeros((1, 2), np.float32)), tmp_path / "v")
    assert not (tmp_path / "v").exists()


@pytest.mark.parametrize("binary", [False, True])
def test_gensim_reads_ours_and_we_read_gensims(tmp_path, binary):
    gensim_models = pytest.importorskip("gensim.models")
    vectors = _vectors()
    write_vectors(vectors, tmp_path / "ours", binary=binary)
    loaded = gensim_models.KeyedVectors.load_word2vec_format(str(tmp_path / "ours"), binary=binary)
    assert list(loaded.index_to_key) == WORDS
    np.testing.assert_allclose(loaded.vectors, vectors.vectors, rtol=1e-5)
    loaded.save_word2vec_format(str(tmp_path / "theirs"), binary=binary)
    back = read_vectors(tmp_path / "theirs")
    assert back.words == WORDS
    np.testing.assert_allclose(back.vectors, vectors.vectors, rtol=1e-5)


# -- evaluation ------------------------------------------------------------------------------
def _analogy_world():
    """Vectors where woman - man = queen - king exactly (a 'gender' offset)."""
    rng = np.random.default_rng(3)
    words = ["the", "man", "woman", "king", "queen", "boy", "girl", "apple"]
    base = {w: rng.normal(size=6) for w in words}
    offset = rng.normal(size=6)
    for a, b in (("man", "woman"), ("king", "queen"), ("boy", "girl")):
        base[b] = base[a] + offset
    return WordVectors(words, np.stack([base[w] for w in words]).astype(np.float32))


def _brute_3cosadd(vectors, a, b, c):
    unit = vectors.vectors / np.linalg.norm(vectors.vectors, axis=1, keepdims=True)
    target = unit[vectors.index[b]] - unit[vectors.index[a]] + unit[vectors.index[c]]
    scores = {w: float(unit[i] @ target) for i, w in enumerate(vectors.words) if w not in (a, b, c)}
    return max(scores, key=scores.get)


def test_analogy_accuracy_matches_a_direct_computation_and_counts_unknowns(tmp_path):
    vectors = _analogy_world()
    (tmp_path / "q.txt").write_text(": family\nman woman king queen\nking queen boy girl\nman woman cat dog\n"
                                    ": gram-plural\nboy girl man woman\napple the man woman\n", encoding="utf-8")
    sections = read_analogies(tmp_path / "q.txt")
    scores = analogy_scores(vectors, sections)
    expected = {name: [] for name in ("family", "gram-plural")}
    for section in sections:
        for a, b, c, d in section.questions:
            if all(w in vectors for w in (a, b, c, d)):
                expected[section.name].append(_brute_3cosadd(vectors, a, b, c) == d)
    for name, hits in expected.items():
        assert scores["sections"][name]["3cosadd"] == pytest.approx(100 * sum(hits) / len(hits))
        assert scores["sections"][name]["scored"] == len(hits)
    assert scores["sections"]["family"]["unknown"] == 1 and scores["total"]["unknown"] == 1
    assert scores["semantic"]["scored"] == 2 and scores["syntactic"]["scored"] == 2
    restricted = analogy_scores(vectors, sections, restrict=4)  # only the, man, woman, king are candidates
    assert restricted["total"]["scored"] == 0 and restricted["total"]["unknown"] == 5


def test_3cosmul_matches_its_formula_by_brute_force(tmp_path):
    rng = np.random.default_rng(5)
    words = [f"w{i}" for i in range(12)]
    vectors = WordVectors(words, rng.normal(size=(12, 5)).astype(np.float32))
    unit = vectors.vectors / np.linalg.norm(vectors.vectors, axis=1, keepdims=True)
    questions = [tuple(rng.choice(words, 4, replace=False)) for _ in range(30)]
    hits = 0
    for a, b, c, d in questions:
        scores = {}
        for w in words:
            if w in (a, b, c):
                continue
            u = unit[vectors.index[w]]
            shifted = [(u @ unit[vectors.index[x]] + 1) / 2 for x in (a, b, c)]
            scores[w] = shifted[1] * shifted[2] / (shifted[0] + 1e-3)
        hits += max(scores, key=scores.get) == d
    (tmp_path / "q.txt").write_text(": s\n" + "".join(" ".join(q) + "\n" for q in questions), encoding="utf-8")
    result = analogy_scores(vectors, read_analogies(tmp_path / "q.txt"))
    assert result["total"]["3cosmul"] == pytest.approx(100 * hits / 30)


def test_answers_are_compared_case_folded(tmp_path):
    vectors = _analogy_world()
    vectors = WordVectors([w.capitalize() if w == "queen" else w for w in vectors.words], vectors.vectors)
    (tmp_path / "q.txt").write_text(": s\nman woman king queen\n", encoding="utf-8")
    assert analogy_scores(vectors, read_analogies(tmp_path / "q.txt"))["total"]["3cosadd"] == 100.0
    assert analogy_scores(vectors, read_analogies(tmp_path / "q.txt"), lowercase=False)["total"]["unknown"] == 1


def test_similarity_is_spearmans_rho_of_cosines(tmp_path):
    from scipy.stats import spearmanr

    vectors = _analogy_world()
    (tmp_path / "s.tsv").write_text("# header\nman\twoman\t9\nking\tqueen\t8\napple\tthe\t1\nboy\tapple\t2\n"
                                    "cat\tdog\t7\n", encoding="utf-8")
    result = similarity_scores(vectors, read_similarity(tmp_path / "s.tsv"))
    unit = vectors.vectors / np.linalg.norm(vectors.vectors, axis=1, keepdims=True)
    pairs = [("man", "woman", 9), ("king", "queen", 8), ("apple", "the", 1), ("boy", "apple", 2)]
    cosines = [unit[vectors.index[a]] @ unit[vectors.index[b]] for a, b, _ in pairs]
    assert result["spearman"] == pytest.approx(spearmanr(cosines, [s for *_, s in pairs]).statistic)
    assert result["pairs"] == 4 and result["unknown"] == 1


def test_analogy_answers_and_neighbours():
    vectors = _analogy_world()
    answers = analogy(vectors, "man", "woman", "king", k=3)
    assert answers[0][0] == "queen" and len(answers) == 3
    assert all(w not in ("man", "woman", "king") for w, _ in answers)
    neighbours = nearest_words(vectors, vectors.vectors[vectors.index["king"]], k=2, exclude=("king",))
    assert len(neighbours) == 2 and "king" not in [w for w, _ in neighbours]
    with pytest.raises(KeyError, match="not in the vectors: cat"):
        analogy(vectors, "man", "woman", "cat")


def test_a_malformed_analogy_line_names_its_line(tmp_path):
    (tmp_path / "q.txt").write_text(": s\na b c\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="q.txt:2: expected four words"):
        read_analogies(tmp_path / "q.txt")


def test_taggers_embeddings_option_reads_binary_files_as_it_reads_text(tmp_path):
    from hybrid.encoders.embeddings import load_word_vectors

    vectors = WordVectors(["the", "King", "dog", "Straße"], np.arange(12, dtype=np.float32).reshape(4, 3))
    write_vectors(vectors, tmp_path / "v.bin", binary=True)
    write_vectors(vectors, tmp_path / "v.txt")
    vocab = ["<pad>", "the", "king", "King", "dog", "straße", "cat"]
    binary, found_binary = load_word_vectors(tmp_path / "v.bin", vocab)
    text, found_text = load_word_vectors(tmp_path / "v.txt", vocab)
    assert found_binary == found_text == 3
    assert np.array_equal(binary.numpy(), text.numpy())


def test_vector_words_lists_the_first_words_of_every_format(tmp_path):
    from hybrid.embeddings.directory import save_vectors_as_is
    from hybrid.encoders.embeddings import vector_words

    vectors = WordVectors(["the", "King", "dog", "Straße"], np.arange(12, dtype=np.float32).reshape(4, 3))
    write_vectors(vectors, tmp_path / "v.bin", binary=True)
    write_vectors(vectors, tmp_path / "v.txt")
    (tmp_path / "glove.txt").write_text("".join(f"{w} 1 2 3\n" for w in vectors.words), encoding="utf-8")
    save_vectors_as_is(vectors, tmp_path / "model")
    for path in ("v.bin", "v.txt", "glove.txt", "model"):
        assert vector_words(tmp_path / path, 3) == ["the", "King", "dog"], path
        assert vector_words(tmp_path / path, 10) == vectors.words, path
    assert vector_words(tmp_path / "v.txt", 0) == []
