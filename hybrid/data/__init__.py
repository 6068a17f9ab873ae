"""Readers and writers (CoNLL, CoNLL-U, plain text), vocabularies and batching."""

from hybrid.data.batching import Batch, TaggerVocabs, chunked, length_sorted_batches
from hybrid.data.lines import numbered_lines
from hybrid.data.readers import read_conll, read_conllu, read_sentences, read_text
from hybrid.data.sentence import Sentence
from hybrid.data.vocab import UnknownTokenError, Vocabulary, normalize_word, word_shape
from hybrid.data.writers import format_tagged, write_conll

__all__ = [
    "Batch", "TaggerVocabs", "chunked", "length_sorted_batches", "numbered_lines",
    "read_conll", "read_conllu", "read_sentences", "read_text", "Sentence",
    "UnknownTokenError", "Vocabulary", "normalize_word", "word_shape",
    "format_tagged", "write_conll",
]
