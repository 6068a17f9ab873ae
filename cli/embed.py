"""`hybrid embed`: word vectors (word2vec text or binary, GloVe text): evaluate, neighbours,
analogies, pictures."""

from __future__ import annotations

import json

import click

from cli.params import device_option, echo_summary, run_options
from hybrid.config import COMPILE_AUTO_WORDS, GloveConfig, Word2VecConfig

W2V, GLOVE = Word2VecConfig(), GloveConfig()  # the defaults: the CLI and the Python API train alike
VECTORS = click.Path(exists=True)
VECTORS_HELP = ("Word vectors: word2vec text or binary, GloVe text (.gz allowed), or the model directory "
                "`hybrid embed train` writes.")
FILE = click.Path(exists=True, dir_okay=False)


@click.group()
def embed() -> None:
    """Word vectors: learn them from raw text (word2vec, GloVe), evaluate them on analogies and word
    similarity, list neighbours, answer analogies, draw a map."""


W2V_ONLY = {"loss", "negative", "sample", "min_alpha", "compile"}  # settings GloVe does not have
GLOVE_ONLY = {"x_max", "power", "memory_mb"}


def _default(word2vec: object, glove: object) -> str:
    return f"[default: {word2vec}; glove {glove}]" if word2vec != glove else f"[default: {word2vec}]"


@embed.command("train")
@click.option("--corpus", "corpus", type=click.Path(exists=True, dir_okay=False), multiple=True, required=True,
              help="Raw text (plain, .gz or .zip), whitespace-tokenised; repeat for several files.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True,
              help="Run directory: the vectors go to OUT/model/vectors.bin (word2vec binary).")
@click.option("--model", type=click.Choice(["skipgram", "cbow", "glove"]), default=W2V.model, show_default=True,
              help="word2vec's skip-gram or CBOW, or GloVe (co-occurrence counts, then least squares).")
@click.option("--loss", type=click.Choice(["ns", "hs"]), default=None,
              help=f"word2vec: negative sampling or hierarchical softmax (a Huffman tree over the words). "
                   f"[default: {W2V.loss}]")
@click.option("--dim", type=click.IntRange(1), default=None, help=_default(W2V.dim, GLOVE.dim))
@click.option("--window", type=click.IntRange(1), default=None,
              help="word2vec: the largest window (each word draws its own in 1..window); GloVe: the window on "
                   f"each side, a pair at distance d counting 1/d. {_default(W2V.window, GLOVE.window)}")
@click.option("--negative", type=click.IntRange(1), default=None,
              help=f"word2vec ns: noise words per example, drawn from counts^0.75. [default: {W2V.negative}]")
@click.option("--min-count", type=click.IntRange(1), default=None, help=_default(W2V.min_count, GLOVE.min_count))
@click.option("--max-vocab", type=click.IntRange(1), default=None, help="Keep at most this many words.")
@click.option("--sample", type=click.FloatRange(0), default=None,
              help=f"word2vec: subsampling threshold of frequent words (0: keep all). [default: {W2V.sample:g}]")
@click.option("--epochs", type=click.IntRange(1), default=None, help=_default(W2V.epochs, GLOVE.epochs))
@click.option("--alpha", type=click.FloatRange(0, min_open=True), default=None,
              help="Initial learning rate: word2vec's falls linearly to --min-alpha, GloVe's is AdaGrad's. "
                   f"[default: 0.025 skipgram, 0.05 cbow, {GLOVE.lr:g} glove]")
@click.option("--min-alpha", type=click.FloatRange(0), default=None,
              help=f"word2vec: the learning rate at the end. [default: {W2V.min_alpha:g}]")
@click.option("--x-max", type=click.FloatRange(0, min_open=True), default=None,
              help=f"GloVe: weights f(x) = min(1, (x / x_max)^power). [default: {GLOVE.x_max:g}]")
@click.option("--power", type=click.FloatRange(0), default=None,
              help=f"GloVe: the weighting's exponent (the paper's alpha). [default: {GLOVE.power:g}]")
@click.option("--memory-mb", type=click.FloatRange(16), default=None,
              help="GloVe: memory for counting co-occurrences; past it, sorted pieces are spilled to disk "
                   f"and merged. [default: {GLOVE.memory_mb:g}]")
@click.option("--batch-size", type=click.IntRange(1), default=None,
              help="Examples (word2vec) or matrix entries (GloVe) per update. "
                   f"[default: skip-gram 512, CBOW 128; glove {GLOVE.batch_size}]")
