"""Quality against diversity as the sampling temperature varies (Caccia et al. 2020, "Language
GANs falling short"): lowering the temperature of an MLE model trades diversity for quality, so
a fine-tuned model helps only where its curve lies beyond the MLE model's temperature curve,
not merely where one of its points beats the MLE model at temperature 1.

For a conditional generator (seq2seq): at each temperature, `samples` outputs per source;
quality is the mean corpus BLEU of the k sample sets against the references, diversity the
pairwise BLEU of the sample sets among themselves (Shen et al. 2019: the mean corpus BLEU of
set i against set j over ordered pairs i != j; 100 = every sample the same, lower = more
diverse).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from hybrid.errors import ConfigError
from hybrid.train.protocols import Policy


def corpus_bleu(hypotheses: Sequence[Sequence[str]], references: Sequence[Sequence[str]]) -> float:
    """sacreBLEU corpus BLEU of token lists (space-joined; tokenised text scored as it is)."""
    from sacrebleu.metrics import BLEU

    return float(BLEU(force=True).corpus_score([" ".join(h) for h in hypotheses],
                                               [[" ".join(r) for r in references]]).score)


def temperature_sweep(policy: Policy, inputs: Sequence[Any], temperatures: Sequence[float], samples: int = 4,
                      seed: int = 1, max_length: int = 100, batch_size: int = 64,
                      progress: Callable[[int], None] | None = None) -> list[dict[str, float]]:
    """One point per temperature: {"temperature", "bleu", "pairwise_bleu"}; `progress(n)` after
    each batch of n inputs."""
    if samples < 2:
        raise ConfigError(f"pairwise BLEU needs at least 2 samples per input, got {samples}")
    if not inputs:
        raise ConfigError("no inputs to sample from")
    references = policy.references(list(inputs))
    points = []
    for temperature in temperatures:
        if not temperature > 0:
            raise ConfigError(f"temperatures must be > 0, got {temperature}")
        generator = torch.Generator().manual_seed(seed)
        sets: list[list[list[str]]] = [[] for _ in range(samples)]  # sets[k][i]: input i's k-th sample
        for start in range(0, len(inputs), batch_size):
            batch = list(inputs[start : start + batch_size])
            with torch.no_grad():
                outputs = policy.sample(batch, samples, temperature, generator, max_length).outputs
            for k in range(samples):  # the rollout holds each input's samples one after another
                sets[k].extend(outputs[k::samples])
            if progress is not None:
                progress(len(batch))
        quality = sum(corpus_bleu(s, references) for s in sets) / samples
        pairwise = [corpus_bleu(sets[i], sets[j]) for i, j in itertools.permutations(range(samples), 2)]
        points.append({"temperature": float(temperature), "bleu": quality,
                       "pairwise_bleu": sum(pairwise) / len(pairwise)})
    return points


def plot_sweeps(curves: dict[str, list[dict[str, float]]], path: str | Path, title: str = "") -> Path:
    """One curve per model on quality (BLEU, up) against diversity (pairwise BLEU, left is more
    diverse), each point labelled with its temperature; PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6.4, 4.8))
    for name, points in curves.items():
        xs, ys = [p["pairwise_bleu"] for p in points], [p["bleu"] for p in points]
        axes.plot(xs, ys, marker="o", label=name)
        for p in points:
            axes.annotate(f"{p['temperature']:g}", (p["pairwise_bleu"], p["bleu"]), textcoords="offset points",
                          xytext=(4, 4), fontsize=7)
    axes.set_xlabel("pairwise BLEU among samples (lower: more diverse)")
    axes.set_ylabel("BLEU against the references (quality)")
    axes.set_title(title or "quality against diversity; points labelled with the temperature")
    axes.grid(alpha=0.3)
    axes.legend()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
