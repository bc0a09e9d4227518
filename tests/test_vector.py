"""The batched gridworlds match the single envs step for step, and plug into SB3."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import mlsafety.envs as envs
from mlsafety.envs.gridworlds.base import InvalidAction

GRID_IDS = envs.env_ids("gridworld") + envs.env_ids("dilemma")
N = 5


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
@pytest.mark.parametrize("env_id", GRID_IDS)
def test_batched_matches_single(env_id, mode):
    v = gym.make_vec(
        env_id,
        num_envs=N,
        vectorization_mode="vector_entry_point",
        autoreset_mode=mode,
        max_steps=30,
    )
    singles = [gym.make(env_id, max_steps=30) for _ in range(N)]
    obs_v, _ = v.reset(seed=11)
    for i, e in enumerate(singles):
        obs, _ = e.reset(seed=11 + i)
        np.testing.assert_array_equal(obs_v[i], obs)
    rng = np.random.default_rng(0)
    pending = np.zeros(N, dtype=bool)  # NextStep: this sub-env resets on the next call
    episodes = 0
    for _ in range(200):
        actions = rng.integers(0, 5, N)
        obs_v, rew_v, term_v, trunc_v, info_v = v.step(actions)
        for i, e in enumerate(singles):
            if pending[i]:
                obs, _ = e.reset()
                np.testing.assert_array_equal(obs_v[i], obs)
                assert rew_v[i] == 0 and not term_v[i] and not trunc_v[i]
                continue
            obs, r, term, trunc, info = e.step(int(actions[i]))
            assert rew_v[i] == r and term_v[i] == term and trunc_v[i] == trunc
            assert info_v["true_reward"][i] == info["true_reward"]
            assert info_v["cost"][i] == info["cost"]
            assert info_v["events"][i] == info["events"]
            np.testing.assert_array_equal(info_v["morality"][i], info["morality"])
            if mode == AutoresetMode.SAME_STEP and (term or trunc):
                np.testing.assert_array_equal(info_v["final_obs"][i], obs)
                obs, _ = e.reset()
                episodes += 1
            np.testing.assert_array_equal(obs_v[i], obs)
        if mode == AutoresetMode.NEXT_STEP:
            pending = term_v | trunc_v
            episodes += int(pending.sum())
    assert episodes >= N  # the comparison crossed autoresets


def test_vector_rejects_bad_actions():
    v = gym.make_vec("mlsafety/BoatRace-v0", num_envs=3, vectorization_mode="vector_entry_point")
    v.reset(seed=0)
    with pytest.raises(InvalidAction, match="3 int actions"):
        v.step(np.array([0, 1]))
    with pytest.raises(InvalidAction):
        v.step(np.array([0, 1, 7]))


def test_single_rejects_bad_action():
    env = gym.make("mlsafety/BoatRace-v0")
    env.reset(seed=0)
    with pytest.raises(InvalidAction, match="up, down, left, right, noop"):
        env.unwrapped.step(9)
    with pytest.raises(InvalidAction):
        env.unwrapped.step("left")