@click.option("--workers", type=click.IntRange(1, 256), default=None,
              help="word2vec: processes updating the shared vectors at once (Hogwild, as word2vec's and gensim's "
                   "threads; with more than 1 a run is not bit-reproducible), each making and training its own "
                   "chunks of the corpus on one torch thread; GloVe: threads. "
                   f"[default: {W2V.workers}]")
@click.option("--compile", "compile", type=click.Choice(["auto", "on", "off"]), default=None,
              help="word2vec: fuse the SGD step with torch.compile (needs a C++ compiler; seconds to compile, "
                   "then 1.5-2.5x faster on the CPU). auto: on the CPU, all but CBOW with hs, runs of at least "
                   f"{COMPILE_AUTO_WORDS:,} words x epochs; falls back to the plain step if compiling fails. "
                   f"[default: {W2V.compile}]")
@click.option("--lowercase", is_flag=True, default=None, help="Lowercase the corpus.")
@click.option("--max-sentence-length", type=click.IntRange(1), default=None,
              help=f"Longer lines are cut into pieces of this many words. [default: {W2V.max_sentence_length}]")
@click.option("--max-minutes", type=click.FloatRange(0, min_open=True), default=None,
              help="Time budget of the training passes (GloVe's counting comes before it).")
@click.option("--threads", type=click.IntRange(1), default=None, help="torch CPU threads (default: torch's).")
@click.option("--seed", type=int, default=None, help=f"[default: {W2V.seed}]")
@device_option
@run_options
def train(corpus, out_dir, model, threads, device, resume, overwrite, quiet, **settings) -> None:
    """Learn word vectors from raw text with word2vec (skip-gram or CBOW) or GloVe.

    \b
        hybrid embed train --corpus wiki100m.txt.gz --model skipgram --dim 100 --epochs 5 --out runs/sg
        hybrid embed train --corpus wiki100m.txt.gz --model glove --memory-mb 2048 --out runs/glove
        hybrid embed analogy --vectors runs/sg/model/vectors.bin man woman king
    """
    import torch

    given = {name: value for name, value in settings.items() if value is not None}
    foreign = sorted(given.keys() & (W2V_ONLY if model == "glove" else GLOVE_ONLY))
    if foreign:
        options = ", ".join("--" + name.replace("_", "-") for name in foreign)
        raise click.UsageError(f"{options} {'is not an option' if len(foreign) == 1 else 'are not options'} of "
                               f"--model {model}")
    if threads or given.get("workers", 1) > 1:  # workers: one torch thread each unless told otherwise
        torch.set_num_threads(threads or 1)
    if model == "glove":
        from hybrid.train.glove import train_glove

        if "alpha" in given:
            given["lr"] = given.pop("alpha")
        summary = train_glove(GloveConfig(**given), list(corpus), out_dir, resume=resume, overwrite=overwrite,
                              progress=not quiet, log=click.echo, device=device)
    else:
        from hybrid.train.word2vec import train_word2vec

        summary = train_word2vec(Word2VecConfig(model=model, **given), list(corpus), out_dir, resume=resume,
                                 overwrite=overwrite, progress=not quiet, log=click.echo, device=device)
    echo_summary(summary)


def _load(path: str):
    from hybrid.embeddings import read_vectors

    return read_vectors(path)


@embed.command("evaluate")
@click.option("--vectors", "vectors_file", type=VECTORS, required=True, help=VECTORS_HELP)
@click.option("--analogies", "analogy_file", type=FILE, default=None,
              help="Analogy questions (`: section` lines, then `a b c d`), e.g. Google's questions-words.txt.")
@click.option("--similarity", "similarity_file", type=FILE, default=None,
              help="Word pairs with human scores (`w1<TAB>w2<TAB>score`), e.g. WordSim-353.")
@click.option("--restrict", type=click.IntRange(1), default=30000, show_default=True,
              help="Analogy answers among the N most frequent words (the first N rows); questions with "
                   "other words count as unknown.")
