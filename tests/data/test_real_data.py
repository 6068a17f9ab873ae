"""Full corpora from ../shared/data read with the right sentence counts (slow; skipped if absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybrid.data.readers import read_conll, read_conllu
from hybrid.data.writers import format_tagged

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
CASES = [
    (read_conllu, "ud_ewt/en_ewt-ud-train.conllu", 12_544),
    (read_conll, "conll2000/train.txt", 8_936),
]


@pytest.mark.slow
@pytest.mark.parametrize("reader, name, count", CASES)
def test_full_corpus(reader, name, count):
    path = DATA / name
    if not path.is_file():
        pytest.skip(f"{path} not available")
    n = 0
    stripped = []
    for s in reader(path):
        n += 1
        assert s.tags is not None and len(s.tags) == len(s.words) > 0
        tagged = format_tagged(s, s.tags)
        stripped.append("\n".join(line.rsplit("\t", 1)[0] if i in s.token_rows else line
                                  for i, line in enumerate(tagged.split("\n")[:-2])))
    assert n == count
    assert "\n\n".join(stripped) + "\n\n" == path.read_text(encoding="utf-8")  # verbatim round trip
