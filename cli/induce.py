"""`hybrid induce`: unsupervised part-of-speech induction (Baum-Welch HMM) on untagged text."""

from __future__ import annotations

import json

import click

from cli.params import COLUMN, FORMATS


@click.command()
@click.option("--data", "data_file", type=click.Path(exists=True, dir_okay=False), required=True,
              help="Training text (tags, if any, are ignored).")
@click.option("--states", type=click.IntRange(1), required=True, help="Number of hidden states (induced classes).")
@click.option("--out", type=click.Path(file_okay=False), required=True,
              help="Directory for the model (induction.json + model.safetensors).")
@click.option("--format", "fmt", type=FORMATS, default="conllu", show_default=True,
              help="Format of --data and --eval-data.")
@click.option("--word-column", type=COLUMN, default=0, show_default=True,
              help="Word column (CoNLL index or CoNLL-U field; 0 means 'form' for conllu).")
@click.option("--iterations", type=click.IntRange(1), default=100, show_default=True,
              help="Baum-Welch iterations at most.")
@click.option("--tol", type=click.FloatRange(0), default=1e-5, show_default=True,
              help="Stop when the log-likelihood per token improves by less than this.")
@click.option("--time-budget", type=click.FloatRange(0, min_open=True), default=None,
              help="Stop EM after this many seconds.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--min-count", type=click.IntRange(1), default=2, show_default=True,
              help="Rarer words share shape classes.")
@click.option("--lowercase", is_flag=True, help="Lowercase words before counting.")
@click.option("--eval-data", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Tagged file: report many-to-one, one-to-one and V-measure on it.")
@click.option("--tag-column", type=COLUMN, default=-1, show_default=True,
              help="Gold tag column of --eval-data (-1 means 'upos' for conllu).")
@click.option("--quiet", "-q", is_flag=True, help="No per-iteration progress.")
def induce(data_file, states, out, fmt, word_column, iterations, tol, time_budget, seed, min_count, lowercase,
           eval_data, tag_column, quiet) -> None:
    """Fit an HMM with STATES hidden states on the words of DATA (Baum-Welch through hmmlearn).

    \b
    hybrid induce --data en_ewt-ud-train.conllu --states 45 --out runs/induced \\
        --eval-data en_ewt-ud-test.conllu
    """
    from hybrid.data.readers import read_sentences
    from hybrid.unsupervised import InductionConfig, induction_scores
    from hybrid.unsupervised import induce as fit

    if fmt == "text" and eval_data is not None:
        raise click.UsageError("--eval-data needs gold tags: use --format conll or conllu")
    words = [s.words for s in read_sentences(data_file, fmt, word_column, None, require_tags=False)]
    config = InductionConfig(states=states, iterations=iterations, tol=tol, seed=seed, min_count=min_count,
                             lowercase=lowercase, time_budget=time_budget)
    model = fit(words, config, progress=not quiet)
    path = model.save(out)
    last = model.history[-1]
    result = {"model": str(path), "states": states, "symbols": len(model.coder), "tokens": sum(map(len, words)),
              "iterations_run": len(model.history), "log_likelihood_per_token": last["log_likelihood_per_token"],
              "seconds": last["seconds"]}
    if eval_data is not None:
        gold = list(read_sentences(eval_data, fmt, word_column, tag_column))  # tags required
        predicted = model.predict([s.words for s in gold])
        gold_tags = [s.tags for s in gold if s.tags is not None]
        result["eval"] = {"data": str(eval_data), **induction_scores(predicted, gold_tags)}
    (path / "result.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    click.echo(json.dumps(result, indent=2))
