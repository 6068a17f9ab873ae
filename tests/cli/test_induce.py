"""`hybrid induce` through click's CliRunner on a tiny made-up corpus."""

from __future__ import annotations

import json

from click.testing import CliRunner

from cli.main import cli
from hybrid.unsupervised import InducedHMM

SENTENCES = [
    [("the", "DET"), ("dog", "NOUN"), ("runs", "VERB")],
    [("a", "DET"), ("cat", "NOUN"), ("sleeps", "VERB"), ("quickly", "ADV")],
    [("the", "DET"), ("bird", "NOUN"), ("sings", "VERB")],
    [("a", "DET"), ("dog", "NOUN"), ("eats", "VERB"), ("slowly", "ADV")],
] * 5


def write_conllu(path) -> None:
    blocks = []
    for sent in SENTENCES:
        rows = [f"{i}\t{w}\t{w}\t{t}\t_\t_\t0\tdep\t_\t_" for i, (w, t) in enumerate(sent, 1)]
        blocks.append("\n".join(rows))
    path.write_text("\n\n".join(blocks) + "\n\n", encoding="utf-8")


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def _summary(stdout: str) -> dict:
    return json.loads(stdout[stdout.index("{"):])


def test_induce_saves_a_model_and_reports_scores(tmp_path):
    data = tmp_path / "train.conllu"
    write_conllu(data)
    out = tmp_path / "induced"
    result = run("induce", "--data", data, "--states", 4, "--out", out, "--iterations", 30, "--seed", 1,
                 "--min-count", 1, "--eval-data", data, "--tag-column", "upos", "--quiet")
    assert result.exit_code == 0, result.output
    summary = _summary(result.output)
    assert summary["states"] == 4 and 1 <= summary["iterations_run"] <= 30
    scores = summary["eval"]
    assert 0.0 <= scores["one_to_one"] <= scores["many_to_one"] <= 1.0
    assert scores["tokens"] == sum(map(len, SENTENCES))
    assert {p.name for p in out.iterdir()} == {"induction.json", "model.safetensors", "result.json"}
    model = InducedHMM.load(out)
    assert model.config.states == 4 and model.config.seed == 1
    assert len(model.predict([["the", "cat", "runs"]])[0]) == 3


def test_induce_on_plain_text_with_progress(tmp_path):
    data = tmp_path / "words.txt"
    data.write_text("the dog runs\na cat sleeps\nthe bird sings quickly\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["induce", "--data", str(data), "--states", "2", "--out", str(tmp_path / "m"),
                                      "--format", "text", "--iterations", "3"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "iter    1" in result.output  # progress (stderr is mixed into output by CliRunner)
    assert "eval" not in _summary(result.output[result.output.index("\n{") + 1:])


def test_text_format_cannot_be_evaluated(tmp_path):
    data = tmp_path / "words.txt"
    data.write_text("the dog runs\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["induce", "--data", str(data), "--states", "2", "--out", str(tmp_path / "m"),
                                      "--format", "text", "--eval-data", str(data)])
    assert result.exit_code == 2
    assert "gold tags" in result.output


def test_induce_is_listed_in_help():
    result = run("--help")
    assert "induce" in result.output
