"""GloVe: co-occurrence counts against brute force (in memory and spilled to disk in pieces),
the loss against a direct computation on the dense matrix, gradcheck, and a tiny run end to end
(resume, the model directory, the CLI)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from cli.main import cli
from hybrid.config import GloveConfig
from hybrid.embeddings import cooccurrence as cooccurrence_module
from hybrid.embeddings import read_vectors
from hybrid.embeddings.cooccurrence import count_cooccurrences, load_cooccurrences
from hybrid.embeddings.corpus import EncodedCorpus
from hybrid.embeddings.directory import read_vectors_config
from hybrid.embeddings.glove import GloVe, both_directions, glove_loss, weighting
from hybrid.errors import DataFormatError
from hybrid.train.glove import train_glove

V = 7


def _corpus(seed: int = 0) -> EncodedCorpus:
    ids = np.random.default_rng(seed).integers(0, V, size=300).astype(np.int32)
    return EncodedCorpus(ids, np.array([0, 40, 40, 41, 170, 300]), 300)  # an empty and a one-word sentence


def _brute_force(corpus: EncodedCorpus, window: int) -> np.ndarray:
    matrix = np.zeros((V, V))
    for s in range(corpus.sentences):
        words = corpus.ids[corpus.starts[s] : corpus.starts[s + 1]].tolist()
        for i, left in enumerate(words):
            for j in range(i + 1, min(len(words), i + window + 1)):
                matrix[left, words[j]] += 1 / (j - i)
                matrix[words[j], left] += 1 / (j - i)
    return matrix


@pytest.mark.parametrize("window", [1, 3, 10])
def test_counts_equal_brute_force_in_memory_and_spilled_in_pieces(tmp_path, window, monkeypatch):
    corpus = _corpus(window)
    expected = _brute_force(corpus, window)
    spills = []
    spill = cooccurrence_module._Shards.spill
    monkeypatch.setattr(cooccurrence_module._Shards, "spill",
                        lambda self, keys, values: (spills.append(len(keys)), spill(self, keys, values))[1])
    roomy = count_cooccurrences(corpus, V, window, tmp_path / "roomy", memory_mb=64)
    assert len(spills) == 1  # everything summed in memory
    cramped = count_cooccurrences(corpus, V, window, tmp_path / "cramped", memory_mb=1e-5)
    assert len(spills) > 3  # many shards, merged a few rows at a time
    for matrix in (roomy, cramped):
        np.testing.assert_allclose(matrix.dense(), expected, rtol=1e-6)
        assert (matrix.rows <= matrix.cols).all() and (matrix.values > 0).all()
        keys = matrix.rows.astype(np.int64) * V + matrix.cols
        assert (np.diff(keys) > 0).all()  # sorted, no duplicates
    reread = load_cooccurrences(tmp_path / "cramped")
    np.testing.assert_array_equal(reread.values, cramped.values)
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # the work directories are gone


def test_an_interrupted_matrix_is_refused(tmp_path):
    matrix = count_cooccurrences(_corpus(), V, 2, tmp_path / "m")
    (tmp_path / "m" / "values.float32").write_bytes(matrix.values[:-1].tobytes())
    with pytest.raises(DataFormatError, match="different lengths"):
        load_cooccurrences(tmp_path / "m")


def test_the_loss_equals_a_direct_computation_on_the_dense_matrix(tmp_path):
    matrix = count_cooccurrences(_corpus(), V, 3, tmp_path / "m")
    model = GloVe(V, 4, seed=2).double()
    rows, cols, values = both_directions(torch.tensor(matrix.rows).long(), torch.tensor(matrix.cols).long(),
                                         torch.tensor(matrix.values).double())  # copies: the counts are mapped
    got = model.loss(rows, cols, values, x_max=2.0, power=0.75)
    x = matrix.dense()
    (w, b, _), (wt, bt, _) = (tuple(t.numpy() for t in model.parts(table)) for table in (model.words, model.contexts))
    expected = 0.0
    for i in range(V):
        for j in range(V):
            if x[i, j] > 0:
                f = min(1.0, (x[i, j] / 2.0) ** 0.75)
                expected += 0.5 * f * (w[i] @ wt[j] + b[i] + bt[j] - np.log(x[i, j])) ** 2
    assert got.item() == pytest.approx(expected, rel=1e-6)
    assert len(rows) == int((x > 0).sum())  # each nonzero X_ij is one term


def test_weighting_caps_at_one():
    x = torch.tensor([0.5, 10.0, 50.0])
    torch.testing.assert_close(weighting(x, 10.0, 0.75), torch.tensor([0.05 ** 0.75, 1.0, 1.0]))


ROWS, COLS = torch.tensor([0, 1, 2, 3, 1]), torch.tensor([1, 1, 3, 0, 2])
VALUES = torch.tensor([1.5, 3.0, 0.5, 12.0, 2.0], dtype=torch.float64)


def test_gradcheck_on_a_tiny_problem():
    torch.manual_seed(0)
    params = [torch.randn(4, 3, dtype=torch.float64, requires_grad=True) for _ in range(2)]
    params += [torch.randn(4, dtype=torch.float64, requires_grad=True) for _ in range(2)]
    assert torch.autograd.gradcheck(lambda w, wt, b, bt: glove_loss(w, wt, b, bt, ROWS, COLS, VALUES), params)


def test_the_adagrad_step_is_the_losss_gradient_scaled_by_each_rows_sums():
    """Terms whose rows and columns do not repeat: each part moves by -g / sqrt(its sum so far)
    with g = lr * gradient, and the sums grow by g squared (glove.c's rule)."""
    model = GloVe(6, 3, seed=1).double()
    rows, cols = torch.tensor([0, 2, 4]), torch.tensor([1, 3, 5])
    values = torch.tensor([2.0, 0.7, 30.0], dtype=torch.float64)
    for table in (model.words, model.contexts):  # sums other than the starting 1
        model.parts(table)[2].uniform_(1.0, 4.0)
    before = [table.clone() for table in (model.words, model.contexts)]
    params = [p.clone().requires_grad_() for table in before for p in model.parts(table)[:2]]
    loss = glove_loss(params[0], params[2], params[1], params[3], rows, cols, values)
    loss.backward()
    got = model.adagrad_step(rows, cols, values, lr=0.1)
    assert got == pytest.approx(loss.item())
    for k, (table, old) in enumerate(zip((model.words, model.contexts), before, strict=True)):
        grad = torch.cat([params[2 * k].grad, params[2 * k + 1].grad.unsqueeze(-1)], 1)  # (V, D + 1)
        sums = model.parts(old)[2]
        torch.testing.assert_close(table[:, :4], old[:, :4] - 0.1 * grad / sums.sqrt())
        torch.testing.assert_close(model.parts(table)[2], sums + (0.1 * grad).square())
    assert model.adagrad_step(rows, cols, values, lr=0.1) < got


def _topics(tmp_path):
    rng = np.random.default_rng(0)
    topics = [["king", "queen", "royal", "crown"], ["apple", "orange", "fruit", "juice"]]
    lines = [" ".join(rng.choice(topics[i % 2], 10)) for i in range(400)]
    path = tmp_path / "c.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_tiny_run_learns_topics_resumes_alike_and_the_cli_trains(tmp_path):
    corpus = _topics(tmp_path)
    config = GloveConfig(dim=8, epochs=4, min_count=1, window=3, step_entries=10, batch_size=4, x_max=5.0)
    summary = train_glove(config, [corpus], tmp_path / "run", progress=False)
    # the topics never meet: twice the upper triangle of 4 x 4
    assert summary["vocabulary"] == 8 and summary["cooccurrence_entries"] == 20
    vectors = read_vectors(tmp_path / "run" / "model" / "vectors.bin")
    unit = vectors.vectors / np.linalg.norm(vectors.vectors, axis=1, keepdims=True)
    assert unit[vectors.index["king"]] @ unit[vectors.index["queen"]] > \
        unit[vectors.index["king"]] @ unit[vectors.index["apple"]] + 0.2
    assert read_vectors_config(tmp_path / "run" / "model") == config
    # two epochs, then two more by --resume: the same vectors as four at once
    short = GloveConfig(**{**json.loads((tmp_path / "run" / "config.json").read_text()), "epochs": 2})
    train_glove(short, [corpus], tmp_path / "resumed", progress=False)
    train_glove(config, [corpus], tmp_path / "resumed", progress=False, resume=True)
    again = read_vectors(tmp_path / "resumed" / "model" / "vectors.bin")
    np.testing.assert_allclose(again.vectors, vectors.vectors, rtol=1e-5, atol=1e-6)
    result = CliRunner().invoke(cli, ["embed", "train", "--corpus", str(corpus), "--out", str(tmp_path / "cli"),
                                      "--model", "glove", "--dim", "8", "--epochs", "1", "--min-count", "1",
                                      "--window", "3", "-q"])
    assert result.exit_code == 0, result.output
    assert len(read_vectors(tmp_path / "cli" / "model" / "vectors.bin")) == 8
    info = CliRunner().invoke(cli, ["info", str(tmp_path / "cli" / "model")])
    assert info.exit_code == 0 and "trained    glove, window 3" in info.output


def test_the_cli_refuses_options_of_the_other_model(tmp_path):
    corpus = _topics(tmp_path)
    glove = CliRunner().invoke(cli, ["embed", "train", "--corpus", str(corpus), "--out", str(tmp_path / "a"),
                                     "--model", "glove", "--negative", "3", "--sample", "0"])
    assert glove.exit_code == 2 and "--negative, --sample are not options of --model glove" in glove.output
    word2vec = CliRunner().invoke(cli, ["embed", "train", "--corpus", str(corpus), "--out", str(tmp_path / "b"),
                                        "--x-max", "100"])
    assert word2vec.exit_code == 2 and "--x-max is not an option of --model skipgram" in word2vec.output
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_hogwild_workers_learn_the_topics_too(tmp_path):
    config = GloveConfig(dim=8, epochs=4, min_count=1, window=3, step_entries=20, batch_size=4, x_max=5.0, workers=2)
    train_glove(config, [_topics(tmp_path)], tmp_path / "run", progress=False)
    vectors = read_vectors(tmp_path / "run" / "model" / "vectors.bin")
    unit = vectors.vectors / np.linalg.norm(vectors.vectors, axis=1, keepdims=True)
    assert unit[vectors.index["king"]] @ unit[vectors.index["queen"]] > \
        unit[vectors.index["king"]] @ unit[vectors.index["apple"]] + 0.2


@pytest.mark.parametrize("cap", [50, 333, 5000])
def test_merge_ranges_hold_at_most_the_cap_even_for_one_heavy_row(tmp_path, cap):
    rng = np.random.default_rng(cap)
    shards = cooccurrence_module._Shards(tmp_path, 100)
    for _ in range(6):  # row 0 (the most frequent word) holds most keys of every run
        keys = np.unique(np.concatenate([rng.integers(0, 100, 400), rng.integers(0, 10000, 100)]))
        shards.spill(keys.astype(np.int64), np.ones(len(keys)))
    ranges = shards.key_ranges(cap)
    assert ranges[0][0] == 0 and ranges[-1][1] == 100 * 100
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:], strict=False))  # contiguous
    for low, high in ranges:
        held = sum(int(((keys >= low) & (keys < high)).sum()) for keys, _ in shards.runs())
        assert held <= cap


def test_a_resumed_run_counts_again_when_the_counts_would_differ(tmp_path):
    corpus = _topics(tmp_path)
    train_glove(GloveConfig(dim=4, epochs=1, min_count=1, window=2), [corpus], tmp_path / "run", progress=False)
    first = load_cooccurrences(tmp_path / "run" / "cooccurrence")
    logged: list[str] = []
    cut = GloveConfig(dim=4, epochs=2, min_count=1, window=2, max_sentence_length=5)  # lines cut in two
    train_glove(cut, [corpus], tmp_path / "run", progress=False, resume=True, log=logged.append)
    assert any("counting again" in line for line in logged)
    assert load_cooccurrences(tmp_path / "run" / "cooccurrence").values.sum() < first.values.sum()
    logged.clear()
    train_glove(GloveConfig(**{**cut.__dict__, "epochs": 3}), [corpus], tmp_path / "run", progress=False,
                resume=True, log=logged.append)
    assert not any("counting" in line for line in logged)  # the same counts: reused
