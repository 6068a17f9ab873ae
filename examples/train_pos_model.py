"""Train the bundled English UPOS tagger on UD English EWT (reproduces hybrid/resources/pos-en-ewt).

    python examples/train_pos_model.py --data ../shared/data/ud_ewt --out runs/pos-en-ewt

Trains a BiLSTM-CRF on en_ewt-ud-train (early stopping on en_ewt-ud-dev), reports test
accuracy, and with --install copies the model (weights in float16, < 10 MB) into the package.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from hybrid.config import DataConfig, ModelConfig, TaggerConfig, TrainConfig
from hybrid.models.io import DEFAULT_MODEL, load_tagger, save_tagger
from hybrid.train.tagging import read_tagged, train_tagger
from hybrid.train.trainer import evaluate

CARD = """# pos-en-ewt: English universal POS tagger (bundled with hybrid)

A BiLSTM-CRF over words and characters predicting the 17 UPOS tags, trained with
`examples/train_pos_model.py` on the Universal Dependencies English Web Treebank (EWT),
release 2.16: train split for training, dev split for early stopping ({epochs} epochs,
{minutes} minutes on {where}; on a 2-core CPU an epoch takes about a minute).

- UD English EWT test accuracy: {test:.2f}% (UPOS, {tokens} words)
- Data credit: Universal Dependencies English Web Treebank, (c) 2013-2021 The Board of
  Trustees of the Leland Stanford Junior University, released under CC BY-SA 4.0
  (https://creativecommons.org/licenses/by-sa/4.0/). The texts come from the LDC English
  Web Treebank. These weights are derived from that data and are shared under CC BY-SA 4.0.
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data/ud_ewt", help="folder with en_ewt-ud-*.conllu")
    ap.add_argument("--out", default="runs/pos-en-ewt")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--max-minutes", type=float, default=60.0)
    ap.add_argument("--device", default="cpu", help="torch device for training, e.g. cuda")
    ap.add_argument("--hidden-size", type=int, default=200, help="BiLSTM hidden size per direction")
    ap.add_argument("--install", action="store_true", help="copy the model into hybrid/resources")
    ap.add_argument("--skip-training", action="store_true",
                    help="evaluate (and --install) the model already in OUT/model, e.g. one trained on a GPU")
    args = ap.parse_args()
    data = Path(args.data)
    config = TaggerConfig(
        data=DataConfig(format="conllu", word_column="form", tag_column="upos", min_word_freq=2),
        model=ModelConfig(word_dim=100, char_encoder="lstm", char_dim=30, char_hidden=50,
                          encoder="lstm", hidden_size=args.hidden_size, dropout=0.5, layer="crf"),
        train=TrainConfig(optimizer="adam", lr=2e-3, batch_size=32, epochs=args.epochs, patience=6,
                          max_minutes=args.max_minutes, seed=1),
    )
    model_dir = Path(args.out) / "model"
    if args.skip_training:
        summary = json.loads((model_dir / "training.json").read_text(encoding="utf-8"))
    else:
        summary = train_tagger(
            config, data / "en_ewt-ud-train.conllu", args.out, data / "en_ewt-ud-dev.conllu", device=args.device
        )
    tagger = load_tagger(model_dir)
    test = read_tagged(data / "en_ewt-ud-test.conllu", config.data)
    result = evaluate(tagger, test)
    summary.update(test_accuracy=result["accuracy"], test_tokens=result["tokens"])
    print(json.dumps({k: v for k, v in summary.items() if k != "history"}, indent=2))
    if args.install:
        shutil.rmtree(DEFAULT_MODEL, ignore_errors=True)
        save_tagger(tagger, DEFAULT_MODEL, config, summary, half=True)
        halved = evaluate(load_tagger(DEFAULT_MODEL), test)["accuracy"]  # what users get
        summary["test_accuracy"] = halved
        save_tagger(load_tagger(DEFAULT_MODEL), DEFAULT_MODEL, config, summary, half=True)
        where = "one GPU" if args.device.startswith("cuda") or "GPU" in str(summary.get("trained_on")) else "CPU"
        card = CARD.format(test=halved, tokens=result["tokens"], epochs=summary["epochs_run"],
                           minutes=summary["minutes"], where=where)
        (DEFAULT_MODEL / "README.md").write_text(card, encoding="utf-8")
        print(f"installed into {DEFAULT_MODEL}: float16 weights, test accuracy {halved:.2f}%")


if __name__ == "__main__":
    main()
