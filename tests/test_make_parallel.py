"""``mlsafety.envs.make_parallel``: multi-agent envs by ID, and the wrong-API errors."""

import subprocess
import sys

import gymnasium as gym
import pytest
from pettingzoo import ParallelEnv

import mlsafety.envs as envs
from mlsafety.envs import UnknownEnvError, WrongAPIError, make_parallel
from mlsafety.envs.coop import StagHunt

PARALLEL_IDS = envs.env_ids(api="pettingzoo")


def test_every_multi_agent_id_builds_a_parallel_env():
    assert len(PARALLEL_IDS) >= 4
    for env_id in PARALLEL_IDS:
        env = make_parallel(env_id)
        assert isinstance(env, ParallelEnv), env_id
        obs, _ = env.reset(seed=0)
        assert set(obs) == set(env.possible_agents)
        env.close()


@pytest.mark.parametrize(
    "name",
    ["mlsafety/StagHunt-v0", "StagHunt", "StagHunt-v0", "mlsafety.envs:mlsafety/StagHunt-v0",
     "mlsafety.envs.coop:StagHunt"],
)  # fmt: skip
def test_name_forms_resolve_and_kwargs_reach_the_env(name):
    env = make_parallel(name, max_cycles=7)
    assert isinstance(env, StagHunt)
    assert env.max_cycles == 7


def test_typo_gets_a_suggestion():
    with pytest.raises(UnknownEnvError, match=r"Did you mean 'mlsafety/StagHunt-v0'\?"):
        make_parallel("StagHnut")
    with pytest.raises(UnknownEnvError, match="no_such_module"):
        make_parallel("no_such_module:StagHunt")


def test_wrong_api_points_to_the_other_function():
    with pytest.raises(WrongAPIError, match=r"make_parallel\('mlsafety/StagHunt-v0'\)"):
        envs.make("StagHunt")
    with pytest.raises(WrongAPIError, match=r"make\('mlsafety/BoatRace-v0'\)"):
        make_parallel("BoatRace")
    assert issubclass(WrongAPIError, gym.error.Error) and issubclass(WrongAPIError, ValueError)
    env = envs.make("mlsafety.envs:BoatRace")  # make() takes the module:ID form too
    assert env.spec is not None and env.spec.id == "mlsafety/BoatRace-v0"
    env.close()


def test_importing_envs_loads_no_multi_agent_engine():
    code = (
        "import sys, mlsafety.envs\n"
        "heavy = [m for m in ('pettingzoo', 'numba', 'torch') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "from mlsafety.envs.coop import PricingDuopoly, StagHuntBatch, market\n"
        "assert 'pettingzoo' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
