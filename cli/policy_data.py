"""What the sequence-level trainers (`rl-finetune`, `gan-train`) share: the options that name
the training and dev data, and loading a saved model as a policy with its data."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from cli.params import model_kind
from hybrid.data.lines import nonempty
from hybrid.models.registry import CLASSIFIER, LANGUAGE_MODEL, SEQ2SEQ

if TYPE_CHECKING:
    from hybrid.train.protocols import AdversarialPolicy

FILE = click.Path(exists=True, dir_okay=False)


def data_options(command: Callable) -> Callable:
    """--train-src/--train-tgt/--dev-src/--dev-tgt (seq2seq) and --train/--dev (taggers, language models)."""
    options = [
        click.option("--train-src", type=FILE, help="seq2seq: training sources."),
        click.option("--train-tgt", type=FILE, help="seq2seq: training references."),
        click.option("--dev-src", type=FILE, help="seq2seq: dev sources."),
        click.option("--dev-tgt", type=FILE, help="seq2seq: dev references."),
        click.option("--train", "train_file", type=FILE,
                     help="tagger: training file with gold tags (the model's format); classifier: labelled "
                          "sentences (label<TAB>text, or TSV with a header); language model: sentences."),
        click.option("--dev", "dev_file", type=FILE,
                     help="tagger: dev file with gold tags; classifier: labelled sentences; language model: "
                          "sentences."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def load_policy(model_dir, train_src, train_tgt, dev_src, dev_tgt, train_file, dev_file,
                what: str = "REINFORCE fine-tuning", device: str = "cpu") -> tuple[AdversarialPolicy, list, list]:
    """The model in `model_dir` as a policy (hybrid.train.policies) on `device` (with several
    processes, cuda is each one's own GPU), its training and dev data."""
    policy, train, dev = _policy_and_data(model_dir, train_src, train_tgt, dev_src, dev_tgt, train_file, dev_file,
                                          what)
    if device != "cpu":
        from hybrid.train.distributed import device_of
        from hybrid.train.world import launched

        policy.model.to(device_of(device, launched()))
    return policy, train, dev


def _policy_and_data(model_dir, train_src, train_tgt, dev_src, dev_tgt, train_file, dev_file,
                     what: str) -> tuple[AdversarialPolicy, list, list]:
    if model_kind(model_dir) is SEQ2SEQ:
        if not (train_src and train_tgt and dev_src and dev_tgt):
            raise click.UsageError("a seq2seq model needs --train-src, --train-tgt, --dev-src and --dev-tgt")
        from hybrid.data.parallel import read_parallel
        from hybrid.models.seq2seq_io import load_seq2seq
        from hybrid.train.policies import Seq2SeqPolicy

        return (Seq2SeqPolicy(load_seq2seq(model_dir)),
                nonempty(read_parallel(train_src, train_tgt), train_src, "sentence pairs"),
                nonempty(read_parallel(dev_src, dev_tgt), dev_src, "sentence pairs"))
    if not (train_file and dev_file):
        raise click.UsageError("a tagger needs --train and --dev files with gold tags; a classifier --train and "
                               "--dev files of labelled sentences; a language model --train and --dev files of "
                               "sentences")
    if model_kind(model_dir) is CLASSIFIER:
        from hybrid.data.labelled import read_labelled
        from hybrid.models.classifier_io import load_classifier, read_classifier_config
        from hybrid.train.policies import ClassifierPolicy

        classifier = load_classifier(model_dir)
        data = [nonempty(list(read_labelled(path)), path, "labelled sentences") for path in (train_file, dev_file)]
        for path, examples in zip((train_file, dev_file), data, strict=True):
            unknown = sorted({e.label for e in examples if e.label is not None} - set(classifier.label_names))
            if unknown:
                raise click.UsageError(f"{path}: labels {unknown} are not among the model's {classifier.label_names}")
        return ClassifierPolicy(classifier, read_classifier_config(model_dir)), data[0], data[1]
    if model_kind(model_dir) is LANGUAGE_MODEL:
        from hybrid.data.parallel import read_parallel
        from hybrid.models.language_model_io import load_language_model
        from hybrid.train.policies import LanguageModelPolicy

        return (LanguageModelPolicy(load_language_model(model_dir)), nonempty(read_parallel(train_file), train_file),
                nonempty(read_parallel(dev_file), dev_file))
    from hybrid.models.io import load_tagger, read_config
    from hybrid.models.tagger import Tagger
    from hybrid.train.policies import TaggerPolicy
    from hybrid.train.tagging import read_tagged

    tagger_config = read_config(model_dir)
    if tagger_config.model.layer == "hmm-classic":
        raise click.UsageError("the classic HMM has no network to fine-tune")
    if tagger_config.model.layer == "ctc":
        raise click.UsageError(f"{what} covers chain taggers and seq2seq models, not CTC models")
    tagger = load_tagger(model_dir)
    if not isinstance(tagger, Tagger):  # never after the layer checks above
        kind = type(tagger).__name__
        raise click.UsageError(f"{what} covers chain taggers and seq2seq models, not a {kind}")
    policy = TaggerPolicy(tagger, tagger_config)
    return (policy, nonempty(read_tagged(train_file, tagger_config.data), train_file),
            nonempty(read_tagged(dev_file, tagger_config.data), dev_file))
