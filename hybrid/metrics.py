"""Tagging metrics: conlleval-compatible span precision/recall/F1 (seqeval) and token accuracy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hybrid.structured.constraints import detect_scheme


def token_accuracy(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> float:
    """Share of tokens whose predicted tag equals the gold tag."""
    _check_aligned(gold, pred)
    total = sum(len(g) for g in gold)
    right = sum(a == b for g, p in zip(gold, pred, strict=True) for a, b in zip(g, p, strict=True))
    return right / total if total else 0.0


def span_scores(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict[str, Any]:
    """Span P/R/F1 (percent) overall and per chunk type, as conlleval computes them.

    seqeval's default (non-strict) mode follows conlleval: an I-X after O opens a chunk.
    """
    from seqeval.metrics import classification_report

    _check_aligned(gold, pred)
    report = classification_report(
        [list(s) for s in gold], [list(s) for s in pred], output_dict=True, zero_division=0
    )
    micro = report.pop("micro avg")
    per_type = {
        kind: {"precision": 100 * float(s["precision"]), "recall": 100 * float(s["recall"]),
               "f1": 100 * float(s["f1-score"]), "support": int(s["support"])}
        for kind, s in sorted(report.items()) if not kind.endswith(" avg")
    }
    return {
        "precision": 100 * float(micro["precision"]), "recall": 100 * float(micro["recall"]),
        "f1": 100 * float(micro["f1-score"]), "per_type": per_type,
    }


def evaluate_tags(
    gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], tags: Sequence[str] | None = None
) -> dict[str, Any]:
    """Accuracy always; span scores too when the tags follow a chunk scheme (BIO/BIOES).

    `tags` is the full tag set (a model's) that decides the scheme; default: the gold tags,
    which miss the scheme when a small gold set happens to hold only O tags.
    """
    result: dict[str, Any] = {
        "sentences": len(gold), "tokens": sum(len(s) for s in gold),
        "accuracy": 100 * token_accuracy(gold, pred),
    }
    scheme_tags = sorted({t for s in gold for t in s}) if tags is None else list(tags)
    if detect_scheme(scheme_tags) is not None:
        result.update(span_scores(gold, pred))
    return result


def edit_distance(a: Sequence[Any], b: Sequence[Any]) -> int:
    """Levenshtein distance: the fewest insertions, deletions and substitutions turning a into b."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1]


def label_error_rate(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict[str, Any]:
    """Scores of unaligned label sequences (CTC): LER = edit distance / reference labels (%),
    label accuracy = 100 - LER (HTK's 'Acc'), and the share of sentences exactly right."""
    if len(gold) != len(pred):
        raise ValueError(f"expected as many predicted sequences as gold ones, got {len(pred)} vs {len(gold)}")
    errors = sum(edit_distance(g, p) for g, p in zip(gold, pred, strict=True))
    labels = sum(len(g) for g in gold)
    ler = 100 * errors / max(labels, 1)
    return {
        "sentences": len(gold), "labels": labels, "errors": errors, "ler": ler, "label_accuracy": 100 - ler,
        "sentence_accuracy": 100 * sum(list(g) == list(p) for g, p in zip(gold, pred, strict=True)) / max(len(gold), 1),
    }


def format_report(result: dict[str, Any]) -> str:
    """A plain-text table of an `evaluate_tags` (or `label_error_rate`) result."""
    if "ler" in result:
        return (f"sentences {result['sentences']}  labels {result['labels']}  errors {result['errors']}  "
                f"LER {result['ler']:.2f}%  label accuracy {result['label_accuracy']:.2f}%  "
                f"sentence accuracy {result['sentence_accuracy']:.2f}%")
    lines = [f"sentences {result['sentences']}  tokens {result['tokens']}  accuracy {result['accuracy']:.2f}%"]
    if "f1" in result:
        lines.append(f"{'type':<10} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>8}")
        for kind, s in result["per_type"].items():
            lines.append(f"{kind:<10} {s['precision']:9.2f} {s['recall']:9.2f} {s['f1']:9.2f} {s['support']:8d}")
        lines.append(f"{'overall':<10} {result['precision']:9.2f} {result['recall']:9.2f} {result['f1']:9.2f}")
    return "\n".join(lines)


def _check_aligned(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> None:
    if len(gold) != len(pred):
        raise ValueError(f"expected as many predicted sentences as gold ones, got {len(pred)} vs {len(gold)}")
    for i, (g, p) in enumerate(zip(gold, pred, strict=True)):
        if len(g) != len(p):
            raise ValueError(f"sentence {i}: expected {len(g)} predicted tags, got {len(p)}")


def corpus_translation_scores(hypotheses: Sequence[str], references: Sequence[str]) -> dict[str, Any]:
    """sacreBLEU corpus BLEU and chrF, with the signatures that record every setting (tokeniser,
    smoothing, version), so scores can be compared across papers. Pass detokenised text where
    you have it; already tokenised text (Multi30k's files) is scored as it is, without
    sacreBLEU's warning about it."""
    from sacrebleu.metrics import BLEU, CHRF

    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    bleu, chrf = BLEU(force=True), CHRF()
    b, c = (bleu.corpus_score(list(hypotheses), [list(references)]),
            chrf.corpus_score(list(hypotheses), [list(references)]))
    return {"bleu": b.score, "chrf": c.score, "bleu_signature": str(bleu.get_signature()),
            "chrf_signature": str(chrf.get_signature()), "sentences": len(hypotheses)}


def classification_scores(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy and macro F1 (percent), precision / recall / F1 / support per class, and the
    confusion matrix (rows: gold, columns: predicted, in `labels` order)."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    index = {label: i for i, label in enumerate(labels)}
    confusion = [[0] * len(labels) for _ in labels]
    for g, p in zip(gold, predicted, strict=True):
        confusion[index[g]][index[p]] += 1
    per_class = {}
    for i, label in enumerate(labels):
        hits, said, support = confusion[i][i], sum(row[i] for row in confusion), sum(confusion[i])
        precision = 100.0 * hits / said if said else 0.0
        recall = 100.0 * hits / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    correct = sum(confusion[i][i] for i in range(len(labels)))
    present = [c for c in per_class.values() if c["support"]]
    return {"examples": len(gold), "accuracy": 100.0 * correct / max(len(gold), 1),
            "macro_f1": sum(c["f1"] for c in present) / max(len(present), 1), "per_class": per_class,
            "labels": list(labels), "confusion": confusion}
