"""Part-of-speech induction: a categorical HMM fitted with Baum-Welch (hmmlearn) on untagged text.

Words become symbol ids (`WordCoder`): words seen at least `min_count` times in the training
text keep their own id; rarer words, and unseen words at prediction time, fall into a few
shape classes (capitalised, digits, punctuation, hyphenated, lower-case suffix classes...).

Initialisation (EM only finds a local optimum, and a perfectly symmetric start never leaves
it: every state would stay identical). We start *near* symmetric:

    pi_k   ~ 1/K * (1 + noise),   A_ij ~ 1/K * (1 + noise),
    B_k(w) ~ unigram(w) * (1 + noise),     noise ~ Uniform(-eps, eps), eps = `init_noise`,

each row renormalised. So every state begins as the unigram model (no state is favoured),
and the small seeded noise breaks the tie. hmmlearn's own default (`init_params="ste"`)
draws emissions uniformly at random, which ignores word frequency and converges worse.

EM runs one `fit(n_iter=1)` call at a time (hmmlearn's fit with `init_params=""` continues
from the current parameters), so we report progress per iteration, stop at `tol` (change of
the training log-likelihood per token) or at the time budget. After EM every emission
probability gets `emission_floor` added (and rows renormalised), so that symbols EM gave
no mass (such as a shape class absent from the training text) keep every path possible. The "scaling"
forward-backward implementation is used (hmmlearn documents it as the faster one).
"""

from __future__ import annotations

import json
import logging
import math
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hybrid.errors import ConfigError, ModelLoadError

CONFIG_FILE, PARAMS_FILE = "induction.json", "model.safetensors"
_SHAPES = (
    ("<num>", re.compile(r"^[+-]?[0-9][0-9.,:/-]*$")),
    ("<punct>", re.compile(r"^[^\w\s]+$")),
    ("<hasdigit>", re.compile(r"[0-9]")),
    ("<hyphen>", re.compile(r"-")),
    ("<allcaps>", re.compile(r"^[A-Z]+$")),
    ("<cap>", re.compile(r"^[A-Z]")),
)
_SUFFIXES = ("ing", "ed", "ly", "s", "tion", "er", "est", "al", "ous", "ive", "able", "ful", "less")


def word_shape(word: str) -> str:
    """A coarse class for a rare or unseen word (the classes need no training data)."""
    for name, pattern in _SHAPES:
        if pattern.search(word):
            return name
    low = word.lower()
    for suffix in _SUFFIXES:
        if low.endswith(suffix) and len(low) > len(suffix) + 2:
            return f"<-{suffix}>"
    return "<unk>"


SHAPE_CLASSES = tuple(n for n, _ in _SHAPES) + tuple(f"<-{s}>" for s in _SUFFIXES) + ("<unk>",)


