"""Quality against diversity as the sampling temperature varies (Caccia et al. 2020, "Language
GANs falling short"): lowering the temperature of an MLE model trades diversity for quality, so
a fine-tuned model helps only where its curve lies beyond the MLE model's temperature curve,
not merely where one of its points beats the MLE model at temperature 1.

For a conditional generator (seq2seq): at each temperature, `samples` outputs per source;
quality is the mean corpus BLEU of the k sample sets against the references, diversity the
pairwise BLEU of the sample sets among themselves (Shen et al. 2019: the mean corpus BLEU of
set i against set j over ordered pairs i != j; 100 = every sample the same, lower = more
diverse).

For SeqGAN's synthetic oracle (an unconditional generator of fixed-length sequences): quality
is the oracle's NLL per token of the samples at temperature t, diversity the NLL per token of
held-out oracle data under the model's own distribution at t (softmax(logits / t)): a model that
sharpens covers less of the oracle's data, and this figure says so where the first cannot.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hybrid.errors import ConfigError
from hybrid.models.language_model import LanguageModel
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


def self_bleu(samples: torch.Tensor, hypotheses: int = 200, max_order: int = 4) -> float:
    """Self-BLEU of unconditional samples (N, L) of one length (Zhu et al. 2018): the corpus BLEU
    of the first `hypotheses` samples, each against all the others as its references (100: the
    model always says the same; lower: more diverse). With one length the brevity penalty is 1,
    and every hypothesis has the same references, so their n-gram counts are clipped once."""
    rows = samples.tolist()
    hyps, refs = rows[:hypotheses], rows[hypotheses:]
    if not hyps or not refs:
        raise ConfigError(f"self-BLEU needs more than {hypotheses} samples, got {len(rows)}")
    log_precision = 0.0
    for n in range(1, max_order + 1):
        most: Counter[tuple[int, ...]] = Counter()  # each n-gram's largest count in one reference
        for ref in refs:
            for gram, count in Counter(tuple(ref[i : i + n]) for i in range(len(ref) - n + 1)).items():
                most[gram] = max(most[gram], count)
        matched = total = 0
        for hyp in hyps:
            counts = Counter(tuple(hyp[i : i + n]) for i in range(len(hyp) - n + 1))
            matched += sum(min(count, most[gram]) for gram, count in counts.items())
            total += sum(counts.values())
        if matched == 0:
            return 0.0
        log_precision += math.log(matched / total) / max_order
    return 100.0 * math.exp(log_precision)


def oracle_sweep(oracle: LanguageModel, model: LanguageModel, held_out: torch.Tensor, temperatures: Sequence[float],
                 samples: int = 2000, seed: int = 12345, batch_size: int = 500) -> list[dict[str, float]]:
    """One point per temperature: {"temperature", "oracle_nll" (quality: the oracle's NLL per token
    of `samples` sequences drawn at the temperature, as long as held_out's), "held_out_nll"
    (coverage: the NLL per token of held_out (N, L) under softmax(logits / temperature)),
    "self_bleu" (diversity: self-BLEU-2 of the samples, a tenth of them against the rest: with
    thousands of words, samples share almost no 3- or 4-grams at temperature 1 and above)}."""
    from hybrid.train.policies import sample_fixed_length

    length = held_out.shape[1]
    points = []
    for temperature in temperatures:
        if not temperature > 0:
            raise ConfigError(f"temperatures must be > 0, got {temperature}")
        generator = torch.Generator().manual_seed(seed)
        quality = covered = 0.0
        drawn = []
        with torch.no_grad():
            for start in range(0, samples, batch_size):
                drawn.append(sample_fixed_length(model, min(batch_size, samples - start), length, generator,
                                                 temperature))
                quality -= float(oracle.token_log_probs(drawn[-1]).sum())
            for start in range(0, len(held_out), batch_size):
                tokens = held_out[start : start + batch_size]
                logp = torch.log_softmax(model(tokens).float() / temperature, -1)
                covered -= float(logp.gather(2, tokens.unsqueeze(-1)).sum())
        points.append({"temperature": float(temperature), "oracle_nll": quality / (samples * length),
                       "held_out_nll": covered / held_out.numel(),
                       "self_bleu": self_bleu(torch.cat(drawn), hypotheses=max(1, samples // 10), max_order=2)})
    return points


def frontier(reference: Sequence[dict[str, float]], x: str, y: str,
             higher_is_better: bool) -> list[dict[str, float]]:
    """The points of a temperature curve that no other point of it beats on both figures, by x
    (diversity `x`: lower is better, as held-out NLL and pairwise BLEU are). Points another beats
    on both (past the temperature where the held-out NLL is lowest, say) drop out."""
    kept: list[dict[str, float]] = []
    for point in sorted(reference, key=lambda p: (p[x], -p[y] if higher_is_better else p[y])):
        if not kept or (point[y] > kept[-1][y] if higher_is_better else point[y] < kept[-1][y]):
            kept.append(point)
    return kept


def margins_over(points: Sequence[dict[str, float]], reference: Sequence[dict[str, float]], x: str, y: str,
                 higher_is_better: bool) -> list[float | None]:
    """For each point of a curve, how far its quality `y` lies beyond the reference's `frontier`
    at the same diversity `x` (interpolated linearly between the frontier's two nearest points):
    positive where the point is better, in y's units; None where x lies outside the frontier's
    range, which the sweep cannot judge."""
    ordered = frontier(reference, x, y, higher_is_better)
    xs, ys = [p[x] for p in ordered], [p[y] for p in ordered]
    margins: list[float | None] = []
    for point in points:
        at = point[x]
        if not ordered or not xs[0] <= at <= xs[-1]:
            margins.append(None)
            continue
        expected = float(np.interp(at, xs, ys))
        margins.append(point[y] - expected if higher_is_better else expected - point[y])
    return margins


def plot_sweeps(curves: dict[str, list[dict[str, float]]], path: str | Path, title: str = "",
                x: str = "pairwise_bleu", y: str = "bleu",
                x_label: str = "pairwise BLEU among samples (lower: more diverse)",
                y_label: str = "BLEU against the references (quality)",
                styles: dict[str, dict[str, Any]] | None = None) -> Path:
    """One curve per model of figure `y` against figure `x` (by default quality, BLEU, against
    diversity, pairwise BLEU), each point labelled with its temperature; PNG. `styles`: matplotlib
    line settings per curve name (e.g. one colour per kind of model, a line style per seed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6.4, 4.8))
    for name, points in curves.items():
        xs, ys = [p[x] for p in points], [p[y] for p in points]
        axes.plot(xs, ys, marker="o", label=name, **(styles or {}).get(name, {}))
        for p in points:
            axes.annotate(f"{p['temperature']:g}", (p[x], p[y]), textcoords="offset points", xytext=(4, 4), fontsize=7)
    axes.set_xlabel(x_label)
    axes.set_ylabel(y_label)
    axes.set_title(title or "quality against diversity; points labelled with the temperature")
    axes.grid(alpha=0.3)
    axes.legend()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
