"""The classic count-based HMM tagger (`--layer hmm-classic`, no network) on UD English EWT and CoNLL-2000.

Smoothing and the rare-word threshold are chosen on dev only (EWT: the dev file; CoNLL-2000:
a seeded 10% of train, the held-out split `hybrid train` makes without --dev); the chosen model
is then trained with `train_tagger` (what `hybrid train` runs) and scored once on test.

    python benchmarks/hmm_classic.py [--out runs/hmm-classic]

CoNLL-2000 rows: 'words' observes the words only (the classic HMM baseline); 'pos' observes
the gold POS column instead of the words (`--word-column 1`), the classic POS-based chunker.
Prints each figure with the equivalent `hybrid train` command.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import torch

from hybrid.config import DataConfig, ModelConfig, TaggerConfig, TrainConfig, atomic_write_text
from hybrid.models.hmm_tagger import ClassicHMMTagger
from hybrid.models.io import load_tagger
from hybrid.train.tagging import read_tagged, split_dev, train_tagger
from hybrid.train.trainer import dev_metric, evaluate

GRID = {"hmm_rare_words": (1, 2), "hmm_emission_smoothing": (0.001, 0.01, 0.1), "hmm_transition_smoothing": (0.1, 1.0)}
OPTION = {"hmm_rare_words": "--hmm-rare-words", "hmm_emission_smoothing": "--hmm-emission-smoothing",
          "hmm_transition_smoothing": "--hmm-transition-smoothing"}


def choose(data: DataConfig, train: list, dev: list) -> tuple[dict, list]:
    """The grid point with the best dev score (first wins ties) and every point's score."""
    scores = []
    for values in itertools.product(*GRID.values()):
        params = dict(zip(GRID, values, strict=True))
        model = ClassicHMMTagger.fit(ModelConfig(layer="hmm-classic", **params), train, data.lowercase_words)
        metric = dev_metric(TaggerConfig(data=data), model.tag_names)
        scores.append({**params, "dev": evaluate(model, dev)[metric]})  # type: ignore[arg-type]
    best = max(scores, key=lambda s: s["dev"])
    return {k: best[k] for k in GRID}, scores


def run(name: str, data: DataConfig, train_path: Path, dev_path: Path | None, test_path: Path, out: Path,
        cli_data: str) -> dict:
    train = read_tagged(train_path, data)
    if dev_path is not None:
        dev = read_tagged(dev_path, data)
    else:
        train, dev = split_dev(train, 0.1, 1)
    params, grid = choose(data, train, dev)
    config = TaggerConfig(data=data, model=ModelConfig(layer="hmm-classic", **params),
                          train=TrainConfig(dev_fraction=0.1, seed=1))
    start = time.monotonic()
    summary = train_tagger(config, train_path, out / name, dev_path, progress=False)
    seconds = time.monotonic() - start
    model = load_tagger(out / name / "model")
    test = evaluate(model, read_tagged(test_path, data))  # type: ignore[arg-type]
    command = (f"hybrid train {cli_data} --train {train_path}"
               + (f" --dev {dev_path}" if dev_path else "") + f" --layer hmm-classic --out {out / name} "
               + " ".join(f"{OPTION[k]} {v}" for k, v in params.items())
               + f" && hybrid evaluate --model {out / name}/model --data {test_path}")
    return {"name": name, "params": params, "metric": summary["metric"], "dev": summary["best_dev"],
            "test_accuracy": test["accuracy"], "test_f1": test.get("f1"), "train_plus_dev_eval_s": round(seconds, 1),
            "command": command, "grid": grid}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ewt", default="../shared/data/ud_ewt")
    ap.add_argument("--conll", default="../shared/data/conll2000")
    ap.add_argument("--out", default="runs/hmm-classic")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    ewt, conll, out = Path(args.ewt), Path(args.conll), Path(args.out)
    results = [
        run("ewt-upos", DataConfig(format="conllu", word_column="form", tag_column="upos"),
            ewt / "en_ewt-ud-train.conllu", ewt / "en_ewt-ud-dev.conllu", ewt / "en_ewt-ud-test.conllu", out,
            "--format conllu --tag-column upos"),
        run("conll2000-words", DataConfig(format="conll", word_column=0, tag_column=-1),
            conll / "train.txt", None, conll / "test.txt", out, "--format conll"),
        run("conll2000-pos", DataConfig(format="conll", word_column=1, tag_column=-1),
            conll / "train.txt", None, conll / "test.txt", out, "--format conll --word-column 1"),
    ]
    atomic_write_text(out / "results.json", json.dumps(results, indent=2) + "\n")
    print(f"{'task':18} {'chosen on dev':48} {'dev':>7} {'test acc':>9} {'test F1':>8}")
    for r in results:
        chosen = " ".join(f"{k.removeprefix('hmm_')}={v}" for k, v in r["params"].items())
        f1 = "-" if r["metric"] == "accuracy" else f"{r['test_f1']:.2f}"
        print(f"{r['name']:18} {chosen:48} {r['dev']:7.2f} {r['test_accuracy']:9.2f} {f1:>8}")
    for r in results:
        print(f"\n{r['name']}: {r['command']}")


if __name__ == "__main__":
    main()
