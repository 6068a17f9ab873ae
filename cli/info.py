"""`hybrid info`: what a saved model is, which tags it predicts, how it was trained."""

from __future__ import annotations

import json

import click

from cli.params import MODEL_DIR, model_kind
from hybrid.models.registry import CLASSIFIER, SEQ2SEQ, WORD_VECTORS


@click.command()
@click.argument("directory", type=MODEL_DIR, required=False)
@click.option("--json", "as_json", is_flag=True, help="Print everything as JSON.")
def info(directory, as_json: bool) -> None:
    """Show a model's configuration, tag set and training figures (default: the bundled model)."""
    from hybrid.config import to_dict
    from hybrid.errors import ModelLoadError
    from hybrid.models.directory import read_vocab_json
    from hybrid.models.io import default_model_path, read_config, read_training

    directory = directory or default_model_path()
    if model_kind(directory) is SEQ2SEQ:
        _seq2seq_info(directory, as_json)
        return
    if model_kind(directory) is CLASSIFIER:
        _classifier_info(directory, as_json)
        return
    if model_kind(directory) is WORD_VECTORS:
        _vectors_info(directory, as_json)
        return
    config = read_config(directory)
    vocab = read_vocab_json(directory)
    ctc = config.model.layer == "ctc"
    try:  # a CTC model's: its labels, blank left out
        tags = vocab["labels"]["tokens"][1:] if ctc else vocab["tags"]["tokens"]
        sizes = {"inputs": len(vocab["inputs"]["tokens"])} if ctc else {"words": len(vocab["words"]["tokens"])}
    except (KeyError, TypeError):
        raise ModelLoadError(f"{directory}/vocab.json: not the vocabulary of a {config.model.layer} tagger") from None
    training = read_training(directory)
    if as_json:
        click.echo(json.dumps({"model": str(directory), "config": to_dict(config), "tags": tags,
                               "training": training}, indent=2))
        return
    m, d = config.model, config.data
    click.echo(f"model      {directory}")
    # the count-based HMM decodes without constraints (its rows must stay distributions)
    constraints = "none" if m.layer == "hmm-classic" else m.constraints
    if ctc:
        click.echo(f"layer      ctc (labels not aligned with the input; decoding: "
                   f"{'best path' if m.ctc_beam == 1 else f'prefix beam {m.ctc_beam}'})")
    else:
        click.echo(f"layer      {m.layer} (constraints: {constraints}, loss: {m.loss})")
    if ctc:
        click.echo(f"encoder    {describe_encoder(m)}")
        click.echo(f"inputs     tokens ({sizes['inputs']}, dim {m.word_dim})")
    elif m.layer == "hmm-classic":
        click.echo(f"model      bigram HMM from counts, no network "
                   f"(smoothing: transitions {m.hmm_transition_smoothing}, "
                   f"emissions {m.hmm_emission_smoothing}; words seen <= {m.hmm_rare_words}x -> unknown-word classes)")
        click.echo(f"inputs     {sizes['words']} symbols (words and unknown-word classes)")
    else:
        click.echo(f"encoder    {describe_encoder(m)}")
        click.echo(f"inputs     words ({sizes['words']}, dim {m.word_dim}), chars ({m.char_encoder}), "
                   f"features {list(d.feature_columns) or 'none'}")
    if ctc:
        click.echo(f"data       format {d.format} (input tokens<TAB>labels)")
    else:
        click.echo(f"data       format {d.format}, word column {d.word_column}, tag column {d.tag_column}")
    click.echo(f"{'labels' if ctc else 'tags'} ({len(tags)})  {' '.join(tags)}")
    if training:
        click.echo(f"training   best dev {training.get('metric')} {training.get('best_dev', float('nan')):.2f} "
                   f"at epoch {training.get('best_epoch')}, "
                   f"{training.get('minutes', training.get('train_minutes'))} min")
        for key in ("test", "test_accuracy", "test_f1"):
            if key in training:
                click.echo(f"           {key}: {training[key]}")


