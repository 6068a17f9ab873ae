"""SeqGAN's synthetic oracle experiment (Yu et al. 2017, Table 1), on this machine.

A randomly initialised LSTM (the oracle: vocabulary 5000, embedding and hidden 32, every
parameter from N(0, 1)) generates 10,000 training sequences of 20 tokens. A generator of the
same shape is trained on them by maximum likelihood, then adversarially (policy gradient on a
discriminator's Monte Carlo rollout rewards). Quality is the oracle's NLL per token of 10,000
generated sequences (lower is better). The paper: random 10.310, MLE 9.038, SeqGAN 8.736.

Then both generators are swept across sampling temperatures (hybrid.train.sweeps.oracle_sweep):
quality (oracle NLL of samples) against coverage (NLL of held-out oracle data at the same
temperature), in OUT/seedS/result.json and sweep.png; benchmarks/oracle_curves.py draws
several runs (seeds, controls) on one PNG.

    python benchmarks/seqgan_oracle.py --seed 1 --out runs/seqgan-oracle
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import torch

from hybrid.config import GANConfig, atomic_write_text
from hybrid.models.discriminator import Discriminator
from hybrid.models.language_model import LanguageModel
from hybrid.train.adversarial import adversarial_finetune
from hybrid.train.language_model import LanguageModelTrainer
from hybrid.train.loop import Schedule, run
from hybrid.train.policies import FixedLengthLMPolicy, sample_fixed_length
from hybrid.train.sweeps import oracle_sweep, plot_sweeps

# the oracle sweep's axes: lower-left is better (samples the oracle likes, data the model covers)
ORACLE_AXES = {"x": "held_out_nll", "y": "oracle_nll",
               "x_label": "NLL of held-out oracle data (coverage; lower better)",
               "y_label": "oracle NLL of samples (quality; lower better)"}


def oracle_nll(oracle: LanguageModel, g: LanguageModel, n: int, length: int, seed: int) -> float:
    """The oracle's mean NLL per token of n sequences sampled from g (fixed sampling seed)."""
    generator = torch.Generator().manual_seed(seed)
    total = 0.0
    with torch.no_grad():
        for start in range(0, n, 1000):
            tokens = sample_fixed_length(g, min(1000, n - start), length, generator=generator)
            total += float(-oracle.token_log_probs(tokens).sum())
    return total / (n * length)


