"""SST-2 sentiment (GLUE): a sequence classifier trained on train.tsv within a time budget, early
stopping on a seeded held-out share of train; the figure is accuracy on GLUE's dev.tsv (the test
labels are not public), which training never sees.

    python benchmarks/sst2.py --data sst2 --max-minutes 30 --out runs/sst2
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from hybrid.config import ClassifierConfig, ClassifierModelConfig, ClassifierTrainConfig, atomic_write_text
from hybrid.data.labelled import read_labelled
from hybrid.models.classifier_io import load_classifier
from hybrid.train.classification import evaluate_classifier, train_classifier


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data/sst2", help="folder with GLUE's train.tsv and dev.tsv")
    ap.add_argument("--out", default="runs/sst2")
    ap.add_argument("--encoder", default="lstm", choices=["lstm", "gru", "rnn", "peephole", "jordan"])
    ap.add_argument("--pooling", default="attention", choices=["last", "mean", "max", "attention"])
    ap.add_argument("--word-dim", type=int, default=100)
    ap.add_argument("--hidden-size", type=int, default=150)
    ap.add_argument("--dropout", type=float, default=0.5)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--patience", type=int, default=3)
    ap.add_argument("--dev-fraction", type=float, default=0.05, help="share of train held out for early stopping")
    ap.add_argument("--max-minutes", type=float, default=30.0)
    ap.add_argument("--embeddings", default=None, help="pretrained word vectors, --word-dim wide")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    data = Path(args.data)
    config = ClassifierConfig(
        model=ClassifierModelConfig(word_dim=args.word_dim, encoder=args.encoder, hidden_size=args.hidden_size,
                                    dropout=args.dropout, pooling=args.pooling, embeddings=args.embeddings),
        train=ClassifierTrainConfig(lr=args.lr, batch_size=args.batch_size, epochs=args.epochs,
                                    patience=args.patience, max_minutes=args.max_minutes,
                                    dev_fraction=args.dev_fraction, seed=args.seed))
    started = time.monotonic()
    summary = train_classifier(config, data / "train.tsv", args.out, progress=False, overwrite=True,
                               log=lambda m: print(m, flush=True))
    model = load_classifier(Path(args.out) / "model")
    scores = evaluate_classifier(model, list(read_labelled(data / "dev.tsv")))
    result = {"dev_accuracy": scores["accuracy"], "dev_macro_f1": scores["macro_f1"],
              "held_out_accuracy": summary["best_dev"], "best_epoch": summary["best_epoch"],
              "epochs_run": summary["epochs_run"], "stopped_by": summary["stopped_by"],
              "wall_minutes": round((time.monotonic() - started) / 60, 1), "settings": vars(args)}
    atomic_write_text(Path(args.out) / "result.json", json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
