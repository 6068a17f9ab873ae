"""`hybrid seq2seq train`: train an attention encoder-decoder on parallel text (MLE)."""

from __future__ import annotations

import dataclasses

import click

from cli.params import amp_option, device_option, echo_summary, nproc_option, run_options

# option name -> (config section, field); unset options keep the --config / default value
OVERRIDES = {
    "cell": [("model", "encoder"), ("model", "decoder")], "attention": [("model", "attention")],
    "embedding_dim": [("model", "embedding_dim")], "encoder_hidden": [("model", "encoder_hidden")],
    "decoder_hidden": [("model", "decoder_hidden")], "dropout": [("model", "dropout")],
    "min_freq": [("model", "src_min_freq"), ("model", "tgt_min_freq")],
    "lr": [("train", "lr")], "batch_size": [("train", "batch_size")], "epochs": [("train", "epochs")],
    "patience": [("train", "patience")], "max_minutes": [("train", "max_minutes")],
    "label_smoothing": [("train", "label_smoothing")], "ss_start": [("train", "ss_start")],
    "ss_end": [("train", "ss_end")], "ss_epochs": [("train", "ss_epochs")], "seed": [("train", "seed")],
    "summary": [("model", "summary")], "bottleneck": [("model", "bottleneck")],
    "arch": [("model", "arch")], "transformer_layers": [("model", "transformer_layers")],
    "heads": [("model", "heads")], "ff_size": [("model", "ff_size")], "warmup_steps": [("train", "warmup_steps")],
    "autoencoder": [("train", "autoencoder")], "word_dropout": [("train", "word_dropout")],
    "shuffle_window": [("train", "shuffle_window")],
}
FILE = click.Path(exists=True, dir_okay=False)


@click.group()
def seq2seq() -> None:
    """Sequence-to-sequence models (encoder-decoder with attention)."""


@seq2seq.command("train")
@click.option("--train-src", type=FILE, required=True, help="Training sources, one tokenised sentence per line.")
@click.option("--train-tgt", type=FILE, default=None,
              help="Training targets, aligned line by line (not with --autoencoder).")
@click.option("--dev-src", type=FILE, required=True, help="Dev sources (early stopping on dev BLEU).")
@click.option("--dev-tgt", type=FILE, default=None, help="Dev targets (not with --autoencoder).")
@click.option("--autoencoder", is_flag=True, default=None,
              help="Reconstruct the sources (target = source); implies --bottleneck unless --no-bottleneck or a "
                   "--config file says otherwise.")
@click.option("--bottleneck/--no-bottleneck", default=None,
              help="The decoder attends to the source's summary vector alone.  [default: off; on with --autoencoder]")
@click.option("--summary", type=click.Choice(["mean", "last", "max", "attention"]), default=None,
              help="Pooling of the encoder states into the sentence vector (`hybrid encode`).  [default: mean]")
@click.option("--word-dropout", type=click.FloatRange(0, 1, max_open=True), default=None,
              help="Noise: drop each training source word with this probability.  [default: 0]")
@click.option("--shuffle-window", type=click.IntRange(0), default=None,
              help="Noise: shuffle training source words, none moving more than this many places.  [default: 0]")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True,
              help="Run directory: the best model goes to OUT/model.")
@click.option("--arch", type=click.Choice(["rnn", "transformer"]), default=None,
              help="rnn: recurrent encoder-decoder with attention (--cell, --attention); transformer: "
                   "self-attention on both sides (--embedding-dim is its width; --transformer-layers, --heads, "
                   "--ff-size).  [default: rnn]")
@click.option("--cell", type=click.Choice(["gru", "lstm", "rnn"]), default=None,
              help="rnn: encoder and decoder cell.  [default: gru]")
@click.option("--attention", type=click.Choice(["dot", "general", "additive"]), default=None,
              help="Match function of the attention.  [default: general]")
@click.option("--embedding-dim", type=click.IntRange(1), default=None,
              help="Word embeddings; the transformer's width.  [default: 256]")
@click.option("--transformer-layers", type=click.IntRange(1), default=None,
              help="transformer: encoder layers and decoder layers.  [default: 3]")
@click.option("--heads", type=click.IntRange(1), default=None,
              help="transformer: attention heads (--embedding-dim must be a multiple).  [default: 4]")
@click.option("--ff-size", type=click.IntRange(0), default=None,
              help="transformer: feed-forward size, 0 = 4 x --embedding-dim.  [default: 0]")
@click.option("--encoder-hidden", type=click.IntRange(1), default=None, help="Per direction.  [default: 256]")
@click.option("--decoder-hidden", type=click.IntRange(1), default=None, help="[default: 256]")
@click.option("--dropout", type=click.FloatRange(0, 1, max_open=True), default=None, help="[default: 0.3]")
@click.option("--min-freq", type=click.IntRange(1), default=None,
              help="Words seen fewer times become <unk> (both sides).  [default: 2]")
