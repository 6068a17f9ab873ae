"""How well a trained discriminator tells real pairs from generated ones, threshold-free.

Loads a `hybrid gan-train` run directory (its discriminator/ and a generator: last/ by
default) and, on held-out pairs (Multi30k val by default), scores with D: the references,
one sample of the generator per source, and the references paired with another source
(mismatched). Prints the ROC AUC of real vs generated and of real vs mismatched (0.5 =
chance, 1 = perfect) and the accuracies at D's threshold 0.5.

    python benchmarks/gan_discriminator.py --run runs/m30k-gan-seq
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from hybrid.data.parallel import read_parallel
from hybrid.models.discriminator import load_discriminator
from hybrid.models.seq2seq_io import load_seq2seq
from hybrid.train.gan import judge_with, mismatched
from hybrid.train.policies import Seq2SeqPolicy


def auc(positive: torch.Tensor, negative: torch.Tensor) -> float:
    """P(a random positive scores above a random negative), ties counted half (Mann-Whitney)."""
    greater = (positive.unsqueeze(1) > negative.unsqueeze(0)).float().mean()
    ties = (positive.unsqueeze(1) == negative.unsqueeze(0)).float().mean()
    return float(greater + ties / 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True, help="a hybrid gan-train run directory")
    ap.add_argument("--generator", default="last", help="model subdirectory of the run (last or model)")
    ap.add_argument("--data", default="../shared/data/multi30k")
    ap.add_argument("--split", default="val")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    run = Path(args.run)
    d = load_discriminator(run / "discriminator")
    policy = Seq2SeqPolicy(load_seq2seq(run / args.generator))
    pairs = read_parallel(Path(args.data) / f"{args.split}.de", Path(args.data) / f"{args.split}.en")
    generator = torch.Generator().manual_seed(args.seed)
    scores: dict[str, list[torch.Tensor]] = {"real": [], "generated": [], "mismatched": []}
    with torch.no_grad():
        for i in range(0, len(pairs), 128):
            chunk = pairs[i: i + 128]
            real = policy.real(chunk)
            fake = policy.judged(policy.sample(chunk, 1, 1.0, generator, 60))
            wrong = mismatched(real, generator)
            for name, judged in (("real", real), ("generated", fake), ("mismatched", wrong)):
                rows = torch.arange(len(judged))
                scores[name].append(judge_with(d, judged)(judged.tokens, judged.mask, rows))
    s = {k: torch.cat(v) for k, v in scores.items()}
    print(json.dumps({"run": str(run), "generator": args.generator, "split": args.split, "pairs": len(pairs),
                      "auc_real_vs_generated": round(auc(s["real"], s["generated"]), 4),
                      "auc_real_vs_mismatched": round(auc(s["real"], s["mismatched"]), 4),
                      "accuracy_real": round(float((s["real"] > 0.5).float().mean()), 4),
                      "accuracy_generated": round(float((s["generated"] <= 0.5).float().mean()), 4),
                      "accuracy_mismatched": round(float((s["mismatched"] <= 0.5).float().mean()), 4),
                      "mean_D": {k: round(float(v.mean()), 4) for k, v in s.items()}}, indent=2))


if __name__ == "__main__":
    main()
