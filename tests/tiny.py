"""A tiny, trivially learnable chunking corpus and tiny configs, for fast model/trainer/CLI tests.

Sentences follow `NP VP NP [PP NP] .` with `word POS chunk` columns, where the chunk tag is
a function of the word (the -> B-NP, cat -> I-NP, sees -> B-VP, ...), so a few epochs of a
tiny BiLSTM-CRF learn it.
"""

from __future__ import annotations

import random
from pathlib import Path

from hybrid.config import DataConfig, ModelConfig, TaggerConfig, TrainConfig

DET = ["the", "a", "this", "that"]
ADJ = ["big", "small", "red", "old"]
NOUN = ["cat", "dog", "bird", "man", "house", "car"]
VERB = ["sees", "likes", "finds", "eats"]
PREP = ["in", "on", "near"]


def _noun_phrase(rng: random.Random) -> list[tuple[str, str, str]]:
    rows = [(rng.choice(DET), "DT", "B-NP")]
    if rng.random() < 0.5:
        rows.append((rng.choice(ADJ), "JJ", "I-NP"))
    rows.append((rng.choice(NOUN), "NN", "I-NP"))
    return rows


def tiny_sentences(n: int = 30, seed: int = 0) -> list[list[tuple[str, str, str]]]:
    """`n` sentences of (word, POS, chunk) rows."""
    rng = random.Random(seed)
    sentences = []
    for _ in range(n):
        rows = _noun_phrase(rng) + [(rng.choice(VERB), "VBZ", "B-VP")] + _noun_phrase(rng)
        if rng.random() < 0.5:
            rows += [(rng.choice(PREP), "IN", "B-PP")] + _noun_phrase(rng)
        sentences.append(rows + [(".", ".", "O")])
    return sentences


def conll_text(sentences: list[list[tuple[str, ...]]]) -> str:
    return "".join("".join("\t".join(row) + "\n" for row in s) + "\n" for s in sentences)


def write_conll_file(path: Path, n: int = 30, seed: int = 0) -> Path:
    path.write_text(conll_text(tiny_sentences(n, seed)), encoding="utf-8")
    return path


def tiny_config(
    epochs: int = 2, features: bool = False, layer: str = "crf", seed: int = 1, **train: object
) -> TaggerConfig:
    """A model small enough to train a few epochs on the tiny corpus in well under a second."""
    return TaggerConfig(
        data=DataConfig(format="conll", word_column=0, tag_column=-1,
                        feature_columns=(1,) if features else ()),
        model=ModelConfig(word_dim=8, feature_dim=4, char_encoder="lstm", char_dim=4, char_hidden=4,
                          hidden_size=8, dropout=0.1, word_dropout=0.05, layer=layer),  # type: ignore[arg-type]
        train=TrainConfig(**{"lr": 0.05, "batch_size": 4, "epochs": epochs, "seed": seed,
                             "dev_fraction": 0.2, "patience": 10, **train}),  # type: ignore[arg-type]
    )
