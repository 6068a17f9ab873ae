"""MLE training of seq2seq models: teacher forcing with scheduled sampling, Adam, clipping,
early stopping on dev BLEU (sacreBLEU), best-model saving, resumable checkpoints, a budget.

`translate` is the batched generation used for dev scoring, `hybrid generate` and benchmarks.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from hybrid.config import Seq2SeqConfig, atomic_write_text, save_json
from hybrid.data.pairs import Pair
from hybrid.data.parallel import Seq2SeqVocabs
from hybrid.decoding import beam_search, greedy, sample
from hybrid.metrics import corpus_translation_scores
from hybrid.models.seq2seq import Seq2Seq
from hybrid.models.seq2seq_io import save_seq2seq
from hybrid.train.checkpoint import load_checkpoint, save_checkpoint, seed_everything

CHECKPOINT = "checkpoint.pt"


def translate(model: Seq2Seq, sources: Sequence[Sequence[str]], beam: int = 1, max_length: int = 100,
              length_penalty: float = 0.0, batch_size: int = 64, temperature: float | None = None,
              top_k: int = 0, generator: torch.Generator | None = None) -> list[list[str]]:
    """Target tokens for each source (input order): greedy (beam 1), beam search, or sampling
    when a temperature is given. Batches are sorted by source length; outputs stop at </s>,
    at `max_length`, or at 2 * (longest source of the batch) + 10 tokens, whichever is first."""
    model.eval()
    vocabs = model.vocabs
    device = next(model.parameters()).device
    special = {"bos": vocabs.bos, "eos": vocabs.eos, "pad": vocabs.target.pad_index}
    order = sorted(range(len(sources)), key=lambda i: len(sources[i]))
    out: list[list[str]] = [[] for _ in sources]
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            batch = vocabs.encode([Pair(tuple(sources[i]), ()) for i in idx], with_targets=False).to(device)
            memory = model.encode(batch.src, batch.src_mask)
            limit = min(max_length, 2 * batch.src.shape[1] + 10)
            if temperature is not None:
                result = sample(model, memory, max_length=limit, temperature=temperature, top_k=top_k,
                                generator=generator, **special)
            elif beam > 1:
                result = beam_search(model, memory, beam=beam, max_length=limit,
                                     length_penalty=length_penalty, **special)
            else:
                result = greedy(model, memory, max_length=limit, **special)
            for row, i in enumerate(idx):
                out[i] = vocabs.decode(result.tokens[row].tolist())
    return out


def bleu_of(model: Seq2Seq, pairs: Sequence[Pair], beam: int = 1, **options: Any) -> dict[str, Any]:
    """Corpus BLEU/chrF of the model's outputs against the pairs' targets (space-joined)."""
    hyps = translate(model, [p.inputs for p in pairs], beam=beam, **options)
    return corpus_translation_scores([" ".join(h) for h in hyps], [" ".join(p.labels) for p in pairs])


def scheduled_sampling_rate(config: Seq2SeqConfig, epoch: int) -> float:
    """Probability of feeding the model's own token in `epoch` (0-based): linear ss_start -> ss_end."""
    t = config.train
    if t.ss_epochs <= 1:
        return t.ss_end
    return t.ss_start + (t.ss_end - t.ss_start) * min(epoch, t.ss_epochs - 1) / (t.ss_epochs - 1)


