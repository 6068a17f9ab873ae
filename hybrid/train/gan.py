"""SeqGAN's pieces (Yu et al. 2017) for the adversarial trainer (hybrid.train.adversarial).

The generator G samples sequences; the discriminator D (hybrid.models.discriminator) judges
(x, y) pairs. Sampled tokens are discrete, so G is trained by policy gradient with D's
judgement as the reward, through `reinforce_loss` of hybrid.train.reinforce:

- per sequence: R(y) = D(x, y) for every token of y;
- per token (SeqGAN): Q(y_1..t) = mean over N rollouts that complete the prefix with G itself
  of D(x, completion); the last token gets D(x, y): `mc_rollout_rewards`
  (hybrid.decoding.rollouts), batched; `token_policy_loss` on those rewards.

D is trained with binary cross-entropy on real pairs (labels 1 - label_smoothing) against
generated ones (0), and, for conditional data, mismatched real pairs (x with another
example's y) as extra negatives (`discriminator_loss`, `fit_discriminator`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from hybrid.config import GANConfig
from hybrid.decoding.rollouts import Judge, mc_rollout_rewards  # noqa: F401  (re-exported)
from hybrid.errors import ConfigError
from hybrid.models.discriminator import Discriminator, Judged
from hybrid.train.reinforce import reinforce_loss


def concat(parts: list[Judged]) -> Judged:
    width = max(p.tokens.shape[1] for p in parts)
    pad = [(0, width - p.tokens.shape[1]) for p in parts]
    tokens = torch.cat([F.pad(p.tokens, w) for p, w in zip(parts, pad, strict=True)])
    mask = torch.cat([F.pad(p.mask, w) for p, w in zip(parts, pad, strict=True)])
    conditions = [(p.src, p.src_mask) for p in parts if p.src is not None and p.src_mask is not None]
    if not conditions:
        return Judged(tokens, mask)
    if len(conditions) != len(parts):
        raise ValueError("cannot join conditional and unconditional pairs")
    s = max(src.shape[1] for src, _ in conditions)
    src = torch.cat([F.pad(src, (0, s - src.shape[1])) for src, _ in conditions])
    src_mask = torch.cat([F.pad(src_mask, (0, s - src_mask.shape[1])) for _, src_mask in conditions])
    return Judged(tokens, mask, src, src_mask)


def mismatched(real: Judged, generator: torch.Generator | None = None) -> Judged:
    """Real outputs paired with other examples' conditions (a derangement by rotation)."""
    if real.src is None or len(real) < 2:
        raise ValueError("mismatched pairs need conditional data with at least 2 examples")
    shift = int(torch.randint(1, len(real), (1,), generator=generator, device=_device_of(generator)))
    order = torch.roll(torch.arange(len(real)), shift)
    return Judged(real.tokens, real.mask, real.src[order], real.src_mask[order])  # type: ignore[index]


def discriminator_loss(d: Discriminator, real: Judged, fake: Judged, label_smoothing: float = 0.0,
                       negatives: Judged | None = None) -> tuple[Tensor, dict[str, float]]:
    """Binary cross-entropy of D on real (target 1 - label_smoothing) vs fake and extra negatives
    (target 0), and D's accuracy on each part. With extra negatives, fake and mismatched pairs
    weigh half each (GAN-CLS, Reed et al. 2016), so real and negative pairs weigh the same."""
    parts = [real, fake] + ([negatives] if negatives is not None else [])
    batch = concat(parts)
    logits = d(batch.tokens, batch.mask, batch.src, batch.src_mask)
    targets = torch.cat([torch.full((len(real),), 1.0 - label_smoothing),
                         torch.zeros(len(batch) - len(real))]).to(logits.device)
    weights = torch.ones_like(targets)
    if negatives is not None:
        weights[len(real):] = 0.5
    loss = F.binary_cross_entropy_with_logits(logits, targets, weight=weights)
    with torch.no_grad():
        said_real = logits > 0
        stats = {"d_loss": float(loss), "d_acc_real": float(said_real[: len(real)].float().mean()),
                 "d_acc_fake": float((~said_real[len(real): len(real) + len(fake)]).float().mean())}
        if negatives is not None:
            stats["d_acc_mismatched"] = float((~said_real[len(real) + len(fake):]).float().mean())
    return loss, stats


