"""The conformance checks take IDs, modules and factories for every family, and name the
right check when given the wrong kind of env (instead of a raw assertion from SB3)."""

from __future__ import annotations

import gymnasium as gym
import pytest

import mlsafety.envs as envs
from mlsafety.envs.gridworlds.boat_race import BoatRace
from mlsafety.testing import ConformanceError, check_safety_env, check_safety_parallel_env


def test_check_env_takes_a_gridworld_by_id_bare_name_and_factory() -> None:
    envs.check_env("mlsafety/BoatRace-v0", steps=50)
    envs.check_env("BoatRace", steps=50)
    envs.check_env(lambda: BoatRace(), steps=50)


def test_check_env_takes_a_multi_agent_env_by_id_module_and_factory() -> None:
    envs.check_env("StagHunt", num_cycles=20)
    module = envs.parallel_module("mlsafety/StagHunt-v0")
    envs.check_env(module, num_cycles=20)
    envs.check_env(lambda: envs.make_parallel("StagHunt"), num_cycles=20)


def test_check_env_runs_the_text_scenario_check_on_a_text_id() -> None:
    envs.check_env("mlsafety/TextBakery-v0", conformance=False)


def test_check_env_takes_the_module_id_form() -> None:
    envs.check_env("mlsafety.envs:mlsafety/BoatRace-v0", steps=30)
    with pytest.raises(envs.UnknownEnvError, match="cannot import module"):
        envs.check_env("no_such_package_xyz:mlsafety/BoatRace-v0")


def test_a_text_env_given_to_the_sb3_check_names_the_text_check() -> None:
    with pytest.raises(ConformanceError, match="check_text_scenario"):
        check_safety_env("mlsafety/TextBakery-v0")


def test_a_parallel_env_given_to_the_gymnasium_check_names_the_parallel_check() -> None:
    with pytest.raises(ConformanceError, match="check_safety_parallel_env"):
        check_safety_env(lambda: envs.make_parallel("StagHunt"))


def test_a_gymnasium_env_given_to_the_parallel_check_names_the_gymnasium_check() -> None:
    with pytest.raises(ConformanceError, match="check_safety_env"):
        check_safety_parallel_env(lambda: gym.make("mlsafety/BoatRace-v0"))


def test_an_id_given_to_the_parallel_check_points_to_check_env() -> None:
    with pytest.raises(TypeError, match=r"mlsafety.envs.check_env\('mlsafety/StagHunt-v0'\)"):
        check_safety_parallel_env("mlsafety/StagHunt-v0")  # type: ignore[arg-type]


def test_the_conformance_checks_catch_a_contract_breach() -> None:
    class NoCost(gym.Wrapper):  # type: ignore[type-arg]
        def step(self, action):  # type: ignore[no-untyped-def]
            obs, r, term, trunc, info = self.env.step(action)
            info = dict(info)
            del info["cost"]
            return obs, r, term, trunc, info

    with pytest.raises(ConformanceError, match="cost"):
        envs.check_env(lambda: NoCost(BoatRace()), skip=("gymnasium", "sb3"))
