"""PNG plots (matplotlib, the optional `plot` extra): attention matrices and training curves."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from hybrid.errors import ConfigError

if TYPE_CHECKING:
    from hybrid.models.seq2seq import EncoderDecoder


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError("plots need matplotlib: pip install 'hybrid[plot]'") from None
    return plt


def _save(fig: Any, path: str | Path) -> None:
    """Write the figure as PNG through a temporary file and an atomic rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", suffix=".png")
    os.close(fd)
    try:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def plot_attention(
    model: EncoderDecoder, source: Sequence[str], path: str | Path, beam: int = 1, max_length: int = 100
) -> list[str]:
    """Decode `source` and plot its attention weights (target rows x source columns); returns the output."""
    from hybrid.data.pairs import Pair
    from hybrid.decoding import beam_search, greedy

    plt = _pyplot()
    vocabs = model.vocabs
    model.eval()
    batch = vocabs.encode([Pair(tuple(source), ())], with_targets=False)
    bos, eos, pad = vocabs.bos, vocabs.eos, vocabs.target.pad_index
    with torch.inference_mode():
        memory = model.encode(batch.src, batch.src_mask)
        if beam > 1:
            out = beam_search(model, memory, bos, eos, pad, beam=beam, max_length=max_length,
                              with_attention=True)
        else:
            out = greedy(model, memory, bos, eos, pad, max_length=max_length, with_attention=True)
    if out.attention is None:  # never: decoding was asked for the weights
        raise RuntimeError("the decoder returned no attention weights")
    n = int(out.mask[0].sum())
    ids = out.tokens[0, :n].tolist()
    labels = [vocabs.target.token(i) for i in ids]
    weights = out.attention[0, :n].numpy()  # (L, S)
    fig, ax = plt.subplots(figsize=(max(4, 0.45 * len(source) + 2), max(3, 0.4 * n + 1.5)))
    ax.imshow(weights, cmap="Greys", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(source)), source, rotation=60, ha="right")
    ax.set_yticks(range(n), labels)
    ax.set_xlabel("source")
    ax.set_ylabel("output")
    _save(fig, path)
    plt.close(fig)
    return vocabs.decode(ids)


def plot_curves(curves: Mapping[str, Sequence[tuple[float, float]]], path: str | Path, xlabel: str = "step") -> None:
    """Line plot of named (x, y) series, e.g. reward, baseline and dev score per step."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, points in curves.items():
        if points:
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, label=name, marker="o" if len(points) < 30 else None)
    ax.set_xlabel(xlabel)
    ax.legend()
    ax.grid(alpha=0.3)
    _save(fig, path)
    plt.close(fig)


def plot_confusion(confusion: Sequence[Sequence[int]], labels: Sequence[str], path: str | Path) -> None:
    """Confusion matrix as a PNG heat map: rows gold labels, columns predicted, counts written in."""
    plt = _pyplot()
    size = max(3.0, 0.6 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(confusion, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels=list(labels), rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels=list(labels))
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    for i, row in enumerate(confusion):
        for j, count in enumerate(row):
            ax.text(j, i, str(count), ha="center", va="center")
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def plot_word_map(words: Sequence[str], points: Any, path: str | Path, title: str = "") -> None:
    """A labelled scatter plot of 2-D word positions (N, 2), e.g. from t-SNE or PCA of word vectors."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 8))
    ax.scatter(points[:, 0], points[:, 1], s=8, color="tab:blue")
    for word, (x, y) in zip(words, points, strict=True):
        ax.annotate(word, (x, y), fontsize=9, xytext=(3, 2), textcoords="offset points")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    _save(fig, path)
    plt.close(fig)
