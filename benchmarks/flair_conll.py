"""Peer benchmark: flair's SequenceTagger (BiLSTM-CRF) on CoNLL-2000 chunking, sized like hybrid's.

What: trains flair's SequenceTagger on the same train/dev/test sentences as
benchmarks/chunking.py (dev = the same seeded 10% of train) and reports test span F1
(seqeval, IOB2), training sentences/s, tagging tokens/s and peak RSS, as one JSON line
that is also written to OUT/result.json. Why: a reference point for hybrid's own chunking
figures from a widely used toolkit. It runs in its own virtualenv (flair's pins clash with
hybrid's), so it imports nothing from hybrid; the dev-split rule is copied from
hybrid.train.tagging.split_dev. Nothing is downloaded: no pretrained vectors, and the
character dictionary is counted on train (flair's default one would be fetched).

    flair-venv/bin/python benchmarks/flair_conll.py --out runs/flair-chunk          # full run
    flair-venv/bin/python benchmarks/flair_conll.py --out /tmp/fc --train-limit 300 \\
        --epochs 1 --threads 1                                                              # sanity run

Matched to hybrid's chunking run (benchmarks/chunking.py defaults, hybrid.config.TaggerConfig):
  word embedding 100 (trainable, from scratch; words digit-normalised 1999 -> 0000 as hybrid
  does, via a token label 'word' that OneHotEmbeddings reads), POS embedding 20 (a second
  OneHotEmbeddings over the 'pos' field), char BiLSTM with char dim 30 and 50 per direction
  (CharacterEmbeddings: final states, 100 wide), concatenated (StackedEmbeddings, 220 wide);
  BiLSTM 200 per direction, 1 layer (--num-layers; benchmarks/flair_compare.py uses 2), CRF;
  dropout 0.5 on the embeddings and on the LSTM output; Adam lr 1e-3, constant (no
  annealing); batch 32; gradient norm clip 5 per sentence-averaged loss (see below); up to 50
  epochs, early stop after 8 epochs without a better dev F1, 55-minute cap; best-on-dev model
  is tested; tags trained as BIO (IOB2).
Not matched (a reader should know):
  - Unknown words: hybrid keeps every train word (min freq 1) and trains its UNK row by
    replacing 5% of words with UNK; flair has no such dropout, so by default words seen once
    are left out of the vocabulary (--min-word-freq 2) to train the UNK row. Flair's
    word_dropout (0.05 here) zeroes a token's whole stacked vector (word, POS and chars).
  - Loss: flair sums the CRF loss over a batch, hybrid averages it; Adam is invariant to the
    scale, so clipping at batch_size x 5 reproduces hybrid's clip at 5 (exact for full batches).
  - Batching: flair draws random batches; hybrid sorts by length within shuffled pools.
    Flair's CharacterEmbeddings runs one char-LSTM call per sentence; hybrid one per batch
    (and caches char features of seen words at inference).
  - Decoding: hybrid's CRF may forbid invalid BIO transitions ('auto' constraints); flair's
    CRF learns transitions without constraints. Both are scored with span F1 here
    (seqeval's conlleval rule over IOB2 tags; flair's predicted spans are written as IOB2,
    since its token-level labels are BIOES).
  - Max word length: hybrid truncates words to 30 chars for its char encoder; flair does not.
  - Train speed is timed over the epochs' training loops only (a trainer plugin brackets them),
    so dev evaluation is excluded; wall_seconds has everything.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import resource
import time
from collections import Counter
from pathlib import Path

import flair
import torch
from flair.data import Corpus, Dictionary, Sentence
from flair.datasets import FlairDatapointDataset
from flair.embeddings import CharacterEmbeddings, OneHotEmbeddings, StackedEmbeddings
from flair.models import SequenceTagger
from flair.trainers import ModelTrainer
from flair.trainers.plugins.base import TrainerPlugin, TrainingInterrupt
from seqeval.metrics import f1_score, precision_score, recall_score
from seqeval.metrics.sequence_labeling import get_entities

_DIGITS = re.compile(r"\d")


def read_conll(path: Path) -> list[list[tuple[str, str, str]]]:
    """Sentences of (word, POS, chunk) rows; blank lines end sentences, -DOCSTART- lines are skipped."""
    sentences, rows = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if not fields or fields[0] == "-DOCSTART-":
            if rows:
                sentences.append(rows)
                rows = []
            continue
        rows.append((fields[0], fields[1], fields[-1]))
    if rows:
        sentences.append(rows)
    return sentences


def split_dev(sentences: list, fraction: float, seed: int) -> tuple[list, list]:
    """hybrid.train.tagging.split_dev: a seeded random `fraction` of train held out as dev, order kept."""
    order = list(range(len(sentences)))
    random.Random(seed).shuffle(order)
    dev_idx = set(order[:max(1, round(fraction * len(sentences)))])
    return ([s for i, s in enumerate(sentences) if i not in dev_idx],
            [s for i, s in enumerate(sentences) if i in dev_idx])


def to_flair(rows: list[tuple[str, str, str]], gold: bool) -> Sentence:
    """A flair Sentence with token labels 'word' (digit-normalised form) and 'pos', and (if gold)
    span labels 'chunk' from the IOB2 column."""
    sentence = Sentence([w for w, _, _ in rows])
    for token, (word, pos, _) in zip(sentence.tokens, rows, strict=True):
        token.add_label("word", _DIGITS.sub("0", word))
        token.add_label("pos", pos)
    if gold:
        for kind, start, end in get_entities([c for _, _, c in rows]):
            sentence[start:end + 1].add_label("chunk", kind)
    return sentence


class Bookkeeping(TrainerPlugin):
    """Times the training loops alone, and stops on patience or on the time budget. The stop is
    raised when the next epoch begins: flair saves best-model.pt after `after_evaluation`, so a
    stop raised there would lose the last epoch's model."""

    def __init__(self, patience: int, max_minutes: float | None) -> None:
        super().__init__()
        self.patience, self.max_minutes = patience, max_minutes
        self.train_seconds, self.epochs_run, self.best_epoch, self.best_dev, self.bad = 0.0, 0, 0, None, 0
        self.started = time.perf_counter()
        self._epoch_start = 0.0
        self.stop: str | None = None

    @TrainerPlugin.hook
    def before_training_epoch(self, **kw):
        if self.stop:
            raise TrainingInterrupt(self.stop)
        self._epoch_start = time.perf_counter()

    @TrainerPlugin.hook
    def after_training_epoch(self, epoch, **kw):
        self.train_seconds += time.perf_counter() - self._epoch_start
        self.epochs_run = epoch

    @TrainerPlugin.hook
    def after_evaluation(self, epoch, current_model_is_best, validation_scores, **kw):
        if current_model_is_best:
            self.best_epoch, self.best_dev, self.bad = epoch, float(validation_scores[0]), 0
        else:
            self.bad += 1
        if self.bad >= self.patience:
            self.stop = f"no better dev F1 for {self.patience} epochs"
        if self.max_minutes is not None and time.perf_counter() - self.started > 60 * self.max_minutes:
            self.stop = f"time budget of {self.max_minutes} minutes spent"


