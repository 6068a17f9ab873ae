"""Every command on a table of bad inputs: unreadable, binary, wrongly encoded, empty or ragged
data files, tampered model directories and checkpoints, bad options. Each case must exit
non-zero with one `Error:` line (naming the file, where there is one), no traceback, and no
file outside its run directory changed.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli
from tests.seq2seq_tiny import write_parallel_files
from tests.tiny import write_conll_file

CONTENTS: dict[str, bytes | None] = {  # None: the path does not exist
    "missing": None,
    "binary": bytes(range(256)) * 8,
    "invalid-utf8": b"the cat \xff\xfe sat .\n",
    "latin1": "le caf\xe9 na\xefve .\n".encode("latin-1"),
    "empty": b"",
    "blank": b"\n\n\n",
}
ACCEPTS_EMPTY = ("tag", "generate")  # an empty input is a valid input to tag or translate: no output
MODEL_TAMPERING: dict[str, Callable[[Path], None]] = {
    "config-list": lambda d: (d / "config.json").write_text("[1, 2]"),
    "config-string": lambda d: (d / "config.json").write_text('"hybrid"'),
    "config-latin1": lambda d: (d / "config.json").write_bytes('{"format": "caf\xe9"}'.encode("latin-1")),
    "config-invalid-json": lambda d: (d / "config.json").write_text('{"format": '),
    "config-unknown-format": lambda d: _edit(d, lambda c: c.update(format="hybrid-spaceship")),
    "config-future-version": lambda d: _edit(d, lambda c: c.update(format_version=99)),
    "config-unknown-key": lambda d: _edit(d, lambda c: c.update(colour="blue")),
    "config-size-zero": lambda d: _edit(d, lambda c: _sizes(c, 0)),
    "config-size-negative": lambda d: _edit(d, lambda c: _sizes(c, -5)),
    "config-size-huge": lambda d: _edit(d, lambda c: _sizes(c, 10**9)),
    "vocab-edited": lambda d: (d / "vocab.json").write_text(
        (d / "vocab.json").read_text().replace('"<unk>"', '"<UNK>"')),
    "vocab-invalid-json": lambda d: (d / "vocab.json").write_text("{"),
    "weights-truncated": lambda d: (d / "model.safetensors").write_bytes((d / "model.safetensors").read_bytes()[:100]),
    "weights-empty": lambda d: (d / "model.safetensors").write_bytes(b""),
    "weights-missing": lambda d: (d / "model.safetensors").unlink(),
    "config-missing": lambda d: (d / "config.json").unlink(),
}
CHECKPOINTS = {"empty": b"", "junk": b"PK\x03\x04 not a zip", "text": b"hello\n"}


def _edit(directory: Path, change: Callable[[dict], object]) -> None:
    config = json.loads((directory / "config.json").read_text())
    change(config)
    (directory / "config.json").write_text(json.dumps(config))


def _sizes(config: dict, value: int) -> None:
    section = config.get("model", config)
    for key in ("hidden_size", "encoder_hidden", "decoder_hidden"):
        if key in section:
            section[key] = value


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Good data, one small saved model of each kind, and a folder of bad files."""
    root = tmp_path_factory.mktemp("bad")
    good = root / "good"
    good.mkdir()
    write_conll_file(good / "tagged.txt", n=16)
    write_parallel_files(good, {"train": 16, "dev": 4})
    (good / "lines.txt").write_text("the cat sat\na dog ran\n", encoding="utf-8")
    (good / "pairs.tsv").write_text("one two\t1 2\nthree\t3\n", encoding="utf-8")
    (good / "labelled.txt").write_text("pos\ta good film\nneg\ta bad film\n", encoding="utf-8")
    runner = CliRunner()
    small = ["--epochs", "1", "-q"]
    tagger = ["train", "--train", str(good / "tagged.txt"), "--out", str(root / "tagger"), "--hidden-size", "8",
              "--word-dim", "8", "--char-encoder", "none", *small]
    assert runner.invoke(cli, tagger).exit_code == 0
    assert runner.invoke(cli, ["seq2seq", "train", "--train-src", str(good / "train.src"), "--train-tgt",
                               str(good / "train.tgt"), "--dev-src", str(good / "dev.src"), "--dev-tgt",
                               str(good / "dev.tgt"), "--out", str(root / "s2s"), "--embedding-dim", "8",
                               "--encoder-hidden", "8", "--decoder-hidden", "8", *small]).exit_code == 0
    bad = root / "bad"
    bad.mkdir()
    for name, content in CONTENTS.items():
        if content is not None:
            (bad / f"{name}.txt").write_bytes(content)
    (bad / "ragged.txt").write_text("the DT B-NP\ncat NN\n", encoding="utf-8")
    (bad / "short.tgt").write_text("w1\n", encoding="utf-8")  # fewer lines than its sources
    (bad / "one-word.txt").write_text("word\n", encoding="utf-8")  # nothing for Baum-Welch's transitions
    return root


