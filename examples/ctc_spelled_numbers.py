"""Spelled-out numbers -> digits with a character BiLSTM and a CTC head.

    python examples/ctc_spelled_numbers.py [--seed 0] [--epochs 30]
    python examples/ctc_spelled_numbers.py --write-pairs data/numbers   # files for the CLI:
    hybrid train --layer ctc --train data/numbers/train.tsv --word-dim 32 --hidden-size 64 \
        --dropout 0 --lr 0.003 --out runs/numbers
    hybrid evaluate --model runs/numbers/model --data data/numbers/test.tsv

Input: the characters of "three hundred and twelve" ('_' for spaces); output: "3 1 2", not
aligned with the input. Numbers 0..999; a held-out fifth of them is never seen in training.
Reports the label error rate (edit distance / reference length) with best-path and prefix
beam decoding. Trains on one CPU thread in a few minutes.
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import torch
from torch.nn.utils.rnn import pad_sequence

from hybrid.metrics import edit_distance
from hybrid.models.ctc import CTCModel

ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen " \
       "fifteen sixteen seventeen eighteen nineteen".split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def spell(n: int) -> str:
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else " " + ONES[n % 10])
    rest = n % 100
    return ONES[n // 100] + " hundred" + ("" if rest == 0 else " and " + spell(rest))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--beam", type=int, default=8)
    ap.add_argument("--write-pairs", metavar="DIR", help="write DIR/train.tsv and DIR/test.tsv (same split) and stop")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    numbers = list(range(1000))
    rng.shuffle(numbers)
    test_nums, train_nums = numbers[:200], numbers[200:]
    if args.write_pairs:
        out = Path(args.write_pairs)
        out.mkdir(parents=True, exist_ok=True)
        for name, nums in (("train", train_nums), ("test", test_nums)):
            lines = (" ".join(spell(n).replace(" ", "_")) + "\t" + " ".join(str(n)) + "\n" for n in nums)
            (out / f"{name}.tsv").write_text("".join(lines), encoding="utf-8")
        print(f"wrote {out}/train.tsv ({len(train_nums)} pairs) and {out}/test.tsv ({len(test_nums)})")
        return

    chars = sorted(set("".join(spell(n).replace(" ", "_") for n in range(1000))))
    char_id = {c: i + 1 for i, c in enumerate(chars)}  # 0 pads
    digit_id = {str(d): d + 1 for d in range(10)}  # 0 is the blank

    def encode(nums):
        ids = [torch.tensor([char_id[c] for c in spell(n).replace(" ", "_")]) for n in nums]
        tgt = [torch.tensor([digit_id[d] for d in str(n)]) for n in nums]
        return pad_sequence(ids, batch_first=True), pad_sequence(tgt, batch_first=True), \
            torch.tensor([len(t) for t in tgt])

    model = CTCModel(len(chars) + 1, 10, embedding_dim=32, hidden_size=64)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    start = time.time()
    for epoch in range(1, args.epochs + 1):
        rng.shuffle(train_nums)
        model.train()
        total = 0.0
        for i in range(0, len(train_nums), 32):
            ids, tgt, tlen = encode(train_nums[i:i + 32])
            loss = model.loss(ids, tgt, tlen)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            total += loss.item()
        if epoch % 5 == 0 or epoch == 1:
            print(f"epoch {epoch:3d}  train loss {total / (len(train_nums) / 32):.4f}  {time.time() - start:.0f}s")

    model.eval()
    ids, _, _ = encode(test_nums)
    refs = [[digit_id[d] for d in str(n)] for n in test_nums]
    ref_len = sum(len(r) for r in refs)
    for name, beam in (("best-path", 1), (f"prefix-beam({args.beam})", args.beam)):
        hyps = model.decode(ids, beam=beam)
        errors = sum(edit_distance(h, r) for h, r in zip(hyps, refs, strict=True))
        exact = sum(h == r for h, r in zip(hyps, refs, strict=True))
        print(f"held-out {name:16s} LER {errors / ref_len:.4f} ({errors}/{ref_len} digits)  "
              f"sentence accuracy {exact / len(refs):.3f}")
    inv = {v: k for k, v in digit_id.items()}
    for n, h in list(zip(test_nums, model.decode(ids, beam=args.beam), strict=True))[:3]:
        print(f"  {spell(n)!r} -> {' '.join(inv[i] for i in h)}")


if __name__ == "__main__":
    main()
