"""`hybrid lm-train`: train an unconditional generator (a language model) on sentences."""

from __future__ import annotations

import json

import click

FILE = click.Path(exists=True, dir_okay=False)


@click.command("lm-train")
@click.option("--train", "train_file", type=FILE, required=True, help="Training sentences, one per line (tokens split on spaces).")
@click.option("--dev", "dev_file", type=FILE, required=True, help="Dev sentences: the best model by their likelihood is kept.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True,
              help="Run directory: OUT/model (best by dev perplexity), summary.json.")
@click.option("--embedding-dim", type=click.IntRange(1), default=64, show_default=True)
@click.option("--hidden-size", type=click.IntRange(1), default=128, show_default=True)
@click.option("--layers", type=click.IntRange(1), default=1, show_default=True)
@click.option("--cell", type=click.Choice(["lstm", "gru", "rnn"]), default="lstm", show_default=True)
@click.option("--dropout", type=click.FloatRange(0, 1, max_open=True), default=0.2, show_default=True)
@click.option("--min-freq", type=click.IntRange(1), default=1, show_default=True,
              help="Rarer training words become <unk>.")
@click.option("--epochs", type=click.IntRange(1), default=20, show_default=True)
@click.option("--batch-size", type=click.IntRange(1), default=64, show_default=True)
@click.option("--lr", type=click.FloatRange(0, min_open=True), default=1e-3, show_default=True)
@click.option("--max-minutes", type=click.FloatRange(0, min_open=True), default=None, help="Time budget.")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def lm_train(train_file, dev_file, out_dir, embedding_dim, hidden_size, layers, cell, dropout, min_freq, epochs,
             batch_size, lr, max_minutes, seed, quiet) -> None:
    """Train an unconditional sentence generator by maximum likelihood.

    Its model directory is the generator of unconditional adversarial training:
    `hybrid gan-train --model OUT/model --train ... --dev ...`.

    \b
        hybrid lm-train --train train.en --dev val.en --out runs/lm-en --epochs 10
    """
    from hybrid.config import LanguageModelConfig
    from hybrid.data.parallel import read_parallel
    from hybrid.models.language_model_io import TextLanguageModel
    from hybrid.train.language_model import train_language_model

    config = LanguageModelConfig(embedding_dim=embedding_dim, hidden_size=hidden_size, num_layers=layers, cell=cell,
                                 dropout=dropout, min_freq=min_freq, epochs=epochs, batch_size=batch_size, lr=lr,
                                 max_minutes=max_minutes, seed=seed)
    train, dev = read_parallel(train_file), read_parallel(dev_file)
    model = TextLanguageModel.build(config, [p.inputs for p in train])
    summary = train_language_model(model, train, dev, out_dir, progress=not quiet, log=click.echo)
    click.echo(json.dumps({k: v for k, v in summary.items() if k != "history"}, indent=2))
