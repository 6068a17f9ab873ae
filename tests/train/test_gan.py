"""SeqGAN pieces: Monte Carlo rollout rewards, the discriminator's loss, the policy-gradient
loss against the REINFORCE estimator computed by hand, and the adversarial loop's resume."""

from __future__ import annotations

import json

import pytest
import torch

from hybrid.config import GANConfig
from hybrid.decoding import sample
from hybrid.models.discriminator import Discriminator
from hybrid.models.language_model import EmptyMemory, LanguageModel
from hybrid.train.adversarial import adversarial_finetune
from hybrid.train.gan import (
    Judged,
    discriminator_loss,
    judge_with,
    mc_rollout_rewards,
    mismatched,
    token_policy_loss,
)
from hybrid.train.policies import FixedLengthLMPolicy, sample_fixed_length

V, BOS, EOS = 7, 6, 5  # tokens 0..5 (5 is </s> in the variable-length tests), 6 is <s>


def sample_lm(model: LanguageModel, n: int, length: int, eos: int = -1,
              generator: torch.Generator | None = None) -> Judged:
    """n sequences of `length` tokens (or up to eos) from the LM."""
    with torch.no_grad():
        out = sample(model, EmptyMemory.of(n), bos=model.bos, eos=eos, pad=model.bos, max_length=length,
                     generator=generator)
    return Judged(out.tokens, out.mask)


def _lm(seed: int = 0) -> LanguageModel:
    torch.manual_seed(seed)
    return LanguageModel(V, 8, 8, bos=BOS).eval()


def test_the_rollout_reward_of_a_complete_sequence_is_the_discriminators_score():
    g, d = _lm(), Discriminator(V, embedding_dim=8, hidden_size=8).eval()
    batch = sample_lm(g, 6, 7, eos=EOS, generator=torch.Generator().manual_seed(0))
    lengths = batch.mask.sum(1)
    q = mc_rollout_rewards(g, EmptyMemory.of(6), batch.tokens, batch.mask, judge_with(d), 4, BOS, EOS, BOS, 7,
                           torch.Generator().manual_seed(1))
    with torch.no_grad():
        whole = torch.sigmoid(d(batch.tokens, batch.mask))
    torch.testing.assert_close(q[torch.arange(6), lengths - 1], whole)
    assert bool((q[~batch.mask] == 0).all())  # nothing after the end
    per_sequence = mc_rollout_rewards(g, EmptyMemory.of(6), batch.tokens, batch.mask, judge_with(d),
                                      0, BOS, EOS, BOS, 7)
    torch.testing.assert_close(per_sequence, whole.unsqueeze(1) * batch.mask)


def test_rollouts_complete_the_prefix_they_are_given():
    # a judge that looks at the first t tokens only: every completion of y_1..t scores judge(y), exactly
    g = _lm(1)
    batch = sample_lm(g, 5, 6, generator=torch.Generator().manual_seed(0))
    seen = []

    def judge(tokens, mask, rows):
        assert bool(mask.all()) and tokens.shape[1] == 6  # fixed length: completions reach it
        seen.append(tokens.shape[0])
        return (tokens[:, 0] == batch.tokens[rows, 0]).float() * 0.5 + (tokens[:, 0].float() / 10)

    q = mc_rollout_rewards(g, EmptyMemory.of(5), batch.tokens, batch.mask, judge, 3, BOS, -1, BOS, 6)
    expected = 0.5 + batch.tokens[:, 0].float() / 10
    torch.testing.assert_close(q, expected.unsqueeze(1).expand(5, 6))
    assert seen == [5] + [15] * 5  # the whole sequences, then 3 completions of each prefix length 1..5


def test_the_policy_loss_gradient_is_the_reinforce_estimator_by_hand():
    theta = torch.randn(5, requires_grad=True)  # a toy policy: y_t ~ softmax(theta) at every position
    tokens = torch.tensor([[0, 3, 3], [4, 1, 2]])
    mask = torch.tensor([[True, True, True], [True, True, False]])
    rewards = torch.tensor([[0.2, 0.9, 0.4], [0.7, 0.1, 0.0]])
    for baseline in ("none", "mean"):
        logp = torch.log_softmax(theta, 0)[tokens]
        (grad,) = torch.autograd.grad(token_policy_loss(logp, rewards, mask, baseline), theta)
        p = torch.softmax(theta, 0).detach()
        b = torch.zeros(3) if baseline == "none" else torch.tensor([0.45, 0.5, 0.4])  # per-position means
        by_hand = torch.zeros(5)
        for i, t in zip(*mask.nonzero(as_tuple=True), strict=True):
            score = torch.nn.functional.one_hot(tokens[i, t], 5).float() - p  # grad of log p(y) = e_y - p
            by_hand -= (rewards[i, t] - b[t]) * score / int(mask.sum())
        torch.testing.assert_close(grad, by_hand)


def test_the_discriminator_learns_a_separable_problem():
    torch.manual_seed(0)
    d = Discriminator(V, embedding_dim=8, hidden_size=8, dropout=0.0)
    opt = torch.optim.Adam(d.parameters(), lr=1e-2)
    real = Judged(torch.randint(0, 2, (32, 5)), torch.ones(32, 5, dtype=torch.bool))
    fake = Judged(torch.randint(2, 4, (32, 5)), torch.ones(32, 5, dtype=torch.bool))
    first, stats = discriminator_loss(d, real, fake)
    for _ in range(60):
        loss, stats = discriminator_loss(d, real, fake, label_smoothing=0.1)
        opt.zero_grad()
        loss.backward()
        opt.step()
    final, stats = discriminator_loss(d, real, fake)
    assert final.item() < 0.3 * first.item()
    assert stats["d_acc_real"] == 1.0 and stats["d_acc_fake"] == 1.0


