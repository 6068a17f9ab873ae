"""Multi30k: what REINFORCE and adversarial fine-tuning buy over their controls, over seeds.

From one MLE-trained German->English model, every seed runs five fine-tunings with the same
time budget, one thread each, `--parallel` at a time:

- mle: `hybrid rl-finetune --control zero-advantage --mle-weight 1`: the references'
  cross-entropy alone, with the same batches, sampling and learning rate (continued MLE);
- reinforce: `hybrid rl-finetune --reward bleu --baseline mean` (sentence BLEU);
- reinforce-shuffled: the same with `--control shuffled` (the rewards permuted among each
  batch's samples: same scale and spread, no information about which output earned them);
- gan: `hybrid gan-train` with its defaults (D's reward per sequence, MLE every g-step);
- gan-zero-advantage: the same with `--control zero-advantage` (the schedule, D and the MLE
  steps unchanged, no policy-gradient term).

Each run keeps its best model by val BLEU (the start when nothing beats it). Every kept model
is scored on test2016 (corpus BLEU by sacreBLEU, beam 5 and greedy); a trainer's gain is over
its control, not over the start. Then `hybrid temperature-sweep` draws, per seed, BLEU
against pairwise BLEU (self-BLEU) of 4 samples per test2016 source at temperatures 0.5-1.5,
with the continued-MLE model as the reference curve.

    python benchmarks/multi30k_controls.py --data multi30k --model runs/multi30k/model \\
        --seeds 1,2 --minutes 10 --out runs/m30k-controls
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
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

# name: (command, options); the shared options (model, data, budget, seed) are added by `command`.
CONDITIONS: dict[str, tuple[str, list[str]]] = {
    "mle": ("rl-finetune", ["--reward", "bleu", "--baseline", "mean", "--control", "zero-advantage",
                            "--mle-weight", "1"]),
    "reinforce": ("rl-finetune", ["--reward", "bleu", "--baseline", "mean"]),
    "reinforce-shuffled": ("rl-finetune", ["--reward", "bleu", "--baseline", "mean", "--control", "shuffled"]),
    "gan": ("gan-train", ["--rounds", "1000"]),
    "gan-zero-advantage": ("gan-train", ["--rounds", "1000", "--control", "zero-advantage"]),
}
CONTROL_OF = {"reinforce": "reinforce-shuffled", "gan": "gan-zero-advantage", "mle": "start"}
LABELS = {"start": "MLE start", "mle": "MLE continued", "reinforce": "REINFORCE (BLEU)",
          "reinforce-shuffled": "REINFORCE, shuffled control", "gan": "adversarial",
          "gan-zero-advantage": "adversarial, zero-advantage control"}


def command(args: argparse.Namespace, name: str, seed: int) -> list[str]:
    verb, options = CONDITIONS[name]
    data = Path(args.data)
    every = args.rl_eval_every if verb == "rl-finetune" else args.gan_eval_every
    return [sys.executable, "-m", "cli", verb, "--model", str(args.model), "--out", str(run_dir(args, name, seed)),
            *options, "--max-minutes", str(args.minutes), "--eval-every", str(every), "--seed", str(seed),
            "--train-src", str(data / "train.de"), "--train-tgt", str(data / "train.en"),
            "--dev-src", str(data / "val.de"), "--dev-tgt", str(data / "val.en"), "--overwrite", "--quiet"]


def run_dir(args: argparse.Namespace, name: str, seed: int) -> Path:
    return Path(args.out) / f"{name}-s{seed}"


def run(argv: list[str], log: Path) -> None:
    with open(log, "w") as handle:
        subprocess.run(argv, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"}, stdout=handle,
                       stderr=subprocess.STDOUT, check=True)


def test_bleu(args: argparse.Namespace, model: Path, beam: int) -> float:
    """test2016 corpus BLEU of `model` with beam `beam` (1 = greedy), by `hybrid evaluate`."""
    out = model.parent / f"test-beam{beam}.json"
    if not out.exists():
        data = Path(args.data)
        run([sys.executable, "-m", "cli", "evaluate", "--model", str(model), "--data", str(data / "test2016.de"),
             "--references", str(data / "test2016.en"), "--beam", str(beam), "--json", "-o", str(out)],
            model.parent / f"test-beam{beam}.log")
    return round(json.loads(out.read_text())["bleu"], 2)


def val_curve(run: Path) -> dict[str, float]:
    """The run's val BLEU curve in brief: evaluations, last step, start, best and its step."""
    rows = [json.loads(line) for line in (run / "train_log.jsonl").read_text().splitlines() if line.strip()]
    rows = [r for r in rows if "dev" in r]
    best = max(rows, key=lambda r: r["dev"])
    return {"evaluations": len(rows), "last_step": rows[-1]["step"], "dev_start": round(rows[0]["dev"], 2),
            "dev_best": round(best["dev"], 2), "dev_best_step": best["step"], "dev_last": round(rows[-1]["dev"], 2)}


