"""`hybrid evaluate`: score a model on a file with gold tags."""

from __future__ import annotations

import json

import click

from cli.params import FORMATS, MODEL_DIR


@click.command()
@click.option("--model", "-m", type=MODEL_DIR, required=True, help="Model directory.")
@click.option("--data", "data_file", type=click.Path(exists=True, dir_okay=False), required=True,
              help="File with gold tags in the model's columns.")
@click.option("--format", "fmt", type=FORMATS, default=None,
              help="Input format. Default: the format the model was trained on.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON instead of a table.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="Also write the figures as JSON to this file.")
@click.option("--batch-size", type=click.IntRange(1), default=256, show_default=True)
def evaluate(model, data_file: str, fmt: str | None, as_json: bool, output: str | None, batch_size: int) -> None:
    """Tag DATA with MODEL and report accuracy and (for chunk tags) span P/R/F1 per type.

    \b
    hybrid evaluate --model runs/chunker/model --data test.txt
    """
    import dataclasses

    from hybrid.config import atomic_write_text
    from hybrid.metrics import format_report
    from hybrid.models.io import load_tagger, read_config
    from hybrid.train.tagging import read_tagged
    from hybrid.train.trainer import evaluate as evaluate_tagger

    data = read_config(model).data
    if fmt is not None and fmt != data.format:
        # The training columns are in the training format's terms: other formats use their defaults.
        data = dataclasses.replace(data, format=fmt, word_column=0, tag_column=-1)
    if data.format == "text":
        raise click.UsageError("plain text has no gold tags; evaluate on CoNLL or CoNLL-U data")
    sentences = read_tagged(data_file, data)
    result = evaluate_tagger(load_tagger(model), sentences, batch_size)
    result["model"], result["data"] = str(model), str(data_file)
    text = json.dumps(result, indent=2)
    click.echo(text if as_json else format_report(result))
    if output:
        atomic_write_text(output, text + "\n")
