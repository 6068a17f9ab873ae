"""Validated Click parameter types shared by the commands."""

from __future__ import annotations

import json
from pathlib import Path

import click


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


def model_format(model_dir) -> str:
    """The `format` recorded in a model directory's config.json."""
    try:
        return json.loads((model_dir / "config.json").read_text(encoding="utf-8")).get("format", "")
    except (OSError, json.JSONDecodeError, AttributeError):
        return ""


COLUMN = ColumnType()
MODEL_DIR = ModelDirType()
FORMATS = click.Choice(["conll", "conllu", "text"])