@click.option("--lr", type=click.FloatRange(0, min_open=True), default=None,
              help="Adam learning rate (the peak, with warm-up).  [default: 0.001]")
@click.option("--warmup-steps", type=click.IntRange(0), default=None,
              help="Learning rate rising over this many steps, then falling as 1/sqrt(step); 0 = constant.  "
                   "[default: 1000 for the transformer, 0 for rnn]")
@click.option("--batch-size", type=click.IntRange(1), default=None, help="[default: 64]")
@click.option("--epochs", type=click.IntRange(1), default=None, help="[default: 30]")
@click.option("--patience", type=click.IntRange(1), default=None,
              help="Epochs without a better dev BLEU.  [default: 4]")
@click.option("--max-minutes", type=click.FloatRange(0, min_open=True), default=None, help="Training budget.")
@click.option("--label-smoothing", type=click.FloatRange(0, 1, max_open=True), default=None, help="[default: 0.1]")
@click.option("--ss-start", type=click.FloatRange(0, 1), default=None,
              help="Scheduled sampling: probability of feeding the model's own token in the first epoch.  [default: 0]")
@click.option("--ss-end", type=click.FloatRange(0, 1), default=None,
              help="... rising linearly to this probability.  [default: 0]")
@click.option("--ss-epochs", type=click.IntRange(1), default=None, help="... over this many epochs.  [default: 10]")
@click.option("--seed", type=int, default=None, help="[default: 1]")
@click.option("--config", "config_file", type=FILE, default=None,
              help="JSON config (sections model, train); command-line options override it.")
@device_option
@amp_option
@run_options
@nproc_option
def train(train_src, train_tgt, dev_src, dev_tgt, out_dir, config_file, device, amp, resume, overwrite, quiet,
          **options) -> None:
    """Train a seq2seq model with teacher forcing; the best model by dev BLEU goes to OUT/model.

    \b
    Multi30k German -> English:
        hybrid seq2seq train --train-src train.de --train-tgt train.en \\
            --dev-src val.de --dev-tgt val.en --out runs/de-en --max-minutes 85
    The same with a Transformer:
        hybrid seq2seq train --arch transformer --train-src train.de --train-tgt train.en \\
            --dev-src val.de --dev-tgt val.en --out runs/de-en-transformer --max-minutes 85
    A sequence autoencoder (sentence -> one vector -> sentence; `hybrid encode` writes the vectors):
        hybrid seq2seq train --autoencoder --train-src train.en --dev-src val.en \\
            --word-dropout 0.1 --out runs/ae-en --max-minutes 30
    """
    from hybrid.config import Seq2SeqConfig, load_json
    from hybrid.data.lines import nonempty
    from hybrid.data.parallel import read_parallel
    from hybrid.train.seq2seq import train_seq2seq

    config = load_json(Seq2SeqConfig, config_file) if config_file else Seq2SeqConfig()
    changes: dict[str, dict] = {"model": {}, "train": {}}
    for option, value in options.items():
        if value is not None:
            for section, field in OVERRIDES[option]:
                changes[section][field] = value
    autoencoder = changes["train"].get("autoencoder", config.train.autoencoder)
    if autoencoder:
        given = [name for name, value in (("--train-tgt", train_tgt), ("--dev-tgt", dev_tgt)) if value]
        if given:
            raise click.UsageError(f"an autoencoder reconstructs the sources: leave out {' and '.join(given)}")
        if options["autoencoder"] and "bottleneck" not in changes["model"] and config_file is None:
            changes["model"]["bottleneck"] = True  # implied, unless an option or the --config file says otherwise
    else:
        missing = [name for name, value in (("--train-tgt", train_tgt), ("--dev-tgt", dev_tgt)) if not value]
        if missing:
            raise click.UsageError(f"missing {' and '.join(missing)} (or train an --autoencoder)")
    # one replace per section: settings checked together (e.g. --embedding-dim with --heads) see each other
    config = Seq2SeqConfig(model=dataclasses.replace(config.model, **changes["model"]),
                           train=dataclasses.replace(config.train, **changes["train"]))
    if config.train.autoencoder:
        train_pairs = nonempty(read_parallel(train_src), train_src, "sentences")
        dev_pairs = nonempty(read_parallel(dev_src), dev_src, "sentences")
    else:
        train_pairs = nonempty(read_parallel(train_src, train_tgt), train_src, "sentence pairs")
        dev_pairs = nonempty(read_parallel(dev_src, dev_tgt), dev_src, "sentence pairs")
    summary = train_seq2seq(config, train_pairs, dev_pairs, out_dir,
                            resume=resume, overwrite=overwrite, progress=not quiet, log=click.echo,
                            device=device, amp=amp)
    echo_summary(summary)