def train_seq2seq(config: Seq2SeqConfig, train: list[Pair], dev: list[Pair], out_dir: str | Path,
                  resume: bool = False, progress: bool = True, log: Callable[[str], None] | None = None,
                  device: str = "cpu") -> dict[str, Any]:
    """Train on `train`, early-stop on dev BLEU; the best model lands in out_dir/model."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t = config.train
    log = log or (lambda message: None)
    kept = [p for p in train if len(p.inputs) <= t.max_length and len(p.labels) <= t.max_length]
    skipped = len(train) - len(kept)
    if skipped:
        log(f"skipping {skipped} training pairs longer than max_length {t.max_length}")
    seed_everything(t.seed)
    vocabs = Seq2SeqVocabs.build(kept, config.model.src_min_freq, config.model.tgt_min_freq)
    model = Seq2Seq(config.model, vocabs).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=t.lr)
    save_json(config, out / "config.json")
    st: dict[str, Any] = {"epoch": 0, "best": float("-inf"), "best_epoch": 0, "bad_epochs": 0, "elapsed": 0.0,
                          "history": []}
    if resume and (out / CHECKPOINT).is_file():
        ckpt = load_checkpoint(out / CHECKPOINT, device)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        st = ckpt["state"]
        log(f"resumed after epoch {st['epoch']}")
    else:
        (out / "train_log.jsonl").unlink(missing_ok=True)
    budget = None if t.max_minutes is None else 60.0 * t.max_minutes
    started = time.monotonic() - st["elapsed"]
    stop_reason = "epochs"
    while st["epoch"] < t.epochs:
        epoch = st["epoch"]
        rate = scheduled_sampling_rate(config, epoch)
        batches = _batches(kept, t.batch_size, t.seed + epoch)
        generator = torch.Generator(device=device).manual_seed(t.seed * 1000 + epoch)
        model.train()
        total = count = 0.0
        bar = tqdm(batches, desc=f"epoch {epoch + 1}/{t.epochs}", disable=None if progress else True, leave=False)
        for chunk in bar:
            batch = vocabs.encode(chunk).to(device)
            loss = model.loss(batch, feed_own=rate, label_smoothing=t.label_smoothing, generator=generator)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if t.clip_norm > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), t.clip_norm)
            optimizer.step()
            tokens = float(batch.tgt_mask.sum())  # type: ignore[union-attr]
            total, count = total + loss.item() * tokens, count + tokens
            bar.set_postfix(loss=f"{total / count:.3f}", best=f"{st['best']:.2f}")
            if budget is not None and time.monotonic() - started > budget:
                stop_reason = "max_minutes"
                break
        bar.close()
        st["elapsed"] = time.monotonic() - started
        scores = bleu_of(model, dev, beam=t.dev_beam, max_length=2 * t.max_length)
        record = {"epoch": epoch + 1, "loss": total / max(count, 1.0), "dev_bleu": scores["bleu"],
                  "dev_chrf": scores["chrf"], "feed_own": rate, "elapsed_s": round(st["elapsed"], 1)}
        st["history"].append(record)
        improved = scores["bleu"] > st["best"]
        if improved:
            st["best"], st["best_epoch"], st["bad_epochs"] = scores["bleu"], epoch + 1, 0
            save_seq2seq(model, out / "model", config, _summary(st, "running", skipped, scores))
        else:
            st["bad_epochs"] += 1
        log(f"epoch {epoch + 1}: loss {record['loss']:.4f}  dev BLEU {scores['bleu']:.2f}  chrF "
            f"{scores['chrf']:.2f}{'  (best, saved)' if improved else ''}  [{st['elapsed'] / 60:.1f} min]")
        with open(out / "train_log.jsonl", "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        st["epoch"] = epoch + 1
        save_checkpoint(out / CHECKPOINT, {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                           "state": st})
        if stop_reason == "max_minutes":
            break
        if st["bad_epochs"] >= t.patience:
            stop_reason = "patience"
            break
    summary = _summary(st, stop_reason, skipped, None)
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    if (out / "model").is_dir():
        atomic_write_text(out / "model" / "training.json", json.dumps(summary, indent=2) + "\n")
    return summary


def _batches(pairs: list[Pair], batch_size: int, seed: int) -> list[list[Pair]]:
    """Batches of similar source length (little padding), in a seeded random order."""
    rng = random.Random(seed)
    order = sorted(range(len(pairs)), key=lambda i: (len(pairs[i].inputs), rng.random()))
    batches = [[pairs[i] for i in order[s : s + batch_size]] for s in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches


def _summary(st: dict[str, Any], stop_reason: str, skipped: int, scores: dict[str, Any] | None) -> dict[str, Any]:
    summary = {"metric": "bleu", "best_dev": st["best"], "best_epoch": st["best_epoch"],
               "epochs_run": len(st["history"]), "train_minutes": round(st["elapsed"] / 60, 2),
               "stopped_by": stop_reason, "skipped_pairs": skipped, "history": st["history"]}
    if scores is not None:
        summary["bleu_signature"] = scores["bleu_signature"]
    return summary
