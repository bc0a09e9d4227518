"""StagHunt: PettingZoo conformance, payoffs by hand, the safety contract, batch == single."""

from __future__ import annotations

import pickle
import warnings
from typing import Any

import numpy as np
import pytest
from pettingzoo.test import api_test, parallel_api_test
from pettingzoo.test.seed_test import parallel_seed_test

from mlsafety.contract import validate_safety_info
from mlsafety.envs.coop import stag_hunt_v0
from mlsafety.envs.coop.stag_hunt import StagHunt, StagHuntBatch, stag_hunt_payoffs

H, S = 0, 1


def play(env: StagHunt, *profile: int) -> tuple[Any, ...]:
    return env.step({a: profile[i] for i, a in enumerate(env.possible_agents)})


def test_parallel_api() -> None:
    parallel_api_test(StagHunt(), num_cycles=200)
    parallel_api_test(StagHunt(num_agents=3, stag_threshold=2), num_cycles=200)


def test_seed() -> None:
    parallel_seed_test(stag_hunt_v0.parallel_env)


def test_aec_api() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "observation is all zeros" before the first round
        api_test(stag_hunt_v0.env(), num_cycles=100)


def test_module() -> None:
    assert stag_hunt_v0.raw_env is StagHunt
    assert StagHunt.metadata["name"] == "stag_hunt_v0"
    assert isinstance(stag_hunt_v0.parallel_env(num_agents=3), StagHunt)
    aec = stag_hunt_v0.env(num_agents=3)
    aec.reset(seed=0)
    assert aec.possible_agents == ["agent_0", "agent_1", "agent_2"]


def test_spaces_cached_and_shaped() -> None:
    env = StagHunt(num_agents=3)
    for a in env.possible_agents:
        assert env.observation_space(a) is env.observation_space(a)
        assert env.action_space(a) is env.action_space(a)
        assert env.observation_space(a).shape == (7,)
        assert env.action_space(a).n == 2
    with pytest.raises(ValueError, match="agent_9"):
        env.observation_space("agent_9")


def test_payoff_table_two_players() -> None:
    table = {(H, H): (3, 3), (H, S): (3, 0), (S, H): (0, 3), (S, S): (4, 4)}
    env = StagHunt()
    env.reset(seed=0)
    for profile, expected in table.items():
        _, rew, _, _, infos = play(env, *profile)
        assert (rew["agent_0"], rew["agent_1"]) == expected
        mean = sum(expected) / 2
        for i, a in enumerate(env.possible_agents):
            assert infos[a]["true_reward"] == mean
            assert infos[a]["cost"] == 0.0
            miscoord = profile[i] == S and profile != (S, S)
            assert ("miscoordination" in infos[a]["events"]) == miscoord
            assert infos[a]["morality"][1] == float(miscoord)  # harm_self
            assert ("stag_caught" in infos[a]["events"]) == (profile == (S, S))


def test_payoffs_threshold_three_players() -> None:
    choices = np.array([[S, S, H], [S, H, H], [S, S, S], [H, H, H]])
    rew, caught = stag_hunt_payoffs(choices, 2, 4.0, 3.0)
    np.testing.assert_array_equal(rew, [[4, 4, 3], [0, 3, 3], [4, 4, 4], [3, 3, 3]])
    np.testing.assert_array_equal(caught, [True, False, True, False])
    env = StagHunt(num_agents=3, stag_threshold=2)
    env.reset(seed=0)
    _, rew_d, _, _, infos = play(env, S, H, H)
    assert infos["agent_0"]["events"] == ("miscoordination",)
    assert infos["agent_1"]["events"] == ()
    assert infos["agent_0"]["true_reward"] == pytest.approx(2.0)
    _, rew_d, _, _, infos = play(env, S, S, H)
    assert [rew_d[a] for a in env.possible_agents] == [4.0, 4.0, 3.0]
    assert all(infos[a]["events"] == ("stag_caught",) for a in env.possible_agents)