def sweep(args: argparse.Namespace, seed: int, start: Path) -> None:
    if (Path(args.out) / f"sweep-s{seed}.json").exists():
        return  # drawn already; delete the JSON to draw again
    models = [("mle", run_dir(args, "mle", seed) / "model"), ("start", start)]
    models += [(name, run_dir(args, name, seed) / "model") for name in CONDITIONS if name != "mle"]
    argv = [sys.executable, "-m", "cli", "temperature-sweep", "--src", str(Path(args.data) / "test2016.de"),
            "--ref", str(Path(args.data) / "test2016.en"), "--seed", str(seed), "--quiet",
            "--out", str(Path(args.out) / f"sweep-s{seed}.png"), "--json", str(Path(args.out) / f"sweep-s{seed}.json")]
    for name, model in models:
        argv += ["--model", str(model), "--label", LABELS[name]]
    run(argv, Path(args.out) / f"sweep-s{seed}.log")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data/multi30k", help="folder with the six Multi30k files")
    ap.add_argument("--model", required=True, help="the MLE seq2seq model to start every run from")
    ap.add_argument("--seeds", default="1,2")
    ap.add_argument("--minutes", type=float, default=10.0, help="time budget of every run")
    ap.add_argument("--rl-eval-every", type=int, default=25, help="val BLEU every N REINFORCE steps")
    ap.add_argument("--gan-eval-every", type=int, default=3, help="val BLEU every N adversarial rounds")
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--skip-training", action="store_true", help="score and sweep the runs already in --out")
    ap.add_argument("--out", default="runs/m30k-controls")
    args = ap.parse_args()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    seeds = [int(s) for s in args.seeds.split(",")]
    jobs = [(name, seed) for seed in seeds for name in CONDITIONS]
    with ThreadPoolExecutor(args.parallel) as pool:
        if not args.skip_training:
            list(pool.map(lambda job: run(command(args, *job), out / f"{job[0]}-s{job[1]}.log"), jobs))
        models = [Path(args.model)] + [run_dir(args, *job) / "model" for job in jobs]
        pairs = [(model, beam) for model in models for beam in (5, 1)]
        scores = dict(zip(pairs, pool.map(lambda mb: test_bleu(args, *mb), pairs), strict=True))
        list(pool.map(lambda seed: sweep(args, seed, Path(args.model)), seeds))

    start = {"beam5": scores[(Path(args.model), 5)], "greedy": scores[(Path(args.model), 1)]}
    rows: list[dict[str, Any]] = []
    for name, control in CONTROL_OF.items():
        for seed in seeds:
            real = run_dir(args, name, seed) / "model"
            base = Path(args.model) if control == "start" else run_dir(args, control, seed) / "model"
            row: dict[str, Any] = {"trainer": name, "seed": seed, "control": control,
                                   "val": val_curve(real.parent)}
            if control != "start":
                row["control_val"] = val_curve(base.parent)
            for key, beam in (("beam5", 5), ("greedy", 1)):
                row[key], row[f"control_{key}"] = scores[(real, beam)], scores[(base, beam)]
                row[f"gain_{key}"] = round(row[key] - row[f"control_{key}"], 2)
            rows.append(row)
    summary: dict = {"start": start, "runs": rows, "args": vars(args)}
    for name in CONTROL_OF:
        gains = [r["gain_beam5"] for r in rows if r["trainer"] == name]
        summary[f"{name}_mean_gain_beam5"] = round(statistics.mean(gains), 2)
    (out / "results.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"start: test2016 BLEU beam 5 {start['beam5']:.2f}, greedy {start['greedy']:.2f}")
    print("| trainer | seed | beam 5 | greedy | control | control beam 5 | control greedy | gain beam 5 "
          "| gain greedy |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {LABELS[r['trainer']]} | {r['seed']} | {r['beam5']:.2f} | {r['greedy']:.2f} | "
              f"{LABELS[r['control']]} | {r['control_beam5']:.2f} | {r['control_greedy']:.2f} | "
              f"{r['gain_beam5']:+.2f} | {r['gain_greedy']:+.2f} |")
    print("| run | seed | steps (rounds) | val BLEU at the start | best (at step) | last |")
    print("| --- | --- | --- | --- | --- | --- |")
    for seed in seeds:
        for name in CONDITIONS:
            v = val_curve(run_dir(args, name, seed))
            print(f"| {LABELS[name]} | {seed} | {v['last_step']} | {v['dev_start']:.2f} | "
                  f"{v['dev_best']:.2f} ({v['dev_best_step']}) | {v['dev_last']:.2f} |")
    for seed in seeds:
        print(f"seed {seed}: sweep in {out / f'sweep-s{seed}.png'}; margins:")
        print((out / f"sweep-s{seed}.log").read_text())


if __name__ == "__main__":
    main()
