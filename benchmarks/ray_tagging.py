"""Bulk tagging throughput: `hybrid tag` (one process) against `hybrid tag --ray` with 1 and 2
workers on a local Ray cluster, same text, same model; tokens/s of each (start-up included, as
a user waits for it) and that every output equals the single process's.

The text is the words of a CoNLL-U file (UD English EWT train by default), one sentence per
line, repeated to `--tokens` tokens.

    python benchmarks/ray_tagging.py --conllu ud_ewt/en_ewt-ud-train.conllu --tokens 2000000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def sentences(conllu: Path) -> list[str]:
    out, words = [], []
    for line in conllu.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if words:
                out.append(" ".join(words))
                words = []
        elif not line.startswith("#"):
            fields = line.split("\t")
            if fields[0].isdigit():
                words.append(fields[1])
    if words:
        out.append(" ".join(words))
    return out


def timed(cmd: list[str], env: dict[str, str]) -> float:
    started = time.monotonic()
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--conllu", default="../shared/data/ud_ewt/en_ewt-ud-train.conllu")
    ap.add_argument("--tokens", type=int, default=2_000_000)
    ap.add_argument("--model", default=None, help="model directory (default: the bundled POS model)")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--out", default="runs/ray-tagging")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    text = sentences(Path(args.conllu))
    lines, tokens = [], 0
    while tokens < args.tokens:
        for line in text:
            lines.append(line)
            tokens += len(line.split())
            if tokens >= args.tokens:
                break
    corpus = out / "corpus.txt"
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    model = ["--model", args.model] if args.model else []
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    base = [sys.executable, "-m", "cli", "tag", *model]
    rows = [{"how": "hybrid tag (one process)", "seconds": timed([*base, str(corpus), "--output",
                                                                  str(out / "single.txt")], env)}]
    for n in (int(x) for x in args.workers.split(",")):
        folder = out / f"ray-{n}"
        seconds = timed([*base, "--ray", "--workers", str(n), str(corpus), "--output", str(folder)], env)
        same = (folder / "corpus.txt").read_bytes() == (out / "single.txt").read_bytes()
        rows.append({"how": f"hybrid tag --ray --workers {n}", "seconds": seconds, "same_output": same})
    for row in rows:
        row["tokens_per_s"] = round(tokens / row["seconds"])
        row["seconds"] = round(row["seconds"], 1)
    figures = {"tokens": tokens, "sentences": len(lines), "cpus": os.cpu_count(), "rows": rows}
    (out / "figures.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
