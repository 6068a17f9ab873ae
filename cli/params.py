"""Validated Click parameter types and option groups shared by the commands."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from hybrid.config import AMP_CHOICES
from hybrid.errors import ModelLoadError
from hybrid.train.world import launched

F = TypeVar("F", bound=Callable[..., Any])

if TYPE_CHECKING:  # the commands import torch models lazily, for a fast start
    from hybrid.models.ctc import CTCModel
    from hybrid.models.hmm_tagger import ClassicHMMTagger
    from hybrid.models.registry import ModelKind
    from hybrid.models.tagger import Tagger


class DeviceType(click.ParamType):
    """A torch device that exists here: cpu, cuda, cuda:N, or auto (cuda when there is a GPU, else
    cpu); checked before any work."""

    name = "device"

    def convert(self, value, param, ctx):
        text = str(value).strip()
        if text == "cpu":
            return text  # no torch import for the default
        import torch

        if text == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"

        try:
            device = torch.device(text)
        except (RuntimeError, ValueError):
            self.fail(f"{text!r} is not a torch device (cpu, cuda, cuda:1, ...)", param, ctx)
        if device.type == "cuda":
            if not torch.cuda.is_available():
                self.fail(f"{text}: CUDA is not available here (no GPU, or a CPU build of torch); use cpu",
                          param, ctx)
            if device.index is not None and device.index >= torch.cuda.device_count():
                self.fail(f"{text}: this machine has {torch.cuda.device_count()} CUDA device(s)", param, ctx)
        elif device.type != "cpu":
            self.fail(f"{text}: hybrid trains on cpu or cuda devices", param, ctx)
        return text


DEVICE = DeviceType()


class ColumnType(click.ParamType):
    """A column: a 0-based index (negative counts from the end) or a CoNLL-U field name."""

    name = "column"
    FIELDS = ("id", "form", "lemma", "upos", "xpos", "feats", "head", "deprel", "deps", "misc")

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        text = str(value).strip()
        try:
            return int(text)
        except ValueError:
            pass
        if text.lower() in self.FIELDS:
            return text.lower()
        self.fail(
            f"{value!r} is neither a column index (0, 1, -1, ...) nor a CoNLL-U field "
            f"({', '.join(self.FIELDS)})", param, ctx,
        )


MODEL_FILES = ("config.json", "vocab.json", "model.safetensors")  # as hybrid.models.io.FILES


class ModelDirType(click.ParamType):
    """A saved model directory (config.json, vocab.json, model.safetensors)."""

    name = "model_dir"

    def convert(self, value, param, ctx):
        path = Path(value)
        if not path.is_dir():
            self.fail(f"{value}: no such model directory", param, ctx)
        # A training run directory has a config.json too: check for every model file.
        missing = [name for name in MODEL_FILES if not (path / name).is_file()]
        if missing:
            hint = " (did you mean its model/ subdirectory?)" if (path / "model").is_dir() else ""
            self.fail(f"{value}: not a hybrid model directory, no {', '.join(missing)}{hint}", param, ctx)
        return path


def model_kind(model_dir: Path) -> ModelKind | None:
    """The registered kind of the model saved in `model_dir` (None if it is none of them)."""
    from hybrid.models.registry import kind_of

    try:
        return kind_of(model_dir)
    except ModelLoadError:
        return None


def load_chain_tagger(model_dir: Path) -> Tagger | ClassicHMMTagger:
    """The chain tagger (neural or classic HMM) saved in `model_dir`; UsageError for a CTC model."""
    from hybrid.models.ctc import CTCModel
    from hybrid.models.io import load_tagger

    model = load_tagger(model_dir)
    if isinstance(model, CTCModel):
        raise click.UsageError(f"{model_dir}: a CTC model labels whole inputs, it tags no words")
    return model


def load_ctc_model(model_dir: Path) -> CTCModel:
    """The CTC model (--layer ctc) saved in `model_dir`; UsageError for any other tagger."""
    from hybrid.models.ctc import CTCModel
    from hybrid.models.io import load_tagger

    model = load_tagger(model_dir)
    if not isinstance(model, CTCModel):
        raise click.UsageError(f"{model_dir}: not a CTC model (--layer ctc)")
    return model


COLUMN = ColumnType()
MODEL_DIR = ModelDirType()
FORMATS = click.Choice(["conll", "conllu", "text"])


def _relaunch(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    """--nproc N > 1 outside torchrun: this process becomes torchrun (one machine, `--standalone`)
    running the same command line as N processes."""
    if value is None or value <= 1 or "WORLD_SIZE" in os.environ:
        return value
    args = _without_nproc(sys.argv[1:])
    if not _runs(ctx.command_path.split()[1:], args):
        raise click.UsageError("--nproc relaunches the command line it came on: run hybrid from a shell "
                               "(or use torchrun yourself)")
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={value}"]
    sys.stdout.flush()
    os.execv(sys.executable, [*launcher, "-m", "cli", *args])  # torchrun takes this process's place (and signals)
    return value  # not reached


def _runs(commands: list[str], args: list[str]) -> bool:
    """Whether `args` holds the command names in order (e.g. train, or classify train)."""
    rest = iter(args)
    return bool(args) and all(name in rest for name in commands)


def _without_nproc(args: list[str]) -> list[str]:
    out, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            out.append(arg)
    return out


def echo_summary(summary: dict[str, Any]) -> None:
    """A trainer's summary (its history left out) on stdout, once: by rank 0 of a distributed run."""
    if launched().main:
        click.echo(json.dumps({k: v for k, v in summary.items() if k != "history"}, indent=2))


