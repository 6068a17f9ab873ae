"""Frozen dataclass configs that serialise to JSON; unknown keys and wrong types are rejected."""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from hybrid.errors import ConfigError

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

C = TypeVar("C", bound="DataclassInstance")


def _check_value(name: str, value: Any, annotation: Any) -> Any:
    """Coerce JSON values (lists) back to the annotated type and reject mismatches."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _check_value(name, value, arg)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(f"{name}: {value!r} matches none of {annotation} ({'; '.join(errors)})")
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{name}: expected a list, got {type(value).__name__} {value!r}")
        inner = args[0] if args else Any
        return tuple(_check_value(f"{name}[{i}]", v, inner) for i, v in enumerate(value))
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{name}: expected one of {list(args)}, got {value!r}")
        return value
    if annotation is Any:
        return value
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        if isinstance(value, annotation):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{name}: expected an object, got {value!r}")
        return from_dict(annotation, value, prefix=f"{name}.")
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if annotation in (int, float, str, bool):
        if type(value) is not annotation:
            raise ConfigError(
                f"{name}: expected {annotation.__name__}, got {type(value).__name__} {value!r}"
            )
        return value
    return value


def from_dict(cls: type[C], data: dict[str, Any], prefix: str = "") -> C:
    """Build config `cls` from a dict, rejecting unknown keys and values of the wrong type."""
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix or cls.__name__}: expected an object, got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"unknown {cls.__name__} key(s) {', '.join(prefix + u for u in unknown)}; "
            f"known keys: {', '.join(sorted(fields))}"
        )
    kwargs = {k: _check_value(prefix + k, v, hints[k]) for k, v in data.items()}
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"{cls.__name__}: {exc}") from None


def to_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a config dataclass (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write text to `path` atomically: a crash leaves either the old file or the new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_json(config: Any, path: str | Path) -> None:
    """Write a config dataclass (or plain dict) as indented JSON, atomically."""
    data = config if isinstance(config, dict) else to_dict(config)
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def load_json(cls: type[C], path: str | Path) -> C:
    """Read a config dataclass from a JSON file with a clear error for malformed files."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    return from_dict(cls, data)


class Range(typing.NamedTuple):
    """Allowed values of a numeric config field: low <= x (or low < x when low_open), x <= high
    (or x < high when high_open); None = unbounded."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def holds(self, x: float) -> bool:
        above = self.low is None or (x > self.low if self.low_open else x >= self.low)
        below = self.high is None or (x < self.high if self.high_open else x <= self.high)
        return above and below

    def __str__(self) -> str:
        if self.high is None:
            return f"{'>' if self.low_open else '>='} {self.low}"
        return f"in {'(' if self.low_open else '['}{self.low}, {self.high}{')' if self.high_open else ']'}"


COUNT = Range(1)  # a count that loops or divisions need: >= 1
SIZE = Range(1, 1_000_000)  # a layer or vocabulary size: a corrupt config cannot ask for terabytes
NON_NEGATIVE = Range(0)
POSITIVE = Range(0, low_open=True)
PROBABILITY = Range(0, 1)
DROPOUT = Range(0, 1, high_open=True)


class Checked:
    """Mixin of the configs: `__post_init__` checks every field named in `RANGES` (None passes:
    an unset optional value), so a config is valid however it was made (code, JSON, CLI)."""

    RANGES: typing.ClassVar[dict[str, Range]] = {}

    def __post_init__(self) -> None:
        for name, allowed in self.RANGES.items():
            value = getattr(self, name)
            if value is not None and not allowed.holds(value):
                raise ConfigError(f"{type(self).__name__}.{name} must be {allowed}, got {value!r}")
        self._check()

    def _check(self) -> None:
        """Checks across fields, beyond each field's range (none by default)."""


def check_transformer_width(config: typing.Any) -> None:
    """A transformer encoder splits its width (hidden_size) evenly over its heads."""
    if config.encoder == "transformer" and config.hidden_size % config.heads:
        raise ConfigError(f"{type(config).__name__}: the transformer's hidden_size ({config.hidden_size}) must be a "
                          f"multiple of its heads ({config.heads})")


# The control runs of the sequence-level trainers (hybrid.train.controls)
Control = typing.Literal["none", "constant", "shuffled", "zero-advantage"]
CONTROLS: tuple[str, ...] = typing.get_args(Control)

