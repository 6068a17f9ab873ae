"""A tiny sentiment-like task: the label is given by one cue word placed anywhere in the sentence."""

from __future__ import annotations

import random
from pathlib import Path

WORDS = "the a film movie plot actor scene story was is".split()
CUES = {"pos": "good", "neg": "bad", "mid": "fine"}


def labelled_lines(n: int, seed: int = 0, labels: tuple[str, ...] = ("pos", "neg")) -> list[str]:
    rng = random.Random(seed)
    lines = []
    for i in range(n):
        label = labels[i % len(labels)]
        tokens = [rng.choice(WORDS) for _ in range(rng.randint(2, 9))]
        tokens.insert(rng.randint(0, len(tokens)), CUES[label])
        lines.append(f"{label}\t{' '.join(tokens)}")
    return lines


def write_labelled(path: Path, n: int, seed: int = 0, labels: tuple[str, ...] = ("pos", "neg")) -> Path:
    path.write_text("\n".join(labelled_lines(n, seed, labels)) + "\n", encoding="utf-8")
    return path
