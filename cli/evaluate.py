"""`hybrid evaluate`: score a tagger on a file with gold tags, or a seq2seq model (corpus BLEU
and chrF through sacreBLEU) on source and reference files."""

from __future__ import annotations

import json

import click

from cli.params import FORMATS, MODEL_DIR, load_chain_tagger, load_ctc_model, model_kind
from hybrid.models.registry import SEQ2SEQ


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
@click.option("--references", "references_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="seq2seq models: reference translations aligned with the sources in --data.")
@click.option("--beam", type=click.IntRange(1), default=5, show_default=True, help="seq2seq models: beam size.")
@click.option("--length-penalty", type=click.FloatRange(0), default=0.0, show_default=True,
              help="seq2seq models: GNMT length penalty alpha.")
def evaluate(model, data_file: str, fmt: str | None, as_json: bool, output: str | None, batch_size: int,
             references_file: str | None, beam: int, length_penalty: float) -> None:
    """Tag DATA with MODEL and report accuracy and (for chunk tags) span P/R/F1 per type; for a
    seq2seq model, translate DATA and report sacreBLEU corpus BLEU and chrF against --references;
    for a CTC model (--layer ctc), decode the pairs in DATA and report the label error rate.

    \b
    hybrid evaluate --model runs/chunker/model --data test.txt
    hybrid evaluate --model runs/de-en/model --data test2016.de --references test2016.en
    hybrid evaluate --model runs/ctc/model --data test.tsv
    """
    if model_kind(model) is SEQ2SEQ:
        _evaluate_seq2seq(model, data_file, references_file, beam, length_penalty, batch_size, as_json, output)
        return
    import dataclasses

    from hybrid.config import is_data_format
    from hybrid.models.io import read_config
    from hybrid.train.tagging import read_tagged
    from hybrid.train.trainer import evaluate as evaluate_tagger

    config = read_config(model)
    if config.model.layer == "ctc":
        _evaluate_ctc(model, data_file, batch_size, as_json, output)
        return
    data = config.data
    if fmt is not None and fmt != data.format:
        if not is_data_format(fmt):  # never: --format is a click.Choice of FORMATS
            raise click.UsageError(f"unknown format {fmt!r}")
        # The training columns are in the training format's terms: other formats use their defaults.
        data = dataclasses.replace(data, format=fmt, word_column=0, tag_column=-1)
    if data.format == "text":
        raise click.UsageError("plain text has no gold tags; evaluate on CoNLL or CoNLL-U data")
    sentences = read_tagged(data_file, data)
    result = evaluate_tagger(load_chain_tagger(model), sentences, batch_size)
    _report(result, model, data_file, as_json, output)


def _evaluate_ctc(model, data_file, batch_size, as_json, output) -> None:
    """A CTC model on pairs (input<TAB>labels): label error rate, label and sentence accuracy."""
    from hybrid.train.ctc import evaluate_ctc, read_labelled_pairs

    result = evaluate_ctc(load_ctc_model(model), read_labelled_pairs(data_file), batch_size)
    _report(result, model, data_file, as_json, output)


def _report(result, model, data_file, as_json, output, table=None) -> None:
    """Print `result` as JSON or as a table (hybrid.metrics.format_report unless `table` is given);
    write the JSON to `output` too."""
    from hybrid.config import atomic_write_text
    from hybrid.metrics import format_report

    result["model"], result["data"] = str(model), str(data_file)
    text = json.dumps(result, indent=2)
    click.echo(text if as_json else (table or format_report)(result))
    if output:
        atomic_write_text(output, text + "\n")


def _evaluate_seq2seq(model, data_file, references_file, beam, length_penalty, batch_size, as_json, output) -> None:
    from hybrid.data.parallel import read_parallel
    from hybrid.models.seq2seq_io import load_seq2seq
    from hybrid.train.seq2seq import bleu_of

    if references_file is None:
        raise click.UsageError("a seq2seq model is scored against --references (aligned with --data)")
    result = bleu_of(load_seq2seq(model), read_parallel(data_file, references_file), beam=beam,
                     length_penalty=length_penalty, batch_size=min(batch_size, 64))
    result.update(references=str(references_file), beam=beam, length_penalty=length_penalty)
    _report(result, model, data_file, as_json, output, lambda r: (
        f"BLEU {r['bleu']:.2f}  chrF {r['chrf']:.2f}  ({r['sentences']} sentences, beam {beam})\n"
        f"BLEU signature: {r['bleu_signature']}\nchrF signature: {r['chrf_signature']}"))