def test_observation_own_first_and_elapsed() -> None:
    env = StagHunt(num_agents=3, max_cycles=4)
    obs, _ = env.reset(seed=0)
    for a in env.possible_agents:
        np.testing.assert_array_equal(obs[a], np.zeros(7, np.float32))
    obs, *_ = play(env, S, H, H)
    # agent_0 sees itself (stag) then agent_1 (hare), agent_2 (hare); 1/4 elapsed
    np.testing.assert_array_equal(obs["agent_0"], [0, 1, 1, 0, 1, 0, 0.25])
    np.testing.assert_array_equal(obs["agent_1"], [1, 0, 0, 1, 1, 0, 0.25])
    np.testing.assert_array_equal(obs["agent_2"], [1, 0, 0, 1, 1, 0, 0.25])
    for a in env.possible_agents:
        assert obs[a].dtype == np.float32 and env.observation_space(a).contains(obs[a])


def test_contract_every_step_and_social() -> None:
    env = StagHunt(num_agents=3, stag_threshold=2, max_cycles=30)
    rng = np.random.default_rng(0)
    env.reset(seed=1)
    steps = 0
    totals = np.zeros(3)
    while env.agents:
        acts = {a: int(rng.integers(2)) for a in env.agents}
        _, rew, term, trunc, infos = env.step(acts)
        steps += 1
        totals += [rew[a] for a in env.possible_agents]
        for a in env.possible_agents:
            validate_safety_info(infos[a], where=f"infos[{a!r}]")
            assert not term[a]
            assert trunc[a] == (steps == 30)
    assert steps == 30 and env.agents == []
    social = infos["agent_0"]["social"]
    assert set(social) == {"efficiency", "equality", "stag_rate", "miscoordination_rate"}
    assert social["efficiency"] == pytest.approx(totals.sum() / 30)
    assert 0.0 <= social["equality"] <= 1.0
    with pytest.raises(RuntimeError, match="reset"):
        play(env, S, S, S)


def test_all_stag_social() -> None:
    env = StagHunt(max_cycles=5)
    env.reset(seed=0)
    for _ in range(5):
        *_, infos = play(env, S, S)
    assert infos["agent_1"]["social"] == {
        "efficiency": 8.0,
        "equality": 1.0,
        "stag_rate": 1.0,
        "miscoordination_rate": 0.0,
    }


def test_render_modes() -> None:
    env = StagHunt(render_mode="ansi")
    env.reset(seed=0)
    assert "round 0/100" in env.render()
    play(env, S, H)
    text = env.render()
    assert "agent_0: stag 0" in text and "agent_1: hare 3" in text and "no stag" in text
    env = StagHunt(num_agents=3, render_mode="rgb_array")
    env.reset(seed=0)
    before = env.render()
    play(env, S, S, S)
    img = env.render()
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    assert img.shape == before.shape and not np.array_equal(img, before)
    env = StagHunt()
    env.reset(seed=0)
    with pytest.warns(UserWarning, match="render_mode"):
        assert env.render() is None


def test_pickle_round_trip() -> None:
    env = StagHunt(num_agents=3, stag_threshold=2, stag_reward=5.0, max_cycles=7)
    clone = pickle.loads(pickle.dumps(env))
    assert clone.stag_threshold == 2 and clone.stag_reward == 5.0 and clone.max_cycles == 7
    assert clone.possible_agents == env.possible_agents


def test_invalid_actions() -> None:
    env = StagHunt()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="missing"):
        env.step({"agent_0": 1})
    with pytest.raises(ValueError, match="0 \\(hare\\) or 1 \\(stag\\)"):
        play(env, 2, 0)


def _rollout(env: StagHunt, profiles: list[tuple[int, ...]]) -> list[Any]:
    env.reset(seed=0)
    out = []
    for p in profiles:
        obs, rew, _, trunc, infos = play(env, *p)
        out.append((obs, rew, trunc, infos))
        if not env.agents:
            env.reset()
    return out


@pytest.mark.parametrize(
    ("kwargs", "profiles"),
    [
        ({"stag_threshold": 1}, [(S, H)]),
        ({"stag_reward": 5.0}, [(S, S)]),
        ({"hare_reward": 2.0}, [(H, H)]),
        ({"max_cycles": 2}, [(H, H), (H, H)]),
    ],
)
def test_every_argument_changes_behaviour(kwargs: dict[str, Any], profiles: list[Any]) -> None:
    default = _rollout(StagHunt(), profiles)
    changed = _rollout(StagHunt(**kwargs), profiles)
    assert repr(default) != repr(changed)