@click.option("--case-sensitive", is_flag=True, help="Match words as written (default: lowercased).")
@click.option("--json", "as_json", is_flag=True, help="Print every figure as JSON.")
def evaluate(vectors_file, analogy_file, similarity_file, restrict, case_sensitive, as_json) -> None:
    """Analogy accuracy (3CosAdd, 3CosMul; per section, semantic, syntactic) and Spearman's rho
    of word similarity.

    \b
        hybrid embed evaluate --vectors vectors.txt --analogies questions-words.txt --similarity wordsim353.tsv
    """
    from hybrid.embeddings import analogy_scores, read_analogies, read_similarity, similarity_scores

    if analogy_file is None and similarity_file is None:
        raise click.UsageError("give --analogies FILE, --similarity FILE, or both")
    vectors = _load(vectors_file)
    result: dict = {"vectors": str(vectors_file), "words": len(vectors), "dim": vectors.dim}
    if analogy_file:
        result["analogies"] = analogy_scores(vectors, read_analogies(analogy_file), restrict, not case_sensitive)
    if similarity_file:
        result["similarity"] = similarity_scores(vectors, read_similarity(similarity_file), not case_sensitive)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(f"vectors    {vectors_file}: {len(vectors)} words, {vectors.dim} dimensions")
    if analogy_file:
        a = result["analogies"]
        click.echo(f"analogies  (answers among the {restrict} most frequent words)")
        click.echo(f"  {'section':<32} {'3CosAdd':>8} {'3CosMul':>8} {'scored':>7} {'unknown':>8}")
        rows = [*a["sections"].items(), ("semantic", a["semantic"]), ("syntactic", a["syntactic"]),
                ("total", a["total"])]
        for name, r in rows:
            click.echo(f"  {name:<32} {r['3cosadd']:8.2f} {r['3cosmul']:8.2f} {r['scored']:7d} {r['unknown']:8d}")
    if similarity_file:
        s = result["similarity"]
        click.echo(f"similarity Spearman rho {s['spearman']:.3f} on {s['pairs']} pairs "
                   f"({s['unknown']} with unknown words)")


@embed.command("neighbors")
@click.option("--vectors", "vectors_file", type=VECTORS, required=True, help=VECTORS_HELP)
@click.argument("words", nargs=-1, required=True)
@click.option("-k", "k", type=click.IntRange(1), default=10, show_default=True, help="Neighbours per word.")
def neighbors(vectors_file, words, k) -> None:
    """The K nearest words (cosine similarity) of each WORD."""
    from hybrid.embeddings import nearest_words

    vectors = _load(vectors_file)
    for word in words:
        if word not in vectors:
            raise click.UsageError(f"{word!r} is not in {vectors_file}")
        found = nearest_words(vectors, vectors.vectors[vectors.index[word]], k, exclude=(word,))
        click.echo(f"{word}: " + ", ".join(f"{w} {score:.3f}" for w, score in found))


@embed.command("analogy")
@click.option("--vectors", "vectors_file", type=VECTORS, required=True, help=VECTORS_HELP)
@click.argument("a")
@click.argument("b")
@click.argument("c")
@click.option("-k", "k", type=click.IntRange(1), default=5, show_default=True)
def analogy_command(vectors_file, a, b, c, k) -> None:
    """A is to B as C is to ...: the K best answers (3CosAdd) with their cosine similarity.

    \b
        hybrid embed analogy --vectors vectors.txt man woman king      # queen, ...
    """
    from hybrid.embeddings import analogy

    vectors = _load(vectors_file)
    missing = [w for w in (a, b, c) if w not in vectors]
    if missing:
        raise click.UsageError(f"not in {vectors_file}: {', '.join(missing)}")
    for rank, (word, score) in enumerate(analogy(vectors, a, b, c, k), 1):
        click.echo(f"{rank}\t{word}\t{score:.4f}")


@embed.command("plot")
@click.option("--vectors", "vectors_file", type=VECTORS, required=True, help=VECTORS_HELP)
@click.option("--words", default=None, help="Comma-separated words to draw.")
@click.option("--top", type=click.IntRange(2), default=None, help="Draw the N most frequent words instead.")
@click.option("--method", type=click.Choice(["tsne", "pca"]), default="tsne", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", "out_file", type=click.Path(dir_okay=False), required=True, help="The PNG to write.")
def plot(vectors_file, words, top, method, seed, out_file) -> None:
    """A 2-D map of chosen words (t-SNE or PCA) as a labelled PNG (needs matplotlib).

    \b
        hybrid embed plot --vectors vectors.txt --words man,woman,king,queen,apple,orange --out map.png
    """
    from hybrid.embeddings.projection import project
    from hybrid.plots import plot_word_map

    if (words is None) == (top is None):
        raise click.UsageError("give --words W1,W2,... or --top N")
    vectors = _load(vectors_file)
    chosen = vectors.words[:top] if top else [w.strip() for w in words.split(",") if w.strip()]
    missing = [w for w in chosen if w not in vectors]
    if missing:
        raise click.UsageError(f"not in {vectors_file}: {', '.join(missing)}")
    if len(chosen) < 2:
        raise click.UsageError("a map needs at least 2 words")
    plot_word_map(chosen, project(vectors, chosen, method, seed), out_file, f"{method} of {len(chosen)} words")
    click.echo(f"{len(chosen)} words drawn to {out_file}", err=True)
