"""`hybrid embed evaluate | neighbors | analogy | plot` through CliRunner, with their usage errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from cli.main import cli
from hybrid.embeddings import WordVectors, write_vectors


@pytest.fixture()
def vectors(tmp_path):
    rng = np.random.default_rng(0)
    words = ["the", "man", "woman", "king", "queen", "boy", "girl", "apple", "orange", "fruit"]
    base = {w: rng.normal(size=8) for w in words}
    offset = rng.normal(size=8)
    for a, b in (("man", "woman"), ("king", "queen"), ("boy", "girl")):
        base[b] = base[a] + offset
    path = tmp_path / "vectors.bin"
    write_vectors(WordVectors(words, np.stack([base[w] for w in words]).astype(np.float32)), path, binary=True)
    (tmp_path / "q.txt").write_text(": family\nman woman king queen\nman woman cat dog\n: gram1\nboy girl man woman\n")
    (tmp_path / "s.tsv").write_text("man\twoman\t9\napple\torange\t8\nthe\tking\t1\n")
    return path


def _run(*args):
    return CliRunner().invoke(cli, ["embed", *args])


def test_analogy_lists_queen_first(vectors):
    result = _run("analogy", "--vectors", str(vectors), "man", "woman", "king")
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.output.splitlines()]
    assert len(rows) == 5 and rows[0][:2] == ["1", "queen"] and -1 <= float(rows[0][2]) <= 1


def test_evaluate_prints_the_tables_and_json(vectors):
    folder = vectors.parent
    result = _run("evaluate", "--vectors", str(vectors), "--analogies", str(folder / "q.txt"), "--similarity",
                  str(folder / "s.tsv"))
    assert result.exit_code == 0, result.output
    assert "semantic" in result.output and "Spearman rho" in result.output
    as_json = json.loads(_run("evaluate", "--vectors", str(vectors), "--analogies", str(folder / "q.txt"),
                              "--json").output)
    assert as_json["analogies"]["total"]["scored"] == 2 and as_json["analogies"]["total"]["unknown"] == 1
    assert as_json["analogies"]["total"]["3cosadd"] == 100.0


def test_neighbors_and_plot(vectors, tmp_path):
    result = _run("neighbors", "--vectors", str(vectors), "-k", "3", "king", "apple")
    assert result.exit_code == 0 and result.output.startswith("king: ") and len(result.output.splitlines()) == 2
    for method in ("tsne", "pca"):
        out = tmp_path / f"map-{method}.png"
        plotted = _run("plot", "--vectors", str(vectors), "--words", "man,woman,king,queen,apple,orange", "--method",
                       method, "--out", str(out))
        assert plotted.exit_code == 0, plotted.output
        assert out.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(("args", "message"), [
    (["analogy", "man", "woman", "cat"], "not in"),
    (["neighbors", "cat"], "'cat' is not in"),
    (["evaluate"], "give --analogies FILE, --similarity FILE, or both"),
    (["plot", "--out", "x.png"], "give --words W1,W2,... or --top N"),
    (["plot", "--words", "man,cat", "--out", "x.png"], "not in"),
])
def test_usage_errors(vectors, args, message):
    result = _run(args[0], "--vectors", str(vectors), *args[1:])
    assert result.exit_code == 2 and message in result.output


def test_a_bad_vectors_file_is_one_error_line(tmp_path):
    (tmp_path / "bad.txt").write_text("2 3\nthe 0.1\n")
    result = CliRunner().invoke(cli, ["embed", "neighbors", "--vectors", str(tmp_path / "bad.txt"), "the"])
    assert result.exit_code == 1 and "bad.txt:2: expected 3 values, got 1" in result.output
