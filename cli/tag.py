"""`hybrid tag`: stream tagged output for text, CoNLL or CoNLL-U input."""

from __future__ import annotations

import sys

import click

from cli.params import FORMATS, MODEL_DIR


@click.command()
@click.argument("input_file", metavar="[INPUT|-]", default="-", type=click.Path(allow_dash=True, dir_okay=False))
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
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default="-",
              help="Write here instead of standard output.")
def tag(input_file: str, model, fmt: str | None, k: int, batch_size: int, output: str) -> None:
    """Tag INPUT (or standard input) with a trained model.

    \b
    echo "The quick brown fox jumps over the lazy dog ." | hybrid tag
    hybrid tag --model runs/chunker/model --format conll test.txt > tagged.txt
    Input is read and written in streaming batches, so files larger than memory work.
    """
    import torch

    from hybrid.data.batching import chunked, prefetched
    from hybrid.data.readers import read_sentences
    from hybrid.data.writers import format_tagged
    from hybrid.models.io import default_model_path, load_tagger, read_config
    from hybrid.models.tagger import encode_for_prediction, predict_encoded

    torch.set_num_threads(max(1, torch.get_num_threads()))
    directory = model if model is not None else default_model_path()
    data = read_config(directory).data
    tagger = load_tagger(directory)
    if fmt is None:
        fmt = data.format if data.feature_columns else "text"
    if data.feature_columns and fmt == "text":
        raise click.UsageError(
            f"this model reads feature columns {list(data.feature_columns)} besides the words; "
            "give it CoNLL or CoNLL-U input with those columns (--format conll|conllu)"
        )
    # The model's word column holds for input in its training format; other formats use their own
    # (a CoNLL-U model reads 'form', which is no CoNLL column index).
    word_column = data.word_column if fmt == data.format else {"text": 0, "conll": 0, "conllu": "form"}[fmt]
    features = data.feature_columns
    sentences = read_sentences(input_file, fmt, word_column, None, features, require_tags=False)
    out = sys.stdout if output == "-" else open(output, "w", encoding="utf-8")  # noqa: SIM115
    try:
        # a reader thread reads and encodes the next chunk while this one is tagged
        encoded = ((chunk, encode_for_prediction(tagger.vocabs, chunk, batch_size))
                   for chunk in chunked(sentences, 4 * batch_size))
        for chunk, batches in prefetched(encoded):
            results = predict_encoded(tagger, batches, k)
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
    finally:
        if out is not sys.stdout:
            out.close()
