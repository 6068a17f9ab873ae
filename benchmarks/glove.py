"""GloVe on wiki100m: co-occurrence counting in a child process under a memory cap (its peak RSS
and time), then the fit (time, matrix entries/s), then analogy accuracy (3CosAdd, answers among
the 30,000 most frequent words) and WordSim-353 Spearman rho of W + W~.

    python benchmarks/glove.py --data wiki100m --eval wordvec-eval --memory-mb 2048 --out runs/glove
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch
from word2vec import scores  # benchmarks/word2vec.py (the script's folder is on sys.path)

from hybrid.config import GloveConfig, atomic_write_text, load_json, save_json
from hybrid.embeddings import read_vectors
from hybrid.train.rundir import previous_run


def count_only(out: Path, corpus: Path) -> None:
    """The child: read the corpus and count its co-occurrences into OUT/cooccurrence (its peak
    RSS is the counting's: the matrix is left on disk, not read back)."""
    from hybrid.embeddings.cooccurrence import count_cooccurrences
    from hybrid.embeddings.corpus import read_corpus
    from hybrid.train.glove import COUNTS, fingerprint

    config = load_json(GloveConfig, out / "config.json")
    vocab, encoded = read_corpus([corpus], config.min_count, config.max_vocab, config.lowercase,
                                 config.max_sentence_length)
    matrix = count_cooccurrences(encoded, len(vocab), config.window, out / COUNTS, config.memory_mb,
                                 fingerprint=fingerprint(config, vocab, encoded))
    print(json.dumps({"entries": len(matrix), "vocabulary": len(vocab), "corpus_words": encoded.raw_words}),
          flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data/wiki100m", help="folder with wiki100m.txt.gz")
    ap.add_argument("--eval", default="../shared/data/wordvec-eval", help="folder with the analogy and WS-353 files")
    ap.add_argument("--out", default="runs/glove")
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--window", type=int, default=GloveConfig().window)
    ap.add_argument("--min-count", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=GloveConfig().epochs)
    ap.add_argument("--x-max", type=float, default=GloveConfig().x_max)
    ap.add_argument("--lr", type=float, default=GloveConfig().lr)
    ap.add_argument("--batch-size", type=int, default=GloveConfig().batch_size)
    ap.add_argument("--memory-mb", type=float, default=2048.0)
    ap.add_argument("--max-minutes", type=float, default=None, help="budget of the fit (counting comes first)")
    ap.add_argument("--threads", type=int, default=2, help="Hogwild workers of one torch thread each")
    ap.add_argument("--count-only", action="store_true", help=argparse.SUPPRESS)  # the child's part
    args = ap.parse_args()
    out, corpus = Path(args.out), Path(args.data) / "wiki100m.txt.gz"
    if args.count_only:
        count_only(out, corpus)
        return
    if previous_run(out):
        sys.exit(f"{out} holds a previous run: choose a fresh --out")
    torch.set_num_threads(1)
    config = GloveConfig(dim=args.dim, window=args.window, min_count=args.min_count, epochs=args.epochs,
                         x_max=args.x_max, lr=args.lr, batch_size=args.batch_size, memory_mb=args.memory_mb,
                         max_minutes=args.max_minutes, workers=args.threads)
    out.mkdir(parents=True, exist_ok=True)
    save_json(config, out / "config.json")
    started = time.monotonic()
    child = subprocess.run([sys.executable, __file__, "--count-only", "--out", str(out), "--data", args.data],
                           check=True, capture_output=True, text=True)
    count_seconds = time.monotonic() - started
    print(child.stdout, end="", flush=True)
    counted = json.loads(child.stdout.strip().splitlines()[-1])
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Linux reports KiB

    from hybrid.train.glove import train_glove

    started = time.monotonic()
    summary = train_glove(config, [corpus], out, resume=True, progress=False, log=lambda m: print(m, flush=True))
    fit_seconds = summary["minutes"] * 60
    vectors = read_vectors(out / "model")
    epochs_done = summary["steps_run"] / summary["steps_per_epoch"]
    result = {"settings": vars(args), "corpus_words": counted["corpus_words"], "vocabulary": counted["vocabulary"],
              "cooccurrence_entries": counted["entries"], "count_seconds": round(count_seconds, 1),
              "count_peak_rss_mb": round(peak_mb), "fit_seconds": round(fit_seconds, 1),
              "epochs_done": round(epochs_done, 2),
              "entries_per_s": round(counted["entries"] * epochs_done / fit_seconds),
              "total_seconds": round(count_seconds + time.monotonic() - started, 1), **scores(vectors, Path(args.eval))}
    atomic_write_text(out / "result.json", json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
