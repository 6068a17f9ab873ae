"""`hybrid tag`: stream tagged output for text, CoNLL or CoNLL-U input."""

from __future__ import annotations

import os
from pathlib import Path

import click

from cli.params import FORMATS, MODEL_DIR, load_ctc_model
from hybrid.runtime.engines import ENGINES


@click.command()
@click.argument("inputs", metavar="[INPUT|-]...", nargs=-1, type=click.Path(allow_dash=True, dir_okay=False))
@click.option("--model", "-m", type=MODEL_DIR, default=None,
              help="Model directory. Default: the bundled English UPOS tagger.")
@click.option("--format", "fmt", type=FORMATS, default=None,
              help="text: one sentence per line, whitespace tokens. conll/conllu: every input line "
                   "is kept and the predicted tag appended as a last TAB-separated column. "
                   "Default: text, or the model's training format if it reads feature columns.")
@click.option("--k", "k", type=click.IntRange(1, 100), default=1, show_default=True,
              help="Print the k best tag sequences: k tag columns, best first, and a "
                   "'# k-best scores:' comment line before each sentence.")
@click.option("--batch-size", type=click.IntRange(1), default=256, show_default=True,
              help="Sentences per batch.")
@click.option("--output", "-o", type=click.Path(), default="-",
              help="Write here instead of standard output. The file is replaced only when tagging "
                   "succeeds; it may not be the input. With --ray: a folder, one output per input.")
@click.option("--engine", type=click.Choice(ENGINES), default="auto", show_default=True,
              envvar=["HYBRID_ENGINE", "HYBRID_TAG_ENGINE"],
              help="onnx: ONNX Runtime, no torch import (fast start; k = 1 and crf/softmax/hmm "
                   "layers). torch: the torch model. auto: onnx when onnxruntime is installed and "
                   "the model and k allow it, else torch. Env: HYBRID_ENGINE.")
@click.option("--ray", "use_ray", is_flag=True,
              help="Tag the INPUT files on a Ray cluster (pip install 'hybrid[ray]'): workers load the "
                   "model once each; OUTPUT is a folder that gets one file per input, in input order.")
@click.option("--ray-address", default=None,
              help="With --ray: a running cluster (auto, ray://HOST:10001); default: RAY_ADDRESS if set, "
                   "else start one on this machine.")
@click.option("--workers", type=click.IntRange(1), default=None,
              help="With --ray: tagging workers (each loads the model once).  [default: Ray's choice]")
def tag(inputs: tuple[str, ...], model, fmt: str | None, k: int, batch_size: int, output: str, engine: str,
        use_ray: bool, ray_address: str | None, workers: int | None) -> None:
    """Tag INPUT (or standard input) with a trained model.

    \b
    echo "The quick brown fox jumps over the lazy dog ." | hybrid tag
    hybrid tag --model runs/chunker/model --format conll test.txt > tagged.txt
    hybrid tag --ray --workers 8 --model runs/pos/model part-*.txt --output tagged/
    Input is read and written in streaming batches, so files larger than memory work.
    """
    if use_ray:
        _tag_on_ray(inputs, model, fmt, k, batch_size, output, engine, ray_address, workers)
        return
    if workers is not None or ray_address is not None:
        raise click.UsageError("--workers and --ray-address go with --ray")
    if len(inputs) > 1:
        raise click.UsageError(f"{len(inputs)} inputs: tag one at a time, or several at once with --ray")
    input_file = inputs[0] if inputs else "-"
    from hybrid.data.batching import chunked, prefetched
    from hybrid.data.readers import read_sentences
    from hybrid.data.writers import atomic_text_output, format_tagged
    from hybrid.errors import ConfigError
    from hybrid.models.directory import default_model_path, read_config
    from hybrid.runtime.engines import WORD_COLUMNS, input_format

    check_output(output, input_file)
    directory = model if model is not None else default_model_path()
    config = read_config(directory)
    if config.model.layer == "ctc":
        _tag_ctc(directory, input_file, k, batch_size, output)
        return
    data = config.data
    encode, predict = load_engine(directory, config.model, choose_engine(engine, config.model, k, directory),
                                  k, batch_size)
    try:
        fmt = input_format(data, fmt)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    # The model's word column holds for input in its training format; other formats use their own
    # (a CoNLL-U model reads 'form', which is no CoNLL column index).
    word_column = data.word_column if fmt == data.format else WORD_COLUMNS[fmt]
    features = data.feature_columns
    sentences = read_sentences(input_file, fmt, word_column, None, features, require_tags=False)
    with atomic_text_output(output) as out:  # a bad line midway leaves an existing OUTPUT as it was
        # a reader thread reads and encodes the next chunk while this one is tagged
        encoded = ((chunk, encode(chunk)) for chunk in chunked(sentences, 4 * batch_size))
        for chunk, batches in prefetched(encoded):
            results = predict(batches)
            parts = []
            for sentence, best in zip(chunk, results, strict=True):
                if k == 1:
                    columns = best[0][0]
                else:
                    columns = ["\t".join(tags[i] for tags, _ in best) for i in range(len(sentence.words))]
                    parts.append("# k-best scores: " + " ".join(f"{score:.4f}" for _, score in best) + "\n")
                parts.append(format_tagged(sentence, columns))
            out.write("".join(parts))
            out.flush()


