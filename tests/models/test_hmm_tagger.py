"""The classic count-based HMM tagger: counts, unknown-word classes, hmmlearn, save/load, CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from cli.main import cli
from hybrid.config import DataConfig, ModelConfig, TaggerConfig
from hybrid.data.sentence import Sentence
from hybrid.models.hmm_tagger import ClassicHMMTagger, all_signatures, word_signature
from hybrid.models.io import load_tagger, save_tagger
from hybrid.models.tagger import predict_tags
from hybrid.structured.hmm_classic import observations_to_hmmlearn
from hybrid.train.trainer import evaluate
from tests.tiny import tiny_sentences, write_conll_file


def _config(**kwargs: object) -> ModelConfig:
    return ModelConfig(layer="hmm-classic", **kwargs)  # type: ignore[arg-type]


def _tiny(n: int = 40, seed: int = 0) -> list[Sentence]:
    return [Sentence([w for w, _, _ in rows], tags=[c for _, _, c in rows]) for rows in tiny_sentences(n, seed)]


def test_counts_by_hand():
    corpus = [Sentence(["a", "b"], tags=["X", "Y"]), Sentence(["a", "a"], tags=["X", "X"]),
              Sentence(["b"], tags=["Y"])]
    model = ClassicHMMTagger.fit(
        _config(hmm_rare_words=0, hmm_transition_smoothing=1.0, hmm_emission_smoothing=1.0), corpus
    )
    assert model.tag_names == ["X", "Y"]  # X is more frequent
    hmm, words = model.hmm, model.vocabs.words
    v = len(words)
    assert v == 4 + len(all_signatures())  # <pad>, <unk>, a, b and every unknown-word class
    torch.testing.assert_close(hmm.log_start.exp(), torch.tensor([3 / 5, 2 / 5], dtype=torch.float64))
    torch.testing.assert_close(hmm.log_transitions.exp(), torch.tensor([[0.5, 0.5], [0.5, 0.5]], dtype=torch.float64))
    b = hmm.log_emissions.exp()
    a_id, b_id = words.index("a"), words.index("b")
    assert math.isclose(b[0, a_id], (3 + 1) / (3 + v)) and math.isclose(b[0, b_id], 1 / (3 + v))
    assert math.isclose(b[1, b_id], (2 + 1) / (2 + v)) and math.isclose(b[1, a_id], 1 / (2 + v))
    torch.testing.assert_close(b.sum(1), torch.ones(2, dtype=torch.float64))


@pytest.mark.parametrize(("word", "signature"), [
    ("Running", "<unk:Cap|ing>"), ("walked", "<unk:low|ed>"), ("quickly", "<unk:low|ly>"),
    ("nation", "<unk:low|tion>"), ("cats", "<unk:low|s>"), ("NASA", "<unk:CAPS>"), ("1,000", "<unk:num|sym>"),
    ("1990s", "<unk:dig|low|s>"), ("well-known", "<unk:low|hyph>"), ("e-mails", "<unk:low|hyph|s>"),
    ("!?", "<unk:sym>"), ("is", "<unk:low>"), ("A4", "<unk:dig|Cap>"),
])
def test_word_signatures(word, signature):
    assert word_signature(word) == signature


def test_every_signature_has_a_symbol():
    known = set(all_signatures())
    words = ["x", "X", "XX", "x-x", "3", "3-4", "3x", "-", "Über", "straße", "ﬁne", "ÉTATS", "'s", "dog's", "a1-b2ing"]
    assert all(word_signature(w) in known for w in words)


def test_unseen_and_rare_words_use_their_class():
    corpus = _tiny() + [Sentence(["the", "zorping", "cat"], tags=["B-NP", "I-NP", "I-NP"])]
    model = ClassicHMMTagger.fit(_config(hmm_rare_words=1), corpus)
    words = model.vocabs.words
    assert "zorping" not in words and "cat" in words  # the hapax became its class
    batch = model.vocabs.encode([Sentence(["the", "blorping", "cat"])], with_chars=False)
    symbols = model.symbols(batch)[0].tolist()
    assert symbols == [words.index("the"), words.index("<unk:low|ing>"), words.index("cat")]
    # the class's emissions were counted from the rare training word
    tag = model.vocabs.tags.index("I-NP")
    assert model.hmm.log_emissions[tag, symbols[1]] > model.hmm.log_emissions[tag, words.index("<unk:low|ed>")]


def test_learns_the_tiny_corpus_and_k_best():
    model = ClassicHMMTagger.fit(_config(), _tiny())
    test = _tiny(10, seed=3)
    assert evaluate(model, test)["accuracy"] == 100.0
    best = predict_tags(model, test, batch_size=4, k=3)
    for sentence, kbest in zip(test, best, strict=True):
        assert kbest[0][0] == sentence.tags
        scores = [score for _, score in kbest]
        assert scores == sorted(scores, reverse=True) and len({tuple(t) for t, _ in kbest}) == 3
    assert model.tag([s.words for s in test[:2]]) == [s.tags for s in test[:2]]


def test_decode_equals_hmmlearn():
    model = ClassicHMMTagger.fit(_config(), _tiny(30))
    sentences = _tiny(12, seed=7) + [Sentence(["Unseen", "words", "everywhere", "42"])]
    batch = model.vocabs.encode(sentences, with_chars=False)
    symbols = model.symbols(batch)
    paths, scores = model.decode(batch, 1)
    reference = model.to_hmmlearn()
    x, lengths = observations_to_hmmlearn(symbols, batch.mask)
    start = 0
    for row, n in enumerate(lengths):
        logprob, path = reference.decode(x[start : start + n], algorithm="viterbi")
        start += n
        assert paths[row, 0, :n].tolist() == path.tolist()
        assert math.isclose(scores[row, 0].item(), logprob, rel_tol=1e-9, abs_tol=1e-9)
    assert math.isclose(model.hmm.log_likelihood(symbols, batch.mask).sum().item(),
                        reference.score(x, lengths), rel_tol=1e-9)
    assert np.allclose(reference.emissionprob_.sum(1), 1.0)


def test_save_load_round_trip_is_bit_identical(tmp_path):
    model = ClassicHMMTagger.fit(_config(), _tiny())
    config = TaggerConfig(data=DataConfig(), model=model.config)
    save_tagger(model, tmp_path / "m", config)
    loaded = load_tagger(tmp_path / "m")
    assert isinstance(loaded, ClassicHMMTagger)
    for name, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], value) and loaded.state_dict()[name].dtype == torch.float64
    test = _tiny(8, seed=11) + [Sentence(["Never", "seen", "before"])]
    assert predict_tags(loaded, test, k=4) == predict_tags(model, test, k=4)


def test_cli_train_tag_evaluate_info(tmp_path):
    write_conll_file(tmp_path / "train.txt", n=40)
    write_conll_file(tmp_path / "test.txt", n=8, seed=5)
    runner = CliRunner()
    result = runner.invoke(cli, ["train", "--train", str(tmp_path / "train.txt"), "--out", str(tmp_path / "run"),
                                 "--layer", "hmm-classic", "--hmm-emission-smoothing", "0.01", "--quiet"],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["metric"] == "f1" and summary["best_dev"] == 100.0 and summary["stopped_by"] == "counts"
    model = tmp_path / "run" / "model"
    saved = json.loads((model / "config.json").read_text())["model"]
    assert saved["layer"] == "hmm-classic" and saved["hmm_emission_smoothing"] == 0.01
    result = runner.invoke(cli, ["tag", "--model", str(model)], input="the big dog sees a cat .\n")
    assert result.exit_code == 0, result.output
    assert [line.split("\t")[1] for line in result.stdout.strip().split("\n")] == [
        "B-NP", "I-NP", "I-NP", "B-VP", "B-NP", "I-NP", "O"]
    result = runner.invoke(cli, ["evaluate", "--model", str(model), "--data", str(tmp_path / "test.txt"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["f1"] == 100.0
    result = runner.invoke(cli, ["info", str(model)])
    assert result.exit_code == 0 and "hmm-classic (constraints: none" in result.stdout
