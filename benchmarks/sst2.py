"""SST-2 sentiment (GLUE): a sequence classifier trained on train.tsv within a time budget, early
stopping on held-out train sentences; the figure is accuracy on GLUE's dev.tsv (the test labels are
not public), which training never sees.

GLUE's train.tsv holds every phrase of each training sentence, so a random share of its lines
leaks: the held-out phrase's sub-phrases and the sentence around it stay in training. By default
(`--held-out sentences`) the held-out set is a seeded share of the longest phrases (those no
other phrase contains: whole sentences, except where GLUE dropped a neutral sentence and its
polar parts stand alone), and every phrase found only inside held-out ones leaves training;
phrases that training sentences contain too stay, as GLUE's dev sentences share phrases with
its train file (the counts are printed); `--held-out phrases` is the plain random share.

`--refit` then trains a fresh model on all of train.tsv for the number of epochs early stopping
chose, within what is left of the `--max-minutes` budget (search and refit together), and
reports that model too (`--refit-from DIR` refits after a finished run in DIR).

    python benchmarks/sst2.py --data sst2 --max-minutes 30 --out runs/sst2
    python benchmarks/sst2.py --data sst2 --max-minutes 30 --refit --out runs/sst2
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import torch

from hybrid.config import ClassifierConfig, ClassifierModelConfig, ClassifierTrainConfig, atomic_write_text
from hybrid.data.labelled import read_labelled
from hybrid.models.classifier_io import load_classifier
from hybrid.train.classification import evaluate_classifier, train_classifier


def spans(tokens: list[str]) -> set[str]:
    """Every contiguous sub-sequence of `tokens`, joined by spaces (the whole included)."""
    return {" ".join(tokens[i:j]) for i in range(len(tokens)) for j in range(i + 1, len(tokens) + 1)}


def split_by_sentence(lines: list[tuple[str, str]], fraction: float, seed: int
                      ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(train, held-out) of (text, label) phrases: held-out = a seeded `fraction` of the longest
    phrases (inside no other phrase); train = every phrase but those, and but the phrases that
    occur inside a held-out one and inside no training one. A short phrase that other sentences
    share stays (GLUE's own dev sentences share such phrases with its train file)."""
    texts = {text for text, _ in lines}
    inner: set[str] = set()
    for text in texts:
        inner |= spans(text.split()) - {text}
    roots = sorted(t for t in texts if t not in inner)
    rng = random.Random(seed)
    held = set(rng.sample(roots, max(1, round(fraction * len(roots)))))
    kept_spans: set[str] = set()
    for text in roots:
        if text not in held:
            kept_spans |= spans(text.split())
    covered: set[str] = set()
    for text in held:
        covered |= spans(text.split())
    only_held = covered - kept_spans
    return ([(t, y) for t, y in lines if t not in only_held], [(t, y) for t, y in lines if t in held])


