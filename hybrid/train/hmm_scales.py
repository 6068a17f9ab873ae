"""Choose the DNN-HMM hybrid's prior and transition scales on dev, as speech recognisers tune
their acoustic/LM weights: the network is trained with per-token cross-entropy, so the scales
only change decoding and can be picked after training from one pass of the encoder."""

from __future__ import annotations

import itertools
from typing import Any

import torch

from hybrid.data.sentence import Sentence
from hybrid.metrics import evaluate_tags
from hybrid.models.tagger import Tagger, encode_for_prediction
from hybrid.structured.hmm import HMMLayer

PRIOR_SCALES = (0.0, 0.25, 0.5, 0.75, 1.0)
TRANSITION_SCALES = (0.5, 0.75, 1.0, 1.5, 2.0)


def tune_hmm_scales(
    tagger: Tagger, dev: list[Sentence], metric: str,
    prior_scales: tuple[float, ...] = PRIOR_SCALES, transition_scales: tuple[float, ...] = TRANSITION_SCALES,
) -> dict[str, Any]:
    """Set the layer's (prior_scale, transition_scale) to the grid point with the best dev
    `metric` (ties: the first in grid order) and return the choice with every point's score."""
    layer = tagger.layer
    if not isinstance(layer, HMMLayer):
        raise TypeError(f"scales belong to the HMM hybrid layer, this tagger has {type(layer).__name__}")
    tagger.eval()
    device = next(tagger.parameters()).device
    names = tagger.tag_names
    gold = [s.tags for s in dev]
    cached = []  # (sentence indices, emissions (B, T, K), mask (B, T)): the encoder runs once
    with torch.inference_mode():
        for idx, batch in encode_for_prediction(tagger.vocabs, dev).batches:
            batch = batch.to(device)
            cached.append((idx, tagger.emissions(batch), batch.mask))
        grid = []
        for prior, weight in itertools.product(prior_scales, transition_scales):
            layer.prior_scale, layer.transition_scale = prior, weight
            predicted: list = [None] * len(dev)
            for idx, emissions, mask in cached:
                paths = layer.decode(emissions, mask, 1)[0][:, 0].tolist()
                lengths = mask.sum(1).tolist()
                for row, i in enumerate(idx):
                    predicted[i] = [names[t] for t in paths[row][: lengths[row]]]
            score = evaluate_tags(gold, predicted, names)[metric]  # type: ignore[arg-type]
            grid.append({"prior_scale": prior, "transition_scale": weight, "dev": score})
    best = max(grid, key=lambda g: g["dev"])
    layer.prior_scale, layer.transition_scale = best["prior_scale"], best["transition_scale"]
    return {"prior_scale": best["prior_scale"], "transition_scale": best["transition_scale"],
            "dev": best["dev"], "grid": grid}
