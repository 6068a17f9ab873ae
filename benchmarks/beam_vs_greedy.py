"""Beam search vs greedy on a trained seq2seq model: model log-probability per sentence.

For each source of the sample, beam search (raw log-probability, no length penalty) should
find an output at least as probable as greedy decoding's; beam 1 must equal greedy exactly.
Reports the sentences where either fails, and the decoders' BLEU; "pure beam" is beam search
without its greedy fallback (keep_greedy=False), to show how often a beam alone loses.

    python benchmarks/beam_vs_greedy.py --model runs/multi30k/model --beam 5
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from hybrid.data.parallel import read_parallel
from hybrid.decoding import beam_search, greedy
from hybrid.metrics import corpus_translation_scores
from hybrid.models.seq2seq_io import load_seq2seq


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", default="../shared/data/multi30k")
    ap.add_argument("--split", default="test2016")
    ap.add_argument("--beam", type=int, default=5)
    ap.add_argument("--limit", type=int, default=0, help="first N sentences (0 = all)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = load_seq2seq(args.model)
    pairs = read_parallel(Path(args.data) / f"{args.split}.de", Path(args.data) / f"{args.split}.en")
    pairs = pairs[: args.limit] if args.limit else pairs
    v = model.vocabs
    special = {"bos": v.bos, "eos": v.eos, "pad": v.target.pad_index}
    worse, pure_worse, beam1_differs, outputs = [], 0, 0, {"greedy": [], "beam": [], "pure": []}
    with torch.inference_mode():
        for start in range(0, len(pairs), 64):
            chunk = pairs[start : start + 64]
            batch = v.encode(chunk, with_targets=False)
            memory = model.encode(batch.src, batch.src_mask)
            limit = 2 * batch.src.shape[1] + 10
            g = greedy(model, memory, max_length=limit, **special)
            b1 = beam_search(model, memory, beam=1, max_length=limit, **special)
            b = beam_search(model, memory, beam=args.beam, max_length=limit, **special)
            pure = beam_search(model, memory, beam=args.beam, max_length=limit, keep_greedy=False, **special)
            pure_worse += int((pure.scores < g.scores - 1e-4).sum())
            beam1_differs += sum(a != c for a, c in zip(g.tokens.tolist(), b1.tokens.tolist(), strict=True))
            for i in range(len(chunk)):
                if b.scores[i] < g.scores[i] - 1e-4:
                    worse.append({"sentence": start + i + 1, "greedy": float(g.scores[i]), "beam": float(b.scores[i])})
            outputs["greedy"] += [" ".join(v.decode(r)) for r in g.tokens.tolist()]
            outputs["beam"] += [" ".join(v.decode(r)) for r in b.tokens.tolist()]
            outputs["pure"] += [" ".join(v.decode(r)) for r in pure.tokens.tolist()]
    refs = [" ".join(p.labels) for p in pairs]
    print(json.dumps({
        "sentences": len(pairs), "beam": args.beam, "beam_worse_than_greedy": len(worse), "cases": worse[:20],
        "pure_beam_worse_than_greedy": pure_worse, "beam1_differs_from_greedy": beam1_differs,
        "bleu_greedy": corpus_translation_scores(outputs["greedy"], refs)["bleu"],
        "bleu_beam": corpus_translation_scores(outputs["beam"], refs)["bleu"],
        "bleu_pure_beam": corpus_translation_scores(outputs["pure"], refs)["bleu"],
    }, indent=2))


if __name__ == "__main__":
    main()