def _seq2seq_info(directory, as_json: bool) -> None:
    from hybrid.config import to_dict
    from hybrid.errors import ModelLoadError
    from hybrid.models.directory import read_training, read_vocab_json
    from hybrid.models.seq2seq_io import read_seq2seq_config

    config = read_seq2seq_config(directory)
    vocab = read_vocab_json(directory)
    try:
        sizes = {side: len(vocab[side]["tokens"]) for side in ("source", "target")}
    except (KeyError, TypeError):
        raise ModelLoadError(f"{directory}/vocab.json: not the vocabulary of a seq2seq model") from None
    training = read_training(directory)
    if as_json:
        click.echo(json.dumps({"model": str(directory), "config": to_dict(config), "vocabulary": sizes,
                               "training": training}, indent=2))
        return
    m = config.model
    kind = "sequence autoencoder" if config.train.autoencoder else "seq2seq"
    click.echo(f"model      {directory} ({kind})")
    tied = " (tied with the output layer)" if m.tie_embeddings else ""
    if m.arch == "transformer":
        ff = m.ff_size or 4 * m.embedding_dim
        click.echo(f"encoder    transformer, {m.transformer_layers} layer(s), width {m.embedding_dim}, "
                   f"{m.heads} heads, "
                   f"feed-forward {ff}")
        click.echo(f"decoder    transformer, {m.transformer_layers} layer(s), causal self-attention and "
                   f"cross-attention, embeddings {m.embedding_dim}{tied}")
        width = m.embedding_dim
    else:
        click.echo(f"encoder    bidirectional {m.encoder}, {m.encoder_layers} layer(s), "
                   f"hidden {m.encoder_hidden} per direction")
        click.echo(f"decoder    {m.decoder}, hidden {m.decoder_hidden}, {m.attention} attention, "
                   f"embeddings {m.embedding_dim}{tied}")
        width = 2 * m.encoder_hidden
    sees = "the summary alone (bottleneck)" if m.bottleneck else "every source position"
    click.echo(f"summary    {m.summary} pooling of the encoder states, {width} wide; the decoder attends to {sees}")
    click.echo(f"vocabulary source {sizes['source']}, target {sizes['target']}")
    if training:
        click.echo(f"training   best dev BLEU {training.get('best_dev', float('nan')):.2f} at epoch "
                   f"{training.get('best_epoch', training.get('best_step'))}")


def _classifier_info(directory, as_json: bool) -> None:
    from hybrid.config import to_dict
    from hybrid.errors import ModelLoadError
    from hybrid.models.classifier_io import read_classifier_config
    from hybrid.models.directory import read_training, read_vocab_json

    config = read_classifier_config(directory)
    vocab = read_vocab_json(directory)
    try:
        labels, words = vocab["labels"]["tokens"], len(vocab["words"]["tokens"])
    except (KeyError, TypeError):
        raise ModelLoadError(f"{directory}/vocab.json: not the vocabulary of a classifier") from None
    training = read_training(directory)
    if as_json:
        click.echo(json.dumps({"model": str(directory), "config": to_dict(config), "labels": labels,
                               "training": training}, indent=2))
        return
    m = config.model
    click.echo(f"model      {directory} (classifier)")
    click.echo(f"encoder    {describe_encoder(m)}; {m.pooling} pooling")
    click.echo(f"inputs     words ({words}, dim {m.word_dim}{', lowercased' if m.lowercase else ''})")
    click.echo(f"labels ({len(labels)})  {' '.join(labels)}")
    if training:
        click.echo(f"training   best dev accuracy {training.get('best_dev', float('nan')):.2f} at epoch "
                   f"{training.get('best_epoch')}, {training.get('minutes')} min")


def describe_encoder(m) -> str:
    """One line on a tagger's or classifier's encoder settings."""
    if m.encoder == "transformer":
        ff = m.ff_size or 4 * m.hidden_size
        return (f"transformer, {m.num_layers} layer(s), width {m.hidden_size}, {m.heads} heads, feed-forward {ff}, "
                f"{m.positions} positions, {'bidirectional' if m.bidirectional else 'causal (left only)'}")
    return (f"{m.encoder}, {m.num_layers} layer(s), hidden {m.hidden_size}, "
            f"{'bidirectional' if m.bidirectional else 'unidirectional'}")


def _vectors_info(directory, as_json: bool) -> None:
    from hybrid.config import GloveConfig, to_dict
    from hybrid.embeddings.directory import load_vectors_directory, read_vectors_config
    from hybrid.models.directory import read_training

    config, vectors, training = read_vectors_config(directory), load_vectors_directory(directory), \
        read_training(directory)
    if as_json:
        click.echo(json.dumps({"model": str(directory), "config": to_dict(config), "words": len(vectors),
                               "dim": vectors.dim, "training": training}, indent=2))
        return
    click.echo(f"model      {directory} (word vectors)")
    click.echo(f"vectors    {len(vectors)} words, {vectors.dim} dimensions; most frequent: "
               f"{' '.join(vectors.words[:8])}")
    if isinstance(config, GloveConfig):
        click.echo(f"trained    glove, window {config.window}, min count {config.min_count}, x_max {config.x_max:g}, "
                   f"power {config.power:g}, {config.epochs} epoch(s)")
    else:
        loss = "negative sampling" if config.loss == "ns" else "hierarchical softmax"
        click.echo(f"trained    {config.model} with {loss}, window {config.window}, min count {config.min_count}, "
                   f"sample {config.sample}, {config.epochs} epoch(s)")
    if training:
        click.echo(f"training   {training.get('steps_run', '?')} steps, {training.get('minutes', '?')} minutes")
