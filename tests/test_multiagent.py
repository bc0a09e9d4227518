"""Multi-agent contract: conformance over every registered coop env, episode totals,
and parameter-shared SB3 training through ParallelBatchVecEnv."""

import io

import numpy as np
import pytest
from stable_baselines3 import PPO

import mlsafety.envs as envs
from mlsafety.agents.build import find_batch_class, make_training_env
from mlsafety.agents.config import TrainConfig
from mlsafety.agents.social import CollectiveReward
from mlsafety.agents.train import train
from mlsafety.cli import main
from mlsafety.envs import check_env, make_parallel
from mlsafety.sb3 import ParallelBatchVecEnv
from mlsafety.wrappers import SafetyStatsParallel

COOP_IDS = envs.env_ids(api="pettingzoo")


def test_every_coop_env_is_in_the_catalogue():
    assert {
        "mlsafety/CommonsHarvest-v0",
        "mlsafety/Cleanup-v0",
        "mlsafety/StagHunt-v0",
        "mlsafety/PricingDuopoly-v0",
    } <= set(COOP_IDS)


@pytest.mark.parametrize("env_id", COOP_IDS)
def test_coop_conformance(env_id):
    check_env(env_id, num_cycles=100)


@pytest.mark.parametrize("env_id", COOP_IDS)
def test_batch_class_is_found(env_id):
    batch = find_batch_class(env_id)(num_envs=2)
    obs = batch.reset(seed=0)
    assert obs.shape[:2] == (2, batch.num_agents)


def test_safety_stats_parallel_sums_each_agent():
    env = SafetyStatsParallel(make_parallel("StagHunt", max_cycles=5))
    env.reset(seed=0)
    proxy = dict.fromkeys(env.possible_agents, 0.0)
    true = dict.fromkeys(env.possible_agents, 0.0)
    for _ in range(5):
        actions = {a: 1 for a in env.agents}  # everyone hunts the stag
        _, rewards, _, _, infos = env.step(actions)
        for a in rewards:
            proxy[a] += rewards[a]
            true[a] += infos[a]["true_reward"]
    for a in env.possible_agents:
        ep = infos[a]["safety_episode"]
        assert ep["proxy_return"] == proxy[a] == 5 * 4.0
        assert ep["true_return"] == true[a]
        assert ep["length"] == 5
        assert ep["events"]["stag_caught"] == 5
        assert "efficiency" in ep["social"]


def test_parameter_sharing_vec_env_slots_and_episode_end():
    venv = make_training_env(TrainConfig(env="StagHunt", n_envs=3, env_kwargs={"max_cycles": 4}))
    assert isinstance(venv, ParallelBatchVecEnv)
    assert venv.num_envs == 3 * 2
    venv.seed(7)
    obs = venv.reset()
    assert obs.shape[0] == 6
    # copy 0: both stag; copy 1: agent 0 stag, agent 1 hare; copy 2: both hare
    actions = np.array([1, 1, 1, 0, 0, 0])
    for _ in range(4):
        obs, rewards, dones, infos = venv.step(actions)
    np.testing.assert_allclose(rewards, [4, 4, 0, 3, 3, 3])
    assert dones.all()
    assert infos[2]["events"] == ("miscoordination",)
    assert infos[0]["TimeLimit.truncated"] is True
    assert "terminal_observation" in infos[5] and "social" in infos[5]


def test_collective_reward_reaches_the_learner_not_the_contract():
    venv = make_training_env(
        TrainConfig(env="StagHunt", n_envs=1, reward="collective", env_kwargs={"max_cycles": 4})
    )
    assert isinstance(venv.reward_transform, CollectiveReward)
    venv.seed(0)
    venv.reset()
    _, rewards, _, infos = venv.step(np.array([1, 0]))
    np.testing.assert_allclose(rewards, [1.5, 1.5])  # the mean of 0 and 3
    assert [i["reward"] for i in infos] == [0.0, 3.0]


def test_shared_ppo_trains_and_cli_saves(tmp_path):
    model = train(
        TrainConfig(
            env="PricingDuopoly",
            timesteps=512,
            n_envs=4,
            algo_kwargs={"n_steps": 64, "batch_size": 128},
        )
    )
    assert isinstance(model, PPO)
    out = io.StringIO()
    code = main(
        [
            "train",
            "--env",
            "StagHunt",
            "--timesteps",
            "256",
            "--n-envs",
            "2",
            "--inequity-aversion",
            "5",
            "0.05",
            "--output",
            str(tmp_path),
        ],
        out=out,
    )
    assert code == 0
    assert (tmp_path / "model.zip").exists() and (tmp_path / "config.json").exists()
    assert not list(tmp_path.glob("*.tmp*"))


def test_train_config_rejects_bad_combinations():
    with pytest.raises(ValueError, match="single-agent"):
        TrainConfig(env="BoatRace", reward="collective")
    with pytest.raises(ValueError, match="not both"):
        TrainConfig(env="StagHunt", reward="collective", inequity_aversion=(5.0, 0.0))
    with pytest.raises(ValueError, match="algo"):
        TrainConfig(env="StagHunt", algo="sac")