# Mixed precision of the supervised trainers' steps (hybrid.train.precision)
Amp = typing.Literal["off", "bf16", "fp16"]
AMP_CHOICES: tuple[str, ...] = typing.get_args(Amp)

# The input formats DataConfig reads; pairs: input<TAB>labels (CTC)
DataFormat = typing.Literal["conll", "conllu", "text", "pairs"]


def is_data_format(value: str) -> typing.TypeGuard[DataFormat]:
    """Whether `value` is one of the input formats (narrows a str to DataFormat)."""
    return value in typing.get_args(DataFormat)


@dataclass(frozen=True)
class DataConfig(Checked):
    """Which columns of the input files are words, tags and extra features."""

    RANGES: typing.ClassVar[dict[str, Range]] = {"min_word_freq": COUNT, "max_word_length": SIZE}

    format: DataFormat = "conll"  # pairs: input<TAB>labels (CTC)
    word_column: int | str = 0
    tag_column: int | str = -1
    feature_columns: tuple[int | str, ...] = ()
    min_word_freq: int = 1
    lowercase_words: bool = False
    max_word_length: int = 30


@dataclass(frozen=True)
class ModelConfig(Checked):
    """Architecture of a tagger: embeddings, encoder and structured layer."""

    RANGES: typing.ClassVar[dict[str, Range]] = {
        "word_dim": SIZE, "feature_dim": SIZE, "char_dim": SIZE, "char_hidden": SIZE, "hidden_size": SIZE,
        "num_layers": Range(1, 100), "dropout": DROPOUT, "word_dropout": DROPOUT, "heads": Range(1, 1024),
        "ff_size": Range(0, 1_000_000), "attention_dropout": DROPOUT, "hmm_transition_smoothing": POSITIVE,
        "hmm_emission_smoothing": POSITIVE, "hmm_rare_words": NON_NEGATIVE,
        "hmm_prior_scale": NON_NEGATIVE, "hmm_transition_scale": NON_NEGATIVE, "ctc_beam": COUNT,
        "embeddings_vocab": NON_NEGATIVE,
    }

    word_dim: int = 100
    feature_dim: int = 20
    char_encoder: typing.Literal["lstm", "cnn", "none"] = "lstm"
    char_dim: int = 30
    char_hidden: int = 50
    encoder: typing.Literal["lstm", "gru", "rnn", "peephole", "jordan", "transformer"] = "lstm"
    hidden_size: int = 200  # per direction; the transformer's width
    num_layers: int = 1
    bidirectional: bool = True  # the transformer without it attends to the left only
    dropout: float = 0.5
    word_dropout: float = 0.05
    # transformer only: attention heads (hidden_size must be a multiple), feed-forward size (0:
    # 4 x hidden_size), positions, and the dropout inside its blocks
    heads: int = 4
    ff_size: int = 0
    positions: typing.Literal["sinusoidal", "learned"] = "sinusoidal"
    attention_dropout: float = 0.1
    layer: typing.Literal["crf", "softmax", "hmm", "hmm-classic", "ctc"] = "crf"
    # training loss on the chain: auto = the layer's own (CRF: nll; HMM: per-token cross-entropy)
    loss: typing.Literal["auto", "nll", "perceptron", "hinge"] = "auto"
    constraints: typing.Literal["none", "BIO", "IOB1", "BIOES", "auto"] = "auto"
    embeddings: str | None = None
    # the first N words of the embeddings (the most frequent, in word2vec and hybrid files) join
    # the word vocabulary beside the training words, so words never seen in training keep their
    # pretrained vectors; 0: training words only
    embeddings_vocab: int = 100_000
    # hmm-classic only (the count-based HMM, no network): add-a smoothing of pi and A, add-e of
    # the emissions, and words seen at most this many times become unknown-word classes
    hmm_transition_smoothing: float = 1.0
    hmm_emission_smoothing: float = 0.001
    hmm_rare_words: int = 1
    # hmm (the DNN-HMM hybrid) only: emissions log P(y|x) - prior_scale * log P(y), transitions
    # weighted by transition_scale; with hmm_tune_scales both are chosen on dev after training
    # (a small grid; the chosen values are what the saved model's config.json records)
    hmm_prior_scale: float = 1.0
    hmm_transition_scale: float = 1.0
    hmm_tune_scales: bool = True
    # ctc only (labels not aligned with the input; word_dim, encoder, hidden_size, num_layers,
    # bidirectional and dropout apply, char and feature options do not): the decoding beam,
    # 1 = best path (argmax per position, collapsed), more = CTC prefix beam search
    ctc_beam: int = 1

    def _check(self) -> None:
        check_transformer_width(self)


