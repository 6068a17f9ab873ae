"""Root command group: `hybrid --help` lists every command with one line of help."""

from __future__ import annotations

import os
import sys

import click

from cli.classify import classify
from cli.embed import embed
from cli.encode import encode
from cli.evaluate import evaluate
from cli.gan_train import gan_train
from cli.generate import generate
from cli.induce import induce
from cli.info import info
from cli.lm_train import lm_train
from cli.rl_finetune import rl_finetune
from cli.seq2seq import seq2seq
from cli.tag import tag
from cli.temperature_sweep import temperature_sweep
from cli.train import train
from hybrid import __version__
from hybrid.errors import HybridError


class HybridGroup(click.Group):
    """The one error boundary: the library's errors (bad input files, configs, models) and any
    unexpected exception end as one `Error:` line (with --debug, an unexpected one shows its
    traceback); a closed output pipe (`hybrid tag big.txt | head`) ends quietly with status 0."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except HybridError as exc:
            raise click.ClickException(str(exc)) from None
        except BrokenPipeError:
            _silence_stdout()
            ctx.exit(0)
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt):
            raise
        except OSError as exc:  # a file that cannot be read or written: say which, and why
            if ctx.meta.get(DEBUG) or exc.filename is None:
                raise
            raise click.ClickException(f"{exc.filename}: {exc.strerror or exc}") from None
        except Exception as exc:
            if ctx.meta.get(DEBUG):
                raise
            raise click.ClickException(f"unexpected {type(exc).__name__}: {exc} (rerun with --debug to see "
                                       "where it came from)") from None


DEBUG = "hybrid.debug"


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that flushing it at exit does not fail on the closed pipe again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    ctx.meta[DEBUG] = value
    return value


@click.group(cls=HybridGroup, context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "HYBRID"})
@click.version_option(__version__, prog_name="hybrid")
@click.option("--debug", is_flag=True, expose_value=False, is_eager=True, callback=_set_debug,
              help="Show the traceback of an unexpected error (env: HYBRID_DEBUG=1).")
def cli() -> None:
    """hybrid: neural encoders + structured output layers for sequence tagging.

    \b
    Tag with the bundled English POS model:
        echo "The quick brown fox jumps ." | hybrid tag
    Train a chunker on CoNLL-2000 (word POS chunk columns):
        hybrid train --train train.txt --feature-column 1 --out runs/chunker
    Every option can also be set from the environment as HYBRID_<COMMAND>_<OPTION>,
    e.g. HYBRID_TAG_MODEL=runs/chunker/model.
    """


for command in (train, tag, evaluate, info, induce, seq2seq, generate, encode, rl_finetune, gan_train, lm_train,
                classify, embed, temperature_sweep):
    cli.add_command(command)


def main() -> None:
    try:
        cli(prog_name="hybrid")
    except BrokenPipeError:  # `hybrid tag big.txt | head`: the reader went away, not an error
        sys.stderr.close()
        sys.exit(0)


if __name__ == "__main__":
    main()
