"""word2vec training: example generation against brute force, the losses against direct
computation and gradcheck, hierarchical softmax as a distribution, the corpus reader, and a tiny
run end to end through the run loop and the CLI."""

from __future__ import annotations

import gzip
import zipfile
from collections import Counter

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from cli.main import cli
from hybrid.config import Word2VecConfig
from hybrid.embeddings import corpus as corpus_module
from hybrid.embeddings import read_vectors
from hybrid.embeddings import word2vec as w2v
from hybrid.embeddings.corpus import count_words, encode_corpus, iter_tokens
from hybrid.embeddings.word2vec import Word2Vec, cbow_windows, reduced_windows, skipgram_pairs
from hybrid.train.word2vec import corpus_chunks, train_word2vec

IDS = np.array([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5], dtype=np.int32)
STARTS = np.array([0, 4, 4, 11])  # sentences of 4, 0 and 7 words


def _brute_windows(seed: int, window: int):
    reach = reduced_windows(len(IDS), window, np.random.default_rng(seed))
    sentence_of = np.repeat(np.arange(len(STARTS) - 1), np.diff(STARTS))
    for i in range(len(IDS)):
        yield i, [j for j in range(len(IDS)) if j != i and sentence_of[j] == sentence_of[i]
                  and abs(i - j) <= reach[i]]


@pytest.mark.parametrize(("seed", "window"), [(0, 1), (1, 2), (2, 5)])
def test_skipgram_pairs_are_every_centre_with_its_reduced_window(seed, window):
    centres, contexts = skipgram_pairs(IDS, STARTS, window, np.random.default_rng(seed))
    expected = Counter((int(IDS[i]), int(IDS[j])) for i, near in _brute_windows(seed, window) for j in near)
    assert Counter(zip(centres.tolist(), contexts.tolist(), strict=True)) == expected


@pytest.mark.parametrize(("seed", "window"), [(0, 1), (3, 3)])
def test_cbow_windows_hold_each_centres_context(seed, window):
    centres, contexts, mask = cbow_windows(IDS, STARTS, window, np.random.default_rng(seed))
    expected = [(int(IDS[i]), sorted(int(IDS[j]) for j in near)) for i, near in _brute_windows(seed, window) if near]
    got = [(int(c), sorted(row[m].tolist())) for c, row, m in zip(centres, contexts, mask, strict=True)]
    assert got == expected


def test_hierarchical_softmax_is_a_distribution_and_its_loss_is_minus_its_log_probability():
    torch.manual_seed(0)
    model = Word2Vec([40, 20, 9, 7, 3, 1], 4, loss="hs").double()
    torch.nn.init.normal_(model.outputs.weight)
    h = torch.randn(3, 4, dtype=torch.float64)
    log_p = model.log_probabilities(h)  # (3, V)
    torch.testing.assert_close(log_p.exp().sum(1), torch.ones(3, dtype=torch.float64))
    targets = torch.tensor([0, 3, 5])
    torch.testing.assert_close(model.loss(h, targets), -log_p[torch.arange(3), targets].sum())


def test_negative_sampling_loss_by_hand():
    torch.manual_seed(1)
    model = Word2Vec([5, 4, 3, 2, 1], 3, loss="ns").double()
    torch.nn.init.normal_(model.outputs.weight)
    h, targets, noise = torch.randn(2, 3, dtype=torch.float64), torch.tensor([1, 4]), torch.tensor([[0, 2], [3, 3]])
    u = model.outputs.weight
    expected = 0.0
    for n in range(2):
        expected -= torch.log(torch.sigmoid(u[targets[n]] @ h[n]))
        for k in noise[n]:
            expected -= torch.log(torch.sigmoid(-u[k] @ h[n]))
    torch.testing.assert_close(model.loss(h, targets, noise), expected)


