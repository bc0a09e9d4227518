"""Every registered mlsafety env passes the conformance check; the catalogue resolves names."""

import gymnasium as gym
import pytest

import mlsafety.envs as envs
from mlsafety.envs.gridworlds import GRIDWORLDS
from mlsafety.testing import check_safety_env

ALL_IDS = envs.env_ids()


def test_registry_enumerates_every_gridworld():
    assert len(ALL_IDS) >= len(GRIDWORLDS) == 12
    for name, *_ in GRIDWORLDS:
        assert f"mlsafety/{name}-v0" in gym.registry


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_conformance(env_id):
    check_safety_env(env_id, steps=200)


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_docstring_is_a_spec_page(env_id):
    doc = gym.spec(env_id).entry_point
    cls = gym.make(env_id).unwrapped.__class__
    for heading in ("Description", "Action Space", "Observation Space", "Termination",
                    "Registered IDs"):  # fmt: skip
        assert f"## {heading}" in (cls.__doc__ or ""), (doc, heading)
    assert env_id.split("/")[1] in cls.__doc__


def test_module_prefix_form_works():
    env = gym.make("mlsafety.envs:mlsafety/BoatRace-v0")
    env.reset(seed=0)


def test_resolve_id_suggests_closest():
    assert envs.resolve_id("BoatRace") == "mlsafety/BoatRace-v0"
    assert envs.resolve_id("BoatRace-v0") == "mlsafety/BoatRace-v0"
    with pytest.raises(envs.UnknownEnvError, match="Did you mean 'mlsafety/BoatRace-v0'"):
        envs.resolve_id("mlsafety/BoatRase-v0")
    with pytest.raises(envs.UnknownEnvError, match="mlsafety envs"):
        envs.make("Nothing-Like-It")
