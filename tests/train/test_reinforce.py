"""REINFORCE: the loss's gradient is the REINFORCE estimator, baselines by hand, learning a
reward, resuming, logs and curves."""

from __future__ import annotations

import json

import pytest
import torch

from hybrid.config import ReinforceConfig
from hybrid.data.parallel import Seq2SeqVocabs
from hybrid.errors import ConfigError
from hybrid.rewards.base import CallableReward
from hybrid.train.policies import Seq2SeqPolicy
from hybrid.train.reinforce import baseline_of, reinforce, reinforce_loss
from tests.seq2seq_tiny import random_pairs, tiny_model


def test_gradient_is_the_reinforce_estimator_on_a_categorical_policy():
    theta = torch.tensor([0.3, -0.2, 0.5], requires_grad=True)  # one categorical choice
    samples = torch.tensor([0, 2, 2, 1])
    rewards = torch.tensor([1.0, 3.0, 0.5, -1.0])
    baseline = torch.tensor([0.5, 0.5, 1.0, 1.0])
    log_probs = torch.log_softmax(theta, 0)[samples]
    reinforce_loss(log_probs, rewards, baseline).backward()
    p = torch.softmax(theta.detach(), 0)
    # d/dtheta log p(y) = onehot(y) - p; the estimator is the mean of (R - b) times that
    estimator = sum((r - b) * (torch.eye(3)[y] - p) for y, r, b in zip(samples, rewards, baseline, strict=True)) / 4
    torch.testing.assert_close(theta.grad, -estimator)


def test_baselines_by_hand():
    rewards = torch.tensor([1.0, 2.0, 6.0, 0.0, 4.0, 8.0])  # 2 inputs x 3 samples
    torch.testing.assert_close(baseline_of("mean", rewards, 3), torch.tensor([4.0, 3.5, 1.5, 6.0, 4.0, 2.0]))
    torch.testing.assert_close(baseline_of("self-critical", rewards, 3, torch.tensor([2.0, 5.0])),
                               torch.tensor([2.0, 2.0, 2.0, 5.0, 5.0, 5.0]))
    torch.testing.assert_close(baseline_of("ema", rewards, 3, ema=1.5), torch.full((6,), 1.5))
    torch.testing.assert_close(baseline_of("ema", rewards, 3), torch.full((6,), rewards.mean().item()))
    with pytest.raises(ConfigError, match="at least 2 samples"):
        baseline_of("mean", rewards, 1)


def _share_of(word):
    def reward(hypotheses, references, sources):
        """Toy reward: percentage of output tokens that are `word` (0 for an empty output)."""
        return [100.0 * h.count(word) / len(h) if h else 0.0 for h in hypotheses]

    return CallableReward(reward, f"tests:share-of-{word}")


_w1_share = _share_of("w1").function


PAIRS = random_pairs(60, seed=0, max_len=4)
VOCABS = Seq2SeqVocabs.build(PAIRS)


@pytest.mark.parametrize("baseline", ["self-critical", "mean", "ema"])
def test_reinforce_learns_a_reward(tmp_path, baseline):
    policy = Seq2SeqPolicy(tiny_model(VOCABS, 0))
    config = ReinforceConfig(baseline=baseline, samples=4, lr=0.03, batch_size=16, steps=40, eval_every=20,
                             max_length=6, entropy_weight=0.0)
    produced = [w for out in policy.greedy(PAIRS, 6) for w in out]
    rare = min(VOCABS.target.tokens[4:], key=produced.count)  # the word the starting model least outputs
    reward = _share_of(rare)
    before = float(reward(policy.greedy(PAIRS, 6), [()] * len(PAIRS)).mean())
    summary = reinforce(policy, config, PAIRS, PAIRS[:10], tmp_path, progress=False, reward=reward)
    after = float(reward(policy.greedy(PAIRS, 6), [()] * len(PAIRS)).mean())
    assert after > before + 30, (before, after)
    assert summary["steps_run"] == 40 and summary["reward_signature"] == f"tests:share-of-{rare}"
    log = [json.loads(line) for line in (tmp_path / "steps.jsonl").read_text().splitlines()]
    assert len(log) == 40 and {"reward_mean", "reward_std", "baseline_mean", "entropy"} <= log[0].keys()
    assert (tmp_path / "model" / "model.safetensors").is_file()
    if pytest.importorskip("matplotlib"):
        assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"


def test_resumed_run_equals_straight_run(tmp_path):
    reward = CallableReward(_w1_share, "tests:w1")
    config = ReinforceConfig(baseline="mean", samples=3, lr=0.01, batch_size=8, steps=6, eval_every=3, max_length=5,
                             mle_weight=0.5, kl_weight=0.1, entropy_weight=0.01)
    straight = reinforce(Seq2SeqPolicy(tiny_model(VOCABS, 1)), config, PAIRS, PAIRS[:5], tmp_path / "a",
                         progress=False, reward=reward)
    half = ReinforceConfig(**{**config.__dict__, "steps": 3})
    reinforce(Seq2SeqPolicy(tiny_model(VOCABS, 1)), half, PAIRS, PAIRS[:5], tmp_path / "b",
              progress=False, reward=reward)
    resumed = reinforce(Seq2SeqPolicy(tiny_model(VOCABS, 1)), config, PAIRS, PAIRS[:5], tmp_path / "b",
                        resume=True, progress=False, reward=reward)
    drop = ("reward_seconds", "step_seconds", "elapsed_s", "eval_s")

    def timeless(records):
        return [{k: v for k, v in r.items() if k not in drop} for r in records]

    assert timeless(resumed["history"]) == timeless(straight["history"])
    a = [json.loads(x) for x in (tmp_path / "a" / "steps.jsonl").read_text().splitlines()]
    b = [json.loads(x) for x in (tmp_path / "b" / "steps.jsonl").read_text().splitlines()]
    assert timeless(a) == timeless(b) and len(a) == 6


