"""The ONNX Runtime engine tags exactly as the torch Tagger: small random models of every
supported configuration, the bundled model, fallbacks, the CLI's --engine, and no torch import."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from torch import nn

from cli.main import cli
from cli.tag import choose_engine
from hybrid.config import DataConfig, ModelConfig, TaggerConfig
from hybrid.data.batching import TaggerVocabs
from hybrid.data.sentence import Sentence
from hybrid.errors import ConfigError
from hybrid.models.io import default_model_path, load_tagger, save_tagger
from hybrid.models.tagger import Tagger
from hybrid.runtime import OnnxTagger, load_onnx_tagger, unsupported
from hybrid.runtime.decode import Chain, viterbi
from hybrid.runtime.tagger import even_groups
from hybrid.structured import ChainPotentials
from hybrid.structured import viterbi as torch_viterbi
from tests.tiny import tiny_sentences

pytest.importorskip("onnxruntime")
ROOT = Path(__file__).resolve().parents[2]
CHARS = "abcxyzÄßé-.'0123456789"


def corpus(n: int = 30, seed: int = 0) -> list[Sentence]:
    """Tiny chunking sentences: words, chunk tags (BIO), one POS feature column."""
    return [Sentence([r[0] for r in s], [r[2] for r in s], [[r[1] for r in s]]) for s in tiny_sentences(n, seed)]


def random_sentences(known: list[str], n: int, seed: int, features: bool = False,
                   longest: int = 40) -> list[Sentence]:
    """Random sentences of known and unknown words (odd characters, digits, long words)."""
    rng = random.Random(seed)
    sentences = []
    for i in range(n):
        length = 150 if i == 0 else rng.randint(1, longest)
        words = []
        for _ in range(length):
            if rng.random() < 0.6:
                word = rng.choice(known)
                words.append(word.upper() if rng.random() < 0.1 else word)
            else:
                words.append("".join(rng.choice(CHARS) for _ in range(rng.choice([1, 2, 5, 9, 45]))))
        feats = [[rng.choice(["DT", "NN", "JJ", "XX"]) for _ in words]] if features else []
        sentences.append(Sentence(words, None, feats))
    return sentences


CONFIGS = {  # name: (encoder, layers, bidirectional, char encoder, layer, constraints, features)
    "lstm-charlstm-crf": ("lstm", 1, True, "lstm", "crf", "auto", False),
    "lstm2-charcnn-crf-features": ("lstm", 2, True, "cnn", "crf", "auto", True),
    "gru-none-softmax": ("gru", 1, True, "none", "softmax", "none", False),
    "gru2-charlstm-hmm-features": ("gru", 2, True, "lstm", "hmm", "BIO", True),
    "rnn-forward-charcnn-hmm": ("rnn", 1, False, "cnn", "hmm", "none", False),
    "rnn2-charlstm-crf-nocons": ("rnn", 2, True, "lstm", "crf", "none", True),
    "peephole2-charlstm-crf": ("peephole", 2, True, "lstm", "crf", "auto", False),
    "peephole-forward-none-softmax": ("peephole", 1, False, "none", "softmax", "auto", True),
}


def random_model(tmp_path: Path, name: str, half: bool = False) -> Path:
    """A saved tagger of configuration `name` with weights uniform in +-1 (clear decisions)."""
    encoder, layers, bidirectional, chars, layer, constraints, features = CONFIGS[name]
    sentences = corpus()
    if not features:
        sentences = [Sentence(s.words, s.tags) for s in sentences]
    config = TaggerConfig(
        data=DataConfig(feature_columns=(1,) if features else ()),
        model=ModelConfig(word_dim=8, feature_dim=3, char_encoder=chars, char_dim=4, char_hidden=5,
                          encoder=encoder, hidden_size=6, num_layers=layers, bidirectional=bidirectional,
                          dropout=0.3, layer=layer, constraints=constraints),
    )
    vocabs = TaggerVocabs.build(sentences, max_word_length=12)
    torch.manual_seed(sorted(CONFIGS).index(name))
    tagger = Tagger(config.model, vocabs)
    for p in tagger.parameters():
        nn.init.uniform_(p, -1.0, 1.0)
    if layer == "hmm":
        k = len(vocabs.tags)
        tagger.layer.set_statistics(torch.randn(k).log_softmax(0), torch.randn(k, k).log_softmax(1),
                                    torch.randn(k).log_softmax(0))
    return save_tagger(tagger, tmp_path / name, config, half=half)


def both(directory: Path) -> tuple[Tagger, OnnxTagger]:
    return load_tagger(directory), load_onnx_tagger(directory)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_random_models_tag_and_score_as_torch(tmp_path, name):
    torch_tagger, onnx_tagger = both(random_model(tmp_path, name))
    features = bool(torch_tagger.vocabs.features)
    sentences = random_sentences(torch_tagger.vocabs.words.tokens[2:], 60, seed=1, features=features)
    assert onnx_tagger.tag(sentences, batch_size=16) == torch_tagger.tag(sentences, batch_size=16)
    batch = torch_tagger.vocabs.encode(sentences, with_chars=False)
    ids = onnx_tagger.vocabs.index_lists(sentences)
    with torch.inference_mode():
        emissions = torch_tagger.emissions(batch)
        paths, scores = torch_tagger.decode(batch)
    mask = batch.mask.numpy()
    np.testing.assert_allclose(onnx_tagger.scores(ids)[mask], emissions.numpy()[mask], atol=1e-4)
    got_paths, got_scores = onnx_tagger.decode(ids)
    np.testing.assert_allclose(got_scores, scores[:, 0].numpy(), atol=1e-4, rtol=1e-6)
    assert np.array_equal(np.where(mask, got_paths, 0), np.where(mask, paths[:, 0].numpy(), 0))


def test_float16_model_and_a_word_without_characters(tmp_path):
    torch_tagger, onnx_tagger = both(random_model(tmp_path, "lstm-charlstm-crf", half=True))
    sentences = [["the", "", "cat"], [""], ["x" * 40, "Ünknown", "1999"]]
    assert onnx_tagger.tag(sentences) == torch_tagger.tag(sentences)
    torch_tagger, onnx_tagger = both(random_model(tmp_path, "lstm2-charcnn-crf-features", half=True))
    sentences = [Sentence(["the", "", "cat"], None, [["DT", "NN", "NN"]])]
    assert onnx_tagger.tag(sentences) == torch_tagger.tag(sentences)


def test_constraints_come_from_the_saved_model(tmp_path):
    onnx_tagger = load_onnx_tagger(random_model(tmp_path, "peephole2-charlstm-crf"))
    tags = onnx_tagger.tag(random_sentences(["the", "cat"], 30, seed=2))
    for sequence in tags:  # BIO: I-X only after B-X or I-X
        for prev, cur in zip(["O", *sequence], sequence, strict=False):
            assert not cur.startswith("I-") or prev[2:] == cur[2:]


def test_bundled_model_tags_as_torch():
    torch_tagger, onnx_tagger = both(default_model_path())
    known = [w for w in torch_tagger.vocabs.words.tokens[2:3000]]
    sentences = random_sentences(known, 300, seed=3, longest=60)
    sentences.append(Sentence("The quick brown fox jumps over the lazy dog .".split()))
    assert onnx_tagger.tag(sentences) == torch_tagger.tag(sentences)


def test_viterbi_matches_torch_with_padding_and_forbidden_transitions():
    rng = np.random.default_rng(0)
    emissions = rng.normal(size=(7, 9, 5)).astype(np.float32)
    lengths = np.array([9, 1, 4, 9, 2, 7, 3])
    transitions = rng.normal(size=(5, 5)).astype(np.float32)
    transitions[1, 2] = transitions[0, 4] = -np.inf
    start, end = rng.normal(size=5).astype(np.float32), rng.normal(size=5).astype(np.float32)
    start[3] = -np.inf
    paths, scores = viterbi(emissions, lengths, Chain(transitions, start, end))
    mask = torch.arange(9)[None, :] < torch.from_numpy(lengths)[:, None]
    ref_paths, ref_scores = torch_viterbi(ChainPotentials(*map(torch.from_numpy, (emissions, transitions, start, end)),
                                                          mask))
    assert np.array_equal(paths, ref_paths.numpy())
    np.testing.assert_allclose(scores, ref_scores.numpy(), rtol=1e-6)


def test_even_groups_keep_lengths_close_and_cover_every_sentence():
    rng = random.Random(4)
    sentences = [Sentence(["w"] * rng.randint(1, 80)) for _ in range(500)]
    groups = even_groups(sentences, 64)
    assert sorted(i for g in groups for i in g) == list(range(500))
    for g in groups:
        lengths = [len(sentences[i]) for i in g]
        assert len(g) <= 64 and max(lengths) <= 1.3 * min(lengths) + 2


def test_unsupported_models_and_k_fall_back_to_torch():
    assert unsupported(ModelConfig()) is None
    assert "k > 1" in unsupported(ModelConfig(), k=2)
    assert "hmm-classic" in unsupported(ModelConfig(layer="hmm-classic"))
    assert choose_engine("auto", ModelConfig(), 1) == "onnx"
    assert choose_engine("auto", ModelConfig(), 3) == "torch"
    assert choose_engine("auto", ModelConfig(layer="hmm-classic"), 1) == "torch"
    assert choose_engine("torch", ModelConfig(), 1) == "torch"
    with pytest.raises(ConfigError):
        OnnxTagger(TaggerConfig(model=ModelConfig(layer="hmm-classic")), None, {})  # type: ignore[arg-type]


def test_auto_falls_back_when_onnxruntime_is_missing(monkeypatch):
    import hybrid.runtime

    monkeypatch.setattr(hybrid.runtime, "onnxruntime_available", lambda: False)
    assert choose_engine("auto", ModelConfig(), 1) == "torch"
    result = CliRunner().invoke(cli, ["tag", "--engine", "onnx"], input="The cat .\n")
    assert result.exit_code != 0 and "onnxruntime is not installed" in result.output


def run(*args: str, input: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, [str(a) for a in args], input=input, env=env, catch_exceptions=False)


TEXT = "The quick brown fox jumps over the lazy dog .\nColorless green ideas sleep furiously\n\nI saw 42 cats\n"


def test_cli_engines_print_the_same_tags():
    outputs = {engine: run("tag", "--engine", engine, input=TEXT) for engine in ("auto", "onnx", "torch")}
    assert all(r.exit_code == 0 for r in outputs.values())
    assert outputs["onnx"].stdout == outputs["torch"].stdout == outputs["auto"].stdout
    assert "fox\tNOUN" in outputs["onnx"].stdout
    from_env = run("tag", input=TEXT, env={"HYBRID_ENGINE": "torch"})
    assert from_env.stdout == outputs["torch"].stdout


def test_cli_k_best_runs_on_torch_under_auto_and_is_refused_by_onnx():
    result = run("tag", "--k", "2", input=TEXT)
    assert result.exit_code == 0 and result.stdout.startswith("# k-best scores: ")
    refused = CliRunner().invoke(cli, ["tag", "--k", "2", "--engine", "onnx"], input=TEXT)
    assert refused.exit_code == 2 and "k > 1" in refused.output
    refused = CliRunner().invoke(cli, ["tag", "--k", "2"], input=TEXT, env={"HYBRID_ENGINE": "onnx"})
    assert refused.exit_code == 2


def test_cli_feature_model_through_onnx(tmp_path):
    directory = random_model(tmp_path, "lstm2-charcnn-crf-features")
    conll = "".join("".join(f"{w}\t{p}\t{t}\n" for w, p, t in s) + "\n" for s in tiny_sentences(8, seed=9))
    path = tmp_path / "test.txt"
    path.write_text(conll, encoding="utf-8")
    outputs = [run("tag", "--model", directory, "--engine", e, "--format", "conll", path, input="")
               for e in ("onnx", "torch")]
    assert outputs[0].exit_code == 0 and outputs[0].stdout == outputs[1].stdout


def test_onnx_path_never_imports_torch():
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from cli.main import cli\n"
        "r = CliRunner().invoke(cli, ['tag'], input='The cat sat on the mat .\\n')\n"
        "assert r.exit_code == 0 and 'cat\\tNOUN' in r.stdout, r.output\n"
        "from hybrid import load_onnx_tagger\n"
        "assert load_onnx_tagger().tag([['A', 'dog', '.']]) == [['DET', 'NOUN', 'PUNCT']]\n"
        "print('torch' in sys.modules, 'onnx' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"], done.stderr


def test_graphs_are_valid_onnx(tmp_path):
    onnx = pytest.importorskip("onnx")
    from hybrid.runtime.graph import char_cnn_model, char_lstm_model, sentence_model

    for name in ("lstm-charlstm-crf", "lstm2-charcnn-crf-features", "peephole2-charlstm-crf"):
        from safetensors.numpy import load_file

        from hybrid.models.directory import read_config

        directory = random_model(tmp_path, name)
        model = read_config(directory).model
        state = load_file(str(directory / "model.safetensors"))
        state = {k: v.astype(np.float32) if v.dtype.kind == "f" else v for k, v in state.items()}
        char = {"lstm": char_lstm_model, "cnn": char_cnn_model}[model.char_encoder](model, state)
        size = 2 * model.char_hidden if model.char_encoder == "lstm" else model.char_hidden
        features = 1 if "features" in name else 0
        for graph in (char, sentence_model(model, state, features, size)):
            onnx.checker.check_model(onnx.load_from_string(graph), full_check=True)


EWT_TEST = ROOT.parent / "shared" / "data" / "ud_ewt" / "en_ewt-ud-test.conllu"


@pytest.mark.slow
@pytest.mark.skipif(not EWT_TEST.is_file(), reason="../shared/data/ud_ewt is not here")
def test_bundled_model_tags_the_ewt_test_set_as_torch():
    from hybrid.data.readers import read_conllu

    sentences = list(read_conllu(EWT_TEST, "form", "upos"))
    torch_tagger, onnx_tagger = both(default_model_path())
    assert onnx_tagger.tag(sentences) == torch_tagger.tag(sentences)