@dataclass(frozen=True)
class TrainConfig(Checked):
    """Optimisation: optimiser, schedule, clipping, early stopping and budget."""

    RANGES: typing.ClassVar[dict[str, Range]] = {
        "lr": POSITIVE, "momentum": PROBABILITY, "weight_decay": NON_NEGATIVE, "lr_decay": NON_NEGATIVE,
        "clip_norm": NON_NEGATIVE, "batch_size": COUNT, "epochs": COUNT, "patience": COUNT, "max_minutes": POSITIVE,
        "dev_fraction": Range(0, 1, low_open=True, high_open=True),
    }

    optimizer: typing.Literal["adam", "sgd"] = "adam"
    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 0.0
    lr_decay: float = 0.0
    clip_norm: float = 5.0
    batch_size: int = 32
    epochs: int = 30
    patience: int = 5
    max_minutes: float | None = None
    dev_fraction: float = 0.1
    seed: int = 1
    metric: typing.Literal["auto", "f1", "accuracy", "label_accuracy"] = "auto"


@dataclass(frozen=True)
class TaggerConfig:
    """Everything needed to rebuild and retrain a tagger; saved as config.json."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


@dataclass(frozen=True)
class Seq2SeqModelConfig(Checked):
    """Encoder-decoder with attention: sizes, cells and the attention's match function."""

    RANGES: typing.ClassVar[dict[str, Range]] = {
        "src_min_freq": COUNT, "tgt_min_freq": COUNT, "embedding_dim": SIZE, "encoder_hidden": SIZE,
        "encoder_layers": Range(1, 100), "decoder_hidden": SIZE, "attention_hidden": SIZE, "dropout": DROPOUT,
        "transformer_layers": Range(1, 100), "heads": Range(1, 1024), "ff_size": Range(0, 1_000_000),
    }

    src_min_freq: int = 2
    tgt_min_freq: int = 2
    # rnn: the recurrent encoder-decoder with attention; transformer: self-attention both sides
    # (embedding_dim is its width; transformer_layers, heads, ff_size apply; the cell and
    # attention options do not)
    arch: typing.Literal["rnn", "transformer"] = "rnn"
    embedding_dim: int = 256
    encoder: typing.Literal["lstm", "gru", "rnn"] = "gru"
    encoder_hidden: int = 256  # per direction
    encoder_layers: int = 1
    decoder: typing.Literal["lstm", "gru", "rnn"] = "gru"
    decoder_hidden: int = 256
    attention: typing.Literal["dot", "general", "additive"] = "general"
    attention_hidden: int = 256  # additive only
    dropout: float = 0.3
    tie_embeddings: bool = True  # the output layer reuses the target embeddings (both are E wide)
    # the source's one-vector summary (pooling of the encoder states): the decoder's initial
    # state comes from it, `hybrid encode` writes it
    summary: typing.Literal["mean", "last", "max", "attention"] = "mean"
    # the decoder attends to the summary alone instead of every source position: the sentence
    # must pass through one vector (the sequence autoencoder's bottleneck)
    bottleneck: bool = False
    # transformer only: layers of the encoder and of the decoder, attention heads (embedding_dim
    # must be a multiple), feed-forward size (0: 4 x embedding_dim)
    transformer_layers: int = 3
    heads: int = 4
    ff_size: int = 0

    def _check(self) -> None:
        if self.arch == "transformer" and self.embedding_dim % self.heads:
            raise ConfigError(f"Seq2SeqModelConfig: the transformer's width (embedding_dim {self.embedding_dim}) "
                              f"must be a multiple of its heads ({self.heads})")
        if self.arch == "transformer" and self.summary == "attention" and not self.bottleneck:
            # the transformer's decoder starts from no summary: only a bottleneck would train the query
            raise ConfigError("Seq2SeqModelConfig: attention pooling of a transformer's summary is learned only "
                              "with bottleneck (the decoder otherwise never reads the summary)")


