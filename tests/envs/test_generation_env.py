"""The generation environment: gymnasium's checker, episodes, rewards, registration, vectors."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from hybrid.data.pairs import Pair
from hybrid.data.parallel import Seq2SeqVocabs
from hybrid.envs import ENV_ID, GenerationEnv, make_vector_env
from hybrid.errors import ConfigError
from hybrid.rewards import SentenceBLEU

PAIRS = [Pair(("ein", "hund", "läuft"), ("a", "dog", "runs")), Pair(("zwei", "katzen"), ("two", "cats"))]
VOCABS = Seq2SeqVocabs.build(PAIRS)


def test_passes_gymnasiums_checker():
    check_env(GenerationEnv(PAIRS, VOCABS, max_length=6), skip_render_check=True)


@pytest.mark.parametrize("seed", range(5))
def test_random_episode_ends_at_eos_or_max_length_with_reward_only_at_the_end(seed):
    env = GenerationEnv(PAIRS, VOCABS, max_length=8)
    env.action_space.seed(seed)
    obs, _ = env.reset(seed=seed)
    assert env.observation_space.contains(obs)
    steps = 0
    while True:
        action = env.action_space.sample()
        obs, reward, terminated, truncated, info = env.step(action)
        steps += 1
        if terminated or truncated:
            break
        assert reward == 0.0
    assert terminated == (action == VOCABS.eos)
    assert truncated == (not terminated and steps == 8)
    assert obs["prefix_length"] == steps
    with pytest.raises(RuntimeError, match="ended"):
        env.step(0)


def test_reward_at_eos_is_the_bleu_of_the_output():
    env = GenerationEnv(PAIRS, VOCABS, render_mode="ansi")
    obs, info = env.reset(options={"index": 0})
    assert obs["source_length"] == 3 and info["index"] == 0
    for word in ("a", "dog", "runs"):
        assert env.step(VOCABS.target.index(word))[1] == 0.0
    _, reward, terminated, _, info = env.step(VOCABS.eos)
    assert terminated and info["output"] == ["a", "dog", "runs"]
    assert reward == pytest.approx(float(SentenceBLEU()([["a", "dog", "runs"]], [["a", "dog", "runs"]])[0]))
    assert env.render() == "ein hund läuft => a dog runs"


def test_registered_and_vectorised():
    env = gymnasium.make(ENV_ID, pairs=PAIRS, vocabs=VOCABS, max_length=4)
    assert isinstance(env.unwrapped, GenerationEnv)
    vec = make_vector_env(3, PAIRS, VOCABS, max_length=4)
    obs, _ = vec.reset(seed=0)
    assert obs["prefix"].shape == (3, 4)
    obs, rewards, terminated, truncated, _ = vec.step(np.array([VOCABS.eos, 4, 4]))
    assert terminated.tolist() == [True, False, False] and rewards.shape == (3,)


def test_bad_arguments():
    with pytest.raises(ConfigError, match="at least one"):
        GenerationEnv([], VOCABS)
    with pytest.raises(ConfigError, match="max_length"):
        GenerationEnv(PAIRS, VOCABS, max_length=0)
    env = GenerationEnv(PAIRS, VOCABS)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="not in"):
        env.step(len(VOCABS.target))
