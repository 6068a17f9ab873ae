"""Turn sentences into padded tensors, and sentences streams into length-sorted batches.

Characters are encoded once per distinct word form in a batch (`chars` (U, C) plus an
index (B, T) into it): repeated words such as "the" cost one character encoding.
"""

from __future__ import annotations

import dataclasses
import queue
import random
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from hybrid.data.sentence import Sentence
from hybrid.data.vocab import Vocabulary, normalize_word

if TYPE_CHECKING:  # torch is imported where tensors are made: the ONNX runtime reads vocabularies without it
    import torch
    from torch import Tensor

T = TypeVar("T")


@dataclass
class Batch:
    """A padded batch; right padding, mask[:, 0] all True."""

    words: Tensor  # (B, T) word ids
    chars: Tensor | None  # (U, C) char ids of the U distinct word forms, 0 = padding; None: lazy
    char_index: Tensor  # (B, T) row of `chars` for each token
    features: list[Tensor]  # one (B, T) id tensor per feature column
    mask: Tensor  # (B, T) bool
    tags: Tensor | None  # (B, T) gold tag ids, or None
    forms: list[str] | None = None  # the U distinct word forms, row order of `chars`

    def __len__(self) -> int:
        return self.words.shape[0]

    def to(self, device: torch.device | str) -> Batch:
        return Batch(
            self.words.to(device), None if self.chars is None else self.chars.to(device),
            self.char_index.to(device),
            [f.to(device) for f in self.features], self.mask.to(device),
            None if self.tags is None else self.tags.to(device), self.forms,
        )


@dataclass
class IndexLists:
    """A batch's ids as right-padded lists, before they become tensors (or numpy arrays)."""

    words: list[list[int]]  # (B, T) word ids
    char_index: list[list[int]]  # (B, T) index into `forms` of each token
    features: list[list[list[int]]]  # one (B, T) id list per feature column
    lengths: list[int]  # (B,) sentence lengths
    tags: list[list[int]] | None  # (B, T) gold tag ids, or None
    forms: list[str]  # the U distinct word forms, in order of first occurrence


