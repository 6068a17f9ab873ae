"""Bulk tagging on Ray: a Ray Dataset of sentences tagged by workers that each load the model
once (the torch-free ONNX engine when the model allows it), and whole files tagged on a local
or remote Ray cluster with their order kept.

Optional: `pip install 'hybrid[ray]'`; nothing else in hybrid imports this module.

    import ray
    from hybrid.integrations.ray import tag_dataset
    ds = ray.data.read_text("s3://bucket/sentences/")          # one sentence per line
    tagged = tag_dataset(ds, "runs/pos/model", concurrency=8)   # adds "tags" and "tagged" columns

From the command line, `hybrid tag --ray INPUT... --output DIR` (docs/scaling.md).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from hybrid.data.lines import numbered_lines
from hybrid.data.writers import atomic_text_output
from hybrid.errors import ConfigError, DataFormatError, HybridError
from hybrid.models.directory import default_model_path, read_config
from hybrid.runtime.engines import BlockTagger, choose_engine, input_format

TEXT = "text"  # the input column: one sentence (text) or one sentence's lines (CoNLL, CoNLL-U)
LINE = "line"  # optional input column: the block's first line number in its file, for errors
TAGS = "tags"  # output: the predicted tags, space-separated (one line per sentence of the row)
TAGGED = "tagged"  # output: the row as `hybrid tag` writes it (its lines with the tag appended)


def _ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401  (Ray Data comes with the 'data' extra)
    except ImportError:
        raise ConfigError("Ray is not installed: pip install 'hybrid[ray]'") from None
    return ray


class TagBatch:
    """The `map_batches` callable of Ray Data: built once per worker (the model loads once), then
    called on batches of rows {TEXT: ...} to add their TAGS and TAGGED columns."""

    def __init__(self, model: str | None = None, fmt: str | None = None, engine: str = "auto",
                 batch_size: int = 256, source: str = "<input>"):
        self.tagger = BlockTagger(model, fmt, engine, batch_size)
        self.source = source

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        rows = [str(text) for text in batch[TEXT]]
        firsts = batch[LINE].tolist() if LINE in batch else [1] * len(rows)
        sentences, owners = [], []
        for row, (text, first) in enumerate(zip(rows, firsts, strict=True)):
            if not text.strip():
                continue  # a blank row: no sentence (`hybrid tag` skips blank lines too)
            try:
                found = self.tagger.sentences(text.split("\n"), self.source)
            except DataFormatError as exc:  # the line in the whole file, not in the block
                line = None if exc.line is None else int(first) + exc.line - 1
                raise DataFormatError(exc.reason, self.source, line) from None
            sentences.extend(found)
            owners.extend([row] * len(found))
        outputs = self.tagger.tag_sentences(sentences) if sentences else []
        tags: list[list[str]] = [[] for _ in rows]
        tagged: list[list[str]] = [[] for _ in rows]
        for owner, sentence, text in zip(owners, sentences, outputs, strict=True):
            tagged[owner].append(text)
            tags[owner].append(" ".join(line.rsplit("\t", 1)[-1] for line in _token_lines(sentence, text)))
        return {**batch, TAGS: np.array(["\n".join(t) for t in tags], dtype=object),
                TAGGED: np.array(["".join(t) for t in tagged], dtype=object)}


def _token_lines(sentence: Any, text: str) -> list[str]:
    """The lines of a tagged sentence that carry a word (and its appended tag)."""
    lines = text.rstrip("\n").split("\n")
    return [lines[row] for row in sentence.token_rows] if sentence.raw_lines else lines


def tag_dataset(dataset: Any, model: str | Path | None = None, fmt: str | None = None, engine: str = "auto",
                batch_size: int = 256, concurrency: int | None = None, source: str = "<input>") -> Any:
    """`dataset` (rows with a TEXT column: one sentence per row in text format, or one sentence's
    lines joined by newlines in CoNLL/CoNLL-U) with TAGS and TAGGED columns added, by
    `concurrency` workers (default: Ray's choice) that each load the model once."""
    ray = _ray()
    kwargs = {"model": None if model is None else str(model), "fmt": fmt, "engine": engine,
              "batch_size": batch_size, "source": source}
    # a pool that grows to `concurrency` as CPUs allow: a fixed pool of every CPU would leave
    # none to the tasks that read the input, and wait for them for ever
    pool = ray.data.ActorPoolStrategy(min_size=1, max_size=concurrency)
    return dataset.map_batches(TagBatch, fn_constructor_kwargs=kwargs, batch_size=batch_size,
                               batch_format="numpy", compute=pool)


def sentence_blocks(path: str | Path) -> Iterator[dict[str, Any]]:
    """{TEXT: a sentence's lines, LINE: its first line number} of a CoNLL or CoNLL-U file,
    split at blank lines (comments stay with the sentence they precede)."""
    block: list[str] = []
    first = 0
    for number, line in numbered_lines(path, str(path)):
        if line.strip():
            if not block:
                first = number
            block.append(line)
        elif block:
            yield {TEXT: "\n".join(block), LINE: first}
            block = []
    if block:
        yield {TEXT: "\n".join(block), LINE: first}


def output_paths(inputs: Iterable[str | Path], output_dir: str | Path) -> list[tuple[Path, Path]]:
    """(input, output) pairs: each output is OUTPUT_DIR/<input's name>; refuses two inputs of one
    name and an output that is its own input."""
    pairs: list[tuple[Path, Path]] = []
    seen: dict[str, Path] = {}
    for given in inputs:
        path = Path(given)
        if not path.is_file():
            raise ConfigError(f"{path}: no such file")
        out = Path(output_dir) / path.name
        if out.name in seen:
            raise ConfigError(f"{seen[out.name]} and {path} would both be written to {out}: give inputs distinct names")
        seen[out.name] = path
        if out.exists() and out.resolve() == path.resolve():
            raise ConfigError(f"{out} is the input file: tagging it would destroy it; choose another --output")
        pairs.append((path, out))
    return pairs


def tag_files(inputs: Iterable[str | Path], output_dir: str | Path, model: str | Path | None = None,
              fmt: str | None = None, engine: str = "auto", batch_size: int = 256, address: str | None = None,
              workers: int | None = None, progress: bool = False) -> list[Path]:
    """Tag each input file on Ray into OUTPUT_DIR/<its name>, in the input's order, each output
    replaced only when its file is done. Text input is read by the workers (ray.data.read_text:
    every node must see the file, or give a URI such as s3://...); CoNLL and CoNLL-U input is
    split into sentences here. `address`: a running cluster ("auto", "ray://host:10001"); None
    starts a local one (and stops it at the end)."""
    ray = _ray()
    # absolute: workers of a running cluster do not share this process's working directory
    directory = (Path(model) if model is not None else default_model_path()).resolve()
    config = read_config(directory)
    tagger_format = input_format(config.data, fmt)
    engine = choose_engine(engine, config.model, 1, directory)  # an impossible --engine onnx: said once, here
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    pairs = output_paths(inputs, output_dir)
    started = not ray.is_initialized()
    data_log = logging.getLogger("ray.data")
    level = data_log.level
    data_log.setLevel(logging.WARNING)  # no per-dataset execution plans on stderr
    if started:
        ray.init(address=address, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    context = ray.data.DataContext.get_current()
    settings = (context.execution_options.preserve_order, context.enable_progress_bars)
    try:
        context.execution_options.preserve_order = True  # output lines in input order
        context.enable_progress_bars = progress
        written = []
        for path, out in pairs:
            if tagger_format == "text":
                dataset = ray.data.read_text(str(path.resolve()))
            else:
                dataset = ray.data.from_items(list(sentence_blocks(path)))
            tagged = tag_dataset(dataset, directory, tagger_format, engine, batch_size, workers, source=str(path))
            with atomic_text_output(out) as handle:
                try:
                    for batch in tagged.iter_batches(batch_size=batch_size, batch_format="numpy"):
                        handle.write("".join(batch[TAGGED]))
                except Exception as exc:  # a worker's own error (a bad line, a bad model), not Ray's wrapping
                    raise _hybrid_cause(exc) or exc from None
            written.append(out)
        return written
    finally:
        context.execution_options.preserve_order, context.enable_progress_bars = settings
        data_log.setLevel(level)
        if started:
            ray.shutdown()


def _hybrid_cause(exc: BaseException) -> HybridError | None:
    """The HybridError a worker raised, found inside the exceptions Ray wraps it in."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, HybridError):
            return current
        cause = getattr(current, "cause", None)
        stack.extend([current.__cause__, current.__context__, cause if isinstance(cause, BaseException) else None])
    return None