def _problem(kind, loss):
    torch.manual_seed(2)
    model = Word2Vec([6, 5, 4, 3, 2, 1], 3, kind, loss).double()
    weights = (torch.randn_like(model.inputs.weight).requires_grad_(),
               torch.randn_like(model.outputs.weight).requires_grad_())
    del model.inputs.weight, model.outputs.weight  # the embeddings read the tensors gradcheck perturbs
    model.inputs.sparse = model.outputs.sparse = False  # gradcheck compares dense gradients
    batch = {"centres": torch.tensor([0, 2, 5]), "targets": torch.tensor([1, 3, 0]),
             "contexts": torch.tensor([[1, 2], [3, 0], [4, 5]]),
             "mask": torch.tensor([[True, True], [True, False], [True, True]]),
             "noise": torch.tensor([[2, 4], [1, 3], [3, 5]]) if loss == "ns" else None}

    def summed_loss(inputs, outputs):
        model.inputs.weight, model.outputs.weight = inputs, outputs
        h = model.hidden(batch["centres"], batch["contexts"], batch["mask"])
        return model.loss(h, batch["targets"], batch["noise"])

    return model, weights, batch, summed_loss


@pytest.mark.parametrize(("kind", "loss"), [("skipgram", "ns"), ("cbow", "ns"), ("skipgram", "hs"), ("cbow", "hs")])
def test_gradients_check(kind, loss):
    """Exact gradients for the output vectors (and the inputs of skip-gram); CBOW's context
    vectors get word2vec's update instead (next test)."""
    _, (inputs, outputs), _, summed_loss = _problem(kind, loss)
    assert torch.autograd.gradcheck(lambda out: summed_loss(inputs.detach(), out), (outputs,))
    if kind == "skipgram":
        assert torch.autograd.gradcheck(lambda inp: summed_loss(inp, outputs.detach()), (inputs,))


@pytest.mark.parametrize("loss", ["ns", "hs"])
def test_cbow_gives_each_context_vector_the_whole_gradient_as_word2vec_does(loss):
    """word2vec's C code: neu1e = dL/dh of the mean h, then syn0[c] += neu1e for every context c
    (not neu1e / count). Each example's contexts are distinct words here, so their rows' gradients
    are that example's dL/dh."""
    model, (inputs, outputs), batch, summed_loss = _problem("cbow", loss)
    summed_loss(inputs, outputs).backward()
    model.inputs.weight, model.outputs.weight = inputs.detach(), outputs.detach()
    h = model.hidden(batch["centres"], batch["contexts"], batch["mask"]).detach().requires_grad_()
    model.loss(h, batch["targets"], batch["noise"]).backward()
    expected = torch.zeros_like(inputs)
    for n in range(3):
        for c, real in zip(batch["contexts"][n].tolist(), batch["mask"][n].tolist(), strict=True):
            if real:
                expected[c] += h.grad[n]
    torch.testing.assert_close(inputs.grad, expected)
    # and the forward value is the mean of the context vectors
    torch.testing.assert_close(h[1], inputs[3].detach())


def test_the_corpus_reader_streams_plain_gzip_zip_and_one_huge_line(tmp_path, monkeypatch):
    (tmp_path / "a.txt").write_text("The cat sat\n\non the mat\n", encoding="utf-8")
    (tmp_path / "b.gz").write_bytes(gzip.compress(b"the dog\n"))
    with zipfile.ZipFile(tmp_path / "c.zip", "w") as archive:
        archive.writestr("inner.txt", "a cat\n")
    files = [tmp_path / "a.txt", tmp_path / "b.gz", tmp_path / "c.zip"]
    assert list(iter_tokens(files, lowercase=True)) == [["the", "cat", "sat"], ["on", "the", "mat"], ["the", "dog"],
                                                        ["a", "cat"]]
    monkeypatch.setattr(corpus_module, "_CHUNK", 8)
    (tmp_path / "long.txt").write_text("w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11", encoding="utf-8")
    assert [t for tokens in iter_tokens([tmp_path / "long.txt"]) for t in tokens] == [f"w{i}" for i in range(1, 12)]


def test_vocabulary_and_encoding(tmp_path):
    (tmp_path / "c.txt").write_text("a b a c a b d\nb a x\n", encoding="utf-8")
    vocab = count_words([tmp_path / "c.txt"], min_count=2)
    assert vocab.words == ["a", "b"] and vocab.counts == [4, 3]
    assert count_words([tmp_path / "c.txt"], min_count=1, max_size=3).words == ["a", "b", "c"]
    encoded = encode_corpus([tmp_path / "c.txt"], vocab, max_sentence_length=3)
    assert encoded.raw_words == 10
    sentences = [encoded.ids[encoded.starts[s] : encoded.starts[s + 1]].tolist() for s in range(encoded.sentences)]
    assert sentences == [[0, 1, 0], [0, 1], [1, 0]]
    assert corpus_chunks(encoded, 4) == [(0, 1), (1, 3)] and corpus_chunks(encoded, 100) == [(0, 3)]


