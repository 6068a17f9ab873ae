"""`hybrid seq2seq train --autoencoder` and `hybrid encode` (vectors, --nearest) through CliRunner
and as a subprocess, with their usage errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli
from tests.seq2seq_tiny import write_parallel_files

ROOT = Path(__file__).resolve().parents[2]
SIZES = ["--embedding-dim", "8", "--encoder-hidden", "6", "--decoder-hidden", "8", "--min-freq", "1"]


@pytest.fixture(scope="module")
def autoencoder(tmp_path_factory):
    folder = write_parallel_files(tmp_path_factory.mktemp("encode"), {"train": 40, "dev": 8})
    result = CliRunner().invoke(cli, ["seq2seq", "train", "--autoencoder", "--train-src", str(folder / "train.src"),
                                      "--dev-src", str(folder / "dev.src"), "--out", str(folder / "run"),
                                      "--epochs", "2", "--word-dropout", "0.1", "--shuffle-window", "2",
                                      "--summary", "attention", "-q", *SIZES])
    assert result.exit_code == 0, result.output
    return folder


def _invoke(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, list(args), input=input)


def test_autoencoder_training_records_its_settings_and_info_says_what_it_is(autoencoder):
    config = json.loads((autoencoder / "run" / "model" / "config.json").read_text())
    assert config["train"]["autoencoder"] is True and config["model"]["bottleneck"] is True
    assert config["model"]["summary"] == "attention" and config["train"]["shuffle_window"] == 2
    info = _invoke("info", str(autoencoder / "run" / "model"))
    assert info.exit_code == 0
    assert "(sequence autoencoder)" in info.output and "attention pooling" in info.output
    assert "the summary alone (bottleneck)" in info.output


def test_encode_writes_one_vector_per_line_and_a_blank_line_for_a_blank_one(autoencoder):
    result = _invoke("encode", "--model", str(autoencoder / "run" / "model"), input="w1 w2 w3\n\nw4 w0\n")
    assert result.exit_code == 0, result.output
    lines = result.output.split("\n")[:-1]
    assert len(lines) == 3 and lines[1] == ""
    vectors = [[float(x) for x in line.split()] for line in (lines[0], lines[2])]
    assert [len(v) for v in vectors] == [12, 12] and vectors[0] != vectors[1]


def test_nearest_finds_each_index_sentence_itself_first(autoencoder, tmp_path):
    index = autoencoder / "dev.src"
    result = _invoke("encode", "--model", str(autoencoder / "run" / "model"), "--nearest", "2", "--index", str(index),
                     str(index))
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.output.splitlines()]
    sentences = index.read_text().splitlines()
    assert len(rows) == 2 * len(sentences)
    for row in rows:
        query, rank, cosine, found, text = int(row[0]), int(row[1]), float(row[2]), int(row[3]), row[4]
        assert text == sentences[found - 1] and -1.0001 <= cosine <= 1.0001
        if rank == 1:  # itself, or a duplicate of it
            assert sentences[found - 1] == sentences[query - 1] and cosine == pytest.approx(1.0, abs=1e-4)


def test_encode_as_a_subprocess_writes_its_output_file(autoencoder, tmp_path):
    out = tmp_path / "vectors.txt"
    done = subprocess.run([sys.executable, "-m", "cli.main", "encode", "--model", str(autoencoder / "run" / "model"),
                           str(autoencoder / "dev.src"), "-o", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert len(out.read_text().splitlines()) == len((autoencoder / "dev.src").read_text().splitlines())


@pytest.mark.parametrize(("extra", "message"), [
    (["--nearest", "2"], "--nearest K and --index FILE go together"),
    (["--index", "INDEX"], "--nearest K and --index FILE go together"),
    (["-o", "INPUT"], "is the input file"),
])
def test_encode_usage_errors(autoencoder, extra, message):
    given = [str(autoencoder / "dev.src") if a in ("INDEX", "INPUT") else a for a in extra]
    result = _invoke("encode", "--model", str(autoencoder / "run" / "model"), *given, str(autoencoder / "dev.src"))
    assert result.exit_code == 2 and message in result.output


def test_encode_refuses_a_model_that_is_not_a_seq2seq_model(tmp_path):
    model = ROOT / "hybrid" / "resources" / "pos-en-ewt"
    result = _invoke("encode", "--model", str(model), input="a b\n")
    assert result.exit_code == 1 and "Error:" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["--autoencoder", "--train-tgt", "TRAIN_TGT"], "an autoencoder reconstructs the sources: leave out --train-tgt"),
    ([], "missing --train-tgt and --dev-tgt (or train an --autoencoder)"),
    (["--dev-tgt", "DEV_TGT"], "missing --train-tgt"),
])
def test_seq2seq_train_target_options_follow_autoencoder(autoencoder, tmp_path, args, message):
    files = {"TRAIN_TGT": autoencoder / "train.tgt", "DEV_TGT": autoencoder / "dev.tgt"}
    given = [str(files.get(a, a)) for a in args]
    result = _invoke("seq2seq", "train", "--train-src", str(autoencoder / "train.src"), "--dev-src",
                     str(autoencoder / "dev.src"), "--out", str(tmp_path / "run"), *given)
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "run").exists()


def test_attention_plot_is_refused_for_a_bottleneck_model(autoencoder, tmp_path):
    result = _invoke("generate", "--model", str(autoencoder / "run" / "model"), "--attention-plot",
                     str(tmp_path / "a.png"), input="w1 w2\n")
    assert result.exit_code == 2 and "no alignment to plot" in result.output
    assert not (tmp_path / "a.png").exists()


def test_choosing_an_attention_layer_is_refused_for_the_recurrent_model(autoencoder):
    result = _invoke("generate", "--model", str(autoencoder / "run" / "model"), "--attention-layer", "0",
                     input="w1 w2\n")
    assert result.exit_code == 2 and "this model has one attention" in result.output


def test_an_autoencoder_set_in_a_config_file_trains_from_sources_alone(autoencoder, tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model": {"embedding_dim": 8, "encoder_hidden": 6,
                                                                "decoder_hidden": 8, "src_min_freq": 1,
                                                                "tgt_min_freq": 1},
                                                      "train": {"autoencoder": True, "epochs": 1}}))
    result = _invoke("seq2seq", "train", "--config", str(tmp_path / "config.json"), "--train-src",
                     str(autoencoder / "train.src"), "--dev-src", str(autoencoder / "dev.src"), "--out",
                     str(tmp_path / "run"), "-q")
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "run" / "model" / "config.json").read_text())
    assert config["train"]["autoencoder"] is True and config["model"]["bottleneck"] is False  # the file's
