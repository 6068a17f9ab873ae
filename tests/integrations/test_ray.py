"""Bulk tagging on a local Ray cluster: files and datasets tagged exactly as `hybrid tag` tags them,
in order, and the documented errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli
from hybrid.errors import ConfigError

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")
from hybrid.integrations.ray import TAGGED, TAGS, TEXT, output_paths, sentence_blocks, tag_dataset  # noqa: E402

CONLLU = """# sent_id = 1
# text = The cat sat .
1\tThe\t_\t_\t_\t_\t_\t_\t_\t_
2\tcat\t_\t_\t_\t_\t_\t_\t_\t_
3\tsat\t_\t_\t_\t_\t_\t_\t_\t_
4\t.\t_\t_\t_\t_\t_\t_\t_\t_

# sent_id = 2
1-2\tdon't\t_\t_\t_\t_\t_\t_\t_\t_
1\tdo\t_\t_\t_\t_\t_\t_\t_\t_
2\tn't\t_\t_\t_\t_\t_\t_\t_\t_
3\tgo\t_\t_\t_\t_\t_\t_\t_\t_
"""


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def run(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ray-in")
    words = "the a dog cat saw runs quickly big house in".split()
    lines = [" ".join(words[(i * 7 + j * 3) % len(words)] for j in range(3 + i % 9)) for i in range(300)]
    lines[17] = "   "  # a blank line: no sentence, as `hybrid tag` skips it
    (folder / "many.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "few.txt").write_text("The quick brown fox jumps .\nI saw 42 cats\n", encoding="utf-8")
    (folder / "ud.conllu").write_text(CONLLU, encoding="utf-8")
    return folder


def test_files_are_tagged_as_hybrid_tag_tags_them_in_order(cluster, inputs, tmp_path):
    out = tmp_path / "tagged"
    result = run("tag", "--ray", "--workers", 2, "--batch-size", 16, inputs / "many.txt", inputs / "few.txt",
                 "--output", out)
    assert result.exit_code == 0, result.output
    for name in ("many.txt", "few.txt"):
        alone = run("tag", inputs / name)
        assert alone.exit_code == 0
        assert (out / name).read_text(encoding="utf-8") == alone.stdout


def test_conllu_keeps_every_line_as_hybrid_tag_does(cluster, inputs, tmp_path):
    result = run("tag", "--ray", "--format", "conllu", inputs / "ud.conllu", "--output", tmp_path)
    assert result.exit_code == 0, result.output
    alone = run("tag", "--format", "conllu", inputs / "ud.conllu")
    assert (tmp_path / "ud.conllu").read_text(encoding="utf-8") == alone.stdout
    assert "1-2\tdon't" in alone.stdout  # the multi-word range passed through untagged


def test_a_dataset_gets_tags_and_tagged_columns(cluster):
    rows = [{TEXT: "The cat sat ."}, {TEXT: "   "}, {TEXT: "Dogs run"}]
    got = tag_dataset(ray.data.from_items(rows), batch_size=2).take_all()
    reference = CliRunner().invoke(cli, ["tag"], input="The cat sat .\nDogs run\n").stdout.split("\n\n")
    assert [r[TEXT] for r in got] == [r[TEXT] for r in rows]  # order kept
    assert got[1][TAGS] == "" and got[1][TAGGED] == ""
    assert got[0][TAGGED] == reference[0] + "\n\n"
    assert got[0][TAGS].split() == [line.split("\t")[1] for line in reference[0].splitlines()]
    assert len(got[2][TAGS].split()) == 2


def test_a_malformed_block_names_its_line_in_the_file(cluster, tmp_path):
    bad = tmp_path / "bad.conllu"
    bad.write_text(CONLLU + "\n1\tonly-two-columns\n", encoding="utf-8")
    with pytest.raises(Exception, match=r"bad.conllu:14"):
        tag_dataset(ray.data.from_items(list(sentence_blocks(bad))), fmt="conllu", source=str(bad)).take_all()


def test_sentence_blocks_split_at_blank_lines(tmp_path):
    path = tmp_path / "x.conllu"
    path.write_text("\n\n" + CONLLU + "\n\n", encoding="utf-8")
    blocks = list(sentence_blocks(path))
    assert [b["line"] for b in blocks] == [3, 10]
    assert blocks[0][TEXT].startswith("# sent_id = 1") and blocks[1][TEXT].endswith("go\t_\t_\t_\t_\t_\t_\t_\t_")


def test_outputs_may_not_collide_or_replace_an_input(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.txt").write_text("hi\n")
    (tmp_path / "x.txt").write_text("hi\n")
    with pytest.raises(ConfigError, match="both be written"):
        output_paths([tmp_path / "x.txt", tmp_path / "a" / "x.txt"], tmp_path / "out")
    with pytest.raises(ConfigError, match="is the input file"):
        output_paths([tmp_path / "x.txt"], tmp_path)
    with pytest.raises(ConfigError, match="no such file"):
        output_paths([tmp_path / "missing.txt"], tmp_path / "out")


def test_ray_usage_errors(tmp_path):
    (tmp_path / "x.txt").write_text("hi\n")
    assert "standard input" in run("tag", "--ray", "--output", tmp_path / "o").output
    assert "give --output FOLDER" in run("tag", "--ray", tmp_path / "x.txt").output
    assert "--k 1" in run("tag", "--ray", "--k", 2, tmp_path / "x.txt", "--output", tmp_path / "o").output
    assert "go with --ray" in run("tag", "--workers", 2, tmp_path / "x.txt").output
    assert "with --ray" in run("tag", tmp_path / "x.txt", tmp_path / "x.txt").output
    assert "is a folder" in run("tag", tmp_path / "x.txt", "--output", tmp_path).output
