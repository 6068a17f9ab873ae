"""Tiny seq2seq models and data shared by the seq2seq, decoding and trainer tests."""

from __future__ import annotations

import random
from pathlib import Path

import torch

from hybrid.config import Seq2SeqModelConfig
from hybrid.data.pairs import Pair
from hybrid.data.parallel import Seq2SeqVocabs
from hybrid.models.seq2seq import EncoderDecoder as Seq2Seq
from hybrid.models.seq2seq_io import build_seq2seq

WORDS = [f"w{i}" for i in range(8)]


def random_pairs(n: int = 40, seed: int = 0, max_len: int = 6) -> list[Pair]:
    rng = random.Random(seed)
    return [Pair(tuple(rng.choices(WORDS, k=rng.randint(1, max_len))),
                 tuple(rng.choices(WORDS, k=rng.randint(1, max_len)))) for _ in range(n)]


def write_parallel_files(folder: Path, sizes: dict[str, int], max_len: int = 4) -> Path:
    """NAME.src / NAME.tgt line-aligned files of random pairs (seeded by the order of `sizes`)."""
    for seed, (name, n) in enumerate(sizes.items()):
        pairs = random_pairs(n, seed=seed, max_len=max_len)
        (folder / f"{name}.src").write_text("".join(" ".join(p.inputs) + "\n" for p in pairs), encoding="utf-8")
        (folder / f"{name}.tgt").write_text("".join(" ".join(p.labels) + "\n" for p in pairs), encoding="utf-8")
    return folder


def tiny_model(vocabs: Seq2SeqVocabs, seed: int = 0, scale: float = 1.0, **overrides) -> Seq2Seq:
    """A random model; scale > 1 makes its distributions peaky (decoding choices matter)."""
    options = {"embedding_dim": 8, "encoder_hidden": 4, "decoder_hidden": 8, "attention_hidden": 6, "dropout": 0.0}
    torch.manual_seed(seed)
    model = build_seq2seq(Seq2SeqModelConfig(**{**options, **overrides}), vocabs).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(scale)
    return model


def tiny_transformer(vocabs: Seq2SeqVocabs, seed: int = 0, scale: float = 1.0, **overrides) -> Seq2Seq:
    """A random Transformer seq2seq model (2 layers, 2 heads, width 8); scale as for tiny_model."""
    options = {"arch": "transformer", "embedding_dim": 8, "heads": 2, "transformer_layers": 2, "ff_size": 16,
               "attention_hidden": 6, "dropout": 0.0}
    return tiny_model(vocabs, seed, scale, **{**options, **overrides})
