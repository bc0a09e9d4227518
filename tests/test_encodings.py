"""One-hot tile channels: the same encoding for single, vector, PettingZoo and batched envs."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode
from stable_baselines3 import PPO
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import mlsafety.envs as envs
from mlsafety.encodings import (
    OneHotTiles,
    OneHotTilesBatch,
    OneHotTilesParallel,
    OneHotTilesVector,
    one_hot_tiles,
)
from mlsafety.envs.coop import CommonsHarvestBatch
from mlsafety.sb3 import ParallelBatchVecEnv, make_sb3_vec_env
from mlsafety.testing import check_safety_env
from mlsafety.wrappers import SafetyStatsVector

GRIDS = ["mlsafety/IslandNavigation-v0", "mlsafety/DistributionalShift-v0", "mlsafety/BoatRace-v0"]


def test_one_hot_is_exact_and_refuses_codes_out_of_range() -> None:
    x = np.array([[[0, 2], [1, 1]], [[2, 2], [0, 1]]])  # (batch 2, 2 x 2)
    y = one_hot_tiles(x, 3, ndim=2)
    assert y.shape == (2, 3, 2, 2) and y.dtype == np.uint8
    assert np.array_equal(y.argmax(axis=1), x) and np.all(y.sum(axis=1) == 1)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        one_hot_tiles(np.array([[3]]), 3, ndim=2)


@pytest.mark.parametrize("env_id", GRIDS)
def test_single_env_channels_round_trip_and_conform(env_id: str) -> None:
    raw = gym.make(env_id)
    env = OneHotTiles(gym.make(env_id))
    n = int(raw.observation_space.high.max()) + 1
    assert env.observation_space.shape == (n, *raw.observation_space.shape)
    a, _ = raw.reset(seed=3)
    b, _ = env.reset(seed=3)
    assert np.array_equal(b.argmax(axis=0), a) and env.observation_space.contains(b)
    check_safety_env(lambda: OneHotTiles(gym.make(env_id)), steps=50)
    sb3_check_env(env)


def test_vector_env_matches_the_single_env_including_final_observations() -> None:
    env_id = "mlsafety/IslandNavigation-v0"
    venv = OneHotTilesVector(
        gym.make_vec(
            env_id, num_envs=3, vectorization_mode="vector_entry_point", autoreset_mode="SameStep"
        )
    )
    single = OneHotTiles(gym.make(env_id))
    obs, _ = venv.reset(seed=5)
    for i in range(3):
        assert np.array_equal(obs[i], single.reset(seed=5 + i)[0])
    rng = np.random.default_rng(0)
    saw_final = False
    for _ in range(60):
        obs, _, term, trunc, info = venv.step(rng.integers(0, 5, 3))
        if "final_obs" in info and np.any(term | trunc):
            done = np.flatnonzero(term | trunc)
            final = info["final_obs"]
            assert all(final[i].shape == venv.single_observation_space.shape for i in done)
            saw_final = True
        assert venv.observation_space.contains(obs)
    assert saw_final


def test_parallel_and_batched_coop_envs_get_the_same_channels() -> None:
    pz = OneHotTilesParallel(envs.make_parallel("CommonsHarvest"))
    raw = envs.make_parallel("CommonsHarvest")
    a, _ = raw.reset(seed=1)
    b, _ = pz.reset(seed=1)
    for agent in raw.possible_agents:
        assert np.array_equal(b[agent].argmax(axis=0), a[agent])
        assert pz.observation_space(agent).contains(b[agent])
    batch = OneHotTilesBatch(CommonsHarvestBatch(num_envs=2))
    obs = batch.reset(seed=1)
    assert obs.shape == (2, batch.num_agents, *batch.observation_space.shape)
    vec = ParallelBatchVecEnv(OneHotTilesBatch(CommonsHarvestBatch(num_envs=2)))
    model = PPO("MlpPolicy", vec, n_steps=16, batch_size=32, n_epochs=1, seed=0, device="cpu")
    model.learn(64)


def test_ppo_trains_on_the_one_hot_batch() -> None:
    venv = make_sb3_vec_env(
        "mlsafety/IslandNavigation-v0", 4, wrappers=[SafetyStatsVector, OneHotTilesVector]
    )
    model = PPO("MlpPolicy", venv, n_steps=32, batch_size=64, n_epochs=1, seed=0, device="cpu")
    model.learn(256)
    raw = gym.make("mlsafety/IslandNavigation-v0").observation_space
    assert model.observation_space.shape == (int(raw.high.max()) + 1, *raw.shape)


def test_vector_final_obs_when_every_episode_ends_on_the_same_step() -> None:
    venv = OneHotTilesVector(
        gym.make_vec(
            "mlsafety/IslandNavigation-v0", num_envs=3, vectorization_mode="vector_entry_point",
            autoreset_mode=AutoresetMode.SAME_STEP, max_steps=1,
        )
    )  # fmt: skip
    venv.reset(seed=0)
    _, _, _, truncs, info = venv.step(np.array([4, 4, 4]))
    final = info["final_obs"]
    assert truncs.all() and final.shape == (3,)  # one slot per env, as SB3 reads it
    assert all(f.dtype == np.uint8 and f.shape == (28, 6, 8) for f in final)