def test_mismatched_pairs_keep_the_outputs_and_move_every_condition():
    src = torch.arange(12).view(6, 2)
    real = Judged(torch.arange(18).view(6, 3), torch.ones(6, 3, dtype=torch.bool), src,
                  torch.ones(6, 2, dtype=torch.bool))
    wrong = mismatched(real, torch.Generator().manual_seed(3))
    assert torch.equal(wrong.tokens, real.tokens)
    assert not bool((wrong.src == real.src).all(1).any())
    assert sorted(wrong.src[:, 0].tolist()) == sorted(src[:, 0].tolist())
    with pytest.raises(ValueError, match="conditional"):
        mismatched(Judged(real.tokens, real.mask))


def test_conditional_discriminators_need_the_condition():
    d = Discriminator(V, source_vocab_size=4, embedding_dim=4, hidden_size=4)
    tokens, mask = torch.zeros(2, 3, dtype=torch.long), torch.ones(2, 3, dtype=torch.bool)
    assert d(tokens, mask, torch.ones(2, 2, dtype=torch.long), torch.ones(2, 2, dtype=torch.bool)).shape == (2,)
    with pytest.raises(ValueError, match="conditional"):
        d(tokens, mask)


def _gan(g, d, real, config, out, resume=False, judge=None, quality=None):
    """SeqGAN's setting through the one adversarial trainer: a fixed-length LM policy."""
    policy = FixedLengthLMPolicy(g, real.shape[1], quality)
    rows = list(real)
    return adversarial_finetune(policy, d, rows, rows[:16], config, out, resume=resume, progress=False, judge=judge)


def _run(out, rounds, resume=False):
    g, d = _lm(2), Discriminator(V, embedding_dim=8, hidden_size=8)
    real = sample_fixed_length(_lm(3), 64, 6, generator=torch.Generator().manual_seed(0))
    config = GANConfig(rounds=rounds, rollouts=2, batch_size=8, d_steps=1, d_epochs=1, d_samples=16,
                       pretrain_d_steps=1, eval_every=1, g_lr=1e-2, mle_every=2)
    quality = lambda model: model.token_log_probs(real[:16]).mean().item()  # noqa: E731
    summary = _gan(g, d, real, config, out, resume=resume, quality=quality)
    return g, summary


def test_fixed_length_samples_are_the_decoders_samples():
    g = _lm(4)
    tokens = sample_fixed_length(g, 5, 6, generator=torch.Generator().manual_seed(2))
    assert tokens.shape == (5, 6) and not bool((tokens == BOS).any())
    expected = sample_lm(g, 5, 6, generator=torch.Generator().manual_seed(2)).tokens
    assert torch.equal(tokens, expected)


def test_the_adversarial_loop_logs_checkpoints_and_resumes_as_a_straight_run(tmp_path):
    straight, summary = _run(tmp_path / "a", 4)
    assert summary["steps_run"] == 4 and len(summary["history"]) == 5
    log = [json.loads(line) for line in (tmp_path / "a" / "steps.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3, 4]
    assert {"g_reward", "d_acc_real", "d_acc_fake", "d_loss"} <= set(log[0])
    assert (tmp_path / "a" / "gan_curves.png").stat().st_size > 0
    assert (tmp_path / "a" / "last" / "model.safetensors").is_file()
    _run(tmp_path / "b", 2)
    with open(tmp_path / "b" / "steps.jsonl", "a") as log:  # a round logged after the checkpoint, then a kill
        log.write(json.dumps({"step": 3}) + "\n")
    resumed, _ = _run(tmp_path / "b", 4, resume=True)
    assert [json.loads(line)["step"]
            for line in (tmp_path / "b" / "steps.jsonl").read_text().splitlines()] == [1, 2, 3, 4]
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, msg=name)


@pytest.mark.parametrize("bad", [{"d_steps": 0}, {"g_steps": 0}, {"eval_every": 0}, {"label_smoothing": 1.0}])
def test_bad_gan_settings_are_refused_before_training(tmp_path, bad):
    from hybrid.errors import ConfigError

    real = sample_fixed_length(_lm(3), 8, 4, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ConfigError):
        _gan(_lm(), Discriminator(V, embedding_dim=4, hidden_size=4), real, GANConfig(**bad), tmp_path)


def test_rollouts_that_stop_at_eos_need_a_max_length():
    g = _lm()
    batch = sample_lm(g, 2, 4, eos=EOS, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="max_length"):
        mc_rollout_rewards(g, EmptyMemory.of(2), batch.tokens, batch.mask, lambda t, m, r: torch.ones(len(t)), 2,
                           BOS, EOS, BOS)


def test_a_given_judge_replaces_the_discriminator_as_the_reward(tmp_path):
    real = sample_fixed_length(_lm(3), 32, 5, generator=torch.Generator().manual_seed(0))
    config = GANConfig(rounds=2, rollouts=2, batch_size=4, d_steps=1, d_epochs=1, d_samples=8, pretrain_d_steps=0)
    _gan(_lm(), Discriminator(V, embedding_dim=4, hidden_size=4), real, config, tmp_path,
         judge=lambda tokens, mask, rows: torch.full((len(tokens),), 0.25))
    log = [json.loads(line) for line in (tmp_path / "steps.jsonl").read_text().splitlines()]
    assert [r["g_reward"] for r in log] == [0.25, 0.25]