@dataclass
class TaggerVocabs:
    """The vocabularies a tagger needs: words, characters, tags and one per feature column."""

    words: Vocabulary
    chars: Vocabulary
    tags: Vocabulary
    features: list[Vocabulary]
    lowercase: bool = False
    max_word_length: int = 30  # longer words keep their first characters only
    # a word not in `words` as written is looked up lowercased (set when the vocabulary holds
    # pretrained vectors' words, which are often lowercase, beside the cased training words)
    lowercase_fallback: bool = False
    pretrained_only: int = 0  # the last words of `words`, which only the pretrained vectors brought
    _word_ids: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def build(
        cls, sentences: Iterable[Sentence], min_word_freq: int = 1, lowercase: bool = False,
        max_word_length: int = 30,
    ) -> TaggerVocabs:
        """Count words, characters, tags and features over training sentences."""
        words: list[str] = []
        chars: list[str] = []
        tags: list[str] = []
        features: list[list[str]] | None = None
        for s in sentences:
            words.extend(normalize_word(w, lowercase) for w in s.words)
            for w in s.words:
                chars.extend(w)
            if s.tags is not None:
                tags.extend(s.tags)
            if features is None:
                features = [[] for _ in s.features]
            for column, values in zip(features, s.features, strict=True):
                column.extend(values)
        return cls(
            words=Vocabulary(words, min_freq=min_word_freq),
            chars=Vocabulary(chars),
            tags=Vocabulary(tags, pad=None, unk=None),
            features=[Vocabulary(column) for column in features or []],
            lowercase=lowercase,
            max_word_length=max_word_length,
        )

    def to_dict(self) -> dict:
        return {
            "words": self.words.to_dict(), "chars": self.chars.to_dict(), "tags": self.tags.to_dict(),
            "features": [f.to_dict() for f in self.features], "lowercase": self.lowercase,
            "max_word_length": self.max_word_length, "lowercase_fallback": self.lowercase_fallback,
            "pretrained_only": self.pretrained_only,
        }

    @classmethod
    def from_dict(cls, data: dict) -> TaggerVocabs:
        return cls(
            words=Vocabulary.from_dict(data["words"]), chars=Vocabulary.from_dict(data["chars"]),
            tags=Vocabulary.from_dict(data["tags"]),
            features=[Vocabulary.from_dict(f) for f in data["features"]],
            lowercase=bool(data["lowercase"]), max_word_length=int(data["max_word_length"]),
            lowercase_fallback=bool(data.get("lowercase_fallback", False)),
            pretrained_only=int(data.get("pretrained_only", 0)),
        )

    def with_words(self, words: Iterable[str]) -> TaggerVocabs:
        """These vocabularies with `words` (normalised as the tagger looks words up) added to the
        word vocabulary after the training words, and the lowercase fallback on."""
        extended = self.words.extended(normalize_word(w, self.lowercase) for w in words)
        return dataclasses.replace(self, words=extended, lowercase_fallback=True,
                                   pretrained_only=self.pretrained_only + len(extended) - len(self.words))

    def _word_id(self, word: str) -> int:
        """Id of a raw word (normalised, then looked up), memoised: a tagger sees the same words often."""
        memo = self._word_ids
        i = memo.get(word)
        if i is None:
            if len(memo) > 500_000:
                memo.clear()
            form = normalize_word(word, self.lowercase)
            i = memo[word] = self.words.index_or_lowercase(form) if self.lowercase_fallback else self.words.index(form)
        return i

    def char_ids(self, forms: Sequence[str]) -> list[list[int]]:
        """(U, C) char ids of word forms as lists, right-padded with 0, cut at `max_word_length`."""
        longest = max(1, min(self.max_word_length, max((len(w) for w in forms), default=1)))
        char_id, char_pad = self.chars.index, [0] * longest
        return [[char_id(c) for c in form[:longest]] + char_pad[len(form) :] for form in forms]

    def encode_chars(self, forms: Sequence[str]) -> Tensor:
        """(U, C) char ids of word forms, right-padded with 0, cut at `max_word_length`."""
        import torch

        return torch.tensor(self.char_ids(forms))

    def encode(self, sentences: Sequence[Sentence], with_tags: bool = False, with_chars: bool = True) -> Batch:
        """Pad `sentences` into a Batch; with_tags also encodes their gold tags (for training).

        with_chars=False leaves `chars` None for a consumer that encodes only the forms it
        needs (`Batch.forms`, `encode_chars`), such as the tagger's inference cache.
        """
        import torch

        ids = self.index_lists(sentences, with_tags)
        t = len(ids.words[0])
        mask = torch.arange(t).unsqueeze(0) < torch.tensor(ids.lengths).unsqueeze(1)  # (B, T)
        return Batch(
            torch.tensor(ids.words), self.encode_chars(ids.forms) if with_chars else None,
            torch.tensor(ids.char_index), [torch.tensor(column) for column in ids.features], mask,
            None if ids.tags is None else torch.tensor(ids.tags), ids.forms,
        )

    def index_lists(self, sentences: Sequence[Sentence], with_tags: bool = False) -> IndexLists:
        """The ids of a padded batch as lists (see `IndexLists`); `encode` makes tensors of them."""
        if not sentences:
            raise ValueError("cannot batch an empty list of sentences")
        t = max(len(s.words) for s in sentences)
        words: list[list[int]] = []
        char_index: list[list[int]] = []
        features: list[list[list[int]]] = [[] for _ in self.features]
        tags: list[list[int]] | None = [] if with_tags else None
        forms: dict[str, int] = {}
        word_id, pad = self._word_id, [0] * t
        for s in sentences:
            n = len(s.words)
            if n == 0:
                raise ValueError(f"{s.source}:{s.first_line}: empty sentence")
            words.append([word_id(w) for w in s.words] + pad[n:])
            char_index.append([forms.setdefault(w, len(forms)) for w in s.words] + pad[n:])
            for vocab, column, values in zip(self.features, features, s.features, strict=True):
                column.append([vocab.index(v) for v in values] + pad[n:])
            if tags is not None:
                if s.tags is None:
                    raise ValueError(f"{s.source}:{s.first_line}: sentence has no gold tags")
                tags.append([self.tags.index(tag) for tag in s.tags] + pad[n:])
        return IndexLists(words, char_index, features, [len(s.words) for s in sentences], tags, list(forms))


def length_sorted_groups(sentences: Sequence[Sentence], batch_size: int) -> list[list[int]]:
    """Indices of `sentences` sorted by length and cut into groups of `batch_size`: little padding."""
    order = sorted(range(len(sentences)), key=lambda i: len(sentences[i].words))
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def length_sorted_batches(
    sentences: Sequence[Any], batch_size: int, shuffle: bool = False, seed: int = 0,
    length: Callable[[Any], int] = lambda s: len(s.words),
) -> list[list[Any]]:
    """Group sentences (or any items with a `length`) of similar length into batches (less
    padding); shuffled by `seed`."""
    order = list(range(len(sentences)))
    rng = random.Random(seed)
    if shuffle:
        rng.shuffle(order)
    pool = batch_size * 50  # sort within pools so batches differ from epoch to epoch
    batches: list[list[int]] = []  # indices into `sentences`
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: length(sentences[i]))
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    if shuffle:
        rng.shuffle(batches)
    return [[sentences[i] for i in batch] for batch in batches]


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of at most `size` items from a stream: bounded memory for big files."""
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def prefetched(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """The items of `items`, produced by a background thread up to `depth` ahead.

    Reading and parsing the next chunk of a file then overlaps the consumer's work (torch
    releases the GIL while it computes). Order is kept; an exception raised while producing
    is raised in the consumer at the point where the item it hit would have come.
    """
    channel: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(message: tuple[str, object]) -> bool:
        while not stop.is_set():
            try:
                channel.put(message, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(("item", item)):
                    return
            put(("done", None))
        except BaseException as exc:  # handed to the consumer, raised there
            put(("error", exc))

    thread = threading.Thread(target=produce, name="hybrid-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = channel.get()
            if kind == "item":
                yield value  # type: ignore[misc]
            elif kind == "done":
                return
            else:
                raise value  # type: ignore[misc]
    finally:
        stop.set()