def nproc_option(command: F) -> F:
    """--nproc N: the trainers that run on several processes relaunch themselves under torchrun."""
    return click.option(
        "--nproc", type=click.IntRange(1), default=None, is_eager=True, callback=_relaunch, expose_value=False,
        help="Train with N processes on this machine (torchrun, gloo on CPU, NCCL on CUDA): each takes "
             "batch-size examples of every step's global batch. For several machines run torchrun "
             "yourself (docs/scaling.md).")(command)


def device_option(command: F) -> F:
    """--device cpu|cuda|cuda:N|auto, for every trainer."""
    return click.option("--device", type=DEVICE, default="cpu", show_default=True,
                        help="torch device to train on: cpu, cuda, cuda:N, or auto (cuda when there is a GPU). "
                             "With --nproc, cuda means each process's own GPU.")(command)


def amp_option(command: F) -> F:
    """--amp off|bf16|fp16: mixed precision of the training steps (hybrid.train.precision)."""
    return click.option(
        "--amp", type=click.Choice(AMP_CHOICES), default="off", show_default=True,
        help="Mixed precision: the forward pass in bfloat16 or float16 (with gradient scaling), where a GPU "
             "runs it faster; structured layers and losses stay in float32. fp16 needs --device cuda; bf16 "
             "also runs on CPUs.")(command)


def run_options(command: F) -> F:
    """--overwrite, --resume and --quiet: how every trainer treats its run directory and terminal."""
    for option in reversed([
        click.option("--overwrite", is_flag=True,
                     help="Start over in an --out that holds a previous run (its model, logs and checkpoint "
                          "are replaced). Without it (or --resume) such an --out is refused."),
        click.option("--resume", is_flag=True,
                     help="Continue the run in --out from its checkpoint.pt (same data and settings; more "
                          "epochs, steps, patience or time may be given)."),
        click.option("--quiet", "-q", is_flag=True, help="No progress bars."),
    ]):
        command = option(command)
    return command



ENCODERS = ["lstm", "gru", "rnn", "peephole", "jordan", "transformer"]  # as hybrid.encoders.build.ENCODERS


def transformer_options(defaults: Any = None) -> Callable[[F], F]:
    """--heads, --ff-size, --positions, --attention-dropout (the `--encoder transformer`
    settings). With `defaults` (a model config) they default to its values; without, to None
    (unset: the --config file's or the config's defaults, named in the help)."""
    from hybrid.config import ModelConfig

    shown = defaults or ModelConfig()

    def default(name: str) -> Any:
        return getattr(defaults, name) if defaults is not None else None

    def suffix(name: str) -> str:
        return f"  [default: {getattr(shown, name)}]" if defaults is None else ""

    def decorate(command: F) -> F:
        for option in reversed([
            click.option("--heads", type=click.IntRange(1), default=default("heads"), show_default=defaults is not None,
                         help="transformer: attention heads (--hidden-size must be a multiple)." + suffix("heads")),
            click.option("--ff-size", type=click.IntRange(0), default=default("ff_size"),
                         show_default=defaults is not None,
                         help="transformer: feed-forward size, 0 = 4 x --hidden-size." + suffix("ff_size")),
            click.option("--positions", type=click.Choice(["sinusoidal", "learned"]), default=default("positions"),
                         show_default=defaults is not None,
                         help="transformer: position encodings (learned: up to 512 tokens)." + suffix("positions")),
            click.option("--attention-dropout", type=click.FloatRange(0, 1, max_open=True),
                         default=default("attention_dropout"), show_default=defaults is not None,
                         help="transformer: dropout inside its blocks." + suffix("attention_dropout")),
        ]):
            command = option(command)
        return command

    return decorate


CONTROL_HELP = ("A control run: constant (every output gets the batch's mean reward), shuffled (rewards "
                "permuted among the batch's outputs) or zero-advantage (no policy-gradient term; the rest "
                "trains as usual). Compare its result with the real run's.")
