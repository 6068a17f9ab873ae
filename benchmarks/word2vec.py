"""word2vec on wiki100m, side by side with gensim (a benchmark-only install: pip install gensim):
the same corpus, settings and threads, one after the other in one process; for each, training
words/s (raw corpus words x epochs / seconds of training, reading the corpus apart), analogy
accuracy (3CosAdd, answers among the 30,000 most frequent words) and WordSim-353 Spearman rho.

    python benchmarks/word2vec.py --data wiki100m --eval wordvec-eval --model skipgram --loss ns --out runs/w2v
    python benchmarks/word2vec.py ... --skip-gensim      (ours alone)
    python benchmarks/word2vec.py ... --max-minutes 5    (ours within a budget; words/s still comparable)

Ours runs --threads Hogwild workers of one torch thread each, as gensim runs --threads workers.
Both vector sets are scored in one word order (ours): the two vocabularies hold the same words
but break ties between equal counts differently, which would change the 30,000 words the analogy
protocol keeps, and so the questions scored (146 of about 13,000 on wiki100m). gensim's vectors
are kept in OUT/gensim-vectors.bin (word2vec binary).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from hybrid.config import Word2VecConfig, atomic_write_text
from hybrid.embeddings import (
    WordVectors,
    analogy_scores,
    read_analogies,
    read_similarity,
    read_vectors,
    similarity_scores,
    write_vectors,
)
from hybrid.train.word2vec import train_word2vec


def scores(vectors: WordVectors, eval_dir: Path) -> dict:
    analogies = analogy_scores(vectors, read_analogies(eval_dir / "questions-words.txt"), restrict=30000)
    similarity = similarity_scores(vectors, read_similarity(eval_dir / "wordsim353.tsv"))
    return {"analogy_3cosadd": round(analogies["total"]["3cosadd"], 2),
            "analogy_semantic": round(analogies["semantic"]["3cosadd"], 2),
            "analogy_syntactic": round(analogies["syntactic"]["3cosadd"], 2),
            "analogy_scored": analogies["total"]["scored"], "wordsim_rho": round(similarity["spearman"], 3)}


def in_order_of(vectors: WordVectors, words: list[str]) -> WordVectors:
    """`vectors` with their rows in the order of `words` (the same words)."""
    if set(vectors.words) != set(words):
        raise SystemExit("gensim's vocabulary and ours differ: their scores would not be comparable")
    row = {word: i for i, word in enumerate(vectors.words)}
    return WordVectors(list(words), vectors.vectors[[row[word] for word in words]])


def run_gensim(corpus: Path, config: Word2VecConfig, threads: int) -> dict:
    from gensim.models import Word2Vec
    from gensim.models.word2vec import LineSentence

    sentences = LineSentence(str(corpus), max_sentence_length=config.max_sentence_length)
    started = time.monotonic()
    model = Word2Vec(vector_size=config.dim, window=config.window, negative=config.negative if
                     config.loss == "ns" else 0, hs=1 if config.loss == "hs" else 0,
                     sg=1 if config.model == "skipgram" else 0, min_count=config.min_count, sample=config.sample,
                     workers=threads, alpha=config.learning_rate, min_alpha=config.min_alpha, seed=config.seed)
    model.build_vocab(sentences)
    vocab_seconds = time.monotonic() - started
    started = time.monotonic()
    model.train(sentences, total_examples=model.corpus_count, epochs=config.epochs)
    seconds = time.monotonic() - started  # training alone, as ours is timed
    words = model.corpus_total_words * config.epochs
    vectors = WordVectors(list(model.wv.index_to_key), np.asarray(model.wv.vectors, dtype=np.float32))
    return {"vocab_seconds": round(vocab_seconds, 1), "train_seconds": round(seconds, 1),
            "words_per_s": round(words / seconds), "vocabulary": len(vectors),
            "version": __import__("gensim").__version__, "vectors": vectors}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data/wiki100m", help="folder with wiki100m.txt.gz")
    ap.add_argument("--eval", default="../shared/data/wordvec-eval", help="folder with the analogy and WS-353 files")
    ap.add_argument("--out", default="runs/w2v")
    ap.add_argument("--model", default="skipgram", choices=["skipgram", "cbow"])
    ap.add_argument("--loss", default="ns", choices=["ns", "hs"])
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--window", type=int, default=5)
    ap.add_argument("--negative", type=int, default=5)
    ap.add_argument("--min-count", type=int, default=5)
    ap.add_argument("--sample", type=float, default=1e-3)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=None, help="default: 512 skip-gram, 128 CBOW")
    ap.add_argument("--max-minutes", type=float, default=None, help="budget for ours (gensim runs its epochs)")
    ap.add_argument("--threads", type=int, default=2, help="gensim's workers; ours: --workers x --torch-threads")
    ap.add_argument("--workers", type=int, default=None, help="our Hogwild threads (default: --threads)")
    ap.add_argument("--torch-threads", type=int, default=1, help="torch threads (intra-op) of ours")
    ap.add_argument("--skip-gensim", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.torch_threads)
    corpus, eval_dir = Path(args.data) / "wiki100m.txt.gz", Path(args.eval)
    config = Word2VecConfig(model=args.model, loss=args.loss, dim=args.dim, window=args.window,
                            negative=args.negative, min_count=args.min_count, sample=args.sample, epochs=args.epochs,
                            batch_size=args.batch_size, max_minutes=args.max_minutes, seed=args.seed,
                            workers=args.workers or args.threads)
    result: dict = {"settings": vars(args)}
    if not args.skip_gensim:
        theirs = run_gensim(corpus, config, args.threads)
        result["gensim"] = {k: v for k, v in theirs.items() if k != "vectors"}
        Path(args.out).mkdir(parents=True, exist_ok=True)
        write_vectors(theirs["vectors"], Path(args.out) / "gensim-vectors.bin", binary=True)
        print(json.dumps({"gensim": result["gensim"]}), flush=True)
    started = time.monotonic()
    summary = train_word2vec(config, [corpus], args.out, progress=False, overwrite=True,
                             log=lambda m: print(m, flush=True))
    seconds = time.monotonic() - started
    train_seconds = summary["minutes"] * 60
    words = summary["corpus_words"] * summary["steps_run"] / summary["steps_per_epoch"]
    ours = read_vectors(Path(args.out) / "model")
    result["hybrid"] = {"seconds": round(seconds, 1), "train_seconds": round(train_seconds, 1),
                        "epochs_done": round(words / summary["corpus_words"], 2),
                        "words_per_s": round(words / train_seconds), "vocabulary": len(ours), **scores(ours, eval_dir)}
    if "gensim" in result:
        result["gensim"].update(scores(in_order_of(theirs["vectors"], ours.words), eval_dir))
        result["words_per_s_ratio"] = round(result["hybrid"]["words_per_s"] / result["gensim"]["words_per_s"], 3)
    atomic_write_text(Path(args.out) / "result.json", json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