def test_tagger_policy_samples_score_and_learns_accuracy(tmp_path):
    from hybrid.train.policies import TaggerPolicy
    from hybrid.train.tagging import build_tagger, read_tagged
    from hybrid.train.trainer import evaluate
    from tests.tiny import tiny_config, write_conll_file

    config = tiny_config(layer="crf")
    sentences = read_tagged(write_conll_file(tmp_path / "t.txt", n=30), config.data)
    torch.manual_seed(0)
    tagger = build_tagger(config, sentences)
    policy = TaggerPolicy(tagger, config)
    rollout = policy.sample(sentences[:4], 3, generator=torch.Generator().manual_seed(0))
    assert len(rollout.outputs) == 12
    assert [len(o) for o in rollout.outputs] == [len(s.words) for s in sentences[:4] for _ in range(3)]
    logp, entropy = policy.score(rollout)
    batch, samples = rollout.state
    expected = torch.stack([tagger.log_prob(batch, samples[:, j]) for j in range(3)], 1).reshape(-1)
    torch.testing.assert_close(logp, expected)
    assert (entropy >= 0).all() and logp.requires_grad
    before = evaluate(tagger, sentences)["accuracy"]
    rl = ReinforceConfig(reward="accuracy", baseline="mean", samples=4, lr=0.02, batch_size=10, steps=30,
                         eval_every=15)
    summary = reinforce(policy, rl, sentences, sentences[:10], tmp_path / "rl", progress=False)
    assert evaluate(tagger, sentences)["accuracy"] > before + 10
    assert summary["history"][0]["metric"] in ("f1", "accuracy")
    from hybrid.models.io import load_tagger

    assert load_tagger(tmp_path / "rl" / "model").tag_names == tagger.tag_names


def test_controls_by_hand():
    from hybrid.train.controls import controlled_baseline, controlled_rewards

    rewards, greedy = torch.tensor([1.0, 2.0, 6.0, 3.0]), torch.tensor([5.0, 0.0])
    generator = torch.Generator().manual_seed(0)
    constant, constant_greedy = controlled_rewards("constant", rewards, generator, greedy)
    torch.testing.assert_close(constant, torch.full((4,), 3.0))
    odd, _ = controlled_rewards("constant", torch.tensor([0.1, 0.2, 0.3]), generator)
    assert torch.equal(baseline_of("mean", odd, 3), odd)  # cancels exactly
    torch.testing.assert_close(constant_greedy, torch.full((2,), 3.0))
    shuffled, _ = controlled_rewards("shuffled", rewards, generator)
    assert sorted(shuffled.tolist()) == sorted(rewards.tolist()) and not torch.equal(shuffled, rewards)
    assert controlled_rewards("none", rewards, generator, greedy) == (rewards, greedy)
    baseline = torch.zeros(4)
    assert controlled_baseline("zero-advantage", rewards, baseline) is rewards
    assert controlled_baseline("shuffled", rewards, baseline) is baseline
    with pytest.raises(ValueError, match="unknown control"):
        controlled_rewards("nonsense", rewards, generator)


@pytest.mark.parametrize(("control", "baseline", "moves"), [
    ("zero-advantage", "ema", False),  # no policy-gradient term, no MLE: nothing trains
    ("constant", "mean", False),  # every sample the same reward: the leave-one-out advantage is 0
    ("constant", "self-critical", False),  # greedy outputs get it too
    ("constant", "ema", True),  # against a running mean the constant still pushes samples up
    ("shuffled", "mean", True),
    ("none", "mean", True),
])
def test_controls_cut_the_rewards_link_to_the_outputs(tmp_path, control, baseline, moves):
    policy = Seq2SeqPolicy(tiny_model(VOCABS, 0))
    start = {k: v.clone() for k, v in policy.model.state_dict().items()}
    config = ReinforceConfig(baseline=baseline, control=control, samples=3, lr=0.03, batch_size=8, steps=3,
                             eval_every=3, max_length=5)
    summary = reinforce(policy, config, PAIRS, PAIRS[:5], tmp_path, progress=False,
                        reward=CallableReward(_w1_share, "tests:w1"))
    changed = any(not torch.equal(start[k], v) for k, v in policy.model.state_dict().items())
    assert changed == moves
    log = [json.loads(line) for line in (tmp_path / "steps.jsonl").read_text().splitlines()]
    assert len(log) == 3 and summary["steps_run"] == 3
    if control == "constant":  # the log keeps the real reward, not the control's
        assert any(record["reward_std"] > 0 for record in log)
