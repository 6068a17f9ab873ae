"""SeqGAN's Monte Carlo rollouts (Yu et al. 2017): the reward of each prefix of a generated
sequence is the mean judgement of n completions of it by the generator itself. Works on any
decoder (hybrid.decoding.protocol): seq2seq models, language models, Transformers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from hybrid.decoding.protocol import Decoder, Memory
from hybrid.decoding.search import categorical

Judge = Callable[[Tensor, Tensor, Tensor], Tensor]  # (tokens (N, L), mask (N, L), rows (N,)) -> P(real) (N,)


@torch.no_grad()
def mc_rollout_rewards(model: Decoder[Any, Any], memory: Memory, tokens: Tensor, mask: Tensor, judge: Judge,
                       n: int, bos: int,
                       eos: int, pad: int, max_length: int | None = None,
                       generator: torch.Generator | None = None) -> Tensor:
    """(B, L) rewards of each generated token: Q(y_1..t) = mean of judge over n completions of the
    prefix by `model` (start/step protocol), and judge(y) at the last real token; 0 at padding.
    eos < 0: fixed-length sequences (max_length defaults to L); otherwise completions stop at eos
    or max_length, which must be given.

    A prefix that is already the whole sequence is judged as it is, so its reward is D's score.
    """
    b, length = tokens.shape
    if max_length is None:
        if eos >= 0:
            raise ValueError("give max_length: rollouts that stop at eos run up to the generator's limit")
        max_length = length
    rows = torch.arange(b, device=tokens.device)
    lengths = mask.sum(1)
    rewards = torch.zeros(b, length, device=tokens.device)
    rewards[rows, lengths - 1] = judge(tokens, mask, rows).float()
    if n < 1:  # per-sequence reward: every token gets D(y)
        return rewards.gather(1, (lengths - 1).unsqueeze(1)).expand(b, length) * mask
    start = torch.full((b,), bos, dtype=torch.long, device=tokens.device)
    logits, state, _ = model.step(memory, model.start(memory), start)  # predicts tokens[:, 0]
    for p in range(1, length):
        logits, state, _ = model.step(memory, state, tokens[:, p - 1])  # prefix tokens[:, :p]; predicts p
        open_rows = (lengths > p).nonzero().squeeze(1)
        if open_rows.numel() == 0:
            break
        rep = open_rows.repeat_interleave(n)
        done, done_mask = _complete(model, memory.select(rep), state.select(rep), logits[rep], tokens[rep, :p],
                                    max_length - p, bos, eos, pad, generator)
        scores = judge(done, done_mask, rep).float().view(-1, n).mean(1)
        rewards[open_rows, p - 1] = scores
    return rewards


def _complete(model: Decoder[Any, Any], memory: Memory, state: Any, logits: Tensor, prefix: Tensor, steps: int,
              bos: int, eos: int,
              pad: int, generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
    """Sample up to `steps` more tokens after `prefix` (N, p) from state/logits; stop at eos."""
    out = [prefix]
    alive = torch.ones(prefix.shape[0], dtype=torch.bool, device=prefix.device)
    for s in range(steps):
        logits = logits.float()
        logits[:, [bos, pad]] = float("-inf")  # as never_emit; in place, the step's logits are ours
        token = categorical((logits - logits.max(-1, keepdim=True).values).exp_(), generator)  # unnormalised
        token = torch.where(alive, token, pad)
        out.append(token.unsqueeze(1))
        alive = alive & (token != eos)
        if not bool(alive.any()) or s == steps - 1:
            break
        logits, state, _ = model.step(memory, state, token)
    tokens = torch.cat(out, 1)
    return tokens, tokens != pad
