"""HMM decoding speed: our batched Viterbi on HMM potentials against hmmlearn's decode, same process.

    python benchmarks/hmm_decode_speed.py [--sentences 2000 --tags 17 --vocab 5000 --json out.json]

A random categorical HMM (K tags, V symbols, peaked Dirichlet rows) generates a test set shaped
like a treebank's: `--sentences` sentences, lengths 1..60 from a gamma distribution with mean
about 12. hmmlearn decodes the whole set in one `decode(X, lengths)` call (its fastest use);
ours builds the potentials (an index into log B) and runs `chain.viterbi` over length-sorted
batches of `--batch` sentences, plus the layer path `ClassicHMM.decode` (k-best search, k=1)
and k=5 for reference. Paths and log-probabilities are checked against hmmlearn first. Prints
tokens per second (median of `--repeats` timed runs after one warm-up) and the speed-up.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch
from timing import median_seconds  # benchmarks/timing.py (the script's folder is on sys.path)

from hybrid.structured import chain
from hybrid.structured.hmm_classic import ClassicHMM


def sample_corpus(rng: np.random.Generator, model: ClassicHMM, n: int, max_len: int) -> list[np.ndarray]:
    """n symbol sequences sampled from the HMM; lengths ~ gamma(2, 6) (mean ~12) clipped to 1..max_len."""
    lengths = np.clip(np.rint(rng.gamma(2.0, 6.0, size=n)), 1, max_len).astype(int)
    start = model.log_start.exp().numpy()
    trans = model.log_transitions.exp().numpy()
    emit_cdf = model.log_emissions.exp().numpy().cumsum(axis=1)
    tags = rng.choice(len(start), size=n, p=start)
    seqs = [np.empty(n_i, dtype=np.int64) for n_i in lengths]
    for t in range(int(lengths.max())):
        if t:
            cdf = trans[tags].cumsum(axis=1)
            tags = np.minimum((cdf < rng.random((n, 1))).sum(axis=1), len(start) - 1)
        words = np.minimum((emit_cdf[tags] < rng.random((n, 1))).sum(axis=1), emit_cdf.shape[1] - 1)
        for i in np.nonzero(lengths > t)[0]:
            seqs[i][t] = words[i]
    return seqs


def padded_batches(seqs: list[np.ndarray], batch: int) -> list[tuple[torch.Tensor, torch.Tensor, np.ndarray]]:
    """Length-sorted padded batches: (observations (B, T), mask (B, T), sentence indices)."""
    order = np.argsort([len(s) for s in seqs], kind="stable")
    out = []
    for start in range(0, len(order), batch):
        idx = order[start : start + batch]
        t = max(len(seqs[i]) for i in idx)
        obs = torch.zeros(len(idx), t, dtype=torch.long)
        for row, i in enumerate(idx):
            obs[row, : len(seqs[i])] = torch.from_numpy(seqs[i])
        lengths = torch.tensor([len(seqs[i]) for i in idx])
        out.append((obs, torch.arange(t).unsqueeze(0) < lengths.unsqueeze(1), idx))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sentences", type=int, default=2000)
    ap.add_argument("--tags", type=int, default=17)
    ap.add_argument("--vocab", type=int, default=5000)
    ap.add_argument("--max-len", type=int, default=60)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    k, v = args.tags, args.vocab
    model = ClassicHMM(k, v, dtype=torch.float64)
    model.set_parameters(
        torch.from_numpy(np.log(rng.dirichlet(np.full(k, 0.5)))),
        torch.from_numpy(np.log(rng.dirichlet(np.full(k, 0.3), size=k))),
        torch.from_numpy(np.log(rng.dirichlet(np.full(v, 0.05), size=k) + 1e-12)
                         - np.log1p(v * 1e-12)),
    )
    ref = model.to_hmmlearn()
    seqs = sample_corpus(rng, model, args.sentences, args.max_len)
    x = np.concatenate(seqs).reshape(-1, 1)
    lengths = np.array([len(s) for s in seqs])
    tokens = int(lengths.sum())
    batches = padded_batches(seqs, args.batch)

    def ours() -> list[tuple[torch.Tensor, torch.Tensor]]:
        return [chain.viterbi(model.potentials(obs, mask)) for obs, mask, _ in batches]

    def ours_layer(k_best: int) -> None:
        for obs, mask, _ in batches:
            model.decode(obs, mask, k=k_best)

    # agreement first: the same paths (up to exact ties) and the same total log-probability
    ref_logprob, ref_states = ref.decode(x, lengths, algorithm="viterbi")
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    total, differ = 0.0, 0
    for (paths, scores), (_, _, idx) in zip(ours(), batches, strict=True):
        total += float(scores.sum())
        for row, i in enumerate(idx):
            differ += paths[row, : lengths[i]].tolist() != ref_states[offsets[i] : offsets[i + 1]].tolist()
    assert abs(total - ref_logprob) < 1e-6 * max(1.0, abs(ref_logprob)), (total, ref_logprob)

    with torch.no_grad():
        t_ref = median_seconds(lambda: ref.decode(x, lengths, algorithm="viterbi"), args.repeats)
        t_ours = median_seconds(ours, args.repeats)
        t_k1 = median_seconds(lambda: ours_layer(1), args.repeats)
        t_k5 = median_seconds(lambda: ours_layer(5), args.repeats)
    figures = {
        "sentences": args.sentences, "tokens": tokens, "mean_length": tokens / args.sentences,
        "tags": k, "vocab": v, "batch": args.batch, "threads": args.threads,
        "paths_differing_from_hmmlearn": differ, "total_logprob_ours": total, "total_logprob_hmmlearn": ref_logprob,
        "hmmlearn_tokens_per_s": tokens / t_ref, "viterbi_tokens_per_s": tokens / t_ours,
        "classic_decode_k1_tokens_per_s": tokens / t_k1, "classic_decode_k5_tokens_per_s": tokens / t_k5,
        "speedup_vs_hmmlearn": t_ref / t_ours,
    }
    print(f"{args.sentences} sentences, {tokens} tokens (mean length {tokens / args.sentences:.1f}), "
          f"K={k}, V={v}, batches of {args.batch}, {args.threads} torch thread(s)")
    print(f"agreement: total log-prob {total:.6f} vs hmmlearn {ref_logprob:.6f}; "
          f"{differ} of {args.sentences} paths differ (ties)")
    print(f"hmmlearn decode (one call, lengths): {tokens / t_ref:>12,.0f} tokens/s  ({1000 * t_ref:.1f} ms)")
    print(f"hybrid chain.viterbi (batched)     : {tokens / t_ours:>12,.0f} tokens/s  ({1000 * t_ours:.1f} ms)"
          f"   speed-up x{t_ref / t_ours:.1f}")
    print(f"hybrid ClassicHMM.decode k=1       : {tokens / t_k1:>12,.0f} tokens/s  ({1000 * t_k1:.1f} ms)")
    print(f"hybrid ClassicHMM.decode k=5       : {tokens / t_k5:>12,.0f} tokens/s  ({1000 * t_k5:.1f} ms)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)


if __name__ == "__main__":
    main()
