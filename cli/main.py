"""Root command group: `hybrid --help` lists every command with one line of help."""

from __future__ import annotations

import sys

import click

from cli.evaluate import evaluate
from cli.gan_train import gan_train
from cli.generate import generate
from cli.induce import induce
from cli.info import info
from cli.lm_train import lm_train
from cli.rl_finetune import rl_finetune
from cli.seq2seq import seq2seq
from cli.tag import tag
from cli.train import train
from hybrid import __version__
from hybrid.errors import HybridError


class HybridGroup(click.Group):
    """Reports the library's errors (bad input files, configs, models) as one clean line."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except HybridError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=HybridGroup, context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "HYBRID"})
@click.version_option(__version__, prog_name="hybrid")
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


for command in (train, tag, evaluate, info, induce, seq2seq, generate, rl_finetune, gan_train, lm_train):
    cli.add_command(command)


def main() -> None:
    try:
        cli(prog_name="hybrid")
    except BrokenPipeError:  # `hybrid tag big.txt | head`: the reader went away, not an error
        sys.stderr.close()
        sys.exit(0)


if __name__ == "__main__":
    main()
