"""Word vectors fed back into the taggers: CoNLL-2000 chunking and UD EWT UPOS trained with
`--embeddings VECTORS` (e.g. skip-gram vectors learnt by `hybrid embed train` on wiki100m)
against random initialisation, same settings and budget. The two arms of a corpus run at once,
one torch thread each, so they share the machine alike.

Reports test F1 (chunking) / accuracy (UPOS) of each arm, and the share of test tokens the
vectors cover (the word itself or its lowercased form is in the vectors) beside the share the
tagger's own vocabulary (words of train) covers.

    python benchmarks/vectors_in_taggers.py --vectors runs/w2v-sg/model --max-minutes 12 --out runs/vectors-in-taggers
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the repository's packages
from benchmarks.layer_table import CORPORA  # noqa: E402


def data_config(corpus: str):
    from hybrid.config import DataConfig

    if corpus == "conll2000":
        return DataConfig(format="conll", word_column=0, tag_column=-1, feature_columns=(1,))
    return DataConfig(format="conllu", word_column="form", tag_column="upos", min_word_freq=2)


def run_arm(args: argparse.Namespace) -> dict:
    """Train and test one arm (with or without the vectors) in this process."""
    import torch

    from hybrid.config import ModelConfig, TaggerConfig, TrainConfig, atomic_write_text
    from hybrid.models.io import load_tagger
    from hybrid.train.tagging import read_tagged, train_tagger
    from hybrid.train.trainer import evaluate

    torch.set_num_threads(1)
    spec, data = CORPORA[args.corpus], data_config(args.corpus)
    folder = Path(args.data) / Path(spec["data"]).name
    embeddings = args.vectors if args.arm == "vectors" else None
    config = TaggerConfig(
        data=data,
        model=ModelConfig(word_dim=100, char_encoder="lstm", encoder="lstm", hidden_size=200,
                          num_layers=spec["num_layers"], dropout=0.5, layer="crf", embeddings=embeddings),
        train=TrainConfig(optimizer="adam", lr=spec["lr"], batch_size=32, epochs=args.epochs,
                          patience=spec["patience"], max_minutes=args.max_minutes, seed=args.seed, dev_fraction=0.1),
    )
    out = Path(args.out) / args.corpus / args.arm
    dev = folder / spec["dev"] if spec["dev"] else None
    started = time.monotonic()
    summary = train_tagger(config, folder / spec["train"], out, dev, progress=False, overwrite=True)
    test = read_tagged(folder / spec["test"], data)
    tagger = load_tagger(out / "model")
    result = evaluate(tagger, test)
    figures = {"corpus": args.corpus, "arm": args.arm, "test_f1": result.get("f1"), "test_accuracy": result["accuracy"],
               "best_dev": summary["best_dev"], "epochs_run": summary["epochs_run"],
               "minutes": round((time.monotonic() - started) / 60, 1),
               "test_tokens_in_tagger_vocabulary": coverage(test, set(tagger.vocabs.words.tokens))}
    atomic_write_text(out / "figures.json", json.dumps(figures, indent=2) + "\n")
    return figures


def coverage(sentences, words: set[str]) -> float:
    """Share (%) of the tokens of `sentences` found in `words`, as written or lowercased."""
    tokens = [token for sentence in sentences for token in sentence.words]
    return round(100 * sum(t in words or t.lower() in words for t in tokens) / max(len(tokens), 1), 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vectors", required=True, help="word vectors: a model directory, word2vec text or binary")
    ap.add_argument("--data", default="../shared/data", help="folder holding conll2000/ and ud_ewt/")
    ap.add_argument("--corpora", default="conll2000,ewt")
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--max-minutes", type=float, default=12.0, help="budget of each arm")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="runs/vectors-in-taggers")
    ap.add_argument("--corpus", help=argparse.SUPPRESS)  # one arm, in this process
    ap.add_argument("--arm", choices=["vectors", "random"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.arm:
        print(json.dumps(run_arm(args)))
        return
    from hybrid.embeddings import read_vectors
    from hybrid.train.tagging import read_tagged

    known = set(read_vectors(args.vectors).words)
    table = []
    for corpus in args.corpora.split(","):
        spec = CORPORA[corpus]
        arms = {arm: subprocess.Popen([sys.executable, __file__, *sys.argv[1:], "--corpus", corpus, "--arm", arm],
                                      stdout=subprocess.PIPE, text=True) for arm in ("vectors", "random")}
        rows = {arm: json.loads(process.communicate()[0].strip().splitlines()[-1]) for arm, process in arms.items()}
        test = read_tagged(Path(args.data) / Path(spec["data"]).name / spec["test"], data_config(corpus))
        for row in rows.values():
            row["test_tokens_in_vectors"] = coverage(test, known)
            table.append(row)
            print(json.dumps(row), flush=True)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "table.json").write_text(json.dumps(table, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