def span_tags(sentence: Sentence, label: str) -> list[str]:
    """IOB2 tags of the chunks flair predicted as spans (its token labels would be BIOES)."""
    tags = ["O"] * len(sentence)
    for span in sentence.get_spans(label):
        kind = span.get_label(label).value
        first, *rest = (token.idx - 1 for token in span.tokens)  # token.idx counts from 1
        tags[first] = f"B-{kind}"
        for i in rest:
            tags[i] = f"I-{kind}"
    return tags


def tag_test(tagger: SequenceTagger, test_rows: list, batch: int) -> dict:
    """Test span F1 (seqeval) and tagging tokens/s of `tagger` (predict alone is timed)."""
    test = [to_flair(r, False) for r in test_rows]
    tokens = sum(len(r) for r in test_rows)
    tag_start = time.perf_counter()
    tagger.predict(test, mini_batch_size=batch, label_name="predicted")
    tag_seconds = time.perf_counter() - tag_start
    gold = [[c for _, _, c in r] for r in test_rows]
    pred = [span_tags(s, "predicted") for s in test]
    return {"test_f1": round(100 * f1_score(gold, pred), 2),
            "test_precision": round(100 * precision_score(gold, pred), 2),
            "test_recall": round(100 * recall_score(gold, pred), 2), "test_tokens": tokens,
            "tag_seconds": round(tag_seconds, 2), "tag_tokens_per_s": round(tokens / tag_seconds, 1)}


