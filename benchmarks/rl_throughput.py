"""Throughput of the REINFORCE loop on Multi30k: samples per second (batch 64 inputs x 4
samples each, the sentence-BLEU reward, self-critical baseline) and the share of each step's
time spent computing rewards (sacreBLEU, greedy baseline included).

    python benchmarks/rl_throughput.py --model runs/multi30k/model --steps 20
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from hybrid.config import ReinforceConfig
from hybrid.data.parallel import read_parallel
from hybrid.models.seq2seq_io import load_seq2seq
from hybrid.train.policies import Seq2SeqPolicy
from hybrid.train.reinforce import reinforce


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", default="../shared/data/multi30k")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--baseline", default="self-critical")
    ap.add_argument("--reward", default="bleu")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    data = Path(args.data)
    train = read_parallel(data / "train.de", data / "train.en")
    dev = read_parallel(data / "val.de", data / "val.en")[:64]  # scored twice (start, end): keep it small
    config = ReinforceConfig(reward=args.reward, baseline=args.baseline, samples=args.samples,
                             batch_size=args.batch_size, steps=args.steps, eval_every=args.steps, lr=1e-5)
    with tempfile.TemporaryDirectory() as out:
        start = time.monotonic()
        reinforce(Seq2SeqPolicy(load_seq2seq(args.model)), config, train, dev, out, progress=False)
        wall = time.monotonic() - start
        log = [json.loads(line) for line in (Path(out) / "steps.jsonl").read_text().splitlines()]
    steps = sum(r["step_seconds"] for r in log)
    rewards = sum(r["reward_seconds"] for r in log)
    samples = args.steps * args.batch_size * args.samples
    print(json.dumps({
        "steps": args.steps, "batch": args.batch_size, "samples_per_input": args.samples, "baseline": args.baseline,
        "samples_per_second": round(samples / steps, 1), "seconds_per_step": round(steps / args.steps, 3),
        "reward_share": round(rewards / steps, 3), "wall_seconds_incl_dev_scoring": round(wall, 1),
    }, indent=2))


if __name__ == "__main__":
    main()