@dataclass(frozen=True)
class Seq2SeqTrainConfig(Checked):
    """MLE training with teacher forcing, scheduled sampling, clipping and early stopping on dev BLEU."""

    RANGES: typing.ClassVar[dict[str, Range]] = {
        "lr": POSITIVE, "batch_size": COUNT, "epochs": COUNT, "patience": COUNT, "max_minutes": POSITIVE,
        "clip_norm": NON_NEGATIVE, "label_smoothing": DROPOUT, "ss_start": PROBABILITY, "ss_end": PROBABILITY,
        "ss_epochs": COUNT, "max_length": COUNT, "dev_beam": COUNT, "word_dropout": DROPOUT,
        "shuffle_window": NON_NEGATIVE, "warmup_steps": NON_NEGATIVE,
    }

    lr: float = 1e-3
    # learning rate rising linearly over this many steps to lr, then falling as 1/sqrt(step)
    # (the Transformer's schedule); None: 1000 for the transformer, 0 (constant lr) for the rnn
    warmup_steps: int | None = None
    batch_size: int = 64
    epochs: int = 30
    patience: int = 4
    max_minutes: float | None = None
    clip_norm: float = 1.0
    label_smoothing: float = 0.1
    # probability of feeding the model's own previous token instead of the gold one:
    # linear from ss_start to ss_end over ss_epochs epochs (0 and 0: plain teacher forcing)
    ss_start: float = 0.0
    ss_end: float = 0.0
    ss_epochs: int = 10
    max_length: int = 100  # of training sentences (longer pairs are skipped and counted)
    dev_beam: int = 1  # beam size of the dev-BLEU decode used for early stopping (1 = greedy)
    # target = source (a sequence autoencoder): the pairs' targets are ignored
    autoencoder: bool = False
    # noise on the training sources (denoising): each word dropped with this probability (one
    # always stays), and words shuffled so that none moves more than shuffle_window places
    word_dropout: float = 0.0
    shuffle_window: int = 0
    seed: int = 1


@dataclass(frozen=True)
class Seq2SeqConfig:
    """Everything needed to rebuild and retrain a seq2seq model; saved as config.json."""

    model: Seq2SeqModelConfig = field(default_factory=Seq2SeqModelConfig)
    train: Seq2SeqTrainConfig = field(default_factory=Seq2SeqTrainConfig)


@dataclass(frozen=True)
class ReinforceConfig(Checked):
    """REINFORCE fine-tuning: loss = -(R - b) log p(y|x) - entropy_weight * H + mle_weight * CE,
    with R optionally penalised by kl_weight * (log p - log p_start) (KL to the starting model)."""

    RANGES: typing.ClassVar[dict[str, Range]] = {
        "samples": COUNT, "temperature": POSITIVE, "reward_scale": POSITIVE, "entropy_weight": NON_NEGATIVE,
        "mle_weight": NON_NEGATIVE, "kl_weight": NON_NEGATIVE, "ema_decay": PROBABILITY, "lr": POSITIVE,
        "batch_size": COUNT, "steps": COUNT, "eval_every": COUNT, "max_minutes": POSITIVE, "clip_norm": NON_NEGATIVE,
        "max_length": COUNT, "dev_beam": COUNT,
    }

    reward: str = "bleu"  # bleu | chrf | ter | span-f1 | accuracy | module:function
    baseline: typing.Literal["self-critical", "mean", "ema"] = "self-critical"
    samples: int = 4  # per input
    temperature: float = 1.0
    reward_scale: float = 0.01  # BLEU, chrF and F1 are 0..100: 0.01 makes advantages O(1)
    entropy_weight: float = 0.0
    mle_weight: float = 0.0
    kl_weight: float = 0.0
    ema_decay: float = 0.9
    lr: float = 1e-4
    batch_size: int = 32
    steps: int = 1000
    eval_every: int = 100
    max_minutes: float | None = None
    clip_norm: float = 1.0
    max_length: int = 60
    dev_beam: int = 1
    seed: int = 1
    control: Control = "none"  # hybrid.train.controls