def build(args: argparse.Namespace, train_rows: list, dev_rows: list) -> tuple[Corpus, SequenceTagger]:
    """The corpus and the BiLSTM-CRF tagger (words, POS, characters) as trained here."""
    corpus = Corpus(FlairDatapointDataset([to_flair(r, True) for r in train_rows]),
                    FlairDatapointDataset([to_flair(r, True) for r in dev_rows]), None,
                    name="conll2000", sample_missing_splits=False)

    chars = Dictionary(add_unk=True)
    for char in sorted(Counter(c for rows in train_rows for w, _, _ in rows for c in w)):
        chars.add_item(char)
    embeddings = StackedEmbeddings([
        OneHotEmbeddings.from_corpus(corpus, field="word", min_freq=args.min_word_freq,
                                     embedding_length=args.word_dim),
        OneHotEmbeddings.from_corpus(corpus, field="pos", min_freq=1, embedding_length=args.feature_dim),
        CharacterEmbeddings(chars, char_embedding_dim=args.char_dim, hidden_size_char=args.char_hidden),
    ])
    tagger = SequenceTagger(
        hidden_size=args.hidden_size, embeddings=embeddings,
        tag_dictionary=corpus.make_label_dictionary("chunk", add_unk=False), tag_type="chunk",
        tag_format="BIO", use_crf=True, use_rnn=True, rnn_layers=args.num_layers, reproject_embeddings=False,
        dropout=args.dropout, word_dropout=args.word_dropout, locked_dropout=0.0,
    )
    return corpus, tagger


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data/conll2000")
    ap.add_argument("--out", default="runs/flair-chunk")
    ap.add_argument("--hidden-size", type=int, default=200)
    ap.add_argument("--num-layers", type=int, default=1)
    ap.add_argument("--word-dim", type=int, default=100)
    ap.add_argument("--feature-dim", type=int, default=20)
    ap.add_argument("--char-dim", type=int, default=30)
    ap.add_argument("--char-hidden", type=int, default=50)
    ap.add_argument("--min-word-freq", type=int, default=2)
    ap.add_argument("--dropout", type=float, default=0.5)
    ap.add_argument("--word-dropout", type=float, default=0.05)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--clip-norm", type=float, default=5.0, help="per sentence-averaged loss, as hybrid's")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--patience", type=int, default=8)
    ap.add_argument("--max-minutes", type=float, default=55.0)
    ap.add_argument("--tag-batch", type=int, default=256, help="hybrid tag's default (flair's predict: 32)")
    ap.add_argument("--train-limit", type=int, default=None, help="first N train sentences (sanity runs)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-tag", action="store_true", help="train only (tagging is timed later with --tag-only)")
    ap.add_argument("--tag-only", action="store_true", help="tag the test set with OUT/best-model.pt and add "
                                                              "the figures to OUT/result.json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    flair.device = torch.device("cpu")
    for handler in logging.getLogger("flair").handlers:  # console quiet; OUT/training.log keeps the detail
        handler.setLevel(logging.WARNING)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    data = Path(args.data)
    train_rows, dev_rows = split_dev(read_conll(data / "train.txt"), 0.1, args.seed)
    train_rows = train_rows[:args.train_limit]
    test_rows = read_conll(data / "test.txt")
    if args.tag_only:
        if not (out / "best-model.pt").is_file():
            raise SystemExit(f"{out}: no best-model.pt (train first, without --tag-only)")
        # as flair's trainer reloads its best model: the saved weights into a tagger built as in
        # training. (The tagger that SequenceTagger.load unpickles whole in a new process scored
        # dev F1 32.6 here where the same weights score 94.1, with this script's embeddings.)
        _corpus, tagger = build(args, train_rows, dev_rows)
        tagger.load_state_dict(SequenceTagger.load(out / "best-model.pt").state_dict())
        tagger.eval()
        figures = json.loads((out / "result.json").read_text(encoding="utf-8"))
        figures.update(tag_test(tagger, test_rows, args.tag_batch))
        figures["peak_rss_tagging_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        (out / "result.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        print(json.dumps(figures))
        return
    flair.set_seed(args.seed)
    corpus, tagger = build(args, train_rows, dev_rows)
    book = Bookkeeping(args.patience, args.max_minutes)
    ModelTrainer(tagger, corpus).train_custom(
        out, learning_rate=args.lr, optimizer=torch.optim.Adam, mini_batch_size=args.batch_size,
        max_epochs=args.epochs, max_grad_norm=args.clip_norm * args.batch_size,
        embeddings_storage_mode="none", save_final_model=False, plugins=[book],
    )  # ends with the best-on-dev model loaded (best-model.pt)

    figures = {
        "tool": "flair", "flair_version": flair.__version__, "torch_version": torch.__version__,
        **({} if args.no_tag else tag_test(tagger, test_rows, args.tag_batch)),
        "dev_f1": None if book.best_dev is None else round(100 * book.best_dev, 2),
        "best_epoch": book.best_epoch, "epochs_run": book.epochs_run,
        "train_sentences": len(train_rows), "dev_sentences": len(dev_rows), "test_sentences": len(test_rows),
        "train_seconds": round(book.train_seconds, 1),
        "train_sentences_per_s": round(len(train_rows) * book.epochs_run / book.train_seconds, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "parameters": sum(p.numel() for p in tagger.parameters()),
        "wall_minutes": round((time.perf_counter() - started) / 60, 2), "args": vars(args),
    }
    (out / "result.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
