"""Temperature sweeps: near-zero temperature gives greedy outputs (every sample the same: pairwise
BLEU 100, BLEU the greedy output's), higher temperatures give more diverse samples, bad settings
are refused, and the CLI draws the curves."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cli.main import cli
from hybrid.data.parallel import Seq2SeqVocabs
from hybrid.errors import ConfigError
from hybrid.models.seq2seq_io import save_seq2seq_as_is
from hybrid.train.policies import Seq2SeqPolicy
from hybrid.train.sweeps import corpus_bleu, frontier, margins_over, temperature_sweep
from tests.seq2seq_tiny import random_pairs, tiny_model

PAIRS = random_pairs(30, seed=2, max_len=5)
VOCABS = Seq2SeqVocabs.build(PAIRS)


def test_a_cold_sweep_is_greedy_and_heat_brings_diversity():
    policy = Seq2SeqPolicy(tiny_model(VOCABS, 0, scale=3.0))
    cold, hot = temperature_sweep(policy, PAIRS, [1e-4, 3.0], samples=3, max_length=6, batch_size=7)
    assert cold["pairwise_bleu"] == pytest.approx(100.0)
    greedy = policy.greedy(PAIRS, 6)
    assert cold["bleu"] == pytest.approx(corpus_bleu(greedy, policy.references(PAIRS)))
    assert hot["pairwise_bleu"] < 50.0 and hot["temperature"] == 3.0


@pytest.mark.parametrize(("settings", "message"), [({"samples": 1}, "at least 2 samples"),
                                                   ({"temperatures": [0.0]}, "temperatures must be > 0")])
def test_bad_settings_are_refused(settings, message):
    policy = Seq2SeqPolicy(tiny_model(VOCABS, 0))
    with pytest.raises(ConfigError, match=message):
        temperature_sweep(policy, PAIRS, **{"temperatures": [1.0], **settings})


def test_the_cli_draws_one_curve_per_model(tmp_path):
    for name, seed in (("a", 0), ("b", 1)):
        save_seq2seq_as_is(tiny_model(VOCABS, seed, scale=2.0), tmp_path / name)
    (tmp_path / "src").write_text("\n".join(" ".join(p.inputs) for p in PAIRS) + "\n", encoding="utf-8")
    (tmp_path / "ref").write_text("\n".join(" ".join(p.labels) for p in PAIRS) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["temperature-sweep", "--model", str(tmp_path / "a"), "--model",
                                      str(tmp_path / "b"), "--label", "MLE", "--label", "RL", "--src",
                                      str(tmp_path / "src"), "--ref", str(tmp_path / "ref"), "--temperatures",
                                      "0.5,1.5", "--samples", "2", "--max-sentences", "10", "--out",
                                      str(tmp_path / "s.png"), "--json", str(tmp_path / "s.json"), "-q"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
    curves = json.loads((tmp_path / "s.json").read_text())["curves"]
    assert list(curves) == ["MLE", "RL"] and [p["temperature"] for p in curves["RL"]] == [0.5, 1.5]
    written = json.loads((tmp_path / "s.json").read_text())
    assert written["beyond"] == "MLE" and written["margins"]["RL"] == margins_over(
        curves["RL"], curves["MLE"], "pairwise_bleu", "bleu", higher_is_better=True)
    assert result.output.count("beyond MLE") + result.output.count("outside MLE's range") == 2
    bad = CliRunner().invoke(cli, ["temperature-sweep", "--model", str(tmp_path / "a"), "--label", "x", "--label",
                                   "y", "--src", str(tmp_path / "src"), "--ref", str(tmp_path / "ref"), "--out",
                                   str(tmp_path / "t.png")])
    assert bad.exit_code == 2 and "2 --label for 1 --model" in bad.output
    cold = CliRunner().invoke(cli, ["temperature-sweep", "--model", str(tmp_path / "a"), "--src",
                                    str(tmp_path / "src"), "--ref", str(tmp_path / "ref"), "--temperatures", "0,1",
                                    "--out", str(tmp_path / "t.png")])
    assert cold.exit_code == 2 and "temperatures > 0" in cold.output


def test_the_oracle_sweep_of_the_oracle_itself():
    """Model = oracle at temperature 1: both NLLs estimate the oracle's entropy per token; colder
    samples score better under the oracle while the held-out data scores worse."""
    import torch

    from hybrid.models.language_model import LanguageModel
    from hybrid.train.policies import sample_fixed_length
    from hybrid.train.sweeps import oracle_sweep

    torch.manual_seed(0)
    oracle = LanguageModel(9, 8, 8, bos=8).init_normal_(1.0).eval()
    held_out = sample_fixed_length(oracle, 1500, 6, torch.Generator().manual_seed(1))
    cold, warm = oracle_sweep(oracle, oracle, held_out, [0.5, 1.0], samples=1500, batch_size=400)
    assert warm["oracle_nll"] == pytest.approx(warm["held_out_nll"], rel=0.05)
    assert cold["oracle_nll"] < warm["oracle_nll"] - 0.1 and cold["held_out_nll"] > warm["held_out_nll"] + 0.1
    # colder samples repeat each other more (with 100 words: with 9, every bigram recurs at any temperature)
    wide = LanguageModel(101, 8, 8, bos=100).init_normal_(1.0).eval()
    cold, warm = oracle_sweep(wide, wide, held_out, [0.5, 1.0], samples=1000, batch_size=500)
    assert cold["self_bleu"] > warm["self_bleu"] + 5


def test_margins_over_a_curve_are_read_at_the_same_diversity():
    mle = [{"temperature": t, "held_out_nll": x, "oracle_nll": y} for t, x, y in
           ((0.8, 7.0, 8.0), (1.0, 6.0, 9.0), (1.2, 6.5, 8.5), (1.35, 6.8, 9.5))]  # unordered in x on purpose
    # the last point is worse than t=1.2 on both figures: off the frontier, never interpolated
    assert [p["temperature"] for p in frontier(mle, "held_out_nll", "oracle_nll", False)] == [1.0, 1.2, 0.8]
    tuned = [{"temperature": 1.0, "held_out_nll": 6.25, "oracle_nll": 8.5},  # MLE there: 8.75 -> 0.25 beyond
             {"temperature": 1.1, "held_out_nll": 6.75, "oracle_nll": 8.5},  # MLE there: 8.25 -> 0.25 behind
             {"temperature": 0.5, "held_out_nll": 7.5, "oracle_nll": 7.0}]  # past MLE's range: not judged
    margins = margins_over(tuned, mle, "held_out_nll", "oracle_nll", higher_is_better=False)
    assert margins[0] == pytest.approx(0.25) and margins[1] == pytest.approx(-0.25) and margins[2] is None
    # BLEU against pairwise BLEU: higher quality is better
    bleu = margins_over([{"pairwise_bleu": 50.0, "bleu": 31.0}], [{"pairwise_bleu": 40.0, "bleu": 28.0},
                        {"pairwise_bleu": 60.0, "bleu": 32.0}], "pairwise_bleu", "bleu", higher_is_better=True)
    assert bleu == [pytest.approx(1.0)]
    assert margins_over(mle[:1], mle[:1], "held_out_nll", "oracle_nll", False) == [0.0]


def test_self_bleu_is_sacrebleus_corpus_bleu_against_the_other_samples():
    import torch
    from sacrebleu.metrics import BLEU

    from hybrid.train.sweeps import self_bleu

    samples = torch.randint(0, 4, (30, 7), generator=torch.Generator().manual_seed(3))
    hyps, refs = [" ".join(map(str, row)) for row in samples[:5].tolist()], samples[5:].tolist()
    streams = [[" ".join(map(str, ref))] * len(hyps) for ref in refs]  # every hypothesis: all 25 references
    expected = BLEU(tokenize="none", smooth_method="none").corpus_score(hyps, streams).score
    assert self_bleu(samples, hypotheses=5) == pytest.approx(expected, abs=1e-9)
    assert self_bleu(torch.ones(10, 6, dtype=torch.long), hypotheses=3) == pytest.approx(100.0)
    assert self_bleu(torch.arange(60).view(10, 6), hypotheses=3) == 0.0  # no n-gram shared
    with pytest.raises(ConfigError, match="more than 10 samples"):
        self_bleu(samples[:10], hypotheses=10)