def judge_with(d: Discriminator, conditions: Judged | None = None) -> Judge:
    """A Judge that scores sequences with D, each with the condition of its row (if any)."""

    def judge(tokens: Tensor, mask: Tensor, rows: Tensor) -> Tensor:
        src = None if conditions is None or conditions.src is None else conditions.src[rows]
        src_mask = None if conditions is None or conditions.src_mask is None else conditions.src_mask[rows]
        return torch.sigmoid(d(tokens, mask, src, src_mask))

    return judge


def token_policy_loss(token_log_probs: Tensor, rewards: Tensor, mask: Tensor, baseline: str = "mean") -> Tensor:
    """REINFORCE with per-token rewards: -(Q_t - b_t) log p(y_t | y_<t), averaged over real tokens;
    b_t is the batch mean of Q at position t ("mean") or 0 ("none")."""
    if baseline == "mean":
        m = mask.to(rewards.dtype)
        b = ((rewards * m).sum(0) / m.sum(0).clamp_min(1)).expand_as(rewards)
    elif baseline == "none":
        b = torch.zeros_like(rewards)
    else:
        raise ValueError(f"unknown baseline {baseline!r}; expected mean or none")
    return reinforce_loss(token_log_probs[mask], rewards[mask], b[mask])


def _batches(n: int, size: int, generator: torch.Generator | None) -> list[Tensor]:
    return list(torch.randperm(n, generator=generator, device=_device_of(generator)).split(size))


def _device_of(generator: torch.Generator | None) -> torch.device | None:
    """Where a draw from `generator` must be made (a CUDA generator draws on its GPU)."""
    return None if generator is None else generator.device


def fit_discriminator(d: Discriminator, optimizer: torch.optim.Optimizer, real: Judged, fake: Judged,
                      config: GANConfig, generator: torch.Generator | None,
                      negatives: bool = False) -> dict[str, float]:
    """d_epochs of minibatches (batch_size / 2 real + as many fake, and with `negatives` the real
    outputs with rotated conditions). Returns D's accuracy on these pairs before it trained on
    them (fresh samples: a held-out view, d_acc_real/d_acc_fake) and over its last epoch
    (d_fit_acc_*), with that epoch's mean loss."""
    n = min(len(real), len(fake))
    everything = torch.arange(n)
    d.eval()
    with torch.no_grad():
        _, before = discriminator_loss(d, real.rows(everything), fake.rows(everything), config.label_smoothing)
    d.train()
    half = max(1, config.batch_size // 2)
    last: list[dict[str, float]] = []
    for _ in range(config.d_epochs):
        last = []
        for index in _batches(n, half, generator):
            extra = mismatched(real.rows(index), generator) if negatives and len(index) > 1 else None
            loss, stats = discriminator_loss(d, real.rows(index), fake.rows(index), config.label_smoothing, extra)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(d.parameters(), config.clip_norm)
            optimizer.step()
            last.append(stats)
    d.eval()
    fit = {f"d_fit_{k[2:]}" if k != "d_loss" else k: sum(s[k] for s in last) / len(last) for k in last[0]}
    return {"d_acc_real": before["d_acc_real"], "d_acc_fake": before["d_acc_fake"], **fit}


def plot_rounds(steps: list[dict[str, Any]], evals: list[dict[str, Any]], out: Path,
                log: Callable[[str], None]) -> None:
    """gan_curves.png: D's accuracies on fresh real and generated sequences (and on mismatched
    pairs in training, if any) and G's reward per round; score.png: the dev score per round."""
    from hybrid.plots import plot_curves

    curves = {"D accuracy, real": [(r["step"], r["d_acc_real"]) for r in steps],
              "D accuracy, generated": [(r["step"], r["d_acc_fake"]) for r in steps],
              "G reward (D of samples)": [(r["step"], r["g_reward"]) for r in steps]}
    if steps and "d_fit_acc_mismatched" in steps[0]:
        curves["D accuracy, mismatched (training)"] = [(r["step"], r["d_fit_acc_mismatched"]) for r in steps]
    try:
        plot_curves(curves, out / "gan_curves.png", xlabel="round")
        if evals:
            plot_curves({"dev": [(e["step"], e["dev"]) for e in evals]}, out / "score.png", xlabel="round")
    except ConfigError as exc:
        log(f"no curves plot: {exc}")
