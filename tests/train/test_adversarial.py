"""Adversarial fine-tuning of seq2seq and tagger policies: what D reads, per-token rewards from a
seq2seq model, task-reward mixing, logs, resume, saved models and refused settings."""

from __future__ import annotations

import json

import pytest
import torch

from hybrid.config import GANConfig
from hybrid.data.parallel import Seq2SeqVocabs
from hybrid.errors import ConfigError
from hybrid.models.discriminator import load_discriminator
from hybrid.rewards.base import CallableReward
from hybrid.train.adversarial import adversarial_finetune, discriminator_for
from hybrid.train.gan import judge_with
from hybrid.train.policies import Seq2SeqPolicy, TaggerPolicy
from tests.seq2seq_tiny import random_pairs, tiny_model

PAIRS = random_pairs(40, seed=0, max_len=4)
VOCABS = Seq2SeqVocabs.build(PAIRS)
SMALL = {"rounds": 2, "g_steps": 2, "d_steps": 1, "d_epochs": 1, "d_samples": 8, "batch_size": 4, "samples": 2,
         "pretrain_d_steps": 1, "eval_every": 1, "max_length": 8, "g_lr": 1e-2, "d_lr": 1e-2, "rollouts": 0}


def _policy(seed: int = 0) -> Seq2SeqPolicy:
    return Seq2SeqPolicy(tiny_model(VOCABS, seed=seed, scale=2.0))


def _d(policy, seed: int = 0):
    torch.manual_seed(seed)
    return discriminator_for(policy, embedding_dim=6, hidden_size=5, dropout=0.0).eval()


def test_the_discriminator_reads_references_and_samples_alike():
    policy = _policy()
    real = policy.real(PAIRS[:3])
    for row, pair in enumerate(PAIRS[:3]):
        ids = real.tokens[row][real.mask[row]].tolist()
        assert ids == [*VOCABS.target.encode(pair.labels), VOCABS.eos]  # y </s>
        assert real.src[row][real.src_mask[row]].tolist() == VOCABS.source.encode(pair.inputs)
    rollout = policy.sample(PAIRS[:3], 2, generator=torch.Generator().manual_seed(0), max_length=8)
    fake = policy.judged(rollout)
    assert len(fake) == 6 and torch.equal(fake.src[0], fake.src[1])  # samples of one input share its source
    for row, output in enumerate(rollout.outputs):
        ids = fake.tokens[row][fake.mask[row]].tolist()
        assert VOCABS.decode(ids) == output


def test_seq2seq_rollout_rewards_end_in_the_discriminators_score():
    policy = _policy()
    d = _d(policy)
    rollout = policy.sample(PAIRS[:4], 2, generator=torch.Generator().manual_seed(1), max_length=8)
    fake = policy.judged(rollout)
    q = policy.rollout_rewards(rollout, judge_with(d, fake), 3, torch.Generator().manual_seed(2), 8)
    with torch.no_grad():
        whole = torch.sigmoid(d(fake.tokens, fake.mask, fake.src, fake.src_mask))
    last = fake.mask.sum(1) - 1
    torch.testing.assert_close(q[torch.arange(len(fake)), last], whole)
    assert bool((q[~fake.mask] == 0).all()) and bool(((q >= 0) & (q <= 1)).all())
    logp = policy.token_log_probs(rollout)
    score, _ = policy.score(rollout)
    torch.testing.assert_close(logp.sum(1), score)  # per-token log-probs add up to the sequence's


