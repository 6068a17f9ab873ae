"""`hybrid classify predict` on many lines: sentences per second and peak memory of the whole
process (start-up included), the lines being SST-2 sentences repeated.

    python benchmarks/classify_throughput.py --model runs/sst2/model --data sst2 --lines 100000
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from itertools import cycle, islice
from pathlib import Path

from benchmarks.tagging_throughput import timed_run
from hybrid.data.labelled import read_labelled


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="a classifier model directory")
    ap.add_argument("--data", default="../shared/data/sst2", help="folder with dev.tsv (the sentences used)")
    ap.add_argument("--lines", type=int, default=100_000)
    ap.add_argument("--batch-size", type=int, default=256)
    args = ap.parse_args()
    sentences = [" ".join(e.tokens) for e in read_labelled(Path(args.data) / "dev.tsv")]
    with tempfile.TemporaryDirectory() as folder:
        text = Path(folder) / "lines.txt"
        text.write_text("".join(s + "\n" for s in islice(cycle(sentences), args.lines)), encoding="utf-8")
        command = [sys.executable, "-m", "cli.main", "classify", "predict", "--model", args.model,
                   "--batch-size", str(args.batch_size), str(text)]
        wall, peak = timed_run(command)
    print(json.dumps({"lines": args.lines, "seconds": round(wall, 1), "sentences_per_second": round(args.lines / wall),
                      "peak_mib": round(peak)}, indent=2))


if __name__ == "__main__":
    main()
