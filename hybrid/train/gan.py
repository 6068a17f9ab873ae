"""Conditional GAN training of sequence generators (SeqGAN, Yu et al. 2017), on REINFORCE.

The generator G samples sequences; the discriminator D (hybrid.models.discriminator) judges
(x, y) pairs. Sampled tokens are discrete, so G is trained by policy gradient with D's
judgement as the reward, through `reinforce_loss` of hybrid.train.reinforce:

- per sequence: R(y) = D(x, y) for every token of y;
- per token (SeqGAN): Q(y_1..t) = mean over N rollouts that complete the prefix with G itself
  of D(x, completion); the last token gets D(x, y). `mc_rollout_rewards`, batched.

D is trained with binary cross-entropy on real pairs (labels 1 - label_smoothing) against
generated ones (0), and, for conditional data, mismatched real pairs (x with another
example's y) as extra negatives. `train_lm_gan` runs the loop for an unconditional
LanguageModel: G and D pre-trained, then rounds of g-steps and d-steps, logged, checkpointed
and resumable.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from hybrid.config import GANConfig, atomic_write_text, save_json
from hybrid.decoding.search import categorical, sample
from hybrid.errors import ConfigError
from hybrid.models.discriminator import Discriminator, Judged
from hybrid.models.language_model import EmptyMemory, LanguageModel
from hybrid.train.checkpoint import load_checkpoint, save_checkpoint, seed_everything
from hybrid.train.reinforce import reinforce_loss

CHECKPOINT = "checkpoint.pt"
Judge = Callable[[Tensor, Tensor, Tensor], Tensor]  # (tokens (N, L), mask (N, L), rows (N,)) -> P(real) (N,)


def concat(parts: list[Judged]) -> Judged:
    width = max(p.tokens.shape[1] for p in parts)
    pad = [(0, width - p.tokens.shape[1]) for p in parts]
    tokens = torch.cat([F.pad(p.tokens, w) for p, w in zip(parts, pad, strict=True)])
    mask = torch.cat([F.pad(p.mask, w) for p, w in zip(parts, pad, strict=True)])
    if parts[0].src is None:
        return Judged(tokens, mask)
    s = max(p.src.shape[1] for p in parts)  # type: ignore[union-attr]
    src = torch.cat([F.pad(p.src, (0, s - p.src.shape[1])) for p in parts])  # type: ignore[union-attr]
    src_mask = torch.cat([F.pad(p.src_mask, (0, s - p.src_mask.shape[1])) for p in parts])  # type: ignore[union-attr]
    return Judged(tokens, mask, src, src_mask)


def mismatched(real: Judged, generator: torch.Generator | None = None) -> Judged:
    """Real outputs paired with other examples' conditions (a derangement by rotation)."""
    if real.src is None or len(real) < 2:
        raise ValueError("mismatched pairs need conditional data with at least 2 examples")
    shift = int(torch.randint(1, len(real), (1,), generator=generator))
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


