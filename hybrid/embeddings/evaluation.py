"""Intrinsic evaluation of word vectors: analogies (3CosAdd and 3CosMul), word similarity
(Spearman's rho against human scores) and nearest neighbours, by cosine similarity.

Analogies follow the usual protocol (Mikolov et al. 2013; gensim's `evaluate_word_analogies`):
only the `restrict` most frequent words (the first rows of the vectors) are candidates, a
question with a word outside them is counted as unknown and not scored, and the three question
words are never the answer. Words are compared case-folded by default: a predicted "Queen"
answers "queen", and case variants of the question words are excluded too. The Google file's
sections starting with "gram" are syntactic, the others semantic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hybrid.data.lines import numbered_lines
from hybrid.embeddings.formats import WordVectors
from hybrid.errors import DataFormatError


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (zero rows stay zero)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


@dataclass
class AnalogySection:
    name: str
    questions: list[tuple[str, str, str, str]] = field(default_factory=list)  # a : b :: c : d


def read_analogies(path: str | Path) -> list[AnalogySection]:
    """Sections of `: name` headers followed by `a b c d` lines (the Google analogy format)."""
    sections: list[AnalogySection] = []
    for number, line in numbered_lines(path):
        if not line.strip():
            continue
        if line.startswith(":"):
            sections.append(AnalogySection(line[1:].strip()))
            continue
        words = line.split()
        if len(words) != 4:
            raise DataFormatError(f"expected four words (a b c d), got {len(words)}", path, number)
        if not sections:
            sections.append(AnalogySection("questions"))
        sections[-1].questions.append((words[0], words[1], words[2], words[3]))
    if not any(s.questions for s in sections):
        raise DataFormatError("no analogy questions in the file", path)
    return sections


def analogy_scores(vectors: WordVectors, sections: Sequence[AnalogySection], restrict: int = 30000,
                   lowercase: bool = True, batch: int = 512) -> dict[str, Any]:
    """Accuracy (%) of 3CosAdd (argmax cos(x, b - a + c)) and 3CosMul (argmax cos(x,b) cos(x,c) /
    (cos(x,a) + 1e-3), cosines shifted to [0, 1]) per section, semantic, syntactic and overall,
    with the counts of questions seen, scored and unknown."""
    kept = vectors.top(restrict)
    unit = unit_rows(kept.vectors.astype(np.float32))  # (V, D)
    index: dict[str, int] = {}
    canonical = np.empty(len(kept), dtype=np.int64)  # each row -> the first row of its (case-folded) word
    for i, word in enumerate(kept.words):
        canonical[i] = index.setdefault(word.lower() if lowercase else word, i)
    result: dict[str, Any] = {"sections": {}, "restrict": restrict}
    totals = {"semantic": [0, 0, 0, 0], "syntactic": [0, 0, 0, 0]}  # add right, mul right, scored, unknown
    for section in sections:
        ids, unknown = [], 0
        for question in section.questions:
            found = [index.get(w.lower() if lowercase else w) for w in question]
            if any(i is None for i in found):
                unknown += 1
            else:
                ids.append(found)
        add_right = mul_right = 0
        for start in range(0, len(ids), batch):
            q = np.asarray(ids[start : start + batch])  # (N, 4)
            a, b, c = unit[q[:, 0]], unit[q[:, 1]], unit[q[:, 2]]
            cos_a, cos_b, cos_c = a @ unit.T, b @ unit.T, c @ unit.T  # (N, V)
            add = cos_b - cos_a + cos_c
            mul = ((cos_b + 1) / 2) * ((cos_c + 1) / 2) / ((cos_a + 1) / 2 + 1e-3)
            # the question words (and their case variants) are never the answer
            asked = np.zeros(add.shape, dtype=bool)
            for column in range(3):
                asked |= canonical[None, :] == q[:, column : column + 1]
            add[asked] = -np.inf
            mul[asked] = -np.inf
            add_right += int((canonical[add.argmax(1)] == q[:, 3]).sum())  # "Queen" answers "queen"
            mul_right += int((canonical[mul.argmax(1)] == q[:, 3]).sum())
        kind = "syntactic" if section.name.startswith("gram") else "semantic"
        for j, value in enumerate((add_right, mul_right, len(ids), unknown)):
            totals[kind][j] += value
        result["sections"][section.name] = _accuracies(add_right, mul_right, len(ids), unknown)
    for kind, (add_right, mul_right, scored, unknown) in totals.items():
        result[kind] = _accuracies(add_right, mul_right, scored, unknown)
    all_ = [sum(v[j] for v in totals.values()) for j in range(4)]
    result["total"] = _accuracies(*all_)
    return result


def _accuracies(add_right: int, mul_right: int, scored: int, unknown: int) -> dict[str, Any]:
    return {"3cosadd": 100.0 * add_right / scored if scored else 0.0,
            "3cosmul": 100.0 * mul_right / scored if scored else 0.0, "scored": scored, "unknown": unknown}


def read_similarity(path: str | Path) -> list[tuple[str, str, float]]:
    """(word, word, human score) from `w1<TAB>w2<TAB>score` lines; `#` lines are comments."""
    pairs = []
    for number, line in numbered_lines(path):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t") if "\t" in line else line.split()
        if len(fields) < 3:
            raise DataFormatError("expected word, word and a score", path, number)
        try:
            pairs.append((fields[0], fields[1], float(fields[2])))
        except ValueError:
            raise DataFormatError(f"expected a numeric score, got {fields[2]!r}", path, number) from None
    if not pairs:
        raise DataFormatError("no word pairs in the file", path)
    return pairs


def similarity_scores(vectors: WordVectors, pairs: Sequence[tuple[str, str, float]],
                      lowercase: bool = True) -> dict[str, Any]:
    """Spearman's rho (in [-1, 1]) between the cosine of each known pair and the human scores;
    pairs with an unknown word are counted and left out."""
    from scipy.stats import spearmanr

    index = {(w.lower() if lowercase else w): i for i, w in reversed(list(enumerate(vectors.words)))}
    unit = unit_rows(vectors.vectors.astype(np.float32))
    model, human, unknown = [], [], 0
    for a, b, score in pairs:
        i, j = index.get(a.lower() if lowercase else a), index.get(b.lower() if lowercase else b)
        if i is None or j is None:
            unknown += 1
            continue
        model.append(float(unit[i] @ unit[j]))
        human.append(score)
    rho = float(spearmanr(model, human).statistic) if len(model) > 1 else float("nan")
    return {"spearman": rho, "pairs": len(model), "unknown": unknown}


def nearest_words(vectors: WordVectors, query: np.ndarray, k: int = 10,
                  exclude: Sequence[str] = ()) -> list[tuple[str, float]]:
    """The k words whose vectors are most cosine-similar to `query` (D,), best first."""
    unit = unit_rows(vectors.vectors.astype(np.float32))
    q = query / (np.linalg.norm(query) or 1.0)
    scores = unit @ q.astype(np.float32)  # (V,)
    for word in exclude:
        if word in vectors.index:
            scores[vectors.index[word]] = -np.inf
    best = np.argsort(-scores, kind="stable")[:k]
    return [(vectors.words[i], float(scores[i])) for i in best if np.isfinite(scores[i])]


def analogy(vectors: WordVectors, a: str, b: str, c: str, k: int = 5) -> list[tuple[str, float]]:
    """a is to b as c is to ...: the k best answers by 3CosAdd, the question words excluded."""
    missing = [w for w in (a, b, c) if w not in vectors.index]
    if missing:
        raise KeyError(f"not in the vectors: {', '.join(missing)}")
    unit = unit_rows(vectors.vectors.astype(np.float32))
    ia, ib, ic = (vectors.index[w] for w in (a, b, c))
    return nearest_words(vectors, unit[ib] - unit[ia] + unit[ic], k, exclude=(a, b, c))
