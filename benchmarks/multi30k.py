"""Multi30k German->English: train a seq2seq model with MLE on this machine and report test2016
corpus BLEU (sacreBLEU, signature printed) with greedy and beam search, chrF, the parameters,
training target tokens/s and beam-search decoding sentences/s.

Early stopping on val BLEU (greedy); test2016 is only scored at the end.

    python benchmarks/multi30k.py --max-minutes 85 --out runs/multi30k
    python benchmarks/multi30k.py --arch transformer --max-minutes 85 --out runs/multi30k-transformer
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from hybrid.config import Seq2SeqConfig, Seq2SeqModelConfig, Seq2SeqTrainConfig, atomic_write_text
from hybrid.data.parallel import read_parallel
from hybrid.models.seq2seq_io import load_seq2seq
from hybrid.train.seq2seq import bleu_of, train_seq2seq


def training_throughput(model, pairs, batch_size: int, device: str, steps: int = 40) -> float:
    """Target tokens per second of MLE updates (forward, backward, Adam) on the training batches,
    timed on `steps` batches after 5 of warm-up; the model is left as it was."""
    import copy
    import random

    trainee = copy.deepcopy(model).train()
    optimizer = torch.optim.Adam(trainee.parameters(), lr=1e-4)
    rng = random.Random(0)
    batches = [rng.sample(pairs, batch_size) for _ in range(steps + 5)]
    tokens, started = 0.0, 0.0
    for i, batch_pairs in enumerate(batches):
        if i == 5:
            started, tokens = time.monotonic(), 0.0
        batch = trainee.vocabs.encode(batch_pairs).to(device)
        loss = trainee.loss(batch, label_smoothing=0.1)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        tokens += float(batch.tgt_mask.sum())
    return tokens / (time.monotonic() - started)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data/multi30k")
    ap.add_argument("--out", default="runs/multi30k")
    ap.add_argument("--train-size", type=int, default=0, help="use the first N training pairs (0 = all)")
    ap.add_argument("--embedding-dim", type=int, default=256)
    ap.add_argument("--encoder-hidden", type=int, default=256)
    ap.add_argument("--decoder-hidden", type=int, default=256)
    ap.add_argument("--arch", default="rnn", choices=["rnn", "transformer"])
    ap.add_argument("--transformer-layers", type=int, default=3)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ff-size", type=int, default=0)
    ap.add_argument("--warmup-steps", type=int, default=None)
    ap.add_argument("--cell", default="gru")
    ap.add_argument("--attention", default="general")
    ap.add_argument("--dropout", type=float, default=0.3)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--patience", type=int, default=4)
    ap.add_argument("--max-minutes", type=float, default=85.0)
    ap.add_argument("--ss-end", type=float, default=0.0, help="scheduled sampling: final feed-own rate")
    ap.add_argument("--beam", type=int, default=5)
    ap.add_argument("--length-penalty", type=float, default=0.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    data = Path(args.data)
    train = read_parallel(data / "train.de", data / "train.en")
    if args.train_size:
        train = train[: args.train_size]
    dev = read_parallel(data / "val.de", data / "val.en")
    test = read_parallel(data / "test2016.de", data / "test2016.en")
    config = Seq2SeqConfig(
        model=Seq2SeqModelConfig(embedding_dim=args.embedding_dim, encoder=args.cell, decoder=args.cell,
                                 encoder_hidden=args.encoder_hidden, decoder_hidden=args.decoder_hidden,
                                 attention=args.attention, dropout=args.dropout, arch=args.arch,
                                 transformer_layers=args.transformer_layers, heads=args.heads, ff_size=args.ff_size),
        train=Seq2SeqTrainConfig(lr=args.lr, batch_size=args.batch_size, epochs=args.epochs, patience=args.patience,
                                 max_minutes=args.max_minutes, ss_end=args.ss_end, seed=args.seed,
                                 warmup_steps=args.warmup_steps),
    )
    start = time.monotonic()
    summary = train_seq2seq(config, train, dev, args.out, progress=False, device=args.device,
                            log=lambda message: print(message, flush=True))
    minutes = (time.monotonic() - start) / 60
    model = load_seq2seq(Path(args.out) / "model").to(args.device)
    tokens_per_s = training_throughput(model, train, args.batch_size, args.device)
    greedy = bleu_of(model, test, beam=1)
    t0 = time.monotonic()
    beam = bleu_of(model, test, beam=args.beam, length_penalty=args.length_penalty)
    beam_seconds = time.monotonic() - t0
    figures = {"arch": args.arch, "test_bleu_greedy": greedy["bleu"], "test_bleu_beam": beam["bleu"],
               "test_chrf_beam": beam["chrf"], "beam": args.beam, "length_penalty": args.length_penalty,
               "beam_seconds": round(beam_seconds, 1), "decode_sentences_per_s": round(len(test) / beam_seconds, 1),
               "parameters": sum(p.numel() for p in model.parameters()),
               "train_target_tokens_per_s": round(tokens_per_s),
               "dev_bleu_greedy": summary["best_dev"], "best_epoch": summary["best_epoch"],
               "epochs_run": summary["epochs_run"], "train_minutes": round(minutes, 1),
               "bleu_signature": beam["bleu_signature"], "args": vars(args)}
    atomic_write_text(Path(args.out) / "figures.json", json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
