"""Scoring models on dev and test data: tags against gold tags (span F1 or accuracy), and
translations against references (sacreBLEU corpus BLEU and chrF). Trainers, policies, the CLI
and benchmarks all score through these."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from hybrid.config import TaggerConfig
from hybrid.data.pairs import Pair
from hybrid.data.sentence import Sentence
from hybrid.decoding import beam_search, greedy, sample
from hybrid.metrics import corpus_translation_scores, evaluate_tags
from hybrid.models.hmm_tagger import ClassicHMMTagger
from hybrid.models.seq2seq import EncoderDecoder
from hybrid.models.tagger import Tagger, predict_tags
from hybrid.structured.constraints import detect_scheme


def dev_metric(config: TaggerConfig, tags: list[str]) -> str:
    """'f1' for chunk tags (BIO/BIOES), 'accuracy' otherwise, unless the config names one."""
    if config.train.metric != "auto":
        return config.train.metric
    return "f1" if detect_scheme(tags) is not None else "accuracy"


def evaluate(tagger: Tagger | ClassicHMMTagger, sentences: list[Sentence], batch_size: int = 256) -> dict[str, Any]:
    """Tag `sentences` (each with gold tags) and score them against their gold tags."""
    gold = [s.tags for s in sentences if s.tags is not None]
    if len(gold) != len(sentences):
        raise ValueError("evaluate needs sentences with gold tags")
    predicted = [best[0][0] for best in predict_tags(tagger, sentences, batch_size)]
    # The model's tag set decides whether span F1 applies, not the few tags these sentences use.
    return evaluate_tags(gold, predicted, tagger.tag_names)


def translate(model: EncoderDecoder, sources: Sequence[Sequence[str]], beam: int = 1, max_length: int = 100,
              length_penalty: float = 0.0, batch_size: int = 64, temperature: float | None = None,
              top_k: int = 0, generator: torch.Generator | None = None) -> list[list[str]]:
    """Target tokens for each source (input order): greedy (beam 1), beam search, or sampling
    when a temperature is given. Batches are sorted by source length; outputs stop at </s>,
    at `max_length`, or at 2 * (longest source of the batch) + 10 tokens, whichever is first."""
    model.eval()
    vocabs = model.vocabs
    device = next(model.parameters()).device
    bos, eos, pad = vocabs.bos, vocabs.eos, vocabs.target.pad_index
    order = sorted(range(len(sources)), key=lambda i: len(sources[i]))
    out: list[list[str]] = [[] for _ in sources]
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            batch = vocabs.encode([Pair(tuple(sources[i]), ()) for i in idx], with_targets=False).to(device)
            memory = model.encode(batch.src, batch.src_mask)
            limit = min(max_length, 2 * batch.src.shape[1] + 10)
            if temperature is not None:
                result = sample(model, memory, bos, eos, pad, max_length=limit, temperature=temperature,
                                top_k=top_k, generator=generator)
            elif beam > 1:
                result = beam_search(model, memory, bos, eos, pad, beam=beam, max_length=limit,
                                     length_penalty=length_penalty)
            else:
                result = greedy(model, memory, bos, eos, pad, max_length=limit)
            for row, i in enumerate(idx):
                out[i] = vocabs.decode(result.tokens[row].tolist())
    return out


def bleu_of(model: EncoderDecoder, pairs: Sequence[Pair], beam: int = 1, **options: Any) -> dict[str, Any]:
    """Corpus BLEU/chrF of the model's outputs against the pairs' targets (space-joined)."""
    hyps = translate(model, [p.inputs for p in pairs], beam=beam, **options)
    return corpus_translation_scores([" ".join(h) for h in hyps], [" ".join(p.labels) for p in pairs])