def _tag_on_ray(inputs: tuple[str, ...], model, fmt: str | None, k: int, batch_size: int, output: str,
                engine: str, address: str | None, workers: int | None) -> None:
    if not inputs or "-" in inputs:
        raise click.UsageError("--ray tags files: give INPUT paths (standard input cannot be shared out)")
    if k != 1:
        raise click.UsageError("--ray prints the best tags only (--k 1)")
    if output == "-":
        raise click.UsageError("--ray writes one file per input: give --output FOLDER")
    if Path(output).exists() and not Path(output).is_dir():
        raise click.UsageError(f"--output {output}: with --ray it must be a folder")
    from hybrid.integrations.ray import tag_files

    for path in tag_files(inputs, output, model, fmt, engine, batch_size, address, workers):
        click.echo(f"wrote {path}", err=True)


def _tag_ctc(directory, input_file: str, k: int, batch_size: int, output: str) -> None:
    """A CTC model reads one input per line (tokens; a second TAB column of labels is ignored)
    and writes its label sequence per line; blank and '#' lines are skipped."""
    import torch

    from hybrid.data.batching import chunked
    from hybrid.data.pairs import read_pairs
    from hybrid.data.writers import atomic_text_output

    if k != 1:
        raise click.UsageError("a CTC model prints its best labelling only (--k 1); its decoding beam is "
                               "set at training (--ctc-beam)")
    torch.set_num_threads(max(1, torch.get_num_threads()))
    model = load_ctc_model(directory)
    with atomic_text_output(output) as out:
        for chunk in chunked(read_pairs(input_file, require_labels=False), 4 * batch_size):
            out.write("".join(" ".join(labels) + "\n" for labels in model.predict(chunk, batch_size)))
            out.flush()


def check_output(output: str, input_file: str) -> None:
    """Refuse an --output that is the input, or whose folder does not exist, before any work."""
    if output == "-":
        return
    path = Path(output)
    if path.is_dir():
        raise click.UsageError(f"--output {output} is a folder: give a file (a folder goes with --ray)")
    if input_file != "-" and Path(input_file).exists() and path.exists() and os.path.samefile(path, input_file):
        raise click.UsageError(f"--output {output} is the input file: tagging it would destroy it")
    if not path.parent.resolve().is_dir():
        raise click.UsageError(f"--output {output}: no folder {path.parent}")


def choose_engine(engine: str, model, k: int, directory=None) -> str:
    """'onnx' or 'torch' for --engine `engine`; auto falls back to torch, an explicit onnx says why not."""
    from hybrid.errors import ConfigError
    from hybrid.runtime.engines import choose_engine as choose

    try:
        return choose(engine, model, k, directory)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None


def load_engine(directory, model, engine: str, k: int, batch_size: int):
    """(encode, predict): chunk of sentences -> encoded batches -> k best (tags, score) per sentence."""
    from hybrid.runtime.engines import load_engine as load

    return load(directory, model, engine, k, batch_size)
