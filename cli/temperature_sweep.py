"""`hybrid temperature-sweep`: quality against diversity of seq2seq models as the sampling
temperature varies, one curve per model on one PNG."""

from __future__ import annotations

import json

import click

from cli.params import MODEL_DIR, model_kind

FILE = click.Path(exists=True, dir_okay=False)


def _temperatures(text: str) -> list[float]:
    try:
        values = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise click.BadParameter(f"expected numbers separated by commas, got {text!r}") from None
    if not values or any(not v > 0 for v in values):
        raise click.BadParameter(f"expected temperatures > 0, got {text!r}")
    return values


@click.command("temperature-sweep")
@click.option("--model", "models", type=MODEL_DIR, multiple=True, required=True,
              help="A seq2seq model; repeat to draw several curves (e.g. the MLE start and its fine-tuned runs).")
@click.option("--label", "labels", multiple=True, help="A curve's name, one per --model (default: the directory).")
@click.option("--src", "src_file", type=FILE, required=True, help="Sources, one sentence per line.")
@click.option("--ref", "ref_file", type=FILE, required=True, help="References aligned with --src.")
@click.option("--temperatures", default="0.5,0.7,0.85,1.0,1.2,1.5", show_default=True,
              help="Sampling temperatures, separated by commas.")
@click.option("--samples", type=click.IntRange(2), default=4, show_default=True,
              help="Samples per source at each temperature.")
@click.option("--max-sentences", type=click.IntRange(1), default=None, help="Use the first N sentence pairs.")
@click.option("--max-length", type=click.IntRange(1), default=100, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--out", "out_png", type=click.Path(dir_okay=False), required=True, help="The PNG to write.")
@click.option("--json", "json_file", type=click.Path(dir_okay=False), default=None,
              help="Also write every point (temperature, BLEU, pairwise BLEU) as JSON here.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def temperature_sweep(models, labels, src_file, ref_file, temperatures, samples, max_sentences, max_length, seed,
                      out_png, json_file, quiet) -> None:
    """Sample each model at several temperatures and plot quality (BLEU against the references)
    against diversity (pairwise BLEU among a source's samples). A fine-tuned model helps only
    where its curve lies beyond the starting model's, whose lower temperatures also buy quality
    with diversity: for every later model's point the command prints how many BLEU points it
    lies above the first model's curve at the same pairwise BLEU (negative: below it).

    \b
        hybrid temperature-sweep --model runs/mle/model --label MLE --model runs/rl/model --label REINFORCE \\
            --src test2016.de --ref test2016.en --out sweep.png --json sweep.json
    """
    from tqdm import tqdm

    from hybrid.config import atomic_write_text
    from hybrid.data.lines import nonempty
    from hybrid.data.parallel import read_parallel
    from hybrid.models.registry import SEQ2SEQ
    from hybrid.models.seq2seq_io import load_seq2seq
    from hybrid.train.policies import Seq2SeqPolicy
    from hybrid.train.sweeps import margins_over, plot_sweeps, temperature_sweep

    if labels and len(labels) != len(models):
        raise click.UsageError(f"{len(labels)} --label for {len(models)} --model: give one per model, or none")
    for model_dir in models:
        if model_kind(model_dir) is not SEQ2SEQ:
            raise click.UsageError(f"{model_dir}: not a seq2seq model (the sweep scores outputs by BLEU "
                                   "against references)")
    points = _temperatures(temperatures)
    pairs = nonempty(read_parallel(src_file, ref_file), src_file, "sentence pairs")[:max_sentences]
    curves: dict[str, list[dict[str, float]]] = {}
    with tqdm(total=len(models) * len(points) * len(pairs), unit="sent", disable=quiet, dynamic_ncols=True) as bar:
        for i, model_dir in enumerate(models):
            name = labels[i] if labels else str(model_dir)
            curves[name] = temperature_sweep(Seq2SeqPolicy(load_seq2seq(model_dir)), pairs, points, samples, seed,
                                             max_length, progress=bar.update)
    plot_sweeps(curves, out_png)
    first, reference = next(iter(curves.items()))
    margins = {name: margins_over(curve, reference, "pairwise_bleu", "bleu", higher_is_better=True)
               for name, curve in curves.items() if name != first}
    result = {"samples": samples, "sentences": len(pairs), "curves": curves, "beyond": first, "margins": margins}
    if json_file:
        atomic_write_text(json_file, json.dumps(result, indent=2) + "\n")
    for name, curve in curves.items():
        click.echo(name)
        for p, margin in zip(curve, margins.get(name, [None] * len(curve)), strict=True):
            line = f"  temperature {p['temperature']:<5g} BLEU {p['bleu']:6.2f}  pairwise BLEU " \
                f"{p['pairwise_bleu']:6.2f}"
            if name != first:
                line += f"  outside {first}'s range" if margin is None else f"  {margin:+.2f} BLEU beyond {first}"
            click.echo(line)
    click.echo(f"wrote {out_png}")
