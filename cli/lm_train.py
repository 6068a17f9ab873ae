"""`hybrid lm-train`: train an unconditional generator (a language model) on sentences."""

from __future__ import annotations

import click

from cli.params import echo_summary, run_options
from hybrid.config import LanguageModelConfig

FILE = click.Path(exists=True, dir_okay=False)
LM = LanguageModelConfig()  # the defaults: the CLI and the Python API run the same experiment


@click.command("lm-train")
@click.option("--train", "train_file", type=FILE, required=True,
              help="Training sentences, one per line (tokens split on spaces).")
@click.option("--dev", "dev_file", type=FILE, required=True,
              help="Dev sentences: the best model by their likelihood is kept.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True,
              help="Run directory: OUT/model (best by dev perplexity), train_log.jsonl, summary.json, "
                   "checkpoint.pt.")
@click.option("--embedding-dim", type=click.IntRange(1), default=LM.embedding_dim, show_default=True)
@click.option("--hidden-size", type=click.IntRange(1), default=LM.hidden_size, show_default=True)
@click.option("--layers", type=click.IntRange(1), default=LM.num_layers, show_default=True)
@click.option("--cell", type=click.Choice(["lstm", "gru", "rnn"]), default=LM.cell, show_default=True)
@click.option("--dropout", type=click.FloatRange(0, 1, max_open=True), default=LM.dropout, show_default=True)
@click.option("--min-freq", type=click.IntRange(1), default=LM.min_freq, show_default=True,
              help="Rarer training words become <unk>.")
@click.option("--epochs", type=click.IntRange(1), default=LM.epochs, show_default=True)
@click.option("--batch-size", type=click.IntRange(1), default=LM.batch_size, show_default=True)
@click.option("--lr", type=click.FloatRange(0, min_open=True), default=LM.lr, show_default=True)
@click.option("--max-length", type=click.IntRange(1), default=LM.max_length, show_default=True,
              help="Sentences longer than this (tokens) are skipped, and counted.")
@click.option("--max-minutes", type=click.FloatRange(0, min_open=True), default=None, help="Time budget.")
@click.option("--seed", type=int, default=LM.seed, show_default=True)
@run_options
def lm_train(train_file, dev_file, out_dir, embedding_dim, hidden_size, layers, cell, dropout, min_freq, epochs,
             batch_size, lr, max_length, max_minutes, seed, resume, overwrite, quiet) -> None:
    """Train an unconditional sentence generator by maximum likelihood.

    Its model directory is the generator of unconditional adversarial training:
    `hybrid gan-train --model OUT/model --train ... --dev ...`.

    \b
        hybrid lm-train --train train.en --dev val.en --out runs/lm-en --epochs 10
    """
    from hybrid.data.lines import nonempty
    from hybrid.data.parallel import read_parallel
    from hybrid.models.language_model_io import TextLanguageModel
    from hybrid.train.language_model import train_language_model

    config = LanguageModelConfig(embedding_dim=embedding_dim, hidden_size=hidden_size, num_layers=layers, cell=cell,
                                 dropout=dropout, min_freq=min_freq, epochs=epochs, batch_size=batch_size, lr=lr,
                                 max_length=max_length, max_minutes=max_minutes, seed=seed)
    train, dev = nonempty(read_parallel(train_file), train_file), nonempty(read_parallel(dev_file), dev_file)
    model = TextLanguageModel.build(config, [p.inputs for p in train])
    summary = train_language_model(model, train, dev, out_dir, progress=not quiet, log=click.echo, resume=resume,
                                   overwrite=overwrite)
    echo_summary(summary)