@dataclass(frozen=True)
class LanguageModelConfig(Checked):
    """An unconditional generator (hybrid.models.language_model) and its maximum-likelihood training."""

    RANGES: typing.ClassVar[dict[str, Range]] = {
        "embedding_dim": SIZE, "hidden_size": SIZE, "num_layers": Range(1, 100), "dropout": DROPOUT,
        "min_freq": COUNT, "epochs": COUNT, "batch_size": COUNT, "lr": POSITIVE, "max_minutes": POSITIVE,
        "max_length": COUNT,
    }

    embedding_dim: int = 64
    hidden_size: int = 128
    num_layers: int = 1
    cell: typing.Literal["lstm", "gru", "rnn"] = "lstm"
    dropout: float = 0.2
    min_freq: int = 1
    epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-3
    max_minutes: float | None = None
    max_length: int = 200  # longest sentence (tokens) trained or scored on; longer ones are skipped and counted
    seed: int = 1


@dataclass(frozen=True)
class DiscriminatorConfig(Checked):
    """D(x, y): the sizes of the id spaces it reads (the generator's output and condition
    vocabularies; 0 = unconditional) and of its layers."""

    RANGES: typing.ClassVar[dict[str, Range]] = {
        "vocab_size": SIZE, "source_vocab_size": Range(0, 1_000_000), "embedding_dim": SIZE, "hidden_size": SIZE,
        "dropout": DROPOUT,
    }

    vocab_size: int
    source_vocab_size: int = 0
    embedding_dim: int = 64
    hidden_size: int = 64
    cell: typing.Literal["lstm", "gru", "rnn"] = "gru"
    dropout: float = 0.2


