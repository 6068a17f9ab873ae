"""sklearn-crfsuite (a linear-chain CRF on hand-made features, L-BFGS) on CoNLL-2000 chunking:
training time, tagging tokens/s, test span F1 and peak memory, for the table beside hybrid and
flair (benchmarks/flair_compare.py).

The features are those of sklearn-crfsuite's CoNLL tutorial (word shape, suffixes, POS tag and
its prefix, the same for the neighbouring words), the L-BFGS settings its defaults there
(c1 = c2 = 0.1, 100 iterations). It trains on the same 90% of train that `hybrid train` keeps
(the seeded dev split left out) and is scored on test with hybrid's span F1. Tagging tokens/s
include feature extraction, as a user pays it. One process, single-threaded (crfsuite is).

sklearn-crfsuite is a benchmark-only install:

    pip install sklearn-crfsuite
    python benchmarks/crfsuite_conll.py --data conll2000 --json runs/crfsuite.json
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path


def word_features(words: list[str], pos: list[str], i: int) -> dict:
    """The tutorial's features of word i: its own shape and POS, and its neighbours'."""
    word = words[i]
    features = {"bias": 1.0, "word.lower()": word.lower(), "word[-3:]": word[-3:], "word[-2:]": word[-2:],
                "word.isupper()": word.isupper(), "word.istitle()": word.istitle(),
                "word.isdigit()": word.isdigit(), "postag": pos[i], "postag[:2]": pos[i][:2]}
    for offset, name in ((-1, "-1"), (1, "+1")):
        j = i + offset
        if 0 <= j < len(words):
            features.update({f"{name}:word.lower()": words[j].lower(), f"{name}:word.istitle()": words[j].istitle(),
                             f"{name}:word.isupper()": words[j].isupper(), f"{name}:postag": pos[j],
                             f"{name}:postag[:2]": pos[j][:2]})
        else:
            features["BOS" if offset < 0 else "EOS"] = True
    return features


def sentence_features(sentence) -> list[dict]:
    pos = sentence.features[0]  # the POS column
    return [word_features(sentence.words, pos, i) for i in range(len(sentence.words))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data/conll2000", help="folder with train.txt and test.txt")
    ap.add_argument("--iterations", type=int, default=100)
    ap.add_argument("--c1", type=float, default=0.1)
    ap.add_argument("--c2", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=1, help="the dev split's seed, as `hybrid train --seed`")
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()

    import sklearn_crfsuite

    from hybrid.config import DataConfig
    from hybrid.metrics import span_scores
    from hybrid.train.tagging import read_tagged, split_dev

    data = DataConfig(format="conll", word_column=0, tag_column=-1, feature_columns=(1,))
    train, _dev = split_dev(read_tagged(Path(args.data) / "train.txt", data), 0.1, args.seed)
    test = read_tagged(Path(args.data) / "test.txt", data)

    started = time.perf_counter()
    crf = sklearn_crfsuite.CRF(algorithm="lbfgs", c1=args.c1, c2=args.c2, max_iterations=args.iterations,
                               all_possible_transitions=True)
    crf.fit([sentence_features(s) for s in train], [s.tags for s in train])
    train_seconds = time.perf_counter() - started
    iterations = len(crf.training_log_.iterations)

    tokens = sum(len(s.words) for s in test)
    started = time.perf_counter()
    predicted = crf.predict([sentence_features(s) for s in test])
    tag_seconds = time.perf_counter() - started

    figures = {
        "train_sentences": len(train), "train_seconds": round(train_seconds, 1), "lbfgs_iterations": iterations,
        "train_sentence_passes_per_s": round(len(train) * iterations / train_seconds, 1),
        "tag_tokens_per_s": round(tokens / tag_seconds, 1),
        "test_f1": round(span_scores([s.tags for s in test], predicted)["f1"], 2),
        "peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "settings": {"c1": args.c1, "c2": args.c2, "max_iterations": args.iterations},
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
