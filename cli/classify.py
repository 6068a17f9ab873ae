"""`hybrid classify train | predict | evaluate`: many-to-one sequence classification."""

from __future__ import annotations

import json

import click

from cli.params import (
    ENCODERS,
    MODEL_DIR,
    amp_option,
    device_option,
    echo_summary,
    nproc_option,
    run_options,
    transformer_options,
)
from hybrid.config import ClassifierModelConfig, ClassifierTrainConfig

FILE = click.Path(exists=True, dir_okay=False)
MODEL, TRAIN = ClassifierModelConfig(), ClassifierTrainConfig()  # the defaults, shared with the Python API


@click.group()
def classify() -> None:
    """Sentence classification (sentiment, topic, ...): one label per line of text.

    Data: `label<TAB>text` lines, or a TSV file with a header naming a `label` and a
    `sentence` (or `text`) column, as GLUE's SST-2 files.
    """


@classify.command("train")
@click.option("--train", "train_file", type=FILE, required=True, help="Labelled training sentences.")
@click.option("--dev", "dev_file", type=FILE, default=None,
              help="Dev sentences for early stopping; without it --dev-fraction of --train is held out.")
@click.option("--dev-fraction", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=TRAIN.dev_fraction,
              show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True,
              help="Run directory: the best model by dev accuracy goes to OUT/model.")
@click.option("--encoder", type=click.Choice(ENCODERS), default=MODEL.encoder, show_default=True,
              help="Recurrent cell, or transformer (self-attention; --hidden-size is its width).")
@transformer_options(MODEL)
@click.option("--pooling", type=click.Choice(["last", "mean", "max", "attention"]), default=MODEL.pooling,
              show_default=True, help="How the states of a sentence become one vector.")
@click.option("--word-dim", type=click.IntRange(1), default=MODEL.word_dim, show_default=True)
@click.option("--hidden-size", type=click.IntRange(1), default=MODEL.hidden_size, show_default=True,
              help="Per direction.")
@click.option("--num-layers", type=click.IntRange(1), default=MODEL.num_layers, show_default=True)
@click.option("--dropout", type=click.FloatRange(0, 1, max_open=True), default=MODEL.dropout, show_default=True)
@click.option("--embeddings", type=click.Path(exists=True), default=None,
              help="Pretrained word vectors: word2vec text or binary, GloVe text, or the model directory of "
                   "`hybrid embed train`; --word-dim must match their size.")
@click.option("--embeddings-vocab", type=click.IntRange(0), default=MODEL.embeddings_vocab, show_default=True,
              help="How many of the vectors' words (the most frequent first) join the vocabulary beside the "
                   "training words; 0: training words only.")
@click.option("--lowercase", is_flag=True, help="Lowercase words before looking them up.")
@click.option("--class-weights", type=click.Choice(["none", "balanced"]), default=TRAIN.class_weights,
              show_default=True, help="balanced: rare classes weigh more in the loss.")
@click.option("--word-dropout", type=click.FloatRange(0, 1, max_open=True), default=TRAIN.word_dropout,
              show_default=True, help="Leave each training word out with this probability (a regulariser).")