@pytest.mark.parametrize("rollouts", [0, 2])
def test_a_run_logs_saves_and_resumes_like_a_straight_run(tmp_path, rollouts):
    config = GANConfig(**{**SMALL, "rollouts": rollouts}, mle_every=2)
    straight = _policy()
    summary = adversarial_finetune(straight, _d(straight), PAIRS, PAIRS[:8], config, tmp_path / "a", progress=False)
    records = [json.loads(line) for line in (tmp_path / "a" / "steps.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2] and summary["steps_run"] == 2
    for key in ("g_reward", "d_acc_real", "d_acc_fake", "d_fit_acc_mismatched", "d_loss"):
        assert 0.0 <= records[-1][key] <= 1.0 or key == "d_loss"
    for name in ("model", "last", "discriminator"):
        assert (tmp_path / "a" / name / "model.safetensors").is_file()
    assert (tmp_path / "a" / "gan_curves.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "a" / "score.png").is_file()
    assert [e["step"] for e in summary["history"]] == [0, 1, 2]

    resumed = _policy()
    adversarial_finetune(resumed, _d(resumed), PAIRS, PAIRS[:8],
                         GANConfig(**{**SMALL, "rounds": 1, "rollouts": rollouts},
                         mle_every=2), tmp_path / "b", progress=False)
    d = _d(resumed)
    adversarial_finetune(resumed, d, PAIRS, PAIRS[:8], config, tmp_path / "b", resume=True, progress=False)
    for a, b in zip(straight.model.state_dict().values(), resumed.model.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b)
    saved = load_discriminator(tmp_path / "b" / "discriminator")
    for a, b in zip(saved.state_dict().values(), d.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b)
    again = [json.loads(line) for line in (tmp_path / "b" / "steps.jsonl").read_text().splitlines()]
    assert [{k: v for k, v in r.items() if k not in ("elapsed_s", "eval_s")} for r in again] == [
        {k: v for k, v in r.items() if k not in ("elapsed_s", "eval_s")} for r in records]


def test_with_task_weight_one_the_discriminator_does_not_matter(tmp_path):
    """Reward = (1 - w) D + w task: at w = 1 two different discriminators give the same update."""
    task = CallableReward(lambda hyps, refs, srcs: [100.0 * h.count("w1") / max(len(h), 1) for h in hyps], "w1-share")
    config = GANConfig(**{**SMALL, "rounds": 1, "pretrain_d_steps": 0, "d_steps": 1}, task_reward="w1-share",
                       task_weight=1.0)
    weights = []
    for d_seed in (0, 1):
        policy = _policy()
        adversarial_finetune(policy, _d(policy, d_seed), PAIRS, PAIRS[:4], config, tmp_path / f"r{d_seed}",
                             progress=False, task_reward=task)
        weights.append([p.detach().clone() for p in policy.model.parameters()])
        record = json.loads((tmp_path / f"r{d_seed}" / "steps.jsonl").read_text().splitlines()[0])
        assert "task_reward" in record
    for a, b in zip(*weights, strict=True):
        torch.testing.assert_close(a, b)
    mixed = GANConfig(**{**SMALL, "rounds": 1, "pretrain_d_steps": 0}, task_reward="w1-share", task_weight=0.5)
    first = []
    for d_seed in (0, 1):
        policy = _policy()
        adversarial_finetune(policy, _d(policy, d_seed), PAIRS, PAIRS[:4], mixed, tmp_path / f"m{d_seed}",
                             progress=False, task_reward=task)
        first.append(next(policy.model.parameters()).detach().clone())
    assert not torch.allclose(*first)  # at w = 0.5 D's judgement moves the generator


def test_a_tagger_trains_against_a_discriminator_of_its_tags(tmp_path):
    from hybrid.train.tagging import build_tagger, read_tagged
    from tests.tiny import tiny_config, write_conll_file

    config = tiny_config(layer="crf")
    sentences = read_tagged(write_conll_file(tmp_path / "t.txt", n=12), config.data)
    policy = TaggerPolicy(build_tagger(config, sentences), config)
    real = policy.real(sentences[:3])
    assert real.tokens.shape == real.src.shape == real.mask.shape
    rollout = policy.sample(sentences[:3], 2, generator=torch.Generator().manual_seed(0))
    fake = policy.judged(rollout)
    assert len(fake) == 6 and bool((fake.tokens[~fake.mask] == 0).all())
    d = discriminator_for(policy, embedding_dim=4, hidden_size=4)
    assert d.config.vocab_size == len(policy.model.tag_names) and d.config.source_vocab_size == len(
        policy.model.vocabs.words)
    summary = adversarial_finetune(policy, d, sentences, sentences, GANConfig(**SMALL), tmp_path / "run",
                                   progress=False)
    assert summary["steps_run"] == 2 and (tmp_path / "run" / "model" / "config.json").is_file()
    with pytest.raises(ConfigError, match="rollouts 0"):
        adversarial_finetune(policy, d, sentences, sentences, GANConfig(**{**SMALL, "rollouts": 2}), tmp_path / "x",
                             progress=False)


@pytest.mark.parametrize("bad, message", [({"samples": 0}, "samples"), ({"task_weight": 1.5}, "task_weight"),
                                          ({"task_weight": 0.5}, "task_reward"), ({"d_samples": 0}, "d_samples"),
                                          ({"control": "shuffled", "rollouts": 2}, "rollouts 0")])
def test_bad_settings_are_refused_before_any_work(tmp_path, bad, message):
    policy = _policy()
    with pytest.raises(ConfigError, match=message):
        adversarial_finetune(policy, _d(policy), PAIRS, PAIRS, GANConfig(**{**SMALL, **bad}), tmp_path / "x",
                             progress=False)
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(("control", "moves"), [("zero-advantage", False), ("constant", False), ("shuffled", True)])
def test_controls_cut_ds_link_to_the_generator(tmp_path, control, moves):
    """With no MLE steps, a control whose advantages are 0 leaves the generator as it was."""
    policy = _policy()
    start = {k: v.clone() for k, v in policy.model.state_dict().items()}
    config = GANConfig(**{**SMALL, "control": control, "mle_every": 0})
    adversarial_finetune(policy, _d(policy), PAIRS, PAIRS[:4], config, tmp_path / "run", progress=False)
    assert any(not torch.equal(start[k], v) for k, v in policy.model.state_dict().items()) == moves