@dataclass(frozen=True)
class GANConfig(Checked):
    """Adversarial (SeqGAN-style) training: per round, g_steps policy-gradient updates of the
    generator on the discriminator's rewards (per sequence, or per token from Monte Carlo
    rollouts), then d_steps discriminator updates, each on d_samples fresh generated sequences
    against as many real ones for d_epochs. The defaults are those measured on Multi30k
    fine-tuning (`hybrid gan-train` uses them too); SeqGAN's oracle experiment sets its own."""

    RANGES: typing.ClassVar[dict[str, Range]] = {
        "rounds": COUNT, "g_steps": COUNT, "d_steps": COUNT, "d_epochs": COUNT, "d_samples": COUNT,
        "d_batch": NON_NEGATIVE, "rollouts": NON_NEGATIVE, "batch_size": COUNT, "g_lr": POSITIVE, "d_lr": POSITIVE,
        "label_smoothing": DROPOUT, "mle_every": NON_NEGATIVE, "pretrain_d_steps": NON_NEGATIVE, "eval_every": COUNT,
        "max_minutes": POSITIVE, "clip_norm": POSITIVE, "samples": COUNT, "task_weight": PROBABILITY,
        "reward_scale": POSITIVE, "max_length": COUNT, "dev_beam": COUNT,
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.task_weight > 0 and not self.task_reward:
            raise ConfigError("GANConfig: task_weight > 0 needs a task_reward (e.g. bleu, span-f1)")
        if self.control != "none" and self.rollouts > 0:
            raise ConfigError(f"GANConfig: control {self.control!r} acts on one reward per sequence; it needs "
                              "rollouts 0")

    rounds: int = 100
    g_steps: int = 5
    d_steps: int = 1
    d_epochs: int = 1
    d_samples: int = 512
    d_batch: int = 0  # samples drawn at once in a d-step (memory vs speed); at least batch_size
    rollouts: int = 0  # completions per prefix; 0 = one reward per sequence (D of the whole output)
    batch_size: int = 32
    g_lr: float = 1e-4
    d_lr: float = 1e-3
    baseline: typing.Literal["none", "mean"] = "mean"  # per position: the batch mean of the rewards
    label_smoothing: float = 0.0  # real pairs labelled 1 - label_smoothing
    mismatched: bool = True  # conditional data: real x with another example's y as extra negatives
    mle_every: int = 1  # an MLE (teacher forcing) step after every N g-steps; 0 = none
    pretrain_d_steps: int = 10
    eval_every: int = 5
    max_minutes: float | None = None
    clip_norm: float = 5.0
    seed: int = 1
    # conditional models (seq2seq, taggers) through the policy protocol
    samples: int = 4  # outputs sampled per input in a g-step; >= 2 with per-sequence rewards: leave-one-out baseline
    task_reward: str | None = None  # e.g. bleu or span-f1: mixed into D's reward with task_weight
    task_weight: float = 0.0  # reward = (1 - w) D + w reward_scale task
    reward_scale: float = 0.01  # task rewards such as BLEU are 0..100; D's are 0..1
    max_length: int = 60  # longest sampled output
    dev_beam: int = 1  # decoding of the dev evaluation
    control: Control = "none"  # hybrid.train.controls


@dataclass(frozen=True)
class ClassifierModelConfig(Checked):
    """A many-to-one classifier: word embeddings -> recurrent encoder -> pooling -> softmax."""

    RANGES: typing.ClassVar[dict[str, Range]] = {
        "word_dim": SIZE, "hidden_size": SIZE, "num_layers": Range(1, 100), "dropout": DROPOUT,
        "min_word_freq": COUNT, "attention_size": SIZE, "heads": Range(1, 1024), "ff_size": Range(0, 1_000_000),
        "attention_dropout": DROPOUT, "embeddings_vocab": NON_NEGATIVE,
    }

    word_dim: int = 100
    encoder: typing.Literal["lstm", "gru", "rnn", "peephole", "jordan", "transformer"] = "lstm"
    hidden_size: int = 150  # per direction; the transformer's width
    num_layers: int = 1
    bidirectional: bool = True  # the transformer without it attends to the left only
    dropout: float = 0.5
    # transformer only (as for taggers)
    heads: int = 6  # 150 = 6 x 25
    ff_size: int = 0
    positions: typing.Literal["sinusoidal", "learned"] = "sinusoidal"
    attention_dropout: float = 0.1
    # last: the final states (both directions); mean / max over real positions; attention: a
    # learned query scores each position, the softmax of the scores weighs the states
    pooling: typing.Literal["last", "mean", "max", "attention"] = "attention"
    attention_size: int = 100
    min_word_freq: int = 1
    lowercase: bool = False
    embeddings: str | None = None  # pretrained word vectors (word2vec / GloVe, a model directory), word_dim wide
    embeddings_vocab: int = 100_000  # as the tagger's: the vectors' first N words join the vocabulary

    def _check(self) -> None:
        check_transformer_width(self)


@dataclass(frozen=True)
class ClassifierTrainConfig(Checked):
    """Adam, clipping, early stopping on dev accuracy; balanced class weights for skewed data."""

    RANGES: typing.ClassVar[dict[str, Range]] = {
        "lr": POSITIVE, "batch_size": COUNT, "epochs": COUNT, "patience": COUNT, "max_minutes": POSITIVE,
        "clip_norm": NON_NEGATIVE, "dev_fraction": Range(0, 1, low_open=True, high_open=True),
        "word_dropout": Range(0, 1, high_open=True),
    }

    lr: float = 1e-3
    batch_size: int = 64
    epochs: int = 20
    patience: int = 4
    max_minutes: float | None = None
    clip_norm: float = 5.0
    dev_fraction: float = 0.1
    class_weights: typing.Literal["none", "balanced"] = "none"  # balanced: n / (classes x count of the class)
    word_dropout: float = 0.0  # each training word left out with this probability (Iyyer et al. 2015)
    seed: int = 1


@dataclass(frozen=True)
class ClassifierConfig:
    """Everything needed to rebuild and retrain a sequence classifier; saved as config.json."""

    model: ClassifierModelConfig = field(default_factory=ClassifierModelConfig)
    train: ClassifierTrainConfig = field(default_factory=ClassifierTrainConfig)


COMPILE_AUTO_WORDS = 10_000_000  # word2vec runs this long (words x epochs) compile their step under --compile auto


@dataclass(frozen=True)
class Word2VecConfig(Checked):
    """word2vec training from raw text: skip-gram or CBOW, negative sampling or hierarchical
    softmax, subsampling, the dynamic window, SGD with a linearly decaying learning rate."""

    RANGES: typing.ClassVar[dict[str, Range]] = {
        "dim": SIZE, "window": Range(1, 1000), "negative": Range(1, 1000), "min_count": COUNT, "max_vocab": COUNT,
        "sample": NON_NEGATIVE, "epochs": COUNT, "alpha": POSITIVE, "min_alpha": NON_NEGATIVE,
        "chunk_words": COUNT, "batch_size": COUNT, "workers": Range(1, 256), "max_sentence_length": COUNT,
        "max_minutes": POSITIVE,
    }

    model: typing.Literal["skipgram", "cbow"] = "skipgram"
    loss: typing.Literal["ns", "hs"] = "ns"  # negative sampling or hierarchical softmax
    dim: int = 100
    window: int = 5  # the largest; each centre word draws its own in 1..window
    negative: int = 5  # noise words per example (ns)
    min_count: int = 5
    max_vocab: int | None = None
    sample: float = 1e-3  # subsampling threshold (0: keep every word)
    epochs: int = 5
    alpha: float | None = None  # initial learning rate; None: 0.025 for skip-gram, 0.05 for CBOW
    min_alpha: float = 1e-4  # the learning rate at the end of the run
    chunk_words: int = 10000  # corpus words per training step
    batch_size: int | None = None  # examples per SGD update; None: 512 skip-gram, 128 CBOW (steps are summed, and
    # larger batches overshoot on rows they repeat: CBOW at 512 stays about a point behind gensim's analogies)
    compile: typing.Literal["auto", "on", "off"] = "auto"  # torch.compile the SGD step; auto: on the CPU (but
    # CBOW with hierarchical softmax), runs of at least COMPILE_AUTO_WORDS words (compiling takes seconds; the
    # step then runs 1.5-2.5x faster)
    workers: int = 1  # threads updating the shared vectors at once (Hogwild, as word2vec and gensim); > 1: not
    # bit-reproducible
    max_sentence_length: int = 10000  # longer lines are cut (text8 and wiki100m are one line)
    lowercase: bool = False
    max_minutes: float | None = None
    seed: int = 1

    @property
    def learning_rate(self) -> float:
        return self.alpha if self.alpha is not None else (0.025 if self.model == "skipgram" else 0.05)

    @property
    def examples_per_batch(self) -> int:
        return self.batch_size if self.batch_size is not None else (512 if self.model == "skipgram" else 128)

    def compiles(self, device: str, trained_words: int) -> bool:
        """Whether the SGD step is compiled for a run of `trained_words` (corpus words x epochs)."""
        if self.compile == "auto":  # CBOW with hierarchical softmax (paths padded to the deepest) runs slower compiled
            return device == "cpu" and (self.loss, self.model) != ("hs", "cbow") and trained_words >= COMPILE_AUTO_WORDS
        return self.compile == "on"


@dataclass(frozen=True)
class GloveConfig(Checked):
    """GloVe from raw text: co-occurrence counts within a symmetric window weighted 1/distance
    (counted in at most `memory_mb` of memory, spilling to disk past it), then weighted least
    squares on the log counts with AdaGrad. Window 10 as in the paper; x_max 10 as GloVe's demo
    on text8 (17M words): the paper's 100 suits corpora of billions."""

    RANGES: typing.ClassVar[dict[str, Range]] = {
        "dim": SIZE, "window": Range(1, 1000), "min_count": COUNT, "max_vocab": COUNT, "epochs": COUNT,
        "lr": POSITIVE, "x_max": POSITIVE, "power": NON_NEGATIVE, "batch_size": COUNT, "step_entries": COUNT,
        "workers": Range(1, 256),
        "memory_mb": Range(16), "max_sentence_length": COUNT, "max_minutes": POSITIVE,
    }

    model: typing.Literal["glove"] = "glove"
    dim: int = 100
    window: int = 10  # both sides; a pair at distance d counts 1/d
    min_count: int = 5
    max_vocab: int | None = None
    epochs: int = 15
    lr: float = 0.05  # AdaGrad's initial step
    x_max: float = 10.0  # f(x) = min(1, (x / x_max)^power)
    power: float = 0.75
    batch_size: int = 8192  # matrix entries per AdaGrad update
    step_entries: int = 1_000_000  # matrix entries per run-loop step (progress, budget, checkpoints)
    workers: int = 1  # threads updating the shared tables at once (Hogwild, as glove.c); > 1: not bit-reproducible
    memory_mb: float = 1024.0  # the cap on counting's working memory
    max_sentence_length: int = 10000
    lowercase: bool = False
    max_minutes: float | None = None
    seed: int = 1

