"""The sequence autoencoder on Multi30k English: sentence -> one vector -> sentence.

Trains `hybrid seq2seq train --autoencoder` (a bidirectional GRU encoder whose mean-pooled states
are the only thing the decoder sees) on train.en within a budget, early stopping on val.en
reconstruction BLEU, then reports:

- reconstruction BLEU (sacreBLEU corpus BLEU; greedy and beam 5) on val.en and on test2016.en;
- word order: the mean cosine similarity between a sentence's vector and the vector of the same
  words shuffled, beside the mean similarity to its nearest other sentence;
- retrieval: val.en and a seeded shuffled-word copy of it are encoded; recall@1 is how often the
  nearest neighbour (cosine) of a shuffled sentence among the originals is its own original.

    python benchmarks/autoencoder.py --max-minutes 25 --out runs/autoencoder
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import torch

from hybrid.config import Seq2SeqConfig, Seq2SeqModelConfig, Seq2SeqTrainConfig, atomic_write_text
from hybrid.data.pairs import Pair
from hybrid.data.parallel import read_parallel
from hybrid.models.evaluation import bleu_of
from hybrid.models.sentence_vectors import encode_sentences, nearest
from hybrid.models.seq2seq_io import load_seq2seq
from hybrid.train.seq2seq import train_seq2seq


def shuffled(sentences: list[tuple[str, ...]], seed: int) -> list[tuple[str, ...]]:
    """Each sentence with its words in a seeded random order (a different one where possible)."""
    rng = random.Random(seed)
    out = []
    for words in sentences:
        order = list(words)
        for _ in range(10):
            rng.shuffle(order)
            if tuple(order) != words or len(set(words)) < 2:
                break
        out.append(tuple(order))
    return out


def word_order_figures(model, sentences: list[tuple[str, ...]], seed: int) -> dict[str, float]:
    """Recall@1 of shuffled copies against the originals, and the similarities behind it."""
    originals = encode_sentences(model, sentences)
    copies = encode_sentences(model, shuffled(sentences, seed))
    scores, rows = nearest(copies, originals, 1)
    recall = (rows[:, 0] == torch.arange(len(sentences))).float().mean().item()
    own = torch.nn.functional.cosine_similarity(originals, copies, dim=1)
    others, _ = nearest(originals, originals, 2)  # the first is the sentence itself (or a duplicate)
    return {"recall_at_1": round(100 * recall, 2), "mean_cosine_to_shuffled_copy": round(own.mean().item(), 4),
            "mean_cosine_to_nearest_other": round(others[:, 1].mean().item(), 4)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data/multi30k")
    ap.add_argument("--out", default="runs/autoencoder")
    ap.add_argument("--lang", default="en")
    ap.add_argument("--embedding-dim", type=int, default=256)
    ap.add_argument("--hidden", type=int, default=256, help="encoder (per direction) and decoder")
    ap.add_argument("--cell", default="gru")
    ap.add_argument("--summary", default="mean", choices=["mean", "last", "max", "attention"])
    ap.add_argument("--no-bottleneck", action="store_true", help="let the decoder attend to every source word")
    ap.add_argument("--word-dropout", type=float, default=0.0)
    ap.add_argument("--shuffle-window", type=int, default=0)
    ap.add_argument("--dropout", type=float, default=0.3)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--patience", type=int, default=4)
    ap.add_argument("--max-minutes", type=float, default=25.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    data = Path(args.data)
    train = read_parallel(data / f"train.{args.lang}")
    val = read_parallel(data / f"val.{args.lang}")
    test = read_parallel(data / f"test2016.{args.lang}")
    config = Seq2SeqConfig(
        model=Seq2SeqModelConfig(embedding_dim=args.embedding_dim, encoder=args.cell, decoder=args.cell,
                                 encoder_hidden=args.hidden, decoder_hidden=args.hidden, dropout=args.dropout,
                                 summary=args.summary, bottleneck=not args.no_bottleneck),
        train=Seq2SeqTrainConfig(lr=args.lr, batch_size=args.batch_size, epochs=args.epochs, patience=args.patience,
                                 max_minutes=args.max_minutes, autoencoder=True, word_dropout=args.word_dropout,
                                 shuffle_window=args.shuffle_window, seed=args.seed))
    started = time.monotonic()
    summary = train_seq2seq(config, train, val, args.out, progress=False, overwrite=True, device=args.device,
                            log=lambda m: print(m, flush=True))
    minutes = (time.monotonic() - started) / 60
    model = load_seq2seq(Path(args.out) / "model")
    itself = {name: [Pair(p.inputs, p.inputs) for p in pairs] for name, pairs in (("val", val), ("test", test))}
    result: dict = {"epochs_run": summary["epochs_run"], "best_epoch": summary["best_epoch"],
                    "train_minutes": round(minutes, 1), "stopped_by": summary["stopped_by"],
                    "parameters": sum(p.numel() for p in model.parameters()), "settings": vars(args)}
    for name, pairs in itself.items():
        for beam in (1, 5):
            scores = bleu_of(model, pairs, beam=beam)
            result[f"{name}_bleu_beam{beam}"] = round(scores["bleu"], 2)
    result["signature"] = scores["bleu_signature"]
    result["val_word_order"] = word_order_figures(model, [p.inputs for p in val], args.seed)
    atomic_write_text(Path(args.out) / "result.json", json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
