"""Several SeqGAN oracle runs (benchmarks/seqgan_oracle.py: seeds, controls) on one quality /
coverage PNG: each run's temperature-swept MLE generator and its adversarial (or control)
generator as curves. An adversarial curve helps only where it lies below and left of MLE's.

    python benchmarks/oracle_curves.py runs/seqgan-oracle/seed* --out docs/img/oracle-sweep.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from seqgan_oracle import ORACLE_AXES  # benchmarks/seqgan_oracle.py (the script's folder is on sys.path)

from hybrid.train.sweeps import plot_sweeps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", help="run folders holding result.json with a sweep")
    ap.add_argument("--out", required=True, help="the PNG")
    args = ap.parse_args()
    curves = {}
    for folder in args.runs:
        result = json.loads((Path(folder) / "result.json").read_text(encoding="utf-8"))
        if "sweep" not in result:
            raise SystemExit(f"{folder}: its result.json has no sweep (rerun benchmarks/seqgan_oracle.py)")
        seed = result["seed"]
        curves[f"MLE, seed {seed}"] = result["sweep"]["mle"]
        kind = "control (reward 0.5)" if result.get("control") else "adversarial"
        curves[f"{kind}, seed {seed}"] = result["sweep"]["adversarial"]
    plot_sweeps(curves, args.out, "SeqGAN oracle: quality against coverage across temperatures", **ORACLE_AXES)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
