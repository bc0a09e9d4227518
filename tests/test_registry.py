"""Every registered mlsafety env passes the conformance check; the catalogue resolves names."""

import gymnasium as gym
import numpy as np
import pytest

import mlsafety.envs as envs
from mlsafety.envs.gridworlds import GRIDWORLDS
from mlsafety.testing import check_safety_env, run_actions

# text scenarios have Text spaces (not SB3's): tests/text checks them with their own check
ALL_IDS = [i for i in envs.env_ids(api="gymnasium") if envs.CATALOGUE[i].family != "text"]


def test_registry_enumerates_every_gridworld():
    assert len(ALL_IDS) >= len(GRIDWORLDS) >= 12
    for name, *_ in GRIDWORLDS:
        assert f"mlsafety/{name}-v0" in gym.registry


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_conformance(env_id):
    check_safety_env(env_id, steps=200)


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_docstring_is_a_spec_page(env_id):
    doc = gym.spec(env_id).entry_point
    cls = gym.make(env_id).unwrapped.__class__
    for heading in (
        "Description",
        "Action Space",
        "Observation Space",
        "Termination",
        "Registered IDs",
    ):
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


# the one argument that makes a reference trajectory deterministic
REFERENCE_KWARGS = {"mlsafety/WhiskyGoldPenalised-v0": {"whisky_exploration": 0.0}}
# faithful ports whose original has no proxy to game (the reward is the performance, the
# hazard ends the episode, or a side effect pays nothing either way): their "exploit" is the
# unsafe behaviour, paid for in cost
NO_PROXY = {
    "mlsafety/IslandNavigation-v0",
    "mlsafety/IslandNavigationWaterNearStart-v0",
    "mlsafety/IslandNavigationMovedLake-v0",
    "mlsafety/DistributionalShift-v0",
    "mlsafety/DistributionalShiftTest-v0",
    "mlsafety/DistributionalShiftNewLava-v0",
    "mlsafety/DistributionalShiftLavaAtGoal-v0",
    "mlsafety/WhiskyGold-v0",
    "mlsafety/ConveyorBeltVase-v0",
    "mlsafety/ConveyorBeltSushi-v0",
    "mlsafety/ConveyorBeltSushiGoal-v0",
}
# the training levels, and the test level that seed 0 draws (2): the memorised path is fine
HARMLESS_EXPLOIT = {
    "mlsafety/DistributionalShift-v0",
    "mlsafety/DistributionalShiftTest-v0",
    "mlsafety/DistributionalShiftLavaProxy-v0",
}
# envs whose exploit only pays on average over episodes: the original SafeInterruptibility
# draws the interruption once per episode and scores interrupted episodes 0 either way
EPISODES = {"mlsafety/SafeInterruptibility-v0": 20}
# the original BoatRace pays looping over a checkpoint exactly as well as racing laps
PROXY_TIES = {"mlsafety/BoatRace-v0"}


def _mean_trace(env, actions, episodes):
    traces = [run_actions(env, actions, seed=s) for s in range(episodes)]
    return type(traces[0])(*(np.mean([t[i] for t in traces]) for i in range(4)), *traces[0][4:])


@pytest.mark.parametrize("env_id", envs.env_ids("gridworld"))
def test_reference_exploit_pays_in_proxy_costs_in_truth(env_id):
    env = gym.make(env_id, **REFERENCE_KWARGS.get(env_id, {}))
    scripts = env.unwrapped.reference_actions
    episodes = EPISODES.get(env_id, 1)
    exploit = _mean_trace(env, scripts["exploit"], episodes)
    safe = _mean_trace(env, scripts["safe"], episodes)
    if env_id in HARMLESS_EXPLOIT:
        assert exploit.true_return == exploit.proxy_return and exploit.cost == safe.cost == 0
        return
    if env_id in NO_PROXY:
        assert safe.cost == 0 and exploit.cost > safe.cost
        return
    if env_id in PROXY_TIES:
        assert exploit.proxy_return == safe.proxy_return
    else:
        assert exploit.proxy_return > safe.proxy_return
    assert exploit.true_return < safe.true_return
    assert exploit.cost > safe.cost or exploit.true_return < exploit.proxy_return


@pytest.mark.parametrize(
    ("env_id", "kwargs"),
    [
        ("mlsafety/IslandNavigationWading-v0", {"water_terminates": True}),
        ("mlsafety/WhiskyGold-v0", {"whisky_exploration": 0.5, "apply_exploration": True}),
        ("mlsafety/DistributionalShift-v0", {"split": "test", "level": 1}),
        ("mlsafety/RocksDiamonds-v0", {"level": 1}),
        ("mlsafety/ConveyorBeltSushiGoal-v0", {"variant": "sushi_goal2"}),
    ],
)
def test_conformance_of_non_default_configurations(env_id, kwargs):
    check_safety_env(env_id, steps=150, **kwargs)
