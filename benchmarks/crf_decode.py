"""CRF decoding as users call it: `CRFLayer.decode` (hybrid) against pytorch-crf's `CRF.decode`,
one process, one thread, random potentials, sentence lengths 5-40, batches of 1 to 1024.

Both decode the same emissions with the same transition scores and must return the same
paths (checked before timing). `--constraints` also times hybrid with BIO constraints (K - 1
B-/I- tags and O) and gives pytorch-crf the same forbidden transitions as -10000.

    python benchmarks/crf_decode.py --tags 9,23 --batches 1,32,256,1024
"""

from __future__ import annotations

import argparse
import json

import torch
from timing import median_seconds  # benchmarks/timing.py (the script's folder is on sys.path)

from hybrid.structured import CRFLayer


def bio_tags(k: int) -> list[str]:
    """O and (k - 1) // 2 B-/I- pairs (one extra B- when k is even)."""
    tags = ["O"]
    for i in range(k - 1):
        tags.append(f"{'BI'[i % 2]}-T{i // 2}")
    return tags


def case(k: int, batch: int, constraints: bool, repeats: int, seed: int) -> dict:
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(5, 41, (batch,), generator=g)
    mask = torch.arange(int(lengths.max())).unsqueeze(0) < lengths.unsqueeze(1)
    emissions = torch.randn(batch, mask.shape[1], k, generator=g)
    layer = CRFLayer(k)
    with torch.no_grad():
        for param in layer.crf.parameters():
            param.copy_(torch.randn(param.shape, generator=g))
    if constraints:
        layer.set_constraints(bio_tags(k), "BIO")
    reference = layer.crf
    if constraints:  # pytorch-crf with the forbidden transitions as a large negative score
        from torchcrf import CRF

        reference = CRF(k, batch_first=True)
        with torch.no_grad():
            reference.transitions.copy_(layer.crf.transitions.masked_fill(~layer.allowed, -1e4))
            reference.start_transitions.copy_(layer.crf.start_transitions.masked_fill(~layer.allowed_start, -1e4))
            reference.end_transitions.copy_(layer.crf.end_transitions.masked_fill(~layer.allowed_end, -1e4))
    with torch.no_grad():
        ours = layer.decode(emissions, mask)[0][:, 0]
        ref = reference.decode(emissions, mask)
        assert all(ours[i, : len(r)].tolist() == r for i, r in enumerate(ref)), "paths differ"
        t_ref = median_seconds(lambda: reference.decode(emissions, mask), repeats)
        t_ours = median_seconds(lambda: layer.decode(emissions, mask), repeats)
    return {"tags": k, "batch": batch, "constraints": constraints, "tokens": int(lengths.sum()),
            "pytorch_crf_ms": 1000 * t_ref, "hybrid_ms": 1000 * t_ours, "speedup": t_ref / t_ours}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tags", default="9,23")
    ap.add_argument("--batches", default="1,32,256,1024")
    ap.add_argument("--constraints", action="store_true", help="also time with BIO constraints")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for k in (int(x) for x in args.tags.split(",")):
        for batch in (int(x) for x in args.batches.split(",")):
            repeats = max(5, min(300, 3000 // batch))
            for constraints in (False, True) if args.constraints else (False,):
                row = case(k, batch, constraints, repeats, args.seed)
                rows.append(row)
                print(f"K={k:3d} batch {batch:5d}{' BIO' if constraints else '    '}: pytorch-crf "
                      f"{row['pytorch_crf_ms']:9.3f} ms  hybrid {row['hybrid_ms']:8.3f} ms  "
                      f"x{row['speedup']:.1f}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
