"""A sequence classifier as a policy: samples follow its distribution, scores are its log-probabilities,
and REINFORCE on the accuracy reward (and the adversarial trainer) drive it through the CLI."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from cli.main import cli
from hybrid.config import ClassifierModelConfig
from hybrid.data.labelled import read_labelled
from hybrid.models.classifier import ClassifierVocabs, SequenceClassifier
from hybrid.models.classifier_io import save_classifier
from hybrid.train.policies import ClassifierPolicy
from hybrid.train.protocols import AdversarialPolicy
from tests.classify_tiny import write_labelled


@pytest.fixture()
def task(tmp_path):
    """An untrained classifier saved as a model directory, with its train and dev files."""
    write_labelled(tmp_path / "train.txt", 120, seed=0, labels=("pos", "neg", "mid"))
    write_labelled(tmp_path / "dev.txt", 30, seed=1, labels=("pos", "neg", "mid"))
    examples = list(read_labelled(tmp_path / "train.txt"))
    torch.manual_seed(0)
    model = SequenceClassifier(ClassifierModelConfig(word_dim=16, hidden_size=16, attention_size=8, dropout=0.0),
                               ClassifierVocabs.build(examples)).eval()
    save_classifier(model, tmp_path / "start")
    return tmp_path, model, examples


def test_the_policy_samples_its_distribution_and_scores_its_log_probabilities(task):
    _, model, examples = task
    policy = ClassifierPolicy(model)
    assert isinstance(policy, AdversarialPolicy)
    inputs = examples[:3]
    ids, mask, _ = model.vocabs.encode(inputs)
    probs = torch.softmax(model(ids, mask), -1).detach()
    for temperature in (1.0, 0.5):
        rollout = policy.sample(inputs, 4000, temperature=temperature, generator=torch.Generator().manual_seed(1))
        assert len(rollout.outputs) == 3 * 4000 and all(len(o) == 1 for o in rollout.outputs)
        tempered = torch.softmax(torch.log(probs) / temperature, -1)
        for row in range(3):
            drawn = rollout.outputs[row * 4000 : (row + 1) * 4000]
            freq = torch.tensor([sum(o == [name] for o in drawn) / 4000 for name in model.label_names])
            assert torch.allclose(freq, tempered[row], atol=0.03)
    rollout = policy.sample(inputs, 2, generator=torch.Generator().manual_seed(2))
    logp, entropy = policy.score(rollout)
    picked = [model.label_names.index(o[0]) for o in rollout.outputs]
    expected = torch.log(probs).repeat_interleave(2, 0)[torch.arange(6), picked]
    torch.testing.assert_close(logp.detach(), expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(entropy.detach(), (-(probs * probs.log()).sum(-1)).repeat_interleave(2))
    logp.sum().backward()
    assert model.output.weight.grad is not None and bool(model.output.weight.grad.abs().sum() > 0)
    assert policy.references(inputs) == [[e.label] for e in inputs]
    assert policy.sources(inputs) == [list(e.tokens) for e in inputs]
    assert policy.greedy(inputs) == [[model.label_names[i]] for i in probs.argmax(-1).tolist()]


def test_rl_finetune_on_accuracy_teaches_an_untrained_classifier(task):
    folder, _, _ = task
    result = CliRunner().invoke(cli, [
        "rl-finetune", "--model", str(folder / "start"), "--out", str(folder / "rl"), "--reward", "accuracy",
        "--baseline", "mean", "--train", str(folder / "train.txt"), "--dev", str(folder / "dev.txt"),
        "--steps", "40", "--eval-every", "20", "--lr", "0.01", "--device", "auto", "-q"])
    assert result.exit_code == 0, result.output
    summary = json.loads((folder / "rl" / "summary.json").read_text())
    assert summary["metric"] == "accuracy" and summary["start_dev"] < 60 and summary["best_dev"] >= 90
    info = CliRunner().invoke(cli, ["info", str(folder / "rl" / "model")])
    assert info.exit_code == 0 and "classifier" in info.output


def test_gan_train_drives_a_classifier(task):
    folder, _, _ = task
    result = CliRunner().invoke(cli, [
        "gan-train", "--model", str(folder / "start"), "--out", str(folder / "gan"), "--train",
        str(folder / "train.txt"), "--dev", str(folder / "dev.txt"), "--rounds", "2", "--eval-every", "1",
        "--g-steps", "1", "--d-samples", "16", "--pretrain-d-steps", "1", "--device", "auto", "-q"])
    assert result.exit_code == 0, result.output
    assert json.loads((folder / "gan" / "summary.json").read_text())["steps_run"] == 2


def test_labels_the_model_does_not_know_are_refused(task):
    folder, _, _ = task
    (folder / "odd.txt").write_text("weird\tthe film\n", encoding="utf-8")
    result = CliRunner().invoke(cli, [
        "rl-finetune", "--model", str(folder / "start"), "--out", str(folder / "rl"), "--train",
        str(folder / "train.txt"), "--dev", str(folder / "odd.txt"), "--reward", "accuracy"])
    assert result.exit_code == 2 and "labels ['weird'] are not among the model's" in result.output