@dataclass
class WordCoder:
    """Words to symbol ids: frequent words first, then the shape classes."""

    words: list[str]
    lowercase: bool = False

    def __post_init__(self) -> None:
        self.symbols = list(self.words) + list(SHAPE_CLASSES)
        self.index = {w: i for i, w in enumerate(self.symbols[: len(self.words)])}
        self.shape_index = {s: len(self.words) + i for i, s in enumerate(SHAPE_CLASSES)}

    @classmethod
    def fit(cls, sentences: Iterable[Sequence[str]], min_count: int = 2, lowercase: bool = False) -> WordCoder:
        counts = Counter(w.lower() if lowercase else w for s in sentences for w in s)
        kept = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
        return cls(kept, lowercase)

    def __len__(self) -> int:
        return len(self.symbols)

    def encode(self, words: Sequence[str]) -> np.ndarray:
        out = np.empty(len(words), dtype=np.int64)
        for i, w in enumerate(words):
            key = w.lower() if self.lowercase else w
            out[i] = self.index[key] if key in self.index else self.shape_index[word_shape(w)]
        return out

    def to_hmmlearn(self, sentences: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
        """hmmlearn's inputs: X (N, 1) int64 symbol ids of all tokens, lengths (S,)."""
        ids = [self.encode(s) for s in sentences if len(s)]
        if not ids:
            raise ValueError("no non-empty sentences")
        return np.concatenate(ids).reshape(-1, 1), np.array([len(i) for i in ids], dtype=np.int64)


@dataclass(frozen=True)
class InductionConfig:
    states: int = 45
    iterations: int = 100
    tol: float = 1e-5  # stop when the log-likelihood per token improves by less than this
    seed: int = 0
    min_count: int = 2
    lowercase: bool = False
    init_noise: float = 0.1
    time_budget: float | None = None  # seconds of EM; None: no limit
    emission_floor: float = 1e-7  # added to every emission probability after EM (then renormalised)

    def __post_init__(self) -> None:
        if self.states < 1 or self.iterations < 1 or self.min_count < 1:
            raise ValueError("states, iterations and min_count must be >= 1")
        if self.emission_floor < 0:
            raise ValueError(f"emission_floor must be >= 0, got {self.emission_floor}")
        if not 0 <= self.init_noise < 1:
            raise ValueError(f"init_noise must lie in [0, 1), got {self.init_noise}")


@dataclass
class InducedHMM:
    """A fitted HMM (hmmlearn `CategoricalHMM`) with its word coder; predicts state ids."""

    config: InductionConfig
    coder: WordCoder
    hmm: Any  # hmmlearn.hmm.CategoricalHMM
    history: list[dict[str, float]] = field(default_factory=list)

    def predict(self, sentences: Sequence[Sequence[str]]) -> list[list[int]]:
        """Viterbi state sequence of each sentence (empty sentences give [])."""
        nonempty = [s for s in sentences if len(s)]
        if not nonempty:
            return [[] for _ in sentences]
        x, lengths = self.coder.to_hmmlearn(nonempty)
        flat = self.hmm.predict(x, lengths)
        out, ends = [], np.cumsum(lengths)
        parts = iter(np.split(flat, ends[:-1]))
        for s in sentences:
            out.append([int(v) for v in next(parts)] if len(s) else [])
        return out

    def score_per_token(self, sentences: Sequence[Sequence[str]]) -> float:
        x, lengths = self.coder.to_hmmlearn(sentences)
        return float(self.hmm.score(x, lengths)) / len(x)

    def to_classic(self):
        """The same model as a `ClassicHMM` (batched Viterbi / marginals on the chain programs)."""
        from hybrid.structured.hmm_classic import ClassicHMM

        return ClassicHMM.from_hmmlearn(self.hmm)

    # -- save / load: JSON + safetensors, never pickle -------------------------
    def save(self, directory: str | Path) -> Path:
        from safetensors.numpy import save_file

        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        meta = {"kind": "induced-hmm", "config": asdict(self.config), "words": self.coder.words,
                "lowercase": self.coder.lowercase, "history": self.history}
        (path / CONFIG_FILE).write_text(json.dumps(meta, ensure_ascii=False) + "\n", encoding="utf-8")
        save_file({"startprob": np.ascontiguousarray(self.hmm.startprob_),
                   "transmat": np.ascontiguousarray(self.hmm.transmat_),
                   "emissionprob": np.ascontiguousarray(self.hmm.emissionprob_)}, str(path / PARAMS_FILE))
        return path

    @classmethod
    def load(cls, directory: str | Path) -> InducedHMM:
        from hmmlearn.hmm import CategoricalHMM
        from safetensors.numpy import load_file

        path = Path(directory)
        try:
            meta = json.loads((path / CONFIG_FILE).read_text(encoding="utf-8"))
            arrays = load_file(str(path / PARAMS_FILE))
            config = InductionConfig(**meta["config"])
            coder = WordCoder(list(meta["words"]), bool(meta["lowercase"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelLoadError(f"{path}: not an induced HMM directory ({exc})") from exc
        k, v = arrays["emissionprob"].shape
        if k != config.states or v != len(coder):
            raise ModelLoadError(f"{path}: parameters {k}x{v} do not match {config.states} states, "
                                 f"{len(coder)} symbols")
        hmm = CategoricalHMM(n_components=k, n_features=v, init_params="", implementation="scaling")
        hmm.startprob_, hmm.transmat_, hmm.emissionprob_ = (
            arrays["startprob"], arrays["transmat"], arrays["emissionprob"])
        return cls(config, coder, hmm, list(meta.get("history", [])))


def initial_parameters(config: InductionConfig, x: np.ndarray, num_symbols: int) -> tuple[np.ndarray, ...]:
    """Near-symmetric start (see the module docstring): pi (K,), A (K, K), B (K, V)."""
    rng = np.random.default_rng(config.seed)
    k, eps = config.states, config.init_noise

    def jitter(base: np.ndarray) -> np.ndarray:
        p = base * (1 + rng.uniform(-eps, eps, size=base.shape))
        return p / p.sum(axis=-1, keepdims=True)

    unigram = np.bincount(x.ravel(), minlength=num_symbols).astype(np.float64) + 0.5
    unigram /= unigram.sum()
    return jitter(np.full(k, 1.0 / k)), jitter(np.full((k, k), 1.0 / k)), jitter(np.tile(unigram, (k, 1)))


def induce(
    sentences: Sequence[Sequence[str]], config: InductionConfig = InductionConfig(),
    progress: bool | Callable[[dict[str, float]], None] = False,
) -> InducedHMM:
    """Fit a `config.states`-state HMM on untagged `sentences` (lists of words) with Baum-Welch.

    `progress`: True prints one line per iteration to stderr; a callable receives each
    iteration's record {iteration, log_likelihood_per_token, seconds}.
    """
    from hmmlearn.hmm import CategoricalHMM

    sentences = [s for s in sentences if len(s)]
    if not any(len(s) > 1 for s in sentences):  # Baum-Welch re-estimates A from word pairs
        raise ConfigError(f"induction needs a sentence of at least two words to learn transitions from "
                          f"(got {len(sentences)} sentence(s) of one word or none)")
    coder = WordCoder.fit(sentences, config.min_count, config.lowercase)
    x, lengths = coder.to_hmmlearn(sentences)
    hmm = CategoricalHMM(n_components=config.states, n_features=len(coder), n_iter=1, tol=0.0,
                         params="ste", init_params="", implementation="scaling",
                         random_state=config.seed)
    hmm.startprob_, hmm.transmat_, hmm.emissionprob_ = initial_parameters(config, x, len(coder))
    # hmmlearn warns on every fit that V*K parameters exceed the token count; that is the
    # normal regime of POS induction (most emission entries are near zero), so mute it.
    hmm_log = logging.getLogger("hmmlearn.base")
    level = hmm_log.level
    hmm_log.setLevel(logging.ERROR)
    try:
        history = _em(hmm, x, lengths, config, progress)
    finally:
        hmm_log.setLevel(level)
    # EM drives the probability of a symbol a state never emits towards 0; a shape class absent
    # from the training text would then make every path of a test sentence impossible (-inf).
    b = hmm.emissionprob_ + config.emission_floor
    hmm.emissionprob_ = b / b.sum(axis=1, keepdims=True)
    return InducedHMM(config, coder, hmm, history)


def _em(hmm: Any, x: np.ndarray, lengths: np.ndarray, config: InductionConfig,
        progress: bool | Callable[[dict[str, float]], None]) -> list[dict[str, float]]:
    history: list[dict[str, float]] = []
    start, previous = time.perf_counter(), -math.inf
    for iteration in range(1, config.iterations + 1):
        hmm.fit(x, lengths)  # one E-step + M-step from the current parameters
        ll = float(hmm.monitor_.history[-1]) / len(x)  # log P(X) under the parameters before this M-step
        record = {"iteration": iteration, "log_likelihood_per_token": ll,
                  "seconds": round(time.perf_counter() - start, 3)}
        history.append(record)
        if progress is True:
            print(f"iter {iteration:4d}  log-lik/token {ll:.5f}  {record['seconds']:.1f}s", file=sys.stderr, flush=True)
        elif callable(progress):
            progress(record)
        if ll - previous < config.tol:
            break
        previous = ll
        if config.time_budget is not None and time.perf_counter() - start > config.time_budget:
            break
    return history