def sweep(oracle: LanguageModel, models: dict[str, LanguageModel], args: argparse.Namespace,
          out: Path) -> dict[str, list[dict[str, float]]]:
    """Each model swept across the temperatures against held-out oracle data (oracle_sweep); the
    quality / coverage PNG in OUT/sweep.png."""
    held_out = sample_fixed_length(oracle, args.samples, args.length, generator=torch.Generator().manual_seed(54321))
    temperatures = [float(t) for t in args.temperatures.split(",")]
    swept = {name: oracle_sweep(oracle, model, held_out, temperatures, samples=args.eval_samples)
             for name, model in models.items()}
    plot_sweeps(swept, out / "sweep.png", f"oracle, seed {args.seed}", **ORACLE_AXES)
    return swept


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--vocab", type=int, default=5000)
    ap.add_argument("--dim", type=int, default=32)
    ap.add_argument("--length", type=int, default=20)
    ap.add_argument("--samples", type=int, default=10_000)
    ap.add_argument("--mle-epochs", type=int, default=50)
    ap.add_argument("--mle-lr", type=float, default=1e-2)
    ap.add_argument("--rounds", type=int, default=60)
    ap.add_argument("--rollouts", type=int, default=16)
    ap.add_argument("--g-lr", type=float, default=1e-2, help="SeqGAN's generator learning rate (Adam)")
    ap.add_argument("--baseline", choices=["none", "mean"], default="none", help="SeqGAN uses none")
    ap.add_argument("--d-steps", type=int, default=3)
    ap.add_argument("--d-epochs", type=int, default=2)
    ap.add_argument("--d-samples", type=int, default=2048)
    ap.add_argument("--pretrain-d-steps", type=int, default=10)
    ap.add_argument("--eval-samples", type=int, default=2000, help="sequences per NLL check during training")
    ap.add_argument("--max-minutes", type=float, default=None, help="budget of the adversarial phase")
    ap.add_argument("--control", action="store_true",
                    help="replace D's reward by a constant 0.5 (what policy gradient alone does to the oracle NLL)")
    ap.add_argument("--from-mle", metavar="PT", help="start from a saved MLE generator (OUT/seedS/mle.pt of a run "
                    "with the same seed and settings) instead of training one")
    ap.add_argument("--tag", default="", help="suffix of the output folder")
    ap.add_argument("--temperatures", default="0.7,0.8,0.9,1.0,1.1,1.2,1.35",
                    help="the sweep's sampling temperatures, separated by commas")
    ap.add_argument("--sweep-only", action="store_true",
                    help="redo the temperature sweep of a finished run (OUT/seedS[-control]: its mle.pt and "
                         "adversarial.pt) into its result.json and sweep.png, training nothing")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="runs/seqgan-oracle")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out) / f"seed{args.seed}{'-control' if args.control else ''}{args.tag}"
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    v, bos = args.vocab + 1, args.vocab  # ids 0..vocab-1 are tokens; id vocab is <s>, fed but never emitted
    torch.manual_seed(args.seed)
    oracle = LanguageModel(v, args.dim, args.dim, bos=bos).init_normal_(1.0).eval()
    if args.sweep_only:
        models = {}
        for name in ("mle", "adversarial"):
            models[name] = LanguageModel(v, args.dim, args.dim, bos=bos).eval()
            models[name].load_state_dict(torch.load(out / f"{name}.pt"))
        result = json.loads((out / "result.json").read_text(encoding="utf-8"))
        result["sweep"] = sweep(oracle, models, args, out)
        atomic_write_text(out / "result.json", json.dumps(result, indent=2) + "\n")
        print(f"swept again: {out / 'result.json'}")
        return
    real = list(sample_fixed_length(oracle, args.samples, args.length,
                                    generator=torch.Generator().manual_seed(args.seed)))
    g = LanguageModel(v, args.dim, args.dim, bos=bos).eval()

    def nll(model: LanguageModel, n: int = args.samples) -> float:
        return oracle_nll(oracle, model, n, args.length, seed=12345)

    # the dev score of both phases: minus the oracle NLL of eval_samples generated sequences
    policy = FixedLengthLMPolicy(g, args.length, lambda model: -nll(model, args.eval_samples), "minus_oracle_nll")

    rows = {"random": nll(g)}
    print(f"random generator: oracle NLL {rows['random']:.3f}", flush=True)
    t0 = time.monotonic()
    if args.from_mle:
        g.load_state_dict(torch.load(args.from_mle))
    else:
        mle = LanguageModelTrainer(policy, real, [], lr=args.mle_lr, batch_size=64, seed=args.seed)
        run(mle, Schedule(epochs=args.mle_epochs, seed=args.seed), out / "mle", progress=False,
            log=lambda m: print("  MLE " + m, flush=True))
        g.eval()
    rows["mle"] = nll(g)
    mle_minutes = (time.monotonic() - t0) / 60
    how = f"loaded from {args.from_mle}" if args.from_mle else f"{args.mle_epochs} epochs, {mle_minutes:.1f} min"
    print(f"MLE ({how}): oracle NLL {rows['mle']:.3f}", flush=True)
    mle_model = copy.deepcopy(g)
    torch.save(g.state_dict(), out / "mle.pt")
    config = GANConfig(rounds=args.rounds, rollouts=args.rollouts, g_lr=args.g_lr,
                       baseline=args.baseline, d_steps=args.d_steps,
                       d_epochs=args.d_epochs, d_samples=args.d_samples, pretrain_d_steps=args.pretrain_d_steps,
                       eval_every=10, max_minutes=args.max_minutes, seed=args.seed, d_batch=args.d_samples,
                       batch_size=64, max_length=args.length, g_steps=1, d_lr=1e-4, mle_every=0, samples=1)
    d = Discriminator(v, embedding_dim=64, hidden_size=64)
    t0 = time.monotonic()
    constant = (lambda tokens, mask, rows: torch.full((len(tokens),), 0.5)) if args.control else None
    summary = adversarial_finetune(policy, d, real, [], config, out / "adversarial", progress=False,
                                   log=lambda m: print("  " + m, flush=True), judge=constant)
    rows["adversarial"] = nll(g)
    rows["mle (same generator, re-measured)"] = nll(mle_model)
    torch.save(g.state_dict(), out / "adversarial.pt")
    swept = sweep(oracle, {"mle": mle_model, "adversarial": g}, args, out)
    result = {"seed": args.seed, "oracle_nll": rows, "mle_minutes": round(mle_minutes, 1),
              "adversarial_minutes": round((time.monotonic() - t0) / 60, 1), "rounds": summary["steps_run"],
              "total_minutes": round((time.monotonic() - started) / 60, 1), "settings": vars(args),
              "control": args.control, "sweep": swept,
              "paper": {"random": 10.310, "mle": 9.038, "schedule sampling": 8.985, "pg-bleu": 8.946, "seqgan": 8.736}}
    atomic_write_text(out / "result.json", json.dumps(result, indent=2) + "\n")
    print(f"\n{'generator':<14} {'oracle NLL':>10}   (paper)")
    for name, paper in (("random", 10.310), ("mle", 9.038), ("adversarial", 8.736)):
        label = "pg, reward 0.5" if args.control and name == "adversarial" else name
        print(f"{label:<14} {rows[name]:10.3f}   ({paper})")
    print(f"total {result['total_minutes']} min; {out / 'result.json'}")


if __name__ == "__main__":
    main()
