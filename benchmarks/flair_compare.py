"""hybrid against flair's SequenceTagger (BiLSTM-CRF) on CoNLL-2000 chunking, in one run on this
machine: training sentences/s, tagging tokens/s, test span F1 and peak memory of each.

Both tools train the same model (words + POS column + characters, 2 BiLSTM layers of 200,
CRF, Adam 1e-3, batch 32, dropout 0.5; see benchmarks/flair_conll.py for what could not be
matched) on the same train/dev/test sentences with the same time budget and early stopping.
The two trainings run at the same time, each with one thread on a core of its own (taskset),
so that machine load falls on both alike; tagging is then timed one tool after the other, one
thread each, on the test set at batch 256 (hybrid: the engine `hybrid tag` picks, and torch).
Training sentences/s leave dev evaluation out for both.

flair is a benchmark-only install in a virtualenv of its own (its pins clash with hybrid's):

    python3 -m venv flair-venv && flair-venv/bin/pip install torch==2.13.0 \\
        && flair-venv/bin/pip install flair==0.15.1 seqeval -c <(echo torch==2.13.0)
    python benchmarks/flair_compare.py --data conll2000 --flair-python flair-venv/bin/python \\
        --max-minutes 30 --out runs/flair-compare
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def start(command: list[str], core: int, log: Path) -> subprocess.Popen:
    """`command` on core `core` with one thread, its output in `log`."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    with open(log, "w") as handle:
        return subprocess.Popen(["taskset", "-c", str(core), *command], cwd=ROOT, env=env, stdout=handle,
                                stderr=subprocess.STDOUT)


def wait(process: subprocess.Popen, name: str, log: Path) -> float:
    """Wait for `process`; its peak resident memory in MiB (wait4's own child figure)."""
    _pid, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        sys.exit(f"{name} failed (exit {process.returncode}); see {log}:\n{log.read_text()[-3000:]}")
    return usage.ru_maxrss / 1024


def hybrid_command(args: argparse.Namespace, out: Path) -> list[str]:
    data = Path(args.data)
    return [sys.executable, "-m", "cli", "train", "--train", str(data / "train.txt"), "--feature-column", "1",
            "--num-layers", "2", "--hidden-size", "200", "--batch-size", "32", "--epochs", str(args.epochs),
            "--patience", str(args.patience), "--max-minutes", str(args.max_minutes), "--seed", str(args.seed),
            "--out", str(out), "--overwrite", "--quiet"]


def flair_command(args: argparse.Namespace, out: Path, *more: str) -> list[str]:
    return [args.flair_python, str(ROOT / "benchmarks" / "flair_conll.py"), "--data", str(Path(args.data).resolve()),
            "--num-layers", "2", "--hidden-size", "200", "--batch-size", "32", "--epochs", str(args.epochs),
            "--patience", str(args.patience), "--max-minutes", str(args.max_minutes), "--seed", str(args.seed),
            "--threads", "1", "--out", str(out.resolve()), *more]


def hybrid_training(out: Path, log: Path) -> dict:
    """Training figures of the hybrid run (as benchmarks/scaling.py counts them)."""
    text = log.read_text()
    printed = json.loads(text[text.rindex("\n{") + 1:])  # the summary the command prints last
    summary = json.loads((out / "summary.json").read_text())
    eval_s = sum(r.get("eval_s", 0.0) for r in summary["history"])
    train_s = 60 * summary["minutes"] - eval_s
    sentences = summary["steps_run"] / math.ceil(printed["train_sentences"] / 32) * printed["train_sentences"]
    return {"train_seconds": round(train_s, 1), "train_sentences_per_s": round(sentences / train_s, 1),
            "epochs_run": summary["epochs_run"], "best_epoch": summary["best_epoch"],
            "dev_f1": summary["best_dev"], "stopped_by": summary["stopped_by"]}


