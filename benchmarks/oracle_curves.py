"""Several SeqGAN oracle runs (benchmarks/seqgan_oracle.py: seeds, controls) on one quality /
coverage PNG: each run's temperature-swept MLE generator and its adversarial (or control)
generator as curves. An adversarial curve helps only where it lies below and left of MLE's.
It also prints, for every point of each run's tuned curve, its margin over the same seed's MLE
frontier: the MLE oracle NLL at the same held-out NLL (or self-BLEU, with --diversity self_bleu)
minus the point's (positive: beyond MLE).

    python benchmarks/oracle_curves.py runs/seqgan-oracle/seed* --out docs/img/oracle-sweep.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from seqgan_oracle import ORACLE_AXES  # benchmarks/seqgan_oracle.py (the script's folder is on sys.path)

from hybrid.train.sweeps import margins_over, plot_sweeps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", help="run folders holding result.json with a sweep")
    ap.add_argument("--out", required=True, help="the PNG")
    ap.add_argument("--diversity", choices=["held_out_nll", "self_bleu"], default="held_out_nll",
                    help="the x axis: the NLL of held-out oracle data (coverage) or the samples' self-BLEU-2")
    args = ap.parse_args()
    axes = dict(ORACLE_AXES)
    if args.diversity == "self_bleu":
        axes.update(x="self_bleu", x_label="self-BLEU-2 of samples (diversity; lower more diverse)")
    curves, styles = {}, {}
    rows = []
    dashes = ["-", "--", ":", "-."]
    for folder in args.runs:
        result = json.loads((Path(folder) / "result.json").read_text(encoding="utf-8"))
        if "sweep" not in result:
            raise SystemExit(f"{folder}: its result.json has no sweep (rerun benchmarks/seqgan_oracle.py)")
        seed = result["seed"]
        curves[f"MLE, seed {seed}"] = result["sweep"]["mle"]
        kind = "control (reward 0.5)" if result.get("control") else "adversarial"
        curves[f"{kind}, seed {seed}"] = result["sweep"]["adversarial"]
        line = dashes[(seed - 1) % len(dashes)]
        styles[f"MLE, seed {seed}"] = {"color": "tab:blue", "linestyle": line}
        color = "tab:gray" if result.get("control") else "tab:red"
        styles[f"{kind}, seed {seed}"] = {"color": color, "linestyle": line}
        if any(axes["x"] not in point for point in result["sweep"]["mle"]):
            raise SystemExit(f"{folder}: its sweep has no {axes['x']} (benchmarks/seqgan_oracle.py --sweep-only)")
        margins = margins_over(result["sweep"]["adversarial"], result["sweep"]["mle"], axes["x"], axes["y"],
                               higher_is_better=False)
        for point, margin in zip(result["sweep"]["adversarial"], margins, strict=True):
            rows.append((kind, seed, point, margin))
    against = "coverage" if args.diversity == "held_out_nll" else "diversity"
    plot_sweeps(curves, args.out, f"SeqGAN oracle: quality against {against} across temperatures", **axes,
                styles=styles)
    print(f"wrote {args.out}")
    print(f"\n| run | seed | temperature | {args.diversity} | oracle NLL | beyond MLE by |")
    print("| --- | --- | --- | --- | --- | --- |")
    for kind, seed, point, margin in rows:
        beyond = "outside MLE's range" if margin is None else f"{margin:+.3f}"
        print(f"| {kind} | {seed} | {point['temperature']:g} | {point[axes['x']]:.3f} | "
              f"{point['oracle_nll']:.3f} | {beyond} |")


if __name__ == "__main__":
    main()
