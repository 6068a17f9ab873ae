"""`hybrid train`: train a tagger on a CoNLL / CoNLL-U file (or a CTC model on pairs)."""

from __future__ import annotations

import dataclasses

import click

from cli.params import (
    COLUMN,
    ENCODERS,
    amp_option,
    device_option,
    echo_summary,
    nproc_option,
    run_options,
    transformer_options,
)

# option name -> (config section, field); options left unset keep the --config / default value
OVERRIDES = {
    "fmt": ("data", "format"), "word_column": ("data", "word_column"), "tag_column": ("data", "tag_column"),
    "feature_column": ("data", "feature_columns"), "min_word_freq": ("data", "min_word_freq"),
    "encoder": ("model", "encoder"), "layer": ("model", "layer"), "loss": ("model", "loss"),
    "char_encoder": ("model", "char_encoder"),
    "embeddings": ("model", "embeddings"), "embeddings_vocab": ("model", "embeddings_vocab"),
    "hidden_size": ("model", "hidden_size"),
    "num_layers": ("model", "num_layers"), "dropout": ("model", "dropout"),
    "word_dim": ("model", "word_dim"), "constraints": ("model", "constraints"),
    "epochs": ("train", "epochs"), "max_minutes": ("train", "max_minutes"), "seed": ("train", "seed"),
    "dev_fraction": ("train", "dev_fraction"), "optimizer": ("train", "optimizer"), "lr": ("train", "lr"),
    "batch_size": ("train", "batch_size"), "patience": ("train", "patience"),
    "hmm_rare_words": ("model", "hmm_rare_words"), "hmm_emission_smoothing": ("model", "hmm_emission_smoothing"),
    "hmm_transition_smoothing": ("model", "hmm_transition_smoothing"),
    "hmm_prior_scale": ("model", "hmm_prior_scale"), "hmm_transition_scale": ("model", "hmm_transition_scale"),
    "hmm_tune_scales": ("model", "hmm_tune_scales"), "ctc_beam": ("model", "ctc_beam"),
    "heads": ("model", "heads"), "ff_size": ("model", "ff_size"), "positions": ("model", "positions"),
    "attention_dropout": ("model", "attention_dropout"),
}


@click.command()
@click.option("--train", "train_file", type=click.Path(exists=True, dir_okay=False), required=True,
              help="Training file with gold tags.")
@click.option("--dev", "dev_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Dev file for early stopping. Without it, --dev-fraction of --train is held out (seeded).")
@click.option("--dev-fraction", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=None,
              help="Share of --train held out as dev when --dev is not given.  [default: 0.1]")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True,
              help="Run directory: the best model goes to OUT/model, logs and checkpoint beside it.")
@click.option("--format", "fmt", type=click.Choice(["conll", "conllu", "pairs"]), default=None,
              help="Input format; pairs (for --layer ctc): 'input tokens<TAB>labels' per line.  "
                   "[default: conll, pairs for --layer ctc]")
@click.option("--word-column", type=COLUMN, default=None, help="Word column (index or CoNLL-U field).  [default: 0]")
@click.option("--tag-column", type=COLUMN, default=None,
              help="Tag column (index, -1 = last, or CoNLL-U field such as upos, xpos).  [default: -1]")
@click.option("--feature-column", type=COLUMN, multiple=True,
              help="Extra input column with its own embedding, e.g. the POS column 1 of CoNLL-2000. Repeatable.")
@click.option("--encoder", type=click.Choice(ENCODERS), default=None,
              help="Sentence encoder: lstm, gru, rnn (Elman), peephole (LSTM with peepholes), jordan "
                   "(recurrence on the previous step's output) or transformer (self-attention; --hidden-size is "
                   "its width; see --heads). jordan and transformer tag with the torch engine.  [default: lstm]")
@transformer_options()
@click.option("--layer", type=click.Choice(["crf", "softmax", "hmm", "hmm-classic", "ctc"]), default=None,
              help="Structured output layer: crf, softmax (no structure), hmm (the DNN-HMM "
                   "hybrid: posteriors over the tag prior, transitions from tag-bigram counts), "
                   "hmm-classic (no network: a bigram HMM counted from the data, seconds; "
                   "encoder options do not apply), or ctc (labels not aligned with the input, "
                   "read from pairs; char and feature options do not apply).  "
                   "[default: crf]")
@click.option("--char-encoder", type=click.Choice(["lstm", "cnn", "none"]), default=None,
              help="Character features of each word.  [default: lstm]")
@click.option("--embeddings", type=click.Path(exists=True), default=None,
              help="Pretrained word vectors: word2vec text or binary, GloVe text (.gz allowed), or the "
                   "model directory of `hybrid embed train`. --word-dim must match their size.")
@click.option("--embeddings-vocab", type=click.IntRange(0), default=None,
              help="How many of the vectors' words (the most frequent first) join the vocabulary beside "
                   "the training words, so words never seen in training keep their vectors; 0: "
                   "training words only.  [default: 100000]")
@click.option("--constraints", type=click.Choice(["auto", "none", "BIO", "IOB1", "BIOES"]), default=None,
              help="Allowed-transition constraints at decoding; auto detects BIO/BIOES tags.  [default: auto]")
@click.option("--word-dim", type=click.IntRange(1), default=None, help="Word embedding size.  [default: 100]")
@click.option("--hidden-size", type=click.IntRange(1), default=None,
              help="Encoder hidden size per direction.  [default: 200]")
