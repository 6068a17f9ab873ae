"""`hybrid generate`: translate / generate with a seq2seq model, one output line per input line
(a blank input line gives a blank output line, so outputs stay aligned with inputs)."""

from __future__ import annotations

import click

from cli.params import MODEL_DIR


@click.command()
@click.option("--model", "model_dir", type=MODEL_DIR, required=True, help="Seq2seq model directory.")
@click.argument("input_file", type=click.File("r", encoding="utf-8"), default="-")
@click.option("--output", "-o", type=click.File("w", encoding="utf-8", atomic=True), default="-",
              help="Where to write (default: standard output).")
@click.option("--beam", type=click.IntRange(1), default=5, show_default=True, help="Beam size (1 = greedy).")
@click.option("--length-penalty", type=click.FloatRange(0), default=0.0, show_default=True,
              help="GNMT length penalty alpha for beam search (0 = raw log-probability).")
@click.option("--sample", "do_sample", is_flag=True, help="Sample instead of searching.")
@click.option("--temperature", type=click.FloatRange(0, min_open=True), default=1.0, show_default=True,
              help="Sampling temperature.")
@click.option("--top-k", type=click.IntRange(0), default=0, show_default=True,
              help="Sample from the k best tokens (0 = all).")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed for --sample.")
@click.option("--max-length", type=click.IntRange(1), default=100, show_default=True, help="Longest output in tokens.")
@click.option("--attention-plot", type=click.Path(dir_okay=False), default=None,
              help="Write a PNG of the attention weights of the first sentence (needs matplotlib).")
@click.option("--attention-layer", type=int, default=None,
              help="Transformer: the decoder layer whose cross-attention is plotted (0-based; -1 = the last).  "
                   "[default: -1]")
@click.option("--attention-head", type=click.IntRange(0), default=None,
              help="Transformer: plot this head alone instead of the heads' mean.")
def generate(model_dir, input_file, output, beam, length_penalty, do_sample, temperature, top_k, seed, max_length,
             attention_plot, attention_layer, attention_head) -> None:
    """Generate a target sentence for every source line of INPUT (default: standard input).

    \b
        hybrid generate --model runs/de-en/model test2016.de > hyp.en
        echo "ein hund läuft ." | hybrid generate --model runs/de-en/model --beam 1
    """
    import torch

    from hybrid.data.lines import numbered_lines
    from hybrid.models.seq2seq_io import load_seq2seq
    from hybrid.train.seq2seq import translate

    model = load_seq2seq(model_dir)
    if attention_plot and model.config.bottleneck:
        raise click.UsageError("--attention-plot: this model's decoder attends to one summary vector, not to the "
                               "source words (a bottleneck model): there is no alignment to plot")
    if attention_layer is not None or attention_head is not None:
        choose_attention(model, attention_layer, attention_head)
    lines = [line.split() for _, line in numbered_lines(input_file)]
    sources = [tokens for tokens in lines if tokens]  # a blank line gives a blank output line
    generator = torch.Generator().manual_seed(seed) if do_sample else None
    outputs = iter(translate(model, sources, beam=beam, max_length=max_length, length_penalty=length_penalty,
                             temperature=temperature if do_sample else None, top_k=top_k, generator=generator))
    for tokens in lines:
        output.write((" ".join(next(outputs)) if tokens else "") + "\n")
    if attention_plot and sources:
        from hybrid.plots import plot_attention

        plot_attention(model, sources[0], attention_plot, beam=1 if do_sample else beam, max_length=max_length)
        click.echo(f"attention of sentence 1 written to {attention_plot}", err=True)


def choose_attention(model, layer: int | None, head: int | None) -> None:
    """Point a Transformer's returned cross-attention at `layer` (negative: from the end) and
    `head` (None: the heads' mean); the recurrent model has one attention and refuses both."""
    if model.config.arch != "transformer":
        raise click.UsageError("--attention-layer and --attention-head choose among a Transformer's layers and "
                               "heads; this model has one attention")
    layers, heads = model.config.transformer_layers, model.config.heads
    if layer is not None:
        if not -layers <= layer < layers:
            raise click.UsageError(f"--attention-layer {layer}: the model has {layers} decoder layers")
        model.attention_layer = layer % layers
    if head is not None:
        if head >= heads:
            raise click.UsageError(f"--attention-head {head}: the model has {heads} heads (0..{heads - 1})")
        model.attention_head = head
