"""`hybrid train --layer ctc` and tag / evaluate / info on the CTC model it saves: the pairs
reader, vocabularies, save/load round trip, the trainer hooks, and the documented errors."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest
import torch
from click.testing import CliRunner

from cli.main import cli
from hybrid.config import TaggerConfig, load_json
from hybrid.data.pairs import BLANK, CTCVocabs, read_pairs
from hybrid.errors import ConfigError
from hybrid.models.ctc import CTCModel
from hybrid.models.io import load_tagger, save_tagger
from hybrid.train.ctc import evaluate_ctc, read_labelled_pairs

DIGITS = "zero one two three four five six seven eight nine".split()


def spelled(n: int, rng: random.Random) -> tuple[str, str]:
    """'t w o _ s e v e n' -> '2 7': labels far shorter than the input and not aligned with it."""
    digits = [rng.randrange(10) for _ in range(n)]
    return " ".join("_".join(DIGITS[d] for d in digits).replace("", " ").split()), " ".join(map(str, digits))


def write_pairs(path, count: int, seed: int) -> None:
    rng = random.Random(seed)
    path.write_text("".join("\t".join(spelled(rng.randint(1, 3), rng)) + "\n" for _ in range(count)), encoding="utf-8")


def run(*args, **kwargs):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False, **kwargs)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("ctc")
    write_pairs(root / "train.tsv", 300, 0)
    write_pairs(root / "dev.tsv", 40, 1)
    write_pairs(root / "test.tsv", 40, 2)
    result = run("train", "--layer", "ctc", "--train", root / "train.tsv", "--dev", root / "dev.tsv",
                 "--out", root / "run", "--word-dim", 16, "--hidden-size", 32, "--dropout", 0.0, "--lr", 0.01,
                 "--epochs", 12, "--patience", 12, "--batch-size", 16, "--seed", 3, "-q")
    assert result.exit_code == 0, result.output
    return root


def test_training_learns_the_unaligned_task_and_saves_a_model(trained):
    summary = json.loads((trained / "run" / "summary.json").read_text())
    assert summary["metric"] == "label_accuracy"
    assert summary["best_dev"] > 90  # spelled digits -> digits is easy; untrained it is ~0
    config = json.loads((trained / "run" / "model" / "config.json").read_text())
    assert config["model"]["layer"] == "ctc" and config["data"]["format"] == "pairs"


def test_save_load_round_trip_gives_identical_outputs(trained, tmp_path):
    model = load_tagger(trained / "run" / "model")
    assert isinstance(model, CTCModel) and model.vocabs.labels.token(0) == BLANK
    pairs = read_labelled_pairs(trained / "test.tsv")
    batch = model.vocabs.encode(pairs)
    config = load_json(TaggerConfig, trained / "run" / "config.json")
    save_tagger(model, tmp_path / "again", config)
    again = load_tagger(tmp_path / "again")
    with torch.no_grad():
        assert torch.equal(model(batch.ids)[0], again(batch.ids)[0])
    assert again.predict(pairs) == model.predict(pairs)


def test_tag_evaluate_and_info(trained):
    model = trained / "run" / "model"
    pairs = read_labelled_pairs(trained / "test.tsv")
    inputs = "".join(" ".join(p.inputs) + "\n" for p in pairs)
    tagged = run("tag", "--model", model, input=inputs)
    assert tagged.exit_code == 0, tagged.output
    lines = tagged.output.splitlines()
    assert lines == [" ".join(labels) for labels in load_tagger(model).predict(pairs)]
    expected = evaluate_ctc(load_tagger(model), pairs)
    scored = run("evaluate", "--model", model, "--data", trained / "test.tsv", "--json")
    figures = json.loads(scored.output)
    assert figures["ler"] == pytest.approx(expected["ler"]) and figures["labels"] == sum(len(p.labels) for p in pairs)
    assert sum(a == " ".join(p.labels) for a, p in zip(lines, pairs, strict=True)) == round(
        figures["sentence_accuracy"] * len(pairs) / 100)
    table = run("evaluate", "--model", model, "--data", trained / "test.tsv")
    assert "LER" in table.output and "label accuracy" in table.output
    info = run("info", model)
    assert "ctc" in info.output and "labels (10)" in info.output
    assert run("tag", "--model", model, "--k", 2, input=inputs).exit_code == 2


def test_tag_as_a_subprocess(trained, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("o n e _ t w o\n", encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "cli.main", "tag", "--model", str(trained / "run" / "model"), str(src)],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1 2"


def test_layer_and_format_must_agree(tmp_path):
    write_pairs(tmp_path / "p.tsv", 10, 0)
    bad = CliRunner().invoke(cli, ["train", "--layer", "ctc", "--format", "conll", "--train", str(tmp_path / "p.tsv"),
                                   "--out", str(tmp_path / "o")])
    assert bad.exit_code == 2 and "pairs" in bad.output
    bad = CliRunner().invoke(cli, ["train", "--format", "pairs", "--train", str(tmp_path / "p.tsv"),
                                   "--out", str(tmp_path / "o")])
    assert bad.exit_code == 2 and "--layer ctc" in bad.output


def test_a_malformed_pairs_file_names_the_line(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("a b\t1\nc d\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["train", "--layer", "ctc", "--train", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code != 0 and "bad.tsv:2" in result.output and "2 tab-separated columns" in result.output


def test_pairs_without_labels_are_read_for_prediction_only(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("a b c\n\n# comment\nd e\t1 2\n", encoding="utf-8")
    pairs = list(read_pairs(path, require_labels=False))
    assert [(p.inputs, p.labels, p.line) for p in pairs] == [(("a", "b", "c"), (), 1), (("d", "e"), ("1", "2"), 4)]


def test_vocabularies_round_trip_and_reject_a_missing_blank():
    pairs = [p for p in read_pairs(["a b c\tX Y", "b c\tY"])]
    vocabs = CTCVocabs.build(pairs)
    assert vocabs.num_labels == 2 and vocabs.labels.index("Y") >= 1
    again = CTCVocabs.from_dict(json.loads(json.dumps(vocabs.to_dict())))
    assert again == vocabs
    batch = vocabs.encode(pairs)
    assert batch.ids.shape == (2, 3) and batch.targets.tolist()[1][1] == 0 and batch.target_lengths.tolist() == [2, 1]
    broken = vocabs.to_dict()
    broken["labels"]["pad"] = None
    with pytest.raises(ConfigError, match="blank"):
        CTCVocabs.from_dict(broken)


def test_pairs_too_short_for_their_labels_add_no_loss_and_are_reported(tmp_path):
    path = tmp_path / "p.tsv"
    path.write_text("a b c\t1 2\na\t1 1\nb c\t2\n", encoding="utf-8")  # '1 1' needs 3 frames, has 1
    result = run("train", "--layer", "ctc", "--train", path, "--dev", path, "--out", tmp_path / "o", "--epochs", 1,
                 "--word-dim", 4, "--hidden-size", 4, "-q")
    assert result.exit_code == 0
    assert "1 training pairs have fewer input tokens than their labels need" in result.output
    assert '"impossible_pairs": 1' in result.output


def test_the_blank_is_no_label_and_the_metric_must_fit_the_layer(tmp_path):
    from hybrid.errors import DataFormatError

    with pytest.raises(DataFormatError, match="reserved"):
        CTCVocabs.build(read_pairs(["a b\t<blank> x"]))
    write_pairs(tmp_path / "p.tsv", 10, 0)
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"train": {"metric": "f1"}}), encoding="utf-8")
    bad = CliRunner().invoke(cli, ["train", "--layer", "ctc", "--config", str(config), "--train",
                                   str(tmp_path / "p.tsv"), "--out", str(tmp_path / "o")])
    assert bad.exit_code == 1 and "does not fit the ctc layer" in bad.output


def test_rl_finetune_refuses_a_ctc_model(trained, tmp_path):
    result = CliRunner().invoke(cli, ["rl-finetune", "--model", str(trained / "run" / "model"), "--out",
                                      str(tmp_path / "rl"), "--reward", "accuracy", "--train",
                                      str(trained / "train.tsv"), "--dev", str(trained / "dev.tsv")])
    assert result.exit_code == 2 and "not CTC models" in result.output
