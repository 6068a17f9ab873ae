"""Throughput of `hybrid tag` with the bundled model, as a user runs it (whole process).

    python benchmarks/tagging_throughput.py --data ../shared/data/ud_ewt --repeat 10 --engine onnx --engine torch

Writes the EWT test set repeated `--repeat` times (CoNLL-U and plain text), runs
`hybrid tag --engine E` on each in a fresh process under /usr/bin/time, and reports tokens
per second, peak resident memory, and the wall time of tagging one sentence from a cold start.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hybrid.data.readers import read_conllu


def timed_run(command: list[str], stdin: str | None = None) -> tuple[float, float]:
    """(wall seconds, peak RSS in MiB) of one process; its stdout is discarded."""
    time_bin = shutil.which("time") or "/usr/bin/time"
    start = time.perf_counter()
    done = subprocess.run(
        [time_bin, "-v", *command], input=stdin, text=True, capture_output=True, check=True
    )
    wall = time.perf_counter() - start
    peak_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1))
    return wall, peak_kb / 1024


def measure(engine: str, test: Path, sentences: list, tokens: int, args: argparse.Namespace) -> dict[str, object]:
    """Text and CoNLL-U throughput and the one-sentence cold start of `hybrid tag --engine engine`."""
    hybrid = [sys.executable, "-m", "cli.main", "tag", "--engine", engine]
    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        conllu = Path(tmp) / "big.conllu"
        conllu.write_text(test.read_text(encoding="utf-8") * args.repeat, encoding="utf-8")
        text = Path(tmp) / "big.txt"
        text.write_text("".join(" ".join(s.words) + "\n" for s in sentences) * args.repeat, encoding="utf-8")
        for name, path, fmt in (("conllu", conllu, "conllu"), ("text", text, "text")):
            wall, peak = timed_run([*hybrid, "--format", fmt, "--output", str(Path(tmp) / "out"), str(path)])
            figures[name] = {"seconds": round(wall, 2), "tokens_per_s": round(tokens / wall), "peak_mib": round(peak)}
            print(f"{engine:5s} {name:7s}: {tokens} tokens in {wall:.2f} s = {tokens / wall:,.0f} tokens/s, "
                  f"peak {peak:.0f} MiB")
    colds = [timed_run(hybrid, stdin="The quick brown fox jumps over the lazy dog .\n")[0]
             for _ in range(args.cold_runs)]
    figures["cold_start_s"] = round(min(colds), 2)
    print(f"{engine:5s} cold start, one sentence: {min(colds):.2f} s (best of {args.cold_runs}; "
          f"all: {', '.join(f'{c:.2f}' for c in colds)})")
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data/ud_ewt")
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--cold-runs", type=int, default=3)
    ap.add_argument("--engine", action="append", choices=["auto", "onnx", "torch"],
                    help="engine(s) of `hybrid tag` to measure, side by side (default: auto)")
    ap.add_argument("--out", default="runs/tagging_throughput.json")
    args = ap.parse_args()
    test = Path(args.data) / "en_ewt-ud-test.conllu"
    sentences = list(read_conllu(test, "form", "upos"))
    tokens = sum(len(s.words) for s in sentences) * args.repeat
    figures: dict[str, object] = {"tokens": tokens, "repeat": args.repeat}
    for engine in args.engine or ["auto"]:
        figures[engine] = measure(engine, test, sentences, tokens, args)
    for module in ("torch", "onnxruntime"):
        imports = [timed_run([sys.executable, "-c", f"import {module}"])[0] for _ in range(args.cold_runs)]
        figures[f"python_import_{module}_s"] = round(min(imports), 2)
        print(f"`python -c 'import {module}'` alone: {min(imports):.2f} s (best of {args.cold_runs})")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