def hybrid_tagging(model: Path, test: Path) -> dict:
    """Test F1 and tagging tokens/s (one thread, batch 256) with the engine `hybrid tag` picks and with torch."""
    import torch

    from hybrid.config import DataConfig
    from hybrid.metrics import span_scores
    from hybrid.models.directory import read_config
    from hybrid.runtime.engines import choose_engine, load_engine
    from hybrid.train.tagging import read_tagged

    torch.set_num_threads(1)
    sentences = read_tagged(test, DataConfig(format="conll", word_column=0, tag_column=-1, feature_columns=(1,)))
    tokens = sum(len(s.words) for s in sentences)
    config = read_config(model)
    figures: dict = {"test_tokens": tokens}
    for engine in dict.fromkeys([choose_engine("auto", config.model, 1, model), "torch"]):
        encode, predict = load_engine(model, config.model, engine, 1, 256)
        predict(encode(sentences[:64]))  # warm-up (lazy initialisation)
        started = time.perf_counter()
        results = predict(encode(sentences))
        seconds = time.perf_counter() - started
        predicted = [best[0][0] for best in results]
        figures[engine] = {"tag_tokens_per_s": round(tokens / seconds, 1), "tag_seconds": round(seconds, 2),
                           "test_f1": round(span_scores([s.tags for s in sentences], predicted)["f1"], 2)}
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data/conll2000", help="folder with train.txt and test.txt")
    ap.add_argument("--flair-python", required=True, help="a python with flair and seqeval installed")
    ap.add_argument("--max-minutes", type=float, default=30.0)
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--patience", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="runs/flair-compare")
    ap.add_argument("--reuse", action="store_true", help="time tagging of runs already trained in --out")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    hybrid_out, flair_out = out / "hybrid", out / "flair"
    logs = {"hybrid": out / "hybrid.log", "flair": out / "flair.log"}
    peaks_path = out / "training_peaks.json"
    if not args.reuse:
        runs = {"hybrid": start(hybrid_command(args, hybrid_out), 0, logs["hybrid"]),
                "flair": start(flair_command(args, flair_out, "--no-tag"), 1, logs["flair"])}
        peaks = {name: round(wait(process, name, logs[name]), 1) for name, process in runs.items()}
        peaks_path.write_text(json.dumps(peaks) + "\n")
    peaks = json.loads(peaks_path.read_text())

    ours = {**hybrid_training(hybrid_out, logs["hybrid"]), **hybrid_tagging(hybrid_out / "model",
                                                                            Path(args.data) / "test.txt")}
    tag_log = out / "flair-tag.log"
    tagging = start(flair_command(args, flair_out, "--tag-only"), 0, tag_log)
    wait(tagging, "flair tagging", tag_log)
    theirs = json.loads((flair_out / "result.json").read_text())
    engine = next(key for key in ours if isinstance(ours[key], dict))  # the engine `hybrid tag` picks
    rows = {
        "hybrid": {"train_sentences_per_s": ours["train_sentences_per_s"], "epochs_run": ours["epochs_run"],
                   "tag_tokens_per_s": ours[engine]["tag_tokens_per_s"], "engine": engine,
                   "tag_tokens_per_s_torch": ours["torch"]["tag_tokens_per_s"], "test_f1": ours[engine]["test_f1"],
                   "dev_f1": ours["dev_f1"], "peak_training_mib": peaks["hybrid"]},
        "flair": {"train_sentences_per_s": theirs["train_sentences_per_s"], "epochs_run": theirs["epochs_run"],
                  "tag_tokens_per_s": theirs["tag_tokens_per_s"], "test_f1": theirs["test_f1"],
                  "dev_f1": theirs["dev_f1"], "peak_training_mib": peaks["flair"],
                  "version": theirs["flair_version"]},
    }
    rows["ratios"] = {"train_sentences_per_s": round(rows["hybrid"]["train_sentences_per_s"]
                                                     / rows["flair"]["train_sentences_per_s"], 2),
                      "tag_tokens_per_s": round(rows["hybrid"]["tag_tokens_per_s"] / rows["flair"]["tag_tokens_per_s"],
                                                2),
                      "test_f1_difference": round(rows["hybrid"]["test_f1"] - rows["flair"]["test_f1"], 2)}
    (out / "comparison.json").write_text(json.dumps(rows, indent=2) + "\n")
    print(json.dumps(rows, indent=2))
    print("| tool | training sentences/s | tagging tokens/s | test F1 | epochs | peak training MiB |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in ("hybrid", "flair"):
        r = rows[name]
        print(f"| {name} | {r['train_sentences_per_s']:.1f} | {r['tag_tokens_per_s']:,.0f} | {r['test_f1']:.2f} | "
              f"{r['epochs_run']} | {r['peak_training_mib']:.0f} |")


if __name__ == "__main__":
    main()
