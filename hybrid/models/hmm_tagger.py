"""The classic generative HMM tagger (no network): bigram tag model, word emissions from counts.

Estimation is one pass of counting over tagged sentences (`ClassicHMMTagger.fit`):

    pi[y]    = (#sentences starting with y + a) / (#sentences + K a)
    A[i, j]  = (#(i, j) tag bigrams + a) / (#bigrams starting with i + K a)
    B[y, o]  = (#(tag y, symbol o) + e) / (#tag y + V e)

with a = `hmm_transition_smoothing`, e = `hmm_emission_smoothing`. The symbols o are the
training words seen more than `hmm_rare_words` times, plus unknown-word classes: a rarer (or
unseen) word becomes the class `word_signature(word)` of its shape and suffix (digits,
capitalisation, hyphen, a common English suffix such as -ing, -ed, -ly, -tion, -s), as the
classic taggers do (Weischedel et al. 1993; TnT estimates its suffix model from rare words
too). So P(class | tag) is learnt from the rare training words and applied to unseen ones.

Decoding (Viterbi, k-best) runs on the shared batched chain programs through `ClassicHMM`;
`to_hmmlearn()` gives the equivalent `hmmlearn.hmm.CategoricalHMM`. The model saves and loads
like the neural tagger (config.json, vocab.json, model.safetensors) and offers the same
`decode(batch, k)` / `tag_names` / `tag()` interface, so `predict_tags`, `hybrid tag` and
`hybrid evaluate` work on it unchanged.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from hybrid.config import ModelConfig
from hybrid.data.batching import Batch, TaggerVocabs
from hybrid.data.sentence import Sentence
from hybrid.data.vocab import Vocabulary, normalize_word
from hybrid.structured.hmm_classic import ClassicHMM

# Common English suffixes, longest first so that '-tion' wins over '-on' and '-ness' over '-s'.
SUFFIXES = (
    "ation", "tion", "sion", "ness", "ment", "able", "ible", "less", "ship", "ward", "wise",
    "ing", "ity", "ist", "ism", "ize", "ise", "ous", "ive", "ful", "ian", "est", "ent", "ant",
    "ary", "ery", "ory", "ate", "al", "ly", "ed", "er", "en", "ic", "es", "'s", "s", "y",
)
_DIGIT_CLASSES = ("", "num", "dig")
_CASE_CLASSES = ("CAPS", "Cap", "low", "sym")


def word_signature(word: str) -> str:
    """The unknown-word class of a word: '<unk:' digits | case | hyphen | suffix '>'.

    digits: 'num' if the word is all digits and number punctuation (12, 3.5, 1,000, 10-12),
    'dig' if it merely contains a digit. case: 'CAPS' (all upper, 2+ letters), 'Cap' (initial
    upper), 'low' (other words with letters), 'sym' (no letters). hyphen: 'hyph' if it has a
    '-'. suffix: the longest of `SUFFIXES` the lowercased word ends with, keeping 2+ characters
    before it. 'Running' -> '<unk:Cap|ing>', '1990s' -> '<unk:dig|low|s>'.
    """
    parts = []
    if any(ch.isdigit() for ch in word):
        parts.append("num" if all(ch.isdigit() or ch in ".,-/:" for ch in word) else "dig")
    letters = [ch for ch in word if ch.isalpha()]
    if not letters:
        parts.append("sym")
    elif len(letters) > 1 and all(ch.isupper() for ch in letters):
        parts.append("CAPS")
    elif word[0].isupper():
        parts.append("Cap")
    else:
        parts.append("low")
    if "-" in word:
        parts.append("hyph")
    lower = word.lower()
    if letters:
        for suffix in SUFFIXES:
            if lower.endswith(suffix) and len(lower) >= len(suffix) + 2:
                parts.append(suffix)
                break
    return "<unk:" + "|".join(parts) + ">"


def all_signatures() -> list[str]:
    """Every class `word_signature` can return (a fixed list, so each has a symbol id)."""
    out = []
    for digits, case, hyph, suffix in itertools.product(_DIGIT_CLASSES, _CASE_CLASSES, ("", "hyph"), ("",) + SUFFIXES):
        if case == "sym" and suffix:
            continue
        out.append("<unk:" + "|".join(p for p in (digits, case, hyph, suffix) if p) + ">")
    return out


class ClassicHMMTagger(nn.Module):
    """A count-based bigram HMM tagger; `vocabs.words` holds its symbols (words and classes)."""

    def __init__(self, config: ModelConfig, vocabs: TaggerVocabs):
        super().__init__()
        if vocabs.features:
            raise ValueError("the classic HMM tagger reads words only; it takes no feature columns")
        self.config = config
        self.vocabs = vocabs
        self.hmm = ClassicHMM(len(vocabs.tags), len(vocabs.words), dtype=torch.float64)
        self._signature_ids: dict[str, int] = {}

    @property
    def tag_names(self) -> list[str]:
        return [self.vocabs.tags.token(i) for i in range(len(self.vocabs.tags))]

    @classmethod
    def fit(cls, config: ModelConfig, sentences: Sequence[Sentence], lowercase: bool = False) -> ClassicHMMTagger:
        """Count a model on tagged sentences (one pass, no epochs)."""
        tagged = [s for s in sentences if s.words and s.tags is not None]
        if not tagged:
            raise ValueError("the classic HMM tagger needs at least one tagged sentence")
        counts = Counter(normalize_word(w, lowercase) for s in tagged for w in s.words)
        rare = config.hmm_rare_words

        def symbol(word: str) -> str:
            return (word_signature(word) if counts[normalize_word(word, lowercase)] <= rare
                    else normalize_word(word, lowercase))

        symbols = [[symbol(w) for w in s.words] for s in tagged]
        words = Vocabulary([w for seq in symbols for w in seq] + all_signatures())
        tags = Vocabulary([t for s in tagged for t in s.tags or ()], pad=None, unk=None)
        vocabs = TaggerVocabs(words, Vocabulary(), tags, [], lowercase=lowercase)
        model = cls(config, vocabs)
        fitted = ClassicHMM.from_counts(
            [[tags.index(t) for t in s.tags or ()] for s in tagged],
            [[words.index(w) for w in seq] for seq in symbols],
            len(tags), len(words), smoothing=config.hmm_transition_smoothing,
            emission_smoothing=config.hmm_emission_smoothing, dtype=torch.float64,
        )
        model.hmm.load_state_dict(fitted.state_dict())
        return model

    # -- inference ---------------------------------------------------------------
    def _signature_id(self, form: str) -> int:
        i = self._signature_ids.get(form)
        if i is None:
            if len(self._signature_ids) > 200_000:
                self._signature_ids.clear()
            i = self._signature_ids[form] = self.vocabs.words.index(word_signature(form))
        return i

    def symbols(self, batch: Batch) -> Tensor:
        """(B, T) symbol ids: the word's own id if known, else its unknown-word class."""
        if batch.forms is None:
            raise ValueError("the classic HMM tagger needs the batch's word forms")
        unknown = batch.words == self.vocabs.words.unk_index
        classes = torch.tensor([self._signature_id(f) for f in batch.forms], device=batch.words.device)
        return torch.where(unknown, classes[batch.char_index], batch.words)

    def decode(self, batch: Batch, k: int = 1) -> tuple[Tensor, Tensor]:
        """k best tag-id sequences (B, k, T) and their log P(words, tags) (B, k)."""
        return self.hmm.decode(self.symbols(batch), batch.mask, k)

    def greedy(self, batch: Batch) -> Tensor:
        """(B, T) the Viterbi tag sequence of each sentence."""
        return self.decode(batch, 1)[0][:, 0]

    def tag(
        self, sentences: Sequence[Sequence[str] | Sentence], k: int = 1, batch_size: int = 256
    ) -> list[list[str]] | list[list[tuple[list[str], float]]]:
        """Tag word lists (or `Sentence`s): one tag list each, or with k > 1 the k best (tags, score)."""
        from hybrid.models.tagger import predict_tags

        items = [s if isinstance(s, Sentence) else Sentence(list(s)) for s in sentences]
        best = predict_tags(self, items, batch_size, k)
        return [b[0][0] for b in best] if k == 1 else best

    def to_hmmlearn(self, **kwargs: Any) -> Any:
        """The equivalent `hmmlearn.hmm.CategoricalHMM` (symbols = `symbols(batch)` ids)."""
        return self.hmm.to_hmmlearn(**kwargs)
