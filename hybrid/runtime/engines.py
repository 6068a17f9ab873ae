"""Which engine tags with a saved model (ONNX Runtime without torch, or torch), and a tagger that
turns blocks of input lines into tagged output: what `hybrid tag` and the Ray integration share.

Torch is imported only when the torch engine is chosen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hybrid.config import DataConfig, ModelConfig
from hybrid.data.readers import read_sentences
from hybrid.data.sentence import Sentence
from hybrid.data.writers import format_tagged
from hybrid.errors import ConfigError

ENGINES = ("auto", "torch", "onnx")
# the word column of each input format where it is not the model's training format
WORD_COLUMNS: dict[str, int | str] = {"text": 0, "conll": 0, "conllu": "form"}
Encode = Callable[[Sequence[Sentence]], Any]
Predict = Callable[[Any], list[list[tuple[list[str], float]]]]


def choose_engine(engine: str, model: ModelConfig, k: int, directory: str | Path | None = None) -> str:
    """'onnx' or 'torch' for `engine` (auto, torch, onnx): auto falls back to torch where ONNX
    cannot run the model or k; an explicit onnx that cannot raises ConfigError saying why."""
    from hybrid.runtime import onnxruntime_available, unsupported

    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    if engine == "torch":
        return "torch"
    reason = unsupported(model, k, directory) if onnxruntime_available() else "onnxruntime is not installed"
    if reason is None:
        return "onnx"
    if engine == "onnx":
        raise ConfigError(f"--engine onnx: {reason}; use --engine torch or auto")
    return "torch"


def load_engine(directory: str | Path, model: ModelConfig, engine: str, k: int,
                batch_size: int) -> tuple[Encode, Predict]:
    """(encode, predict): sentences -> encoded batches -> k best (tags, score) per sentence, in order."""
    if engine == "onnx":
        from hybrid.runtime.tagger import load_onnx_tagger

        runtime = load_onnx_tagger(directory)
        return (lambda chunk: runtime.encode(chunk, batch_size)), runtime.predict_encoded
    import torch

    from hybrid.models.ctc import CTCModel
    from hybrid.models.io import load_tagger
    from hybrid.models.tagger import encode_for_prediction, predict_encoded

    torch.set_num_threads(max(1, torch.get_num_threads()))
    tagger = load_tagger(directory)
    if isinstance(tagger, CTCModel):
        raise ConfigError(f"{directory}: a CTC model labels whole inputs, it tags no words")
    return (lambda chunk: encode_for_prediction(tagger.vocabs, chunk, batch_size)), (
        lambda batches: predict_encoded(tagger, batches, k))


def input_format(data: DataConfig, fmt: str | None) -> str:
    """The input format to read for a model trained on `data`: `fmt`, or by default text for a
    model of words only and the training format for one that reads feature columns."""
    chosen = fmt or (data.format if data.feature_columns else "text")
    if data.feature_columns and chosen == "text":
        raise ConfigError(f"this model reads feature columns {list(data.feature_columns)} besides the words; "
                          "give it CoNLL or CoNLL-U input with those columns (--format conll|conllu)")
    return chosen


class BlockTagger:
    """A saved tagger (loaded once) that tags sentences given as blocks of input lines in `fmt`
    (text: one sentence per line; conll/conllu: the lines of one sentence) and returns each
    block's output exactly as `hybrid tag` writes it."""

    def __init__(self, directory: str | Path | None = None, fmt: str | None = None, engine: str = "auto",
                 batch_size: int = 256):
        from hybrid.models.directory import default_model_path, read_config

        self.directory = Path(directory) if directory is not None else default_model_path()
        config = read_config(self.directory)
        if config.model.layer == "ctc":
            raise ConfigError(f"{self.directory}: a CTC model labels whole inputs, it tags no words")
        data = config.data
        self.fmt = input_format(data, fmt)
        # the model's word column holds for input in its training format; other formats use their own
        self.word_column = data.word_column if self.fmt == data.format else WORD_COLUMNS[self.fmt]
        self.features = data.feature_columns
        self.engine = choose_engine(engine, config.model, 1, self.directory)
        self.encode, self.predict = load_engine(self.directory, config.model, self.engine, 1, batch_size)

    def sentences(self, lines: Sequence[str], source: str = "<input>") -> list[Sentence]:
        """The sentences of `lines` (no line endings), read as `hybrid tag` reads a file in `fmt`."""
        numbered = _Lines(lines, source)
        return list(read_sentences(numbered, self.fmt, self.word_column, None, self.features, require_tags=False))

    def tag_sentences(self, sentences: Sequence[Sentence]) -> list[str]:
        """Each sentence's tagged output (its lines with the tag appended, then a blank line)."""
        results = self.predict(self.encode(sentences))
        return [format_tagged(sentence, best[0][0]) for sentence, best in zip(sentences, results, strict=True)]


class _Lines(list[str]):
    """Lines with a name, so that reader errors name their source."""

    def __init__(self, lines: Sequence[str], name: str):
        super().__init__(lines)
        self.name = name
