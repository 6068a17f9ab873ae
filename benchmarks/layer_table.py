"""The structured-layer table: one encoder, one budget, every output layer and chain loss.

Each row trains the same BiLSTM encoder (words + characters, + the POS column on CoNLL-2000)
under the same epoch and minute budget and differs only in the layer and its training loss:

    softmax         per-token cross-entropy, argmax decoding
    hmm             DNN-HMM hybrid: per-token cross-entropy, Viterbi over log P(y|x) - log P(y) + log A
    crf             CRF, sequence log-likelihood (nll)
    crf-perceptron  CRF potentials, structured perceptron loss
    crf-hinge       CRF potentials, structured hinge loss (cost-augmented Viterbi, Hamming cost)

Early stopping on dev only (EWT: its dev file; CoNLL-2000: a seeded 10% of train); test is
scored once at the end. Rows run as parallel processes (`--jobs`), e.g. on one GPU:

    python benchmarks/layer_table.py --corpus conll2000 --device cuda --jobs 5 --max-minutes 8
    python benchmarks/layer_table.py --corpus ewt --rows softmax,hmm,crf --device cuda --jobs 3

`--encoders` crosses the rows with recurrent encoders instead (the encoder table: Elman RNN,
Jordan, LSTM and GRU under the CRF, one budget):

    python benchmarks/layer_table.py --rows crf --encoders rnn,jordan,lstm,gru --max-minutes 20 --jobs 2

The classic count-based HMM row comes from benchmarks/hmm_classic.py.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROWS = {"softmax": ("softmax", "auto"), "hmm": ("hmm", "auto"), "crf": ("crf", "nll"),
        "crf-perceptron": ("crf", "perceptron"), "crf-hinge": ("crf", "hinge")}
ENCODERS = ("rnn", "jordan", "lstm", "gru", "peephole", "transformer")
CORPORA = {
    "conll2000": {"data": "../shared/data/conll2000", "train": "train.txt", "dev": None, "test": "test.txt",
                  "metric": "f1", "num_layers": 2, "lr": 1e-3, "patience": 8},
    "ewt": {"data": "../shared/data/ud_ewt", "train": "en_ewt-ud-train.conllu", "dev": "en_ewt-ud-dev.conllu",
            "test": "en_ewt-ud-test.conllu", "metric": "accuracy", "num_layers": 1, "lr": 2e-3, "patience": 6},
}


def run_row(args: argparse.Namespace) -> dict:
    """Train and test one row in this process; returns (and writes) its figures."""
    import torch

    from hybrid.config import DataConfig, ModelConfig, TaggerConfig, TrainConfig, atomic_write_text
    from hybrid.models.io import load_tagger
    from hybrid.train.tagging import read_tagged, train_tagger
    from hybrid.train.trainer import evaluate

    torch.set_num_threads(args.threads)
    spec = CORPORA[args.corpus]
    folder = Path(args.data or spec["data"])
    if args.corpus == "conll2000":
        data = DataConfig(format="conll", word_column=0, tag_column=-1, feature_columns=(1,))
    else:
        data = DataConfig(format="conllu", word_column="form", tag_column="upos", min_word_freq=2)
    layer, loss = ROWS[args.row]
    config = TaggerConfig(
        data=data,
        model=ModelConfig(word_dim=100, char_encoder="lstm", encoder=args.encoder, hidden_size=200,
                          num_layers=spec["num_layers"], dropout=0.5, layer=layer, loss=loss),
        train=TrainConfig(optimizer="adam", lr=spec["lr"], batch_size=32, epochs=args.epochs,
                          patience=spec["patience"], max_minutes=args.max_minutes, seed=args.seed,
                          dev_fraction=0.1),
    )
    out = Path(args.out) / args.corpus / args.encoder / args.row
    dev = folder / spec["dev"] if spec["dev"] else None
    start = time.monotonic()
    summary = train_tagger(config, folder / spec["train"], out, dev, progress=False, device=args.device)
    minutes = (time.monotonic() - start) / 60
    result = evaluate(load_tagger(out / "model"), read_tagged(folder / spec["test"], data))
    figures = {"corpus": args.corpus, "encoder": args.encoder, "row": args.row, "layer": layer, "loss": loss,
               "test": result[spec["metric"]], "metric": spec["metric"], "dev": summary["best_dev"],
               "best_epoch": summary["best_epoch"], "epochs_run": summary["epochs_run"],
               "wall_minutes": round(minutes, 1), "device": args.device}
    atomic_write_text(out / "figures.json", json.dumps(figures, indent=2) + "\n")
    return figures


def run_table(args: argparse.Namespace) -> list[dict]:
    """Run every requested row as a subprocess, `--jobs` at a time, and collect their figures."""
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = [r for r in rows if r not in ROWS]
    if unknown:
        raise SystemExit(f"unknown rows {unknown}; expected some of {', '.join(ROWS)}")
    encoders = [e.strip() for e in args.encoders.split(",") if e.strip()]
    unknown = [e for e in encoders if e not in ENCODERS]
    if unknown:
        raise SystemExit(f"unknown encoders {unknown}; expected some of {', '.join(ENCODERS)}")
    cells = [(encoder, row) for encoder in encoders for row in rows]
    shared = ["--corpus", args.corpus, "--out", args.out, "--epochs", str(args.epochs), "--seed", str(args.seed),
              "--max-minutes", str(args.max_minutes), "--device", args.device, "--threads", str(args.threads)]
    if args.data:
        shared += ["--data", args.data]
    pending, running = list(cells), []
    while pending or running:
        while pending and len(running) < args.jobs:
            encoder, row = pending.pop(0)
            log = Path(args.out) / args.corpus / encoder / f"{row}.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("w") as handle:
                cmd = [sys.executable, __file__, "--row", row, "--encoder", encoder, *shared]
                running.append((f"{encoder}/{row}", subprocess.Popen(cmd, stdout=handle, stderr=subprocess.STDOUT)))
        time.sleep(2)
        for cell, proc in list(running):
            if proc.poll() is not None:
                running.remove((cell, proc))
                print(f"{cell}: exit {proc.returncode}", flush=True)
    figures = []
    for encoder, row in cells:
        path = Path(args.out) / args.corpus / encoder / row / "figures.json"
        if path.exists():
            figures.append(json.loads(path.read_text(encoding="utf-8")))
    return figures


def markdown(figures: list[dict]) -> str:
    lines = ["| corpus | encoder | row | layer | loss | dev | test | best epoch / run | minutes | device |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for f in figures:
        lines.append(f"| {f['corpus']} | {f['encoder']} | {f['row']} | {f['layer']} | {f['loss']} | {f['dev']:.2f} | "
                     f"{f['test']:.2f} {f['metric']} | {f['best_epoch']} / {f['epochs_run']} | "
                     f"{f['wall_minutes']} | {f['device']} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", choices=list(CORPORA), default="conll2000")
    ap.add_argument("--data", default=None, help="corpus folder (default: the one under ../shared/data)")
    ap.add_argument("--rows", default=",".join(ROWS), help="comma-separated rows to run")
    ap.add_argument("--encoders", default="lstm", help="comma-separated encoders, each crossed with every row")
    ap.add_argument("--row", default=None, help=argparse.SUPPRESS)  # one row, in this process
    ap.add_argument("--encoder", default="lstm", choices=ENCODERS, help=argparse.SUPPRESS)  # with --row
    ap.add_argument("--out", default="runs/layer-table")
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--max-minutes", type=float, default=55.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads per row")
    ap.add_argument("--jobs", type=int, default=2, help="rows trained at once")
    args = ap.parse_args()
    if args.row:
        print(json.dumps(run_row(args)))
        return
    figures = run_table(args)
    table = markdown(figures)
    Path(args.out, args.corpus, "table.md").write_text(table + "\n", encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
