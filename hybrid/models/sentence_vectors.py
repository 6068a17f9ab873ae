"""Sentence vectors from a seq2seq encoder (its summary: `Seq2Seq.summarize`) and retrieval of
the most similar sentences by cosine similarity."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from hybrid.data.pairs import Pair
from hybrid.models.seq2seq import EncoderDecoder


def encode_sentences(model: EncoderDecoder, sentences: Sequence[Sequence[str]], batch_size: int = 256) -> Tensor:
    """(N, Dm) float32 on the CPU: one vector per sentence, in input order. Batches are sorted by
    length, so padding is small; a padded batch gives each sentence the vector it gets alone."""
    model.eval()
    device = next(model.parameters()).device
    out = torch.empty(len(sentences), model.summary_size)
    order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            batch = model.vocabs.encode([Pair(tuple(sentences[i]), ()) for i in idx], with_targets=False).to(device)
            out[idx] = model.summarize(batch.src, batch.src_mask).float().cpu()
    return out


def nearest(queries: Tensor, index: Tensor, k: int, chunk: int = 1024) -> tuple[Tensor, Tensor]:
    """The k rows of `index` (M, D) most cosine-similar to each query (N, D): similarities and row
    numbers, both (N, min(k, M)), best first. Queries go in chunks, so memory stays N-independent."""
    if queries.dim() != 2 or index.dim() != 2 or queries.shape[1] != index.shape[1]:
        raise ValueError(f"expected (N, D) queries and (M, D) index of one width D, got {tuple(queries.shape)} "
                         f"and {tuple(index.shape)}")
    k = min(k, index.shape[0])
    unit = F.normalize(index.float(), dim=1)
    scores, rows = [], []
    for start in range(0, queries.shape[0], chunk):
        similarity = F.normalize(queries[start : start + chunk].float(), dim=1) @ unit.T  # (n, M)
        best = similarity.topk(k, dim=1)
        scores.append(best.values)
        rows.append(best.indices)
    if not scores:
        return torch.empty(0, k), torch.empty(0, k, dtype=torch.long)
    return torch.cat(scores), torch.cat(rows)