@torch.no_grad()
def mc_rollout_rewards(model: Any, memory: Any, tokens: Tensor, mask: Tensor, judge: Judge, n: int, bos: int,
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


def _complete(model: Any, memory: Any, state: Any, logits: Tensor, prefix: Tensor, steps: int, bos: int, eos: int,
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


# -- the loop for an unconditional LanguageModel --------------------------------------------
def sample_lm(model: LanguageModel, n: int, length: int, eos: int = -1,
              generator: torch.Generator | None = None) -> Judged:
    """n sequences of `length` tokens (or up to eos) from the LM."""
    device = next(model.parameters()).device
    with torch.no_grad():
        out = sample(model, EmptyMemory.of(n, device), bos=model.bos, eos=eos, pad=model.bos, max_length=length,
                     generator=generator)
    return Judged(out.tokens, out.mask)


def _batches(n: int, size: int, generator: torch.Generator | None) -> list[Tensor]:
    return list(torch.randperm(n, generator=generator).split(size))


def train_discriminator(d: Discriminator, optimizer: torch.optim.Optimizer, g: LanguageModel, real: Tensor,
                        config: GANConfig, length: int, generator: torch.Generator) -> dict[str, float]:
    """One d-step: d_samples fresh generated sequences against as many real ones, d_epochs epochs."""
    fake = sample_lm(g, config.d_samples, length, generator=generator)
    pick = torch.randperm(len(real), generator=generator)[: config.d_samples]
    real_part = Judged(real[pick], torch.ones_like(real[pick], dtype=torch.bool))
    return fit_discriminator(d, optimizer, real_part, fake, config, generator)


def fit_discriminator(d: Discriminator, optimizer: torch.optim.Optimizer, real: Judged, fake: Judged,
                      config: GANConfig, generator: torch.Generator | None, negatives: bool = False) -> dict[str, float]:
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


def train_lm_mle(g: LanguageModel, real: Tensor, epochs: int, batch_size: int = 64, lr: float = 1e-2,
                 generator: torch.Generator | None = None, after_epoch: Callable[[int, float], None] | None = None) -> None:
    """Maximum-likelihood (teacher forcing) training of the LM on real sequences (N, L)."""
    optimizer = torch.optim.Adam(g.parameters(), lr=lr)
    g.train()
    for epoch in range(epochs):
        total = 0.0
        batches = _batches(len(real), batch_size, generator)
        for index in batches:
            loss = g.loss(real[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(g.parameters(), 5.0)
            optimizer.step()
            total += loss.item()
        if after_epoch is not None:
            after_epoch(epoch + 1, total / len(batches))
    g.eval()


def train_lm_gan(g: LanguageModel, d: Discriminator, real: Tensor, config: GANConfig, out_dir: str | Path,
                 quality: Callable[[LanguageModel], float] | None = None, resume: bool = False,
                 log: Callable[[str], None] | None = None, judge: Judge | None = None) -> dict[str, Any]:
    """Adversarial training of a pre-trained LM on real sequences (N, L), fixed length L.

    D is pre-trained for pretrain_d_steps d-steps (skipped on resume), then each round runs
    g_steps generator updates on rollout rewards and d_steps d-steps. `quality(g)` (e.g. the
    oracle NLL; lower is better) is logged every eval_every rounds. gan_log.jsonl holds one
    record per round; the checkpoint is written at every evaluation. `judge` replaces D as the
    generator's reward (a control: e.g. a constant shows what policy gradient does without D).
    """
    c = config
    check_config(c)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    log = log or (lambda message: None)
    save_json(c, out / "gan_config.json")
    length = real.shape[1]
    g_opt = torch.optim.Adam(g.parameters(), lr=c.g_lr)
    d_opt = torch.optim.Adam(d.parameters(), lr=c.d_lr)
    generator = torch.Generator().manual_seed(c.seed)
    st: dict[str, Any] = {"round": 0, "elapsed": 0.0, "history": [], "evals": []}
    if resume and (out / CHECKPOINT).is_file():
        st = resume_gan(out, g, d, g_opt, d_opt, generator, log)["state"]
    else:
        seed_everything(c.seed)
        (out / "gan_log.jsonl").unlink(missing_ok=True)
        stats: dict[str, float] = {}
        for _ in range(c.pretrain_d_steps):
            stats = train_discriminator(d, d_opt, g, real, c, length, generator)
        if c.pretrain_d_steps:
            log(f"discriminator pre-trained: accuracy real {stats['d_acc_real']:.2f} fake {stats['d_acc_fake']:.2f}")
        _evaluate(st, g, quality, log)
    started = time.monotonic() - st["elapsed"]
    g_steps_done = st["round"] * c.g_steps
    while st["round"] < c.rounds:
        g.eval()
        d.eval()  # D judges without dropout
        rewards_seen = []
        for _ in range(c.g_steps):
            fake = sample_lm(g, c.batch_size, length, generator=generator)
            memory = EmptyMemory.of(c.batch_size, fake.tokens.device)
            q = mc_rollout_rewards(g, memory, fake.tokens, fake.mask, judge or judge_with(d), c.rollouts, g.bos, -1, g.bos,
                                   length, generator)
            rewards_seen.append(float(q[:, -1].mean()))
            g.train()
            loss = token_policy_loss(g.token_log_probs(fake.tokens, fake.mask), q, fake.mask, c.baseline)
            g_steps_done += 1
            if c.mle_every and g_steps_done % c.mle_every == 0:
                pick = torch.randint(len(real), (c.batch_size,), generator=generator)
                loss = loss + g.loss(real[pick])
            g_opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(g.parameters(), c.clip_norm)
            g_opt.step()
            g.eval()
        for _ in range(c.d_steps):
            stats = train_discriminator(d, d_opt, g, real, c, length, generator)
        st["round"] += 1
        st["elapsed"] = time.monotonic() - started
        record = {"round": st["round"], "g_reward": sum(rewards_seen) / len(rewards_seen), **stats,
                  "elapsed_s": round(st["elapsed"], 1)}
        st["history"].append(record)
        with open(out / "gan_log.jsonl", "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        budget_spent = c.max_minutes is not None and st["elapsed"] > 60 * c.max_minutes
        if st["round"] % c.eval_every == 0 or st["round"] == c.rounds or budget_spent:
            _evaluate(st, g, quality, log)
            save_gan_checkpoint(out, g, d, g_opt, d_opt, generator, st)
        if budget_spent:
            break
    summary = {"rounds": st["round"], "minutes": round(st["elapsed"] / 60, 2), "evals": st["evals"],
               "last": st["history"][-1] if st["history"] else None}
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    plot_rounds(st["history"], st["evals"], out, "quality", log)
    return summary


def save_gan_checkpoint(out: Path, g: torch.nn.Module, d: Discriminator, g_opt: torch.optim.Optimizer,
                        d_opt: torch.optim.Optimizer, generator: torch.Generator, st: dict[str, Any],
                        **extra: Any) -> None:
    """Both models, both optimisers, the sampling generator and the loop state in OUT/checkpoint.pt."""
    save_checkpoint(out / CHECKPOINT, {"g": g.state_dict(), "d": d.state_dict(), "g_opt": g_opt.state_dict(),
                                       "d_opt": d_opt.state_dict(), "generator": generator.get_state(), "state": st,
                                       **extra})


def resume_gan(out: Path, g: torch.nn.Module, d: Discriminator, g_opt: torch.optim.Optimizer,
               d_opt: torch.optim.Optimizer, generator: torch.Generator, log: Callable[[str], None]) -> dict[str, Any]:
    """Restore what `save_gan_checkpoint` wrote; returns the checkpoint (its "state" and extras).
    Rounds logged after the checkpoint run again, so gan_log.jsonl restarts from its history."""
    ckpt = load_checkpoint(out / CHECKPOINT)
    g.load_state_dict(ckpt["g"])
    d.load_state_dict(ckpt["d"])
    g_opt.load_state_dict(ckpt["g_opt"])
    d_opt.load_state_dict(ckpt["d_opt"])
    generator.set_state(ckpt["generator"])
    atomic_write_text(out / "gan_log.jsonl", "".join(json.dumps(r) + "\n" for r in ckpt["state"]["history"]))
    log(f"resumed after round {ckpt['state']['round']}")
    return ckpt


def check_config(c: GANConfig) -> None:
    """Every count the loop divides by or iterates must be positive."""
    for name in ("rounds", "g_steps", "d_steps", "d_epochs", "d_samples", "batch_size", "eval_every"):
        if getattr(c, name) < 1:
            raise ConfigError(f"GAN config: {name} must be >= 1, got {getattr(c, name)}")
    if c.rollouts < 0 or c.pretrain_d_steps < 0 or c.mle_every < 0:
        raise ConfigError("GAN config: rollouts, pretrain_d_steps and mle_every must be >= 0")
    if not 0.0 <= c.label_smoothing < 1.0:
        raise ConfigError(f"GAN config: label_smoothing must be in [0, 1), got {c.label_smoothing}")


def _evaluate(st: dict[str, Any], g: LanguageModel, quality: Callable[[LanguageModel], float] | None,
              log: Callable[[str], None]) -> None:
    if quality is None:
        return
    score = quality(g)
    st["evals"].append({"round": st["round"], "quality": score})
    log(f"round {st['round']}: quality {score:.4f}")


def plot_rounds(history: list[dict[str, Any]], evals: list[dict[str, Any]], out: Path, score: str,
                log: Callable[[str], None]) -> None:
    """gan_curves.png: D's accuracies on fresh real and generated sequences (and on mismatched
    pairs in training, if any) and G's reward per round; `score`.png: evals[...][score] per round."""
    from hybrid.plots import plot_curves

    curves = {"D accuracy, real": [(r["round"], r["d_acc_real"]) for r in history],
              "D accuracy, generated": [(r["round"], r["d_acc_fake"]) for r in history],
              "G reward (D of samples)": [(r["round"], r["g_reward"]) for r in history]}
    if history and "d_fit_acc_mismatched" in history[0]:
        curves["D accuracy, mismatched (training)"] = [(r["round"], r["d_fit_acc_mismatched"]) for r in history]
    try:
        plot_curves(curves, out / "gan_curves.png", xlabel="round")
        if evals:
            plot_curves({score: [(e["round"], e[score]) for e in evals]}, out / f"{score}.png", xlabel="round")
    except ConfigError as exc:
        log(f"no curves plot: {exc}")
