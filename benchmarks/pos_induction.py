"""POS induction benchmark: Baum-Welch HMM (hmmlearn) on UD English EWT train words, scored on EWT test.

    python benchmarks/pos_induction.py [--states 45] [--iterations 100] [--budget 900] [--seed 0]

The model is trained on the train *words* only (no tags). It is then applied to the test
sentences (Viterbi) and scored against test UPOS:
  - many-to-one, mapping learned on TRAIN gold (states of the Viterbi-decoded train set
    mapped to their most frequent train tag; honest: no test labels used for the mapping);
  - many-to-one and one-to-one with the mapping learned on TEST itself (the usual figure in
    the induction literature), and V-measure.
Published HMM-EM baselines: about 60-65% many-to-one on the WSJ (45 states).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hybrid.data.readers import read_sentences  # noqa: E402
from hybrid.unsupervised import InductionConfig, induce, induction_scores, many_to_one  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "ud_ewt"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", default=str(DATA / "en_ewt-ud-train.conllu"))
    ap.add_argument("--test", default=str(DATA / "en_ewt-ud-test.conllu"))
    ap.add_argument("--states", type=int, default=45)
    ap.add_argument("--iterations", type=int, default=100)
    ap.add_argument("--tol", type=float, default=1e-5)
    ap.add_argument("--budget", type=float, default=900.0, help="seconds of EM at most")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--min-count", type=int, default=2)
    ap.add_argument("--lowercase", action="store_true")
    ap.add_argument("--json", default=None, help="also write the figures here")
    args = ap.parse_args()

    wall = time.perf_counter()
    train = list(read_sentences(args.train, "conllu"))
    test = list(read_sentences(args.test, "conllu"))
    config = InductionConfig(states=args.states, iterations=args.iterations, tol=args.tol, seed=args.seed,
                             min_count=args.min_count, lowercase=args.lowercase, time_budget=args.budget)
    t0 = time.perf_counter()
    model = induce([s.words for s in train], config, progress=True)
    fit_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    train_states = model.predict([s.words for s in train])
    test_states = model.predict([s.words for s in test])
    decode_s = time.perf_counter() - t0
    _, train_mapping = many_to_one(train_states, [s.tags for s in train])
    honest, _ = many_to_one(test_states, [s.tags for s in test], mapping=train_mapping)
    on_test = induction_scores(test_states, [s.tags for s in test])
    result = {
        "states": args.states, "seed": args.seed, "symbols": len(model.coder),
        "train_tokens": sum(len(s.words) for s in train), "test_tokens": on_test["tokens"],
        "iterations_run": len(model.history),
        "final_train_loglik_per_token": model.history[-1]["log_likelihood_per_token"],
        "test_many_to_one_mapping_from_train_gold": honest,
        "test_many_to_one_mapping_from_test_gold": on_test["many_to_one"],
        "test_one_to_one_mapping_from_test_gold": on_test["one_to_one"],
        "test_v_measure": on_test["v_measure"],
        "states_used_on_test": on_test["states_used"],
        "fit_seconds": round(fit_s, 1), "decode_seconds": round(decode_s, 1),
        "wall_seconds": round(time.perf_counter() - wall, 1),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
