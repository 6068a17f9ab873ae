"""`hybrid encode`: one vector per sentence from a seq2seq model's encoder (its summary), or each
sentence's most similar sentences of an index file by cosine similarity."""

from __future__ import annotations

import click

from cli.params import MODEL_DIR
from cli.tag import check_output


@click.command()
@click.option("--model", "model_dir", type=MODEL_DIR, required=True,
              help="Seq2seq model directory (an autoencoder from `hybrid seq2seq train --autoencoder`, or any).")
@click.argument("input_file", metavar="[INPUT|-]", default="-", type=click.Path(allow_dash=True, dir_okay=False))
@click.option("--output", "-o", default="-", type=click.Path(allow_dash=True, dir_okay=False),
              help="Where to write (default: standard output); replaced only when all is written.")
@click.option("--nearest", type=click.IntRange(1), default=None,
              help="Instead of vectors, print each input's K most similar sentences of --index.")
@click.option("--index", "index_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Sentences to search with --nearest, one tokenised sentence per line.")
@click.option("--batch-size", type=click.IntRange(1), default=256, show_default=True)
def encode(model_dir, input_file, output, nearest, index_file, batch_size) -> None:
    """Write one vector per line of INPUT (tokenised sentences; default: standard input): the
    encoder's summary, space-separated numbers; a blank line gives a blank line.

    With --nearest K --index FILE, print for each input line its K most similar lines of FILE as
    `input line<TAB>rank<TAB>cosine<TAB>index line<TAB>index sentence` (line numbers from 1).

    \b
        hybrid seq2seq train --autoencoder --train-src train.en --dev-src val.en --out runs/ae
        hybrid encode --model runs/ae/model val.en > val.vectors
        hybrid encode --model runs/ae/model --nearest 3 --index train.en queries.en
    """
    from hybrid.data.batching import chunked
    from hybrid.data.lines import nonempty, numbered_lines
    from hybrid.data.writers import atomic_text_output
    from hybrid.models.sentence_vectors import encode_sentences
    from hybrid.models.sentence_vectors import nearest as most_similar
    from hybrid.models.seq2seq_io import load_seq2seq

    if (nearest is None) != (index_file is None):
        raise click.UsageError("--nearest K and --index FILE go together")
    check_output(output, input_file)
    model = load_seq2seq(model_dir)
    index_vectors = index_lines = None
    if index_file is not None:
        index_lines = nonempty([(n, line) for n, line in numbered_lines(index_file) if line.split()], index_file)
        index_vectors = encode_sentences(model, [line.split() for _, line in index_lines], batch_size)
    with atomic_text_output(output) as out:
        for chunk in chunked(numbered_lines(input_file), 8 * batch_size):
            sentences = [line.split() for _, line in chunk]
            real = [i for i, tokens in enumerate(sentences) if tokens]
            vectors = encode_sentences(model, [sentences[i] for i in real], batch_size)
            if index_vectors is None or index_lines is None:
                rows = iter(vectors.tolist())
                out.write("".join((" ".join(f"{x:.6g}" for x in next(rows)) if tokens else "") + "\n"
                                  for tokens in sentences))
                continue
            scores, found = most_similar(vectors, index_vectors, nearest)
            for row, i in enumerate(real):
                number = chunk[i][0]
                for rank, (score, j) in enumerate(zip(scores[row].tolist(), found[row].tolist(), strict=True), 1):
                    index_number, index_line = index_lines[j]
                    out.write(f"{number}\t{rank}\t{score:.4f}\t{index_number}\t{index_line.strip()}\n")
            out.flush()