@click.option("--lr", type=click.FloatRange(0, min_open=True), default=TRAIN.lr, show_default=True)
@click.option("--batch-size", type=click.IntRange(1), default=TRAIN.batch_size, show_default=True)
@click.option("--epochs", type=click.IntRange(1), default=TRAIN.epochs, show_default=True)
@click.option("--patience", type=click.IntRange(1), default=TRAIN.patience, show_default=True)
@click.option("--max-minutes", type=click.FloatRange(0, min_open=True), default=None, help="Time budget.")
@click.option("--seed", type=int, default=TRAIN.seed, show_default=True)
@device_option
@amp_option
@run_options
@nproc_option
def train(train_file, dev_file, dev_fraction, out_dir, encoder, heads, ff_size, positions, attention_dropout, pooling,
          word_dim, hidden_size, num_layers, dropout, embeddings, embeddings_vocab, lowercase, class_weights,
          word_dropout, lr, batch_size, epochs, patience, max_minutes, seed, device, amp, overwrite, resume,
          quiet) -> None:
    """Train a classifier; the best model (by dev accuracy) is saved to OUT/model.

    \b
        hybrid classify train --train sst2/train.tsv --dev sst2/dev.tsv --out runs/sst2 --max-minutes 30
    """
    from hybrid.config import ClassifierConfig
    from hybrid.train.classification import train_classifier

    config = ClassifierConfig(
        model=ClassifierModelConfig(word_dim=word_dim, encoder=encoder, heads=heads, ff_size=ff_size,
                                    positions=positions, attention_dropout=attention_dropout,
                                    hidden_size=hidden_size, num_layers=num_layers,
                                    dropout=dropout, pooling=pooling, lowercase=lowercase, embeddings=embeddings,
                                    embeddings_vocab=embeddings_vocab),
        train=ClassifierTrainConfig(lr=lr, batch_size=batch_size, epochs=epochs, patience=patience,
                                    max_minutes=max_minutes, dev_fraction=dev_fraction, class_weights=class_weights,
                                    word_dropout=word_dropout, seed=seed))
    summary = train_classifier(config, train_file, out_dir, dev_file, resume=resume, overwrite=overwrite,
                               progress=not quiet, log=click.echo, device=device, amp=amp)
    echo_summary(summary)


@classify.command("predict")
@click.option("--model", "model_dir", type=MODEL_DIR, required=True)
@click.argument("input_file", metavar="[INPUT|-]", default="-", type=click.Path(allow_dash=True, dir_okay=False))
@click.option("--batch-size", type=click.IntRange(1), default=256, show_default=True)
def predict(model_dir, input_file, batch_size) -> None:
    """Print `label<TAB>probability` for every line of INPUT (text, or label<TAB>text: the label
    is ignored), streaming in chunks."""
    from hybrid.data.batching import chunked
    from hybrid.data.labelled import read_labelled
    from hybrid.models.classifier_io import load_classifier

    model = load_classifier(model_dir)
    for chunk in chunked(read_labelled(input_file, require_labels=False), 8 * batch_size):
        click.echo("".join(f"{label}\t{prob:.4f}\n" for label, prob in model.predict(chunk, batch_size)), nl=False)


@classify.command("evaluate")
@click.option("--model", "model_dir", type=MODEL_DIR, required=True)
@click.option("--data", "data_file", type=FILE, required=True, help="Labelled sentences.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option("--plot", type=click.Path(dir_okay=False), default=None, help="Write the confusion matrix as a PNG.")
def evaluate(model_dir, data_file, as_json, plot) -> None:
    """Accuracy, macro F1, a per-class table and the confusion matrix on DATA."""
    from hybrid.data.labelled import read_labelled
    from hybrid.data.lines import nonempty
    from hybrid.models.classifier_io import load_classifier
    from hybrid.train.classification import evaluate_classifier

    model = load_classifier(model_dir)
    examples = nonempty(list(read_labelled(data_file)), data_file, "labelled sentences")
    unknown = sorted({e.label for e in examples if e.label is not None} - set(model.label_names))
    if unknown:
        raise click.UsageError(f"{data_file}: labels {unknown} are not among the model's {model.label_names}")
    scores = evaluate_classifier(model, examples)
    if plot:
        from hybrid.plots import plot_confusion

        plot_confusion(scores["confusion"], scores["labels"], plot)
    if as_json:
        click.echo(json.dumps({**scores, "model": str(model_dir), "data": str(data_file)}, indent=2))
        return
    click.echo(f"examples {scores['examples']}  accuracy {scores['accuracy']:.2f}%  macro F1 {scores['macro_f1']:.2f}")
    click.echo(f"{'label':<16} {'precision':>9} {'recall':>9} {'F1':>9} {'support':>8}")
    for label, row in scores["per_class"].items():
        click.echo(f"{label:<16} {row['precision']:9.2f} {row['recall']:9.2f} {row['f1']:9.2f} {row['support']:8d}")