def _slots(root: Path) -> dict[str, tuple[str, list[str]]]:
    """name: (the command's first word, its arguments with FILE where the bad file goes)."""
    good, out = root / "good", ["--out", "RUN"]
    tagger, s2s = str(root / "tagger" / "model"), str(root / "s2s" / "model")
    s2s_data = {"--train-src": str(good / "train.src"), "--train-tgt": str(good / "train.tgt"),
                "--dev-src": str(good / "dev.src"), "--dev-tgt": str(good / "dev.tgt")}

    def with_file(base: dict[str, str], option: str) -> list[str]:
        return [x for k, v in {**base, option: "FILE"}.items() for x in (k, v)]

    slots = {
        "train --train": ("train", ["train", "--train", "FILE", *out, "--epochs", "1"]),
        "train --dev": ("train", ["train", "--train", str(good / "tagged.txt"), "--dev", "FILE", *out]),
        "train conllu": ("train", ["train", "--format", "conllu", "--train", "FILE", *out]),
        "train ctc": ("train", ["train", "--layer", "ctc", "--train", "FILE", *out]),
        "evaluate tagger": ("evaluate", ["evaluate", "--model", tagger, "--data", "FILE"]),
        "tag text": ("tag", ["tag", "--model", tagger, "FILE"]),
        "tag conll": ("tag", ["tag", "--model", tagger, "--format", "conll", "FILE"]),
        "generate": ("generate", ["generate", "--model", s2s, "FILE"]),
        "evaluate seq2seq --data": ("evaluate", ["evaluate", "--model", s2s, "--data", "FILE", "--references",
                                                 str(good / "dev.tgt")]),
        "evaluate seq2seq --references": ("evaluate", ["evaluate", "--model", s2s, "--data", str(good / "dev.src"),
                                                       "--references", "FILE"]),
        "lm-train --train": ("lm-train", ["lm-train", "--train", "FILE", "--dev", str(good / "lines.txt"), *out]),
        "lm-train --dev": ("lm-train", ["lm-train", "--train", str(good / "lines.txt"), "--dev", "FILE", *out]),
        "rl-finetune tagger --train": ("rl-finetune", ["rl-finetune", "--model", tagger, "--train", "FILE", "--dev",
                                                       str(good / "tagged.txt"), *out]),
        "gan-train tagger --dev": ("gan-train", ["gan-train", "--model", tagger, "--train", str(good / "tagged.txt"),
                                                 "--dev", "FILE", *out]),
        "induce": ("induce", ["induce", "--data", "FILE", "--format", "text", "--states", "3", *out]),
        "classify train": ("classify", ["classify", "train", "--train", "FILE", *out]),
        "classify train --dev": ("classify", ["classify", "train", "--train", str(good / "labelled.txt"), "--dev",
                                              "FILE", *out]),
    }
    for option in s2s_data:
        slots[f"seq2seq train {option}"] = ("seq2seq", ["seq2seq", "train", *with_file(s2s_data, option), *out])
    for option in ("--train-src", "--dev-tgt"):
        slots[f"rl-finetune {option}"] = ("rl-finetune", ["rl-finetune", "--model", s2s,
                                                          *with_file(s2s_data, option), *out])
        slots[f"gan-train {option}"] = ("gan-train", ["gan-train", "--model", s2s, *with_file(s2s_data, option), *out])
    return slots


def _cases(root: Path) -> list[tuple[str, list[str], str | None]]:
    """(case id, arguments, the name the error must mention or None)."""
    cases = []
    for slot, (command, args) in _slots(root).items():
        contents = [c for c in CONTENTS if not (command in ACCEPTS_EMPTY and c in ("empty", "blank"))]
        for content in [*contents, "directory"]:
            path = root / "bad" if content == "directory" else root / "bad" / f"{content}.txt"
            cases.append((f"{slot} / {content}", [str(path) if a == "FILE" else a for a in args], path.name))
        tagged = ("train --", "evaluate tagger", "rl-finetune tagger", "gan-train tagger")
        if "conll" in slot or slot.startswith(tagged):
            cases.append((f"{slot} / ragged", [str(root / "bad" / "ragged.txt") if a == "FILE" else a for a in args],
                          "ragged.txt"))
        if slot == "induce":
            cases.append((f"{slot} / one word", [str(root / "bad" / "one-word.txt") if a == "FILE" else a
                                                 for a in args], None))
        if slot.endswith(("--train-tgt", "--dev-tgt", "--references")):
            cases.append((f"{slot} / fewer lines", [str(root / "bad" / "short.tgt") if a == "FILE" else a
                                                    for a in args], "short"))
    return cases


