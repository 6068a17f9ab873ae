"""Scaling `hybrid train` over processes: CoNLL-2000 chunking with 1 and 2 processes (one thread
each, torchrun and gloo), the same per-process batch and time budget; training sentences/s
(evaluation time left out), the speed-up, and test span F1 of each run.

Each run is the command a user types (`hybrid train ... --nproc N`); the BiLSTM-CRF settings
are those of the README's chunking row (words + POS column + characters, 2 layers, hidden 200,
batch 32 per process, early stopping on a seeded 10% of train). With N processes the global
batch is 32 x N.

    python benchmarks/scaling.py --data conll2000 --nproc 1,2 --max-minutes 20 --out runs/scaling
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def train(args: argparse.Namespace, nproc: int) -> dict:
    """One `hybrid train` run with `nproc` processes; its figures (test F1 scored here)."""
    out = Path(args.out) / f"nproc{nproc}"
    data = Path(args.data)
    cmd = [sys.executable, "-m", "cli", "train", "--train", str(data / "train.txt"), "--feature-column", "1",
           "--num-layers", "2", "--hidden-size", "200", "--batch-size", str(args.batch_size),
           "--epochs", str(args.epochs), "--patience", str(args.patience), "--max-minutes", str(args.max_minutes),
           "--seed", str(args.seed), "--out", str(out), "--overwrite", "--quiet", "--nproc", str(nproc)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    log_path = Path(args.out) / f"nproc{nproc}.log"
    if args.reuse and (out / "summary.json").is_file():
        print(f"reusing the finished run in {out}", flush=True)
    else:
        with open(log_path, "w") as log:
            subprocess.run(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, check=True)
    text = log_path.read_text()
    printed = json.loads(text[text.rindex("\n{") + 1:])  # the summary the command prints last
    summary = json.loads((out / "summary.json").read_text())  # with the evaluation records
    history = summary["history"]
    eval_s = sum(r.get("eval_s", 0.0) for r in history)
    train_s = 60 * summary["minutes"] - eval_s
    steps_per_epoch = math.ceil(printed["train_sentences"] / (args.batch_size * nproc))
    sentences = summary["steps_run"] / steps_per_epoch * printed["train_sentences"]

    import torch

    from hybrid.config import DataConfig
    from hybrid.models.io import load_tagger
    from hybrid.train.tagging import read_tagged
    from hybrid.train.trainer import evaluate

    torch.set_num_threads(1)
    model = load_tagger(out / "model")
    columns = DataConfig(format="conll", word_column=0, tag_column=-1, feature_columns=(1,))
    test = evaluate(model, read_tagged(data / "test.txt", columns))
    return {"nproc": nproc, "global_batch": args.batch_size * nproc, "epochs_run": summary["epochs_run"],
            "best_epoch": summary["best_epoch"], "steps": summary["steps_run"],
            "train_seconds": round(train_s, 1), "eval_seconds": round(eval_s, 1),
            "sentences_per_s": round(sentences / train_s, 1), "dev_f1": summary["best_dev"],
            "test_f1": test["f1"], "minutes": summary["minutes"], "stopped_by": summary["stopped_by"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data/conll2000", help="folder with train.txt and test.txt")
    ap.add_argument("--nproc", default="1,2", help="comma-separated process counts, run one after another")
    ap.add_argument("--max-minutes", type=float, default=20.0)
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--patience", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=32, help="sentences per process and step")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="runs/scaling")
    ap.add_argument("--reuse", action="store_true", help="score runs already finished in --out instead of training")
    args = ap.parse_args()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    rows = []
    for n in (int(x) for x in args.nproc.split(",")):
        rows.append(train(args, n))
        print(json.dumps(rows[-1]), flush=True)
    base = rows[0]
    for row in rows:
        row["speedup"] = round(row["sentences_per_s"] / base["sentences_per_s"], 2)
        row["test_f1_change"] = round(row["test_f1"] - base["test_f1"], 2)
    (Path(args.out) / "scaling.json").write_text(json.dumps(rows, indent=2) + "\n")
    print("| processes | global batch | sentences/s | speed-up | epochs (best) | test F1 |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['nproc']} | {r['global_batch']} | {r['sentences_per_s']:.1f} | {r['speedup']:.2f}x | "
              f"{r['epochs_run']} ({r['best_epoch']}) | {r['test_f1']:.2f} |")


if __name__ == "__main__":
    main()
