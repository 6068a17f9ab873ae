"""The CLI's defaults are the config dataclasses' defaults, option by option, so that a command and
the Python API with a default config run the same experiment."""

from __future__ import annotations

import dataclasses

import pytest

from cli.classify import classify
from cli.gan_train import gan_train
from cli.lm_train import lm_train
from cli.rl_finetune import rl_finetune
from hybrid.config import (
    ClassifierModelConfig,
    ClassifierTrainConfig,
    GANConfig,
    LanguageModelConfig,
    ReinforceConfig,
)

RENAMED = {"layers": "num_layers"}  # option name -> config field, where they differ


@pytest.mark.parametrize(("command", "configs"), [
    (gan_train, (GANConfig,)), (rl_finetune, (ReinforceConfig,)), (lm_train, (LanguageModelConfig,)),
    (classify.commands["train"], (ClassifierModelConfig, ClassifierTrainConfig))])
def test_every_option_named_after_a_config_field_defaults_to_that_field(command, configs):
    fields = {f.name: f.default for config in configs for f in dataclasses.fields(config)}
    checked = 0
    for param in command.params:
        name = RENAMED.get(param.name, param.name)
        if name in fields and not param.is_flag and param.name not in ("max_minutes", "task_reward", "embeddings"):
            assert param.default == fields[name], f"--{param.name.replace('_', '-')}: {param.default} != {fields[name]}"
            checked += 1
    assert checked >= 8