def _model_cases(root: Path) -> list[tuple[str, str, Callable[[Path], list[str]]]]:
    """(case id, which model, arguments given the tampered copy)."""
    good = root / "good"
    uses = {
        "tagger": {"tag": lambda m: ["tag", "--model", str(m), str(good / "lines.txt")],
                   "tag onnx": lambda m: ["tag", "--engine", "onnx", "--model", str(m), str(good / "lines.txt")],
                   "evaluate": lambda m: ["evaluate", "--model", str(m), "--data", str(good / "tagged.txt")],
                   "info": lambda m: ["info", str(m)],
                   "rl-finetune": lambda m: ["rl-finetune", "--model", str(m), "--train", str(good / "tagged.txt"),
                                             "--dev", str(good / "tagged.txt"), "--out", "RUN"]},
        "s2s": {"generate": lambda m: ["generate", "--model", str(m), str(good / "dev.src")],
                "evaluate": lambda m: ["evaluate", "--model", str(m), "--data", str(good / "dev.src"),
                                       "--references", str(good / "dev.tgt")],
                "info": lambda m: ["info", str(m)]},
    }
    return [(f"{model} {use} / {tampering}", model, tampering, build)  # type: ignore[misc]
            for model, commands in uses.items() for use, build in commands.items() for tampering in MODEL_TAMPERING]


def _checkpoint_cases(root: Path) -> list[tuple[str, list[str]]]:
    """(case id, arguments with RUN) of every trainer resuming from a damaged checkpoint."""
    slots = _slots(root)
    trainers = ["train --train", "seq2seq train --train-src", "lm-train --train", "rl-finetune --train-src",
                "gan-train --train-src"]
    good = {"train --train": root / "good" / "tagged.txt", "seq2seq train --train-src": root / "good" / "train.src",
            "lm-train --train": root / "good" / "lines.txt", "rl-finetune --train-src": root / "good" / "train.src",
            "gan-train --train-src": root / "good" / "train.src"}
    return [(f"{slot} --resume / checkpoint {kind}", [str(good[slot]) if a == "FILE" else a for a in slots[slot][1]]
             + ["--resume"]) for slot in trainers for kind in CHECKPOINTS]


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """(size, mtime) of every file under `root` except run directories and tampered copies."""
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")
            if p.is_file() and not {"runs", "copies"} & set(p.relative_to(root).parts)}


def _problem(result, mentions: str | None) -> str | None:
    """What is wrong with how a bad-input case ended (None: a clear error)."""
    if result.exit_code == 0:
        return "exit 0"
    if "Traceback" in result.output or not (result.exception is None or isinstance(result.exception, SystemExit)):
        return f"traceback: {result.exception!r}"
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    if len(errors) != 1:
        return f"{len(errors)} Error lines: {result.output!r}"
    if mentions is not None and mentions not in errors[0]:
        return f"the error does not name {mentions}: {errors[0]}"
    return None


def test_every_command_on_the_table_of_bad_inputs(world):
    runner = CliRunner()
    before = _snapshot(world)
    runs = world / "runs"
    problems, count = [], 0
    for case, args, mentions in _cases(world):
        count += 1
        result = runner.invoke(cli, [str(runs / f"r{count}") if a == "RUN" else a for a in args])
        problems.append((case, _problem(result, mentions)))
    for case, model, tampering, build in _model_cases(world):
        count += 1
        copy = world / "copies" / f"m{count}"
        shutil.copytree(world / model / "model", copy)
        MODEL_TAMPERING[tampering](copy)
        args = [str(runs / f"r{count}") if a == "RUN" else a for a in build(copy)]
        problems.append((case, _problem(runner.invoke(cli, args), copy.name)))
    for case, args in _checkpoint_cases(world):
        count += 1
        run = runs / f"r{count}"
        run.mkdir(parents=True)
        (run / "checkpoint.pt").write_bytes(CHECKPOINTS[case.rsplit(" ", 1)[1]])
        result = runner.invoke(cli, [str(run) if a == "RUN" else a for a in args])
        problems.append((case, _problem(result, "checkpoint.pt")))
    failed = [f"{case}: {problem}" for case, problem in problems if problem is not None]
    print(f"{count} bad-input cases, {count - len(failed)} clear errors, {len(failed)} not")
    assert not failed, "\n".join(failed)
    assert _snapshot(world) == before  # nothing outside the run directories and tampered copies changed
    assert count >= 300, count
