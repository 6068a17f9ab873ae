"""REINFORCE on span F1 for a CoNLL-2000 chunker, against its shuffled-reward control, over seeds.

Each seed runs `hybrid rl-finetune --reward span-f1` twice from the same chunker with the same
settings: once as is, once with `--control shuffled` (the rewards permuted among each batch's
samples: same scale and spread, no information about which output earned them). The best model
by dev F1 of each run is scored on the test set; what the reward buys is the real run's test F1
minus its control's, per seed, with the mean and spread over seeds. Runs go `--parallel` at a
time, one thread each.

The dev set is the one the chunker was trained without (the seeded 10% of train that
`hybrid train` holds out), written with the rest of train to OUT/train.txt and OUT/dev.txt.

    python benchmarks/chunker_rl_controls.py --data conll2000 --model runs/scaling/nproc1/model \\
        --seeds 1,2,3 --out runs/chunk-rl-controls
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def blocks(path: Path) -> list[str]:
    """The sentences of a CoNLL file, each as its lines (blank-line separated)."""
    return [b.strip("\n") + "\n" for b in path.read_text(encoding="utf-8").split("\n\n") if b.strip()]


def rl_command(args: argparse.Namespace, out: Path, seed: int, control: str) -> list[str]:
    return [sys.executable, "-m", "cli", "rl-finetune", "--model", str(args.model), "--out", str(out),
            "--reward", "span-f1", "--baseline", "mean", "--steps", str(args.steps), "--eval-every",
            str(args.eval_every), "--lr", str(args.lr), "--mle-weight", str(args.mle_weight), "--seed", str(seed),
            "--control", control, "--train", str(Path(args.out) / "train.txt"), "--dev",
            str(Path(args.out) / "dev.txt"), "--overwrite", "--quiet"]


def run(command: list[str], log: Path) -> None:
    with open(log, "w") as handle:
        subprocess.run(command, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"}, stdout=handle,
                       stderr=subprocess.STDOUT, check=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data/conll2000", help="folder with train.txt and test.txt")
    ap.add_argument("--model", required=True, help="a chunker trained by `hybrid train` with --dev-fraction 0.1")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--eval-every", type=int, default=25)
    ap.add_argument("--lr", type=float, default=2e-5)
    ap.add_argument("--mle-weight", type=float, default=0.5)
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--out", default="runs/chunk-rl-controls")
    args = ap.parse_args()

    import torch

    from hybrid.models.io import load_tagger, read_config
    from hybrid.train.tagging import read_tagged, split_dev
    from hybrid.train.trainer import evaluate

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    config = read_config(args.model)
    train, dev = split_dev(blocks(Path(args.data) / "train.txt"), config.train.dev_fraction, config.train.seed)
    (out / "train.txt").write_text("\n".join(train), encoding="utf-8")
    (out / "dev.txt").write_text("\n".join(dev), encoding="utf-8")
    seeds = [int(s) for s in args.seeds.split(",")]
    jobs = [(seed, control) for seed in seeds for control in ("none", "shuffled")]
    with ThreadPoolExecutor(args.parallel) as pool:
        list(pool.map(lambda job: run(rl_command(args, out / f"{job[1]}-s{job[0]}", *job),
                                      out / f"{job[1]}-s{job[0]}.log"), jobs))

    torch.set_num_threads(1)
    test = read_tagged(Path(args.data) / "test.txt", config.data)

    def test_f1(model: Path) -> float:
        return round(evaluate(load_tagger(model), test)["f1"], 2)

    start = test_f1(Path(args.model))
    rows = []
    for seed in seeds:
        real, control = (test_f1(out / f"{c}-s{seed}" / "model") for c in ("none", "shuffled"))
        rows.append({"seed": seed, "reward": real, "control": control, "gain_over_control": round(real - control, 2),
                     "gain_over_start": round(real - start, 2)})
    gains = [r["gain_over_control"] for r in rows]
    summary = {"start_test_f1": start, "runs": rows, "mean_gain_over_control": round(statistics.mean(gains), 2),
               "stdev_gain_over_control": round(statistics.stdev(gains), 2) if len(gains) > 1 else None,
               "args": vars(args)}
    (out / "results.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    print(f"start: test F1 {start:.2f}")
    print("| seed | span-F1 reward | shuffled control | gain over control |")
    print("| --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['seed']} | {r['reward']:.2f} | {r['control']:.2f} | {r['gain_over_control']:+.2f} |")


if __name__ == "__main__":
    main()
