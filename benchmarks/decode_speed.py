"""Decode speed: our batched Viterbi / k-best against pytorch-crf's decode, same process, same data.

Batches of 256 sentences (lengths 5..40), K = 23 tags (CoNLL-2000's chunk tag count), CPU.
Prints the median time per batch of each, the ratios, and writes JSON with --json.
"""

from __future__ import annotations

import argparse
import json

import torch
from timing import median_seconds  # benchmarks/timing.py (the script's folder is on sys.path)
from torchcrf import CRF

from hybrid.structured import chain
from hybrid.structured.chain import ChainPotentials


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--tags", type=int, default=23)
    ap.add_argument("--min-len", type=int, default=5)
    ap.add_argument("--max-len", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    lengths = torch.randint(args.min_len, args.max_len + 1, (args.batch,), generator=g)
    t = int(lengths.max())
    mask = torch.arange(t).unsqueeze(0) < lengths.unsqueeze(1)
    crf = CRF(args.tags, batch_first=True)
    emissions = torch.randn(args.batch, t, args.tags, generator=g)
    p = ChainPotentials(emissions, crf.transitions.detach(), crf.start_transitions.detach(),
                        crf.end_transitions.detach(), mask)

    with torch.no_grad():
        ours = chain.viterbi(p)[0]
        ref = crf.decode(emissions, mask)
        assert all(ours[i, : len(r)].tolist() == r for i, r in enumerate(ref)), "paths differ"
        t_crf = median_seconds(lambda: crf.decode(emissions, mask), args.repeats)
        t_v = median_seconds(lambda: chain.viterbi(p), args.repeats)
        t_k1 = median_seconds(lambda: chain.kbest(p, 1), args.repeats)
        t_k5 = median_seconds(lambda: chain.kbest(p, 5), args.repeats)
    tokens = int(lengths.sum())
    figures = {
        "batch": args.batch, "tags": args.tags, "tokens": tokens, "threads": args.threads,
        "pytorch_crf_decode_ms": 1000 * t_crf, "viterbi_ms": 1000 * t_v,
        "kbest1_ms": 1000 * t_k1, "kbest5_ms": 1000 * t_k5,
        "speedup_vs_pytorch_crf": t_crf / t_v, "kbest5_over_kbest1": t_k5 / t_k1,
    }
    print(f"batch {args.batch} sentences, {tokens} tokens, K={args.tags}, {args.threads} threads")
    print(f"pytorch-crf decode : {1000 * t_crf:8.2f} ms")
    print(f"hybrid viterbi     : {1000 * t_v:8.2f} ms   speed-up x{t_crf / t_v:.1f} (target >= 5)")
    print(f"hybrid k-best k=1  : {1000 * t_k1:8.2f} ms")
    print(f"hybrid k-best k=5  : {1000 * t_k5:8.2f} ms   k5/k1 = {t_k5 / t_k1:.2f} (target <= 3)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)


if __name__ == "__main__":
    main()