def write_tsv(path: Path, rows: list[tuple[str, str]]) -> None:
    atomic_write_text(path, "sentence\tlabel\n" + "".join(f"{t}\t{y}\n" for t, y in rows))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data/sst2", help="folder with GLUE's train.tsv and dev.tsv")
    ap.add_argument("--out", default="runs/sst2")
    ap.add_argument("--encoder", default="lstm", choices=["lstm", "gru", "rnn", "peephole", "jordan", "transformer"])
    ap.add_argument("--num-layers", type=int, default=1)
    ap.add_argument("--pooling", default="attention", choices=["last", "mean", "max", "attention"])
    ap.add_argument("--word-dim", type=int, default=100)
    ap.add_argument("--hidden-size", type=int, default=150)
    ap.add_argument("--dropout", type=float, default=0.5)
    ap.add_argument("--word-dropout", type=float, default=0.0,
                    help="leave each training word out with this probability")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--patience", type=int, default=3)
    ap.add_argument("--held-out", default="sentences", choices=["sentences", "phrases"],
                    help="what early stopping holds out of train (see above)")
    ap.add_argument("--dev-fraction", type=float, default=0.1,
                    help="share of train's sentences (or phrases) held out for early stopping")
    ap.add_argument("--max-minutes", type=float, default=30.0)
    ap.add_argument("--embeddings", default=None, help="pretrained word vectors, --word-dim wide")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--refit", action="store_true", help="retrain on all of train for the chosen epochs")
    ap.add_argument("--refit-from", default=None, help="a finished run's directory: only refit after it")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    data = Path(args.data)
    config = ClassifierConfig(
        model=ClassifierModelConfig(word_dim=args.word_dim, encoder=args.encoder, hidden_size=args.hidden_size,
                                    num_layers=args.num_layers,
                                    dropout=args.dropout, pooling=args.pooling, embeddings=args.embeddings),
        train=ClassifierTrainConfig(lr=args.lr, batch_size=args.batch_size, epochs=args.epochs,
                                    patience=args.patience, max_minutes=args.max_minutes,
                                    dev_fraction=args.dev_fraction, word_dropout=args.word_dropout, seed=args.seed))
    if args.refit_from:
        refit(args, config, Path(args.refit_from))
        return
    started = time.monotonic()
    train_path, dev_path = data / "train.tsv", None
    if args.held_out == "sentences":
        lines = [(" ".join(e.tokens), str(e.label)) for e in read_labelled(train_path)]
        train_rows, held_rows = split_by_sentence(lines, args.dev_fraction, args.seed)
        split = Path(args.out) / "split"
        split.mkdir(parents=True, exist_ok=True)
        train_path, dev_path = split / "train.tsv", split / "held-out.tsv"
        write_tsv(train_path, train_rows)
        write_tsv(dev_path, held_rows)
        print(f"held out {len(held_rows)} whole sentences; {len(train_rows)} of {len(lines)} phrases train",
              flush=True)
    summary = train_classifier(config, train_path, args.out, dev_path, progress=False, overwrite=True,
                               log=lambda m: print(m, flush=True))
    model = load_classifier(Path(args.out) / "model")
    scores = evaluate_classifier(model, list(read_labelled(data / "dev.tsv")))
    result = {"dev_accuracy": scores["accuracy"], "dev_macro_f1": scores["macro_f1"],
              "held_out_accuracy": summary["best_dev"], "held_out": args.held_out,
              "train_examples": summary["train_examples"], "held_out_examples": summary["dev_examples"],
              "best_epoch": summary["best_epoch"],
              "epochs_run": summary["epochs_run"], "stopped_by": summary["stopped_by"],
              "wall_minutes": round((time.monotonic() - started) / 60, 1), "settings": vars(args)}
    atomic_write_text(Path(args.out) / "result.json", json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    if args.refit:
        refit(args, config, Path(args.out))


def refit(args: argparse.Namespace, config: ClassifierConfig, search: Path) -> None:
    """Train on all of train.tsv for the epochs the search in `search` chose, within the rest of
    the budget; the final epoch's weights are the model (no selection on any dev data)."""
    import dataclasses

    from hybrid.models.classifier import ClassifierVocabs, SequenceClassifier

    found = json.loads((search / "result.json").read_text(encoding="utf-8"))
    epochs, left = max(1, int(found["best_epoch"])), args.max_minutes - found["wall_minutes"]
    if left <= 0:
        raise SystemExit(f"the search used the whole budget ({found['wall_minutes']} minutes): nothing left to refit")
    held = search / "split" / "held-out.tsv"  # logged only: the refit trains on these sentences too
    config = dataclasses.replace(config, train=dataclasses.replace(
        config.train, epochs=epochs, patience=epochs + 1, max_minutes=left))
    out = search / "refit"
    started = time.monotonic()
    summary = train_classifier(config, Path(args.data) / "train.tsv", out, held, progress=False, overwrite=True,
                               log=lambda m: print(m, flush=True))
    state = torch.load(out / "checkpoint.pt", weights_only=True)["trainer"]["model"]  # the last epoch's weights
    saved = json.loads((out / "model" / "vocab.json").read_text(encoding="utf-8"))
    model = SequenceClassifier(config.model, ClassifierVocabs.from_dict(saved))
    model.load_state_dict(state)
    model.eval()
    scores = evaluate_classifier(model, list(read_labelled(Path(args.data) / "dev.tsv")))
    minutes = (time.monotonic() - started) / 60
    result = {"dev_accuracy": scores["accuracy"], "dev_macro_f1": scores["macro_f1"], "refit_epochs": epochs,
              "epochs_run": summary["epochs_run"], "stopped_by": summary["stopped_by"],
              "refit_minutes": round(minutes, 1), "search_minutes": found["wall_minutes"],
              "total_minutes": round(found["wall_minutes"] + minutes, 1), "search_dev_accuracy": found["dev_accuracy"]}
    atomic_write_text(out / "result.json", json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