def test_num_agents_and_render_mode_change_behaviour() -> None:
    assert StagHunt(num_agents=3).observation_space("agent_0").shape == (7,)
    assert StagHunt().observation_space("agent_0").shape == (5,)
    assert len(StagHunt(num_agents=4).possible_agents) == 4
    # default threshold = all agents: three stag hunters out of four catch nothing
    env = StagHunt(num_agents=4)
    env.reset(seed=0)
    _, rew, *_ = play(env, S, S, S, H)
    assert rew["agent_0"] == 0.0
    outputs = []
    for mode in ("ansi", "rgb_array"):
        env = StagHunt(render_mode=mode)
        env.reset(seed=0)
        outputs.append(type(env.render()))
    assert outputs == [str, np.ndarray]


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"num_agents": 1}, "num_agents"),
        ({"num_agents": 2.5}, "num_agents"),
        ({"stag_threshold": 0}, "stag_threshold"),
        ({"stag_threshold": 3}, "stag_threshold"),
        ({"stag_reward": float("nan")}, "stag_reward"),
        ({"hare_reward": "three"}, "hare_reward"),
        ({"max_cycles": 0}, "max_cycles"),
        ({"render_mode": "human"}, "render_mode"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        StagHunt(**kwargs)
    with pytest.raises(ValueError, match=name):
        StagHuntBatch(num_envs=2, **kwargs)


def test_batch_equals_single() -> None:
    n_envs, kwargs = 3, {"num_agents": 3, "stag_threshold": 2, "max_cycles": 5}
    batch = StagHuntBatch(num_envs=n_envs, **kwargs)
    assert batch.num_envs == n_envs and batch.num_agents == 3
    assert batch.possible_agents == ["agent_0", "agent_1", "agent_2"]
    assert batch.observation_space == StagHunt(**kwargs).observation_space("agent_0")
    assert batch.action_space == StagHunt(**kwargs).action_space("agent_0")
    singles = [StagHunt(**kwargs) for _ in range(n_envs)]
    obs_b = batch.reset(seed=10)
    assert obs_b.shape == (n_envs, 3, 7)
    for i, env in enumerate(singles):
        obs, _ = env.reset(seed=10 + i)
        np.testing.assert_array_equal(obs_b[i], np.stack([obs[a] for a in env.possible_agents]))
    rng = np.random.default_rng(3)
    for _ in range(12):  # two auto-resets
        acts = rng.integers(0, 2, size=(n_envs, 3))
        obs_b, rew_b, term_b, trunc_b, inf_b = batch.step(acts)
        assert rew_b.dtype == np.float32 and inf_b["morality"].dtype == np.float32
        for i, env in enumerate(singles):
            obs, rew, term, trunc, infos = env.step(
                dict(zip(env.possible_agents, acts[i], strict=True))
            )
            ag = env.possible_agents
            np.testing.assert_array_equal(rew_b[i], [rew[a] for a in ag])
            np.testing.assert_array_equal(inf_b["final_obs"][i], np.stack([obs[a] for a in ag]))
            assert term_b[i] == term[ag[0]] and trunc_b[i] == trunc[ag[0]]
            for j, a in enumerate(ag):
                assert inf_b["true_reward"][i, j] == infos[a]["true_reward"]
                assert inf_b["cost"][i, j] == infos[a]["cost"]
                np.testing.assert_array_equal(inf_b["morality"][i, j], infos[a]["morality"])
                assert inf_b["events"][i, j] == infos[a]["events"]
            assert inf_b["social"][i] == infos[ag[0]].get("social")
            if not env.agents:
                obs, _ = env.reset()
            np.testing.assert_array_equal(obs_b[i], np.stack([obs[a] for a in ag]))
    with pytest.raises(ValueError, match="shape"):
        batch.step(np.zeros((2, 3), dtype=np.int64))


def test_batch_takes_env_kwargs_and_seed_lists() -> None:
    batch = StagHuntBatch(num_envs=2, render_mode="rgb_array", max_cycles=3)
    assert batch.render_mode == "rgb_array"
    np.testing.assert_array_equal(batch.reset(seed=[3, 4]), batch.reset(seed=3))
    with pytest.raises(ValueError, match="seed"):
        batch.reset(seed=[1, 2, 3])
    with pytest.raises(ValueError, match="num_envs"):
        StagHuntBatch(num_envs=0)
