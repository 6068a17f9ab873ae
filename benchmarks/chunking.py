"""CoNLL-2000 chunking: train a tagger (words + POS column + characters) and report test span F1.

The dev set for early stopping is a seeded 10% of train (the task has no dev split); the
test set is only scored, never used for choices.

    python benchmarks/chunking.py --layer crf --out runs/chunk-crf
    python benchmarks/chunking.py --layer softmax --out runs/chunk-softmax
    python benchmarks/chunking.py --layer hmm --out runs/chunk-hmm   (DNN-HMM hybrid, scales tuned on dev)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from hybrid.config import DataConfig, ModelConfig, TaggerConfig, TrainConfig, atomic_write_text
from hybrid.models.io import load_tagger
from hybrid.train.tagging import read_tagged, train_tagger
from hybrid.train.trainer import evaluate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data/conll2000")
    ap.add_argument("--out", default="runs/chunk")
    ap.add_argument("--layer", default="crf", choices=["crf", "softmax", "hmm"])
    ap.add_argument("--loss", default="auto", choices=["auto", "nll", "perceptron", "hinge"])
    ap.add_argument("--encoder", default="lstm")
    ap.add_argument("--char-encoder", default="lstm")
    ap.add_argument("--hidden-size", type=int, default=200)
    ap.add_argument("--num-layers", type=int, default=1)
    ap.add_argument("--word-dim", type=int, default=100)
    ap.add_argument("--feature-dim", type=int, default=20)
    ap.add_argument("--dropout", type=float, default=0.5)
    ap.add_argument("--optimizer", default="adam")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--lr-decay", type=float, default=0.0)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--patience", type=int, default=8)
    ap.add_argument("--max-minutes", type=float, default=55.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    data = Path(args.data)
    config = TaggerConfig(
        data=DataConfig(format="conll", word_column=0, tag_column=-1, feature_columns=(1,)),
        model=ModelConfig(word_dim=args.word_dim, feature_dim=args.feature_dim, char_encoder=args.char_encoder,
                          encoder=args.encoder, hidden_size=args.hidden_size, num_layers=args.num_layers,
                          dropout=args.dropout, layer=args.layer, loss=args.loss),
        train=TrainConfig(optimizer=args.optimizer, lr=args.lr, lr_decay=args.lr_decay,
                          batch_size=args.batch_size, epochs=args.epochs, patience=args.patience,
                          max_minutes=args.max_minutes, seed=args.seed, dev_fraction=0.1),
    )
    start = time.monotonic()
    summary = train_tagger(config, data / "train.txt", args.out, None, progress=False, device=args.device)
    minutes = (time.monotonic() - start) / 60
    result = evaluate(load_tagger(Path(args.out) / "model"), read_tagged(data / "test.txt", config.data))
    figures = {
        "layer": args.layer, "loss": args.loss, "test_f1": result["f1"], "test_accuracy": result["accuracy"],
        "dev_f1": summary["best_dev"], "best_epoch": summary["best_epoch"], "epochs_run": summary["epochs_run"],
        "wall_minutes": round(minutes, 1), "device": args.device, "args": vars(args),
    }
    atomic_write_text(Path(args.out) / "figures.json", json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
