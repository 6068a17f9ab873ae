"""Streaming readers for CoNLL columns, CoNLL-U and plain text, with errors that name file and line.

Readers are generators: they hold one sentence at a time, so files larger than memory work,
and a malformed line is reported only when reading reaches it (sentences before it are
yielded first). A source is a path, '-' for standard input, an open file, or any iterable
of lines (see hybrid.data.lines). Nothing is dropped silently: every line is either part of
a sentence, a separator, or an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from hybrid.data.lines import Source, numbered_lines, source_name
from hybrid.data.sentence import Sentence
from hybrid.errors import ConfigError, DataFormatError

Column = int | str
CONLLU_FIELDS = ("id", "form", "lemma", "upos", "xpos", "feats", "head", "deprel", "deps", "misc")
FORMATS = ("conll", "conllu", "text")
_EMPTY = "empty file: expected at least one sentence"
_RANGE = re.compile(r"[1-9][0-9]*-[1-9][0-9]*")  # multi-word token, e.g. 3-4
_EMPTY_NODE = re.compile(r"(0|[1-9][0-9]*)\.[1-9][0-9]*")  # empty node, e.g. 8.1


@dataclass(frozen=True)
class _Layout:
    """CoNLL columns resolved against the first token line (non-negative indices)."""

    width: int
    line: int
    word: int
    tag: int | None
    features: tuple[int, ...]


def _resolve(column: int, width: int, what: str, name: str, number: int) -> int:
    index = column + width if column < 0 else column
    if not 0 <= index < width:
        raise DataFormatError(
            f"{what} column {column} is out of range: expected an index in 0..{width - 1} "
            f"(or -{width}..-1), the line has {width} column(s)", name, number,
        )
    return index


def _layout(
    width: int, word: int, tag: int | None, features: Sequence[int], require_tags: bool,
    name: str, number: int,
) -> _Layout:
    word_i = _resolve(word, width, "word", name, number)
    tag_i = None
    if tag is not None:
        tag_i = tag + width if tag < 0 else tag
        if not 0 <= tag_i < width or width == 1:
            if require_tags:
                raise DataFormatError(
                    f"missing tag column: expected a tag in column {tag}, "
                    f"got {width} column(s)", name, number,
                )
            tag_i = None
    feats = tuple(_resolve(f, width, "feature", name, number) for f in features)
    return _Layout(width, number, word_i, tag_i, feats)


def _conll_sentence(rows: list[tuple[int, str, list[str]]], layout: _Layout, name: str) -> Sentence:
    return Sentence(
        words=[fields[layout.word] for _, _, fields in rows],
        tags=None if layout.tag is None else [fields[layout.tag] for _, _, fields in rows],
        features=[[fields[i] for _, _, fields in rows] for i in layout.features],
        raw_lines=[line for _, line, _ in rows],
        token_rows=list(range(len(rows))),
        source=name,
        first_line=rows[0][0],
    )


def read_conll(
    src: Source, word_column: int = 0, tag_column: int | None = -1,
    feature_columns: Sequence[int] = (), require_tags: bool = True,
) -> Iterator[Sentence]:
    """Whitespace-separated columns (tabs or spaces), one token a line, blank lines between sentences.

    Column indices may be negative (Python style). tag_column=None reads no tags; so does
    a file without the tag column when require_tags is False. `-DOCSTART-` lines are
    skipped (and end the sentence before them). Every token line must have as many
    columns as the first token line of the file.
    """
    name = source_name(src)
    layout: _Layout | None = None
    rows: list[tuple[int, str, list[str]]] = []
    for number, line in numbered_lines(src, name):
        fields = line.split()
        if not fields or fields[0] == "-DOCSTART-":
            if rows:
                yield _conll_sentence(rows, layout, name)  # type: ignore[arg-type]
                rows = []
            continue
        if layout is None:
            layout = _layout(len(fields), word_column, tag_column, feature_columns,
                             require_tags, name, number)
        elif len(fields) != layout.width:
            raise DataFormatError(
                f"expected {layout.width} columns as on line {layout.line}, got {len(fields)}",
                name, number,
            )
        rows.append((number, line, fields))
    if rows:
        yield _conll_sentence(rows, layout, name)  # type: ignore[arg-type]
    if layout is None:
        raise DataFormatError(_EMPTY, name)


def conllu_field(field: Column, what: str = "field") -> int:
    """Index 0-9 of a CoNLL-U field given by name ('upos') or index (3 or '3')."""
    if isinstance(field, str) and field.isdigit():
        field = int(field)
    if isinstance(field, int) and not isinstance(field, bool):
        if not 0 <= field < 10:
            raise ConfigError(f"{what}: CoNLL-U has fields 0..9, got {field}")
        return field
    if isinstance(field, str) and field.lower() in CONLLU_FIELDS:
        return CONLLU_FIELDS.index(field.lower())
    raise ConfigError(
        f"{what}: unknown CoNLL-U field {field!r}; expected one of {', '.join(CONLLU_FIELDS)} or 0..9"
    )


class _ConlluBlock:
    """The sentence being read: raw lines and the fields of its word lines."""

    def __init__(self) -> None:
        self.raw: list[str] = []
        self.rows: list[int] = []  # index into raw of each word line
        self.fields: list[list[str]] = []
        self.first = 0

    def sentence(self, word: int, tag: int | None, feats: Sequence[int], name: str) -> Sentence:
        tags = None if tag is None else [f[tag] for f in self.fields]
        if tags is not None and all(t == "_" for t in tags):
            tags = None  # require_tags is False here, else '_' was an error
        return Sentence(
            [f[word] for f in self.fields], tags, [[f[i] for f in self.fields] for i in feats],
            self.raw, self.rows, name, self.first,
        )


def read_conllu(
    src: Source, word_field: Column = "form", tag_field: Column | None = "upos",
    feature_fields: Sequence[Column] = (), require_tags: bool = True,
) -> Iterator[Sentence]:
    """CoNLL-U: 10 TAB-separated fields, '#' comments, a blank line after each sentence.

    Fields are named (id form lemma upos xpos feats head deprel deps misc) or numbered 0-9;
    a bad field name raises ConfigError at once, the file is read lazily. Multi-word token
    ranges (3-4) and empty nodes (8.1) stay in raw_lines but are not words: as UD says, the
    syntactic words are what get tagged. Word IDs must count 1, 2, ... in each sentence.
    With require_tags False, a sentence whose tags are all '_' gets tags None.
    """
    word_i = conllu_field(word_field, "word field")
    tag_i = None if tag_field is None else conllu_field(tag_field, "tag field")
    feat_i = [conllu_field(f, "feature field") for f in feature_fields]
    return _conllu_sentences(src, word_i, tag_i, feat_i, require_tags)


def _conllu_sentences(
    src: Source, word_i: int, tag_i: int | None, feat_i: list[int], require_tags: bool
) -> Iterator[Sentence]:
    name = source_name(src)
    block, seen = _ConlluBlock(), False
    for number, line in numbered_lines(src, name):
        if not line.strip():
            if block.fields:
                yield block.sentence(word_i, tag_i, feat_i, name)
            elif block.raw:
                raise DataFormatError("expected word lines after the comments, got a blank line", name, number)
            block = _ConlluBlock()
            continue
        if not block.raw:
            block.first = number
        block.raw.append(line)
        seen = True
        if not line.startswith("#"):
            _conllu_word_line(block, line, tag_i if require_tags else None, name, number)
    if block.fields:
        yield block.sentence(word_i, tag_i, feat_i, name)
    elif block.raw:
        raise DataFormatError("expected word lines after the comments, got end of file", name, block.first)
    if not seen:
        raise DataFormatError(_EMPTY, name)


def _conllu_word_line(block: _ConlluBlock, line: str, required: int | None, name: str, number: int) -> None:
    """Check one non-comment line and add it to `block` if it is a word (not 3-4 or 8.1)."""
    fields = line.split("\t")
    if len(fields) != 10:
        hint = " (fields separated by spaces? CoNLL-U needs TABs)" if len(fields) == 1 else ""
        raise DataFormatError(f"expected 10 TAB-separated fields, got {len(fields)}{hint}", name, number)
    token_id = fields[0]
    if not (token_id.isascii() and token_id.isdigit()):  # the common case first: a plain word ID
        if _RANGE.fullmatch(token_id) or _EMPTY_NODE.fullmatch(token_id):
            return
        raise DataFormatError(
            f"expected an integer word ID, a range (3-4) or an empty node (8.1), got {token_id!r}",
            name, number,
        )
    if int(token_id) != len(block.fields) + 1:
        hint = " (missing blank line between sentences?)" if token_id == "1" else ""
        raise DataFormatError(f"expected word ID {len(block.fields) + 1}, got {token_id}{hint}", name, number)
    if "" in fields:
        field = CONLLU_FIELDS[fields.index("")]
        raise DataFormatError(f"field {field} is empty (expected a value or _)", name, number)
    if required is not None and fields[required] == "_":
        raise DataFormatError(f"missing tag: expected a {CONLLU_FIELDS[required]} tag, got '_'", name, number)
    block.rows.append(len(block.raw) - 1)
    block.fields.append(fields)


def read_text(src: Source) -> Iterator[Sentence]:
    """One sentence per line, whitespace-separated tokens; blank lines skipped, tags None."""
    name, seen = source_name(src), False
    for number, line in numbered_lines(src, name):
        words = line.split()
        if words:
            seen = True
            yield Sentence(words, None, [], [], [], name, number)
    if not seen:
        raise DataFormatError(_EMPTY, name)


def _conll_column(column: Column, what: str) -> int:
    if isinstance(column, int) and not isinstance(column, bool):
        return column
    if isinstance(column, str) and re.fullmatch(r"-?[0-9]+", column.strip()):
        return int(column)
    raise ConfigError(
        f"{what} column {column!r}: CoNLL columns are numbered (0, 1, -1 for the last, ...); "
        "field names such as 'upos' need format 'conllu'"
    )


def read_sentences(
    src: Source, format: str = "conll", word_column: Column = 0, tag_column: Column | None = -1,
    feature_columns: Sequence[Column] = (), require_tags: bool = True,
) -> Iterator[Sentence]:
    """Read `src` in `format` ('conll', 'conllu' or 'text') with DataConfig-style columns.

    For 'conll', columns are indices (digit strings are converted). For 'conllu', strings
    are field names and ints indices 0-9, except DataConfig's defaults word_column=0 and
    tag_column=-1, which mean 'form' and 'upos'. 'text' has no tag or feature columns.
    Format and column problems raise ConfigError here; the file is opened on first next().
    """
    if format == "conll":
        return read_conll(
            src, _conll_column(word_column, "word"),
            None if tag_column is None else _conll_column(tag_column, "tag"),
            [_conll_column(c, "feature") for c in feature_columns], require_tags,
        )
    if format == "conllu":
        word = "form" if word_column == 0 else word_column
        tag = "upos" if tag_column == -1 else tag_column
        return read_conllu(src, word, tag, feature_columns, require_tags)
    if format == "text":
        if feature_columns:
            raise ConfigError(f"format 'text' has only words, got feature columns {list(feature_columns)}")
        if require_tags and tag_column is not None:
            raise ConfigError("format 'text' has no tag column; gold tags need format 'conll' or 'conllu'")
        return read_text(src)
    raise ConfigError(f"unknown format {format!r}; expected one of {', '.join(FORMATS)}")