def test_a_tiny_run_learns_topics_and_the_cli_trains_and_reads_back(tmp_path):
    rng = np.random.default_rng(0)
    topics = [["king", "queen", "royal", "crown"], ["apple", "orange", "fruit", "juice"]]
    lines = [" ".join(rng.choice(topics[i % 2], 10)) for i in range(400)]
    (tmp_path / "c.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = Word2VecConfig(dim=8, epochs=2, min_count=1, sample=0, batch_size=64)
    summary = train_word2vec(config, [tmp_path / "c.txt"], tmp_path / "run", progress=False)
    assert summary["vocabulary"] == 8 and summary["corpus_words"] == 4000
    vectors = read_vectors(tmp_path / "run" / "model" / "vectors.bin")
    unit = vectors.vectors / np.linalg.norm(vectors.vectors, axis=1, keepdims=True)
    same = unit[vectors.index["king"]] @ unit[vectors.index["queen"]]
    other = unit[vectors.index["king"]] @ unit[vectors.index["apple"]]
    assert same > other + 0.2
    from hybrid.encoders.embeddings import load_word_vectors

    rows, found = load_word_vectors(tmp_path / "run" / "model", ["<pad>", "king", "nowhere"])  # the directory
    assert found == 1 and np.allclose(rows[1].numpy(), vectors.vectors[vectors.index["king"]])
    info = CliRunner().invoke(cli, ["info", str(tmp_path / "run" / "model")])
    assert info.exit_code == 0 and "(word vectors)" in info.output and "8 words, 8 dimensions" in info.output
    result = CliRunner().invoke(cli, ["embed", "train", "--corpus", str(tmp_path / "c.txt"), "--out",
                                      str(tmp_path / "cli"), "--dim", "8", "--epochs", "1", "--min-count", "1",
                                      "--model", "cbow", "--loss", "hs", "--batch-size", "64", "-q"])
    assert result.exit_code == 0, result.output
    assert len(read_vectors(tmp_path / "cli" / "model" / "vectors.bin")) == 8


def test_reduced_windows_cover_one_to_window():
    drawn = reduced_windows(5000, 4, np.random.default_rng(0))
    assert set(drawn.tolist()) == {1, 2, 3, 4}


def test_a_noise_word_equal_to_the_target_adds_nothing():
    torch.manual_seed(3)
    model = Word2Vec([5, 4, 3, 2], 3, loss="ns").double()
    torch.nn.init.normal_(model.outputs.weight)
    h, targets = torch.randn(1, 3, dtype=torch.float64), torch.tensor([2])
    with_target = model.loss(h, targets, torch.tensor([[2, 0]]))
    without = model.loss(h, targets, torch.tensor([[0]]))
    torch.testing.assert_close(with_target, without)


@pytest.mark.parametrize("model_kind", ["skipgram", "cbow"])
@pytest.mark.parametrize("loss_kind", ["ns", "hs"])
def test_the_written_out_sgd_step_equals_autograds_on_the_loss(model_kind, loss_kind):
    """Repeated rows included: plain SGD sums the examples' gradients either way."""
    torch.manual_seed(1)
    counts = [40, 20, 9, 7, 3, 1]
    reference = Word2Vec(counts, 4, model_kind, loss_kind).double()
    torch.nn.init.normal_(reference.outputs.weight)
    written = Word2Vec(counts, 4, model_kind, loss_kind).double()
    written.load_state_dict(reference.state_dict())
    centres, targets = torch.tensor([0, 1, 1, 5, 2]), torch.tensor([1, 0, 3, 1, 1])
    noise = torch.tensor([[2, 1], [0, 0], [4, 5], [1, 3], [2, 2]]) if loss_kind == "ns" else None
    contexts = mask = None
    if model_kind == "cbow":
        contexts = torch.tensor([[1, 2, 0], [3, 1, 1], [0, 0, 0], [2, 4, 1], [5, 0, 3]])
        mask = torch.tensor([[1, 1, 0], [1, 1, 1], [1, 0, 0], [0, 1, 1], [1, 1, 1]], dtype=torch.bool)
        targets = centres
    loss = reference.loss(reference.hidden(centres, contexts, mask), targets, noise)
    loss.backward()
    torch.optim.SGD(reference.parameters(), lr=0.1).step()
    got = written.sgd_step(0.1, centres, targets, noise, contexts, mask)
    assert got == pytest.approx(loss.item())
    torch.testing.assert_close(written.inputs.weight, reference.inputs.weight.detach())
    torch.testing.assert_close(written.outputs.weight, reference.outputs.weight.detach())


def test_hogwild_workers_learn_the_topics_too(tmp_path):
    rng = np.random.default_rng(0)
    topics = [["king", "queen", "royal", "crown"], ["apple", "orange", "fruit", "juice"]]
    (tmp_path / "c.txt").write_text("\n".join(" ".join(rng.choice(topics[i % 2], 10)) for i in range(400)) + "\n",
                                    encoding="utf-8")
    config = Word2VecConfig(dim=8, epochs=2, min_count=1, sample=0, batch_size=16, workers=2, chunk_words=500)
    train_word2vec(config, [tmp_path / "c.txt"], tmp_path / "run", progress=False)
    vectors = read_vectors(tmp_path / "run" / "model" / "vectors.bin")
    unit = vectors.vectors / np.linalg.norm(vectors.vectors, axis=1, keepdims=True)
    assert unit[vectors.index["king"]] @ unit[vectors.index["queen"]] > \
        unit[vectors.index["king"]] @ unit[vectors.index["apple"]] + 0.2


def _random_batch(model_kind: str, loss_kind: str, n: int = 7):
    """A batch with repeated rows, in `sgd_step`'s arguments."""
    g = torch.Generator().manual_seed(5)
    centres = torch.randint(0, 6, (n,), generator=g)
    targets = torch.randint(0, 6, (n,), generator=g)
    noise = torch.randint(0, 6, (n, 3), generator=g) if loss_kind == "ns" else None
    contexts = mask = None
    if model_kind == "cbow":
        contexts = torch.randint(0, 6, (n, 4), generator=g)
        mask = torch.rand(n, 4, generator=g) < 0.6
        targets = centres
    return centres, targets, noise, contexts, mask


def _pair(model_kind: str, loss_kind: str) -> tuple[Word2Vec, Word2Vec]:
    torch.manual_seed(2)
    first = Word2Vec([40, 20, 9, 7, 3, 1], 5, model_kind, loss_kind)
    torch.nn.init.normal_(first.outputs.weight)
    second = Word2Vec([40, 20, 9, 7, 3, 1], 5, model_kind, loss_kind)
    second.load_state_dict(first.state_dict())
    return first, second


@pytest.mark.parametrize(("model_kind", "loss_kind"), [("skipgram", "ns"), ("cbow", "hs"), ("skipgram", "hs")])
def test_padding_a_batch_changes_neither_the_step_nor_the_loss(model_kind, loss_kind):
    plain, padded = _pair(model_kind, loss_kind)
    batch = _random_batch(model_kind, loss_kind)
    rate = torch.tensor(0.1)
    expected = plain.update(rate, plain.prepare(*batch))
    prepared = padded.prepare(*batch)
    rows = prepared.size  # examples, or skip-gram's tree decisions
    prepared = prepared.padded(rows + 5)
    assert prepared.ids.shape[0] == rows + 5 and prepared.size == rows
    torch.testing.assert_close(padded.update(rate, prepared), expected)
    torch.testing.assert_close(padded.inputs.weight, plain.inputs.weight)
    torch.testing.assert_close(padded.outputs.weight, plain.outputs.weight)


def _brute_decisions(model: Word2Vec, centres, targets) -> Counter:
    """Every (input row, tree node, label) of skip-gram with hierarchical softmax, from the codes."""
    found: Counter = Counter()
    for centre, target in zip(centres.tolist(), targets.tolist(), strict=True):
        depth = int(model.depths[target])
        for node, code in zip(model.paths[target, :depth].tolist(), model.codes[target, :depth].tolist(), strict=True):
            found[(centre, node, 1.0 - code)] += 1
    return found


def _decisions(batch) -> Counter:
    return Counter(zip(batch.rows.tolist(), batch.ids.view(-1).tolist(), batch.labels.view(-1).tolist(), strict=True))


COUNTS = [40, 20, 9, 7, 3, 1, 1, 1]  # 7 inner nodes: the 3 nearest the root are hot below


def test_skipgram_tree_decisions_are_each_examples_path_once_hot_nodes_first(monkeypatch):
    monkeypatch.setattr(w2v, "HOT_NODES", 3)
    model = Word2Vec(COUNTS, 4, "skipgram", "hs")
    first_hot = len(COUNTS) - 1 - 3
    centres, targets = torch.tensor([0, 1, 1, 5, 2, 7, 3]), torch.tensor([1, 0, 3, 7, 6, 6, 4])
    whole = model.prepare(centres, targets)
    assert _decisions(whole) == _brute_decisions(model, centres, targets)
    assert 0 < whole.hot < whole.size
    assert (whole.ids[: whole.hot] >= first_hot).all() and (whole.ids[whole.hot :] < first_hot).all()
    batches = whole.split(4, pad=True)
    assert all(b.hot in (0, len(b.ids)) for b in batches) and sum(b.size for b in batches) == whole.size
    assert sum((_decisions(b._replace(rows=b.rows[: b.size], ids=b.ids[: b.size], labels=b.labels[: b.size]))
                for b in batches), Counter()) == _decisions(whole)


@pytest.mark.parametrize("node_steps", [None, 1.5])
def test_the_hot_nodes_step_equals_the_plain_one(monkeypatch, node_steps):
    """Summed in a table of its own and added once, or added row by row: the same step."""
    monkeypatch.setattr(w2v, "HOT_NODES", 3)
    hot, plain = (Word2Vec(COUNTS, 4, "skipgram", "hs", node_steps=node_steps).double() for _ in range(2))
    torch.nn.init.normal_(hot.outputs.weight)
    plain.load_state_dict(hot.state_dict())
    centres, targets = torch.tensor([0, 1, 1, 5, 2, 2, 3]), torch.tensor([1, 0, 3, 7, 6, 6, 4])
    batch = hot.prepare(centres, targets).split(30, pad=True)[0]
    assert batch.hot == len(batch.ids) == 30 and batch.size < 30
    rate = torch.tensor(0.3, dtype=torch.float64)
    got = hot.update(rate, batch)
    expected = w2v.decision_step(plain.inputs.weight.detach(), plain.outputs.weight.detach(), batch.rows,
                                 batch.ids.view(-1), batch.labels.view(-1), batch.counted.view(-1), rate, node_steps)
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(hot.inputs.weight, plain.inputs.weight)
    torch.testing.assert_close(hot.outputs.weight, plain.outputs.weight)


def test_limited_takes_at_most_node_steps_of_a_rows_summed_step():
    coef = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    ids = torch.tensor([[7, 2], [7, 3], [7, 2]])  # row 7 scored 3 times, row 2 twice, row 3 once
    counted = torch.tensor([[1.0, 1.0], [1.0, 1.0], [1.0, 0.0]])  # the last score of row 2 is padding
    got = w2v.limited(coef, ids, counted, 8, 2.0)
    torch.testing.assert_close(got, torch.tensor([[1.0 * 2 / 3, 2.0], [3.0 * 2 / 3, 4.0], [5.0 * 2 / 3, 6.0]]))
    assert w2v.limited(coef, ids, counted, 8, None) is coef


def test_the_compiled_step_equals_the_eager_one():
    """torch.compile of the output side (what long runs on the CPU use): same vectors, same loss,
    for skip-gram and CBOW, as the eager step (itself checked against autograd above)."""
    for model_kind in ("skipgram", "cbow"):
        eager, compiled = _pair(model_kind, "ns")
        compiled.compile_steps()
        rate = torch.tensor(0.1)
        for _ in range(3):
            batch = _random_batch(model_kind, "ns")
            expected = eager.update(rate, eager.prepare(*batch).padded(8))
            got = compiled.update(rate, compiled.prepare(*batch).padded(8))
            torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(compiled.inputs.weight, eager.inputs.weight, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(compiled.outputs.weight, eager.outputs.weight, rtol=1e-5, atol=1e-6)


def test_the_compiled_tree_decisions_step_equals_the_eager_one(monkeypatch):
    """Skip-gram with hierarchical softmax compiled: hot-node and other batches, padded, limited."""
    monkeypatch.setattr(w2v, "HOT_NODES", 3)
    eager, compiled = (Word2Vec(COUNTS, 5, "skipgram", "hs", node_steps=2.0) for _ in range(2))
    torch.nn.init.normal_(eager.outputs.weight)
    compiled.load_state_dict(eager.state_dict())
    compiled.compile_steps()
    rate = torch.tensor(0.1)
    g = torch.Generator().manual_seed(3)
    for _ in range(3):
        centres, targets = torch.randint(0, 8, (9,), generator=g), torch.randint(0, 8, (9,), generator=g)
        for expected_batch, batch in zip(eager.prepare(centres, targets).split(8, pad=True),
                                         compiled.prepare(centres, targets).split(8, pad=True), strict=True):
            torch.testing.assert_close(compiled.update(rate, batch), eager.update(rate, expected_batch),
                                       rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(compiled.inputs.weight, eager.inputs.weight, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(compiled.outputs.weight, eager.outputs.weight, rtol=1e-5, atol=1e-6)


_compile_steps = Word2Vec.compile_steps


def _broken_compile(self, compiled=True):
    if not compiled:
        return _compile_steps(self, False)

    def fails(*args):
        raise RuntimeError("no C++ compiler")
    self.output_step = self.decision_step = self.hot_decision_step = fails


def test_compile_auto_falls_back_to_the_eager_step_and_compile_on_says_why(tmp_path, monkeypatch):
    from hybrid.errors import ConfigError

    monkeypatch.setattr(Word2Vec, "compile_steps", _broken_compile)
    (tmp_path / "c.txt").write_text("a b c d a b c d e f\n" * 50, encoding="utf-8")
    messages: list[str] = []
    config = Word2VecConfig(dim=4, epochs=1, min_count=1, sample=0, compile="on")
    with pytest.raises(ConfigError, match="--compile on: torch.compile failed .*no C\\+\\+ compiler.*--compile off"):
        train_word2vec(config, [tmp_path / "c.txt"], tmp_path / "on", progress=False)
    monkeypatch.setattr("hybrid.config.COMPILE_AUTO_WORDS", 10)
    summary = train_word2vec(Word2VecConfig(dim=4, epochs=1, min_count=1, sample=0), [tmp_path / "c.txt"],
                             tmp_path / "auto", progress=False, log=messages.append)
    assert any("runs uncompiled" in m for m in messages) and summary["epochs_run"] == 1
    assert (tmp_path / "auto" / "model" / "vectors.bin").exists()


def test_compile_auto_is_for_long_runs_on_the_cpu_but_cbow_with_hierarchical_softmax():
    config = Word2VecConfig()
    assert config.compiles("cpu", 10**8) and not config.compiles("cpu", 10**4)
    assert not config.compiles("cuda", 10**8)
    assert Word2VecConfig(loss="hs").compiles("cpu", 10**8)
    assert not Word2VecConfig(model="cbow", loss="hs").compiles("cpu", 10**8)
    assert Word2VecConfig(compile="on").compiles("cpu", 1) and not Word2VecConfig(compile="off").compiles("cpu", 10**9)


def test_several_workers_steps_cover_every_chunk_once_in_order(tmp_path):
    from hybrid.train.word2vec import WORKER_CHUNKS, Word2VecTrainer, read_training_corpus

    (tmp_path / "c.txt").write_text("\n".join(f"a b c d e f g h {i % 7}" for i in range(300)) + "\n", encoding="utf-8")
    config = Word2VecConfig(dim=4, min_count=1, workers=3, chunk_words=50)
    vocab, corpus = read_training_corpus(config, [tmp_path / "c.txt"], tmp_path, lambda message: None)
    trainer = Word2VecTrainer(config, vocab, corpus)
    groups = trainer.epoch_items(0)
    assert [item for group in groups for item in group] == [(i, *chunk) for i, chunk in enumerate(trainer.chunks)]
    assert all(len(group) == 3 * WORKER_CHUNKS for group in groups[:-1]) and len(groups) > 1
    trainer.close()
