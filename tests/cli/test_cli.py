"""The `hybrid` command line through click's CliRunner: train -> tag -> evaluate -> info, and errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli
from hybrid.config import TaggerConfig, load_json, save_json
from hybrid.models.io import default_model_path
from tests.tiny import tiny_config, write_conll_file

ROOT = Path(__file__).resolve().parents[2]
TAGS = {"B-NP", "I-NP", "B-VP", "B-PP", "O"}


def run(*args: str, input: str | None = None, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, [str(a) for a in args], input=input, env=env, catch_exceptions=False)


def _summary(stdout: str) -> dict:
    """The JSON summary `hybrid train` prints after its per-epoch log lines."""
    return json.loads(stdout[stdout.index("\n{") + 1:] if not stdout.startswith("{") else stdout)


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("cli")
    write_conll_file(work / "train.txt", n=30)
    write_conll_file(work / "test.txt", n=6, seed=5)
    save_json(tiny_config(), work / "tiny.json")  # char sizes have no options: set them here
    return work


@pytest.fixture(scope="module")
def trained(work) -> tuple[Path, dict]:
    """`hybrid train` with a config file and options on top of it; the model reads words only."""
    out = work / "run"
    result = run("train", "--train", work / "train.txt", "--out", out, "--config", work / "tiny.json",
                 "--hidden-size", "16", "--epochs", "1", "--quiet")
    assert result.exit_code == 0, result.output
    return out / "model", _summary(result.stdout)


@pytest.fixture(scope="module")
def feature_model(work) -> Path:
    out = work / "run-features"
    result = run("train", "--train", work / "train.txt", "--out", out, "--config", work / "tiny.json",
                 "--feature-column", "1", "--epochs", "1", "--quiet")
    assert result.exit_code == 0, result.output
    return out / "model"


def test_help_lists_the_commands():
    result = run("--help")
    assert result.exit_code == 0
    commands = result.stdout[result.stdout.index("Commands:"):].split("\n")[1:]
    assert {line.split()[0] for line in commands if line.strip()} == {
        "train", "tag", "evaluate", "info", "induce", "seq2seq", "generate", "encode", "rl-finetune", "gan-train",
        "lm-train", "classify", "embed", "temperature-sweep"}
    assert run("-h").stdout == result.stdout


def test_version():
    result = run("--version")
    assert result.exit_code == 0 and result.stdout.strip() == "hybrid, version 0.1.0"


@pytest.mark.parametrize("command", ["train", "tag", "evaluate", "info"])
def test_every_command_has_help(command):
    result = run(command, "--help")
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: ") and f" {command} " in result.stdout.split("\n")[0]


def test_train_writes_the_run_and_options_override_the_config(trained, work):
    model, summary = trained
    assert summary["epochs_run"] == 1 and summary["metric"] == "f1" and summary["stopped_by"] == "epochs"
    assert (summary["train_sentences"], summary["dev_sentences"]) == (24, 6)  # config file: dev_fraction 0.2
    assert "history" not in summary
    config = load_json(TaggerConfig, model.parent / "config.json")
    assert config.model.hidden_size == 16  # --hidden-size over the config file's 8
    assert (config.model.word_dim, config.model.char_hidden) == (8, 4)  # from the config file
    assert config.train.epochs == 1 and config.train.lr == 0.05
    for name in ("summary.json", "train_log.jsonl", "checkpoint.pt"):
        assert (model.parent / name).is_file(), name


def test_tag_conll_keeps_every_line_and_appends_one_tag_column(trained, work):
    model, _ = trained
    source = (work / "test.txt").read_text(encoding="utf-8")
    result = run("tag", "--model", model, "--format", "conll", work / "test.txt")
    assert result.exit_code == 0, result.output
    lines_in, lines_out = source.split("\n"), result.stdout.split("\n")
    assert len(lines_out) == len(lines_in)
    for before, after in zip(lines_in, lines_out, strict=True):
        if not before:
            assert after == ""
            continue
        assert after.startswith(before + "\t")
        assert after[len(before) + 1:] in TAGS


def test_tag_k_best(trained, work):
    model, _ = trained
    result = run("tag", "--model", model, "--format", "conll", "--k", "2", work / "test.txt")
    assert result.exit_code == 0, result.output
    blocks = [b for b in result.stdout.split("\n\n") if b.strip()]
    assert len(blocks) == 6
    for block in blocks:
        header, *rows = block.split("\n")
        assert header.startswith("# k-best scores: ")
        scores = [float(x) for x in header.removeprefix("# k-best scores: ").split()]
        assert len(scores) == 2 and scores[0] >= scores[1]
        paths = list(zip(*[row.split("\t")[3:] for row in rows], strict=True))
        assert all(len(row.split("\t")) == 5 for row in rows)  # word POS gold + 2 tag columns
        assert len(paths) == 2 and paths[0] != paths[1]
        assert set(paths[0]) | set(paths[1]) <= TAGS


def test_tag_text_from_stdin_and_to_a_file(trained, work):
    model, _ = trained
    result = run("tag", "--model", model, input="the big cat sees a dog .\n\nthe car eats\n")
    assert result.exit_code == 0, result.output
    blocks = result.stdout.split("\n\n")
    assert blocks[-1] == ""
    words = [[line.split("\t")[0] for line in b.split("\n")] for b in blocks[:-1]]
    assert words == [["the", "big", "cat", "sees", "a", "dog", "."], ["the", "car", "eats"]]
    assert all(line.split("\t")[1] in TAGS for b in blocks[:-1] for line in b.split("\n"))
    out = work / "tagged.txt"
    result = run("tag", "--model", model, "-o", out, "-", input="the big cat sees a dog .\n\nthe car eats\n")
    assert result.exit_code == 0 and result.stdout == ""
    assert out.read_text(encoding="utf-8") == "\n\n".join(blocks)


def test_conll_model_tags_conllu_forms(trained, tmp_path):
    model, _ = trained
    conllu = tmp_path / "in.conllu"
    conllu.write_text(
        "# text = the cat\n1\tthe\tTHE\t_\t_\t_\t_\t_\t_\t_\n2\tcat\tCAT\t_\t_\t_\t_\t_\t_\t_\n\n",
        encoding="utf-8",
    )
    result = run("tag", "--model", model, "--format", "conllu", conllu)
    assert result.exit_code == 0, result.output
    lines = result.stdout.split("\n")
    assert lines[0] == "# text = the cat" and lines[3:] == ["", ""]
    for line, word in zip(lines[1:3], ("the", "cat"), strict=True):
        fields = line.split("\t")
        assert len(fields) == 11 and fields[1] == word and fields[10] in TAGS


def test_tag_model_from_the_environment(trained):
    model, _ = trained
    result = run("tag", input="the cat\n", env={"HYBRID_TAG_MODEL": str(model)})
    assert result.exit_code == 0, result.output
    assert [line.split("\t")[1] in TAGS for line in result.stdout.split("\n") if line] == [True, True]


def test_evaluate_json_agrees_with_tag_output(trained, work):
    model, _ = trained
    out = work / "scores.json"
    result = run("evaluate", "--model", model, "--data", work / "test.txt", "--json", "-o", out)
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    assert json.loads(out.read_text(encoding="utf-8")) == scores
    assert {"accuracy", "f1", "precision", "recall", "per_type"} <= set(scores)
    assert (scores["sentences"], scores["model"]) == (6, str(model))
    tagged = run("tag", "--model", model, "--format", "conll", work / "test.txt").stdout
    rows = [line.split("\t") for line in tagged.split("\n") if line]
    assert scores["accuracy"] == pytest.approx(100 * sum(r[2] == r[3] for r in rows) / len(rows))
    assert scores["tokens"] == len(rows)


def test_evaluate_table(trained, work):
    model, _ = trained
    result = run("evaluate", "--model", model, "--data", work / "test.txt")
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().split("\n")
    assert lines[0].startswith("sentences 6  tokens ")
    assert lines[-1].startswith("overall")
    assert {line.split()[0] for line in lines[2:-1]} <= {"NP", "VP", "PP"}


def test_info_shows_the_tag_set(trained):
    model, _ = trained
    result = run("info", model)
    assert result.exit_code == 0, result.output
    tags_line = next(line for line in result.stdout.split("\n") if line.startswith("tags ("))
    assert tags_line.startswith(f"tags ({len(TAGS)})")
    assert set(tags_line.split()[2:]) == TAGS
    assert "hidden 16" in result.stdout and "best dev f1" in result.stdout
    as_json = json.loads(run("info", "--json", model).stdout)
    assert set(as_json["tags"]) == TAGS
    assert as_json["config"]["model"]["hidden_size"] == 16
    assert as_json["training"]["best_epoch"] == 1


def test_info_default_is_the_bundled_model():
    result = run("info")
    assert result.exit_code == 0, result.output
    assert "pos-en-ewt" in result.stdout and " NOUN " in result.stdout and "format conllu" in result.stdout


def test_feature_model_tags_conll_by_default(feature_model, work):
    result = run("tag", "--model", feature_model, work / "test.txt")  # format from the model
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.stdout.split("\n") if line]
    assert rows and all(len(r) == 4 and r[3] in TAGS for r in rows)


def test_bundled_model_tags_single_column_conll():
    """The bundled model was trained on CoNLL-U (word field 'form'); plain CoNLL input is column 0."""
    result = run("tag", "--format", "conll", "-", input="The\ndog\nbarks\n.\n")
    assert result.exit_code == 0, result.output
    assert result.stdout.split("\n")[0] == "The\tDET"


def test_bundled_model_evaluates_a_two_column_conll_file(tmp_path):
    data = tmp_path / "gold.txt"
    data.write_text("The\tDET\ndog\tNOUN\nbarks\tVERB\n.\tPUNCT\n", encoding="utf-8")
    result = run("evaluate", "--model", default_model_path(), "--format", "conll", "--data", data, "--json")
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    assert scores["tokens"] == 4 and scores["accuracy"] >= 75.0


# -- bad input ---------------------------------------------------------------------------


def test_tag_missing_input_file(trained, tmp_path):
    model, _ = trained
    missing = tmp_path / "nope.txt"
    result = CliRunner().invoke(cli, ["tag", "--model", str(model), str(missing)])
    assert result.exit_code != 0
    assert f"{missing}: no such file" in result.stderr


def test_train_missing_file(tmp_path):
    result = CliRunner().invoke(cli, ["train", "--train", str(tmp_path / "nope.txt"), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "does not exist" in result.stderr and "nope.txt" in result.stderr


def test_tag_ragged_conll_names_file_and_line(trained, tmp_path):
    model, _ = trained
    ragged = tmp_path / "ragged.txt"
    ragged.write_text("the\tDT\tB-NP\ncat\tNN\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["tag", "--model", str(model), "--format", "conll", str(ragged)])
    assert result.exit_code == 1
    assert f"Error: {ragged}:2: expected 3 columns as on line 1, got 2" in result.stderr
    assert "Traceback" not in result.output


def test_train_ragged_conll(tmp_path):
    ragged = tmp_path / "ragged.txt"
    ragged.write_text("the\tDT\tB-NP\ncat\tNN\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["train", "--train", str(ragged), "--out", str(tmp_path / "run")])
    assert result.exit_code == 1
    assert f"{ragged}:2: expected 3 columns" in result.stderr


def test_text_input_to_a_feature_model_is_refused(feature_model):
    result = CliRunner().invoke(cli, ["tag", "--model", str(feature_model), "--format", "text", "-"],
                                input="the cat\n")
    assert result.exit_code == 2
    assert "feature columns [1]" in result.stderr and "--format conll" in result.stderr


def test_model_directory_errors(trained, tmp_path):
    model, _ = trained
    result = CliRunner().invoke(cli, ["tag", "--model", str(tmp_path / "none"), "-"], input="a\n")
    assert result.exit_code == 2 and "no such model directory" in result.stderr
    result = CliRunner().invoke(cli, ["info", str(model.parent)])  # the run dir, not run/model
    assert result.exit_code == 2 and "did you mean its model/ subdirectory?" in result.stderr


def test_evaluate_needs_gold_tags(trained, tmp_path):
    model, _ = trained
    words = tmp_path / "words.txt"
    words.write_text("the\ncat\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["evaluate", "--model", str(model), "--data", str(words), "--format", "text"])
    assert result.exit_code == 2 and "plain text has no gold tags" in result.stderr
    result = CliRunner().invoke(cli, ["evaluate", "--model", str(model), "--data", str(words)])
    assert result.exit_code == 1 and f"{words}:1: missing tag column" in result.stderr


def test_bad_config_and_column(work, tmp_path):
    config = tmp_path / "bad.json"
    config.write_text('{"model": {"hiden_size": 3}}', encoding="utf-8")
    result = CliRunner().invoke(cli, ["train", "--train", str(work / "train.txt"), "--out", str(tmp_path),
                                      "--config", str(config)])
    assert result.exit_code == 1 and "model.hiden_size" in result.stderr
    result = CliRunner().invoke(cli, ["train", "--train", str(work / "train.txt"), "--out", str(tmp_path),
                                      "--word-column", "lemmas"])
    assert result.exit_code == 2 and "is neither a column index" in result.stderr


def test_python_m_tags_stdin_with_the_bundled_model():
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "tag"], input="The dog barks .\n", capture_output=True,
        text=True, cwd=ROOT, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split("\n")
    assert lines[0] == "The\tDET"
    assert [line.split("\t")[0] for line in lines[:4]] == ["The", "dog", "barks", "."]
    assert lines[1] == "dog\tNOUN" and lines[3] == ".\tPUNCT"
    assert lines[4:] == ["", ""]


def test_tag_output_is_replaced_only_when_tagging_succeeds(trained, tmp_path):
    model, _ = trained
    out = tmp_path / "tagged.txt"
    out.write_text("yesterday's results\n", encoding="utf-8")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"the cat\n" * 3000 + b"a \xff\xfe byte\n")  # invalid UTF-8 on line 3001
    result = run("tag", "--model", model, "--format", "text", "-o", out, bad)
    assert result.exit_code != 0 and "bad.txt" in result.output and "Traceback" not in result.output
    assert out.read_text(encoding="utf-8") == "yesterday's results\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.txt", "tagged.txt"]  # no temporary left


def test_tag_refuses_to_write_over_its_input(trained, tmp_path):
    model, _ = trained
    text = tmp_path / "in.txt"
    text.write_text("the cat sees a dog .\n", encoding="utf-8")
    result = run("tag", "--model", model, "-o", text, text)
    assert result.exit_code == 2 and "is the input file" in result.output
    assert text.read_text(encoding="utf-8") == "the cat sees a dog .\n"
    result = run("tag", "--model", model, "-o", tmp_path / "no" / "such" / "out.txt", text)
    assert result.exit_code == 2 and "no folder" in result.output


def test_train_reads_a_vectors_model_directory_and_adds_its_words(work, tmp_path):
    import numpy as np

    from hybrid.embeddings import WordVectors
    from hybrid.embeddings.directory import save_vectors_as_is
    from hybrid.models.io import load_tagger

    words = ["the", "cat", "okapi", "zebra"]
    save_vectors_as_is(WordVectors(words, np.ones((4, tiny_config().model.word_dim), np.float32)), tmp_path / "vec")
    result = run("train", "--train", work / "train.txt", "--out", tmp_path / "run", "--config", work / "tiny.json",
                 "--embeddings", tmp_path / "vec", "--embeddings-vocab", "3", "--epochs", "1", "--quiet")
    assert result.exit_code == 0, result.output
    vocabulary = load_tagger(tmp_path / "run" / "model").vocabs.words
    assert "okapi" in vocabulary and "zebra" not in vocabulary  # the vectors' first 3 words only