@click.option("--loss", type=click.Choice(["auto", "nll", "perceptron", "hinge"]), default=None,
              help="Training loss on the chain: nll (log-likelihood), perceptron (Viterbi path vs "
                   "gold), hinge (structured SVM, Hamming-cost margin); auto = the layer's own.  "
                   "[default: auto]")
@click.option("--num-layers", type=click.IntRange(1), default=None, help="Stacked encoder layers.  [default: 1]")
@click.option("--dropout", type=click.FloatRange(0, 1, max_open=True), default=None, help="Dropout.  [default: 0.5]")
@click.option("--min-word-freq", type=click.IntRange(1), default=None,
              help="Rarer training words become <unk> (chars still see them).  [default: 1]")
@click.option("--hmm-rare-words", type=click.IntRange(0), default=None,
              help="hmm-classic: training words seen at most this often become unknown-word "
                   "(shape/suffix) classes.  [default: 1]")
@click.option("--hmm-emission-smoothing", type=click.FloatRange(0, min_open=True), default=None,
              help="hmm-classic: add-e smoothing of P(word | tag).  [default: 0.001]")
@click.option("--hmm-transition-smoothing", type=click.FloatRange(0, min_open=True), default=None,
              help="hmm-classic: add-a smoothing of the start and tag-bigram probabilities.  [default: 1.0]")
@click.option("--hmm-prior-scale", type=click.FloatRange(0), default=None,
              help="hmm: emissions are log P(y|x) - S * log P(y).  [default: 1.0, or chosen on dev]")
@click.option("--hmm-transition-scale", type=click.FloatRange(0), default=None,
              help="hmm: weight of log A and log pi against the emissions.  [default: 1.0, or chosen on dev]")
@click.option("--hmm-tune-scales/--no-hmm-tune-scales", default=None,
              help="hmm: after training, choose both scales on dev from a small grid (they only "
                   "change decoding).  [default: tune]")
@click.option("--ctc-beam", type=click.IntRange(1), default=None,
              help="ctc: decoding beam; 1 = best path, more = prefix beam search.  [default: 1]")
@click.option("--epochs", type=click.IntRange(1), default=None, help="Maximum epochs.  [default: 30]")
@click.option("--max-minutes", type=click.FloatRange(0, min_open=True), default=None,
              help="Stop after this many minutes of training (the best model so far is kept).")
@click.option("--patience", type=click.IntRange(1), default=None,
              help="Stop after this many epochs without a better dev score.  [default: 5]")
@click.option("--optimizer", type=click.Choice(["adam", "sgd"]), default=None, help="[default: adam]")
@click.option("--lr", type=click.FloatRange(0, min_open=True), default=None, help="Learning rate.  [default: 0.001]")
@click.option("--batch-size", type=click.IntRange(1), default=None, help="Sentences per batch.  [default: 32]")
@click.option("--seed", type=int, default=None, help="Random seed (data split, init, batches).  [default: 1]")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="JSON config (sections data, model, train); command-line options override it.")
@device_option
@amp_option
@run_options
@nproc_option
def train(train_file, dev_file, out_dir, config_file, device, amp, resume, overwrite, quiet, **options) -> None:
    """Train a tagger; the best model (by dev score) is saved to OUT/model.

    \b
    CoNLL-2000 chunking with the POS column as a feature:
        hybrid train --train train.txt --feature-column 1 --out runs/chunker
    UD POS tagging:
        hybrid train --format conllu --tag-column upos --train en_ewt-ud-train.conllu \\
            --dev en_ewt-ud-dev.conllu --out runs/pos
    Unaligned labels with a CTC head (lines 'input tokens<TAB>labels'):
        hybrid train --layer ctc --train pairs.tsv --word-dim 32 --hidden-size 64 --out runs/ctc
    """
    import torch

    from hybrid.config import TaggerConfig, load_json
    from hybrid.train.tagging import train_tagger

    torch.set_num_threads(max(1, torch.get_num_threads()))
    config = load_json(TaggerConfig, config_file) if config_file else TaggerConfig()
    if options.get("fmt") == "conllu":
        config = dataclasses.replace(config, data=dataclasses.replace(
            config.data, format="conllu",
            word_column="form" if config.data.word_column == 0 else config.data.word_column,
            tag_column="upos" if config.data.tag_column == -1 else config.data.tag_column,
        ))
    changes: dict[str, dict] = {"data": {}, "model": {}, "train": {}}
    for option, value in options.items():
        if value is None or value == ():
            continue
        section, field = OVERRIDES[option]
        changes[section][field] = tuple(value) if option == "feature_column" else value
    # one replace per section: settings checked together (e.g. --hidden-size with --heads) see each other
    config = TaggerConfig(**{name: dataclasses.replace(getattr(config, name), **fields)
                             for name, fields in changes.items()})
    ctc = config.model.layer == "ctc"
    if ctc and options.get("fmt") is None:
        config = dataclasses.replace(config, data=dataclasses.replace(config.data, format="pairs"))
    if ctc != (config.data.format == "pairs"):
        raise click.UsageError("--layer ctc reads --format pairs, and pairs are for --layer ctc only"
                               f" (got layer {config.model.layer}, format {config.data.format})")
    summary = train_tagger(config, train_file, out_dir, dev_file, resume=resume, overwrite=overwrite,
                           progress=not quiet, log=click.echo, device=device, amp=amp)
    echo_summary(summary)
