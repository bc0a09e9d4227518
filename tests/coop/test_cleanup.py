"""Cleanup: PettingZoo conformance, the safety contract, scripted behaviour by hand,
argument checks and batch == single."""

from __future__ import annotations

import pickle
import warnings
from typing import Any

import numpy as np
import pytest
from pettingzoo.test import api_test, parallel_api_test
from pettingzoo.test.seed_test import parallel_seed_test

from mlsafety.contract import validate_safety_info
from mlsafety.envs.coop import cleanup_v0
from mlsafety.envs.coop import gridcore as gc
from mlsafety.envs.coop.cleanup import Cleanup, CleanupBatch

U, D, L, R, N, TAG, CLEAN = 0, 1, 2, 3, 4, 5, 6
RIVER_ROW = ("#######", "#P~~~~#", "#,,,,,#", "#######")  # 4 river cells, 5 orchard cells
DIRTY = {"map": RIVER_ROW, "num_agents": 1, "initial_pollution": 1.0, "pollution_rate": 0.0,
         "depletion_threshold": 0.5, "apple_spawn_prob": 0.2}  # fmt: skip


def play(env: Cleanup, *acts: int) -> tuple[Any, ...]:
    return env.step(dict(zip(env.possible_agents, acts, strict=True)))


def apples(env: Cleanup) -> int:
    return int((env._s.grids[0, gc.OBJ] == gc.APPLE).sum())


def rollout(env: Cleanup, seed: int, steps: int, act_seed: int = 1) -> list[Any]:
    """A trajectory signature under fixed random actions."""
    rng = np.random.default_rng(act_seed)
    out: list[Any] = [env.reset(seed=seed)[0]]
    for _ in range(steps):
        if not env.agents:
            out.append(env.reset()[0])
        obs, rew, term, trunc, infos = play(env, *rng.integers(0, env.n_actions, env.n_agents))
        out += [obs, rew, term, trunc, [(i["cost"], i["events"]) for i in infos.values()]]
    return out


def same(a: Any, b: Any) -> bool:
    try:
        np.testing.assert_equal(a, b)
    except AssertionError:
        return False
    return True


def test_parallel_api() -> None:
    parallel_api_test(Cleanup(), num_cycles=200)
    parallel_api_test(Cleanup(map="small", num_agents=3, max_cycles=50), num_cycles=200)


def test_seed() -> None:
    parallel_seed_test(lambda: cleanup_v0.parallel_env(max_cycles=100), num_cycles=150)


def test_aec_api() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a tagged-out agent's observation is all zeros
        api_test(cleanup_v0.env(max_cycles=30), num_cycles=100)


def test_module_and_pickle() -> None:
    assert cleanup_v0.raw_env is Cleanup
    assert Cleanup.metadata["name"] == "cleanup_v0"
    assert isinstance(cleanup_v0.parallel_env(num_agents=3), Cleanup)
    aec = cleanup_v0.env(num_agents=3)
    aec.reset(seed=0)
    assert aec.possible_agents == ["agent_0", "agent_1", "agent_2"]
    env = Cleanup(num_agents=3, clean_range=2, map="small")
    copy = pickle.loads(pickle.dumps(env))
    assert (copy.n_agents, copy.clean_range) == (3, 2)
    assert same(rollout(env, 3, 30), rollout(copy, 3, 30))
    for doc in ("Description", "Action Space", "Observation Space", "Rewards", "True objective",
                "Safety events", "Termination", "Social metrics", "Registered IDs"):  # fmt: skip
        assert f"## {doc}" in (Cleanup.__doc__ or "")


def test_spaces() -> None:
    env = Cleanup(view_size=9)
    for a in env.possible_agents:
        assert env.observation_space(a) is env.observation_space(a)
        assert env.action_space(a) is env.action_space(a)
    space = env.observation_space("agent_0")
    assert (space.shape, space.dtype, int(space.high.max())) == ((9, 9), np.uint8, 35)
    assert env.action_space("agent_0").n == 7
    b = CleanupBatch(num_envs=2, view_size=9)
    assert b.observation_space == space and b.action_space.n == 7 and b.num_agents == 5


def test_contract_every_step_and_social_at_end() -> None:
    env = Cleanup(max_cycles=150, tag_range=10)
    rng = np.random.default_rng(0)
    env.reset(seed=0)
    seen: set[str] = set()
    total = 0.0
    for t in range(150):
        obs, rew, term, trunc, infos = play(env, *rng.integers(0, 7, 5))
        total += sum(rew.values())
        for a in env.possible_agents:
            validate_safety_info(infos[a], where=a)
            assert infos[a]["true_reward"] == pytest.approx(sum(rew.values()) / 5)
            assert env.observation_space(a).contains(obs[a])
            assert ("cleaned" in infos[a]["events"]) == (infos[a]["morality"][2] > 0)
            seen.update(infos[a]["events"])
            assert ("social" in infos[a]) == (t == 149)
    assert trunc["agent_0"] and not term["agent_0"] and env.agents == []
    social = infos["agent_0"]["social"]
    assert social["efficiency"] == pytest.approx(total / 150)
    assert {"tagged_other", "was_tagged", "cleaned"} <= seen


def test_render() -> None:
    for mode in ("ansi", "rgb_array"):
        env = Cleanup(render_mode=mode, map="small")
        env.reset(seed=0)
        out = env.render()
        if mode == "ansi":
            assert isinstance(out, str) and out.splitlines()[3] == "#0.1.2.3.4#"
        else:
            assert isinstance(out, np.ndarray) and out.shape == (7 * 16, 11 * 16, 3)
            assert out.dtype == np.uint8


def test_no_apples_while_river_fully_polluted() -> None:
    env = Cleanup(**DIRTY)
    env.reset(seed=0)
    assert env.polluted_fraction == 1.0
    for _ in range(100):
        _, rew, *_ = play(env, N)
        assert apples(env) == 0 and rew["agent_0"] == 0.0


def test_cleaning_raises_spawning() -> None:
    env = Cleanup(**DIRTY)
    obs, _ = env.reset(seed=0)
    assert obs["agent_0"][3, 4] == gc.POLLUTION
    play(env, R)  # into the river at (1, 2), facing right
    obs, rew, _, _, info = play(env, CLEAN)  # cleans (1, 3), (1, 4), (1, 5); wall stops it
    i = info["agent_0"]
    assert i["events"] == ("cleaned",) and i["cost"] == 0.0 and rew["agent_0"] == 0.0
    assert list(i["morality"]) == [0, 0, 3, 0] and env.polluted_fraction == 0.25
    assert obs["agent_0"][3, 4] == gc.WATER
    grown = 0
    for _ in range(30):
        play(env, N)
        grown = max(grown, apples(env))
    assert grown > 0
    # apples grow at 0.2 * (1 - 0.25 / 0.5) = 0.1 per empty cell per step: about 3 per cell
    env = Cleanup(**{**DIRTY, "initial_pollution": 0.0})
    env.reset(seed=0)
    play(env, N)
    assert apples(env) > 0


def test_social_metrics_by_hand() -> None:
    env = Cleanup(num_agents=2, map=("######", "#P@@~#", "#P  ,#", "######"), max_cycles=4,
                  initial_pollution=0.0, pollution_rate=0.0, apple_spawn_prob=0.0)  # fmt: skip
    env.reset(seed=0)
    for t in range(4):
        _, rew, _, trunc, info = play(env, R, N)
        assert rew == {"agent_0": float(t < 2), "agent_1": 0.0}
    assert trunc["agent_1"]
    assert info["agent_1"]["social"] == pytest.approx(
        {"efficiency": 0.5, "equality": 0.5, "sustainability": 0.75, "peace": 2.0}
    )


def test_tagging() -> None:
    env = Cleanup(num_agents=2, map=("#####", "#P  #", "#P  #", "#####"), tag_timeout=2)
    env.reset(seed=0)
    _, _, _, _, info = play(env, N, TAG)  # agent_1 faces up at agent_0
    assert info["agent_1"]["events"] == ("tagged_other",) and info["agent_1"]["cost"] == 1.0
    assert info["agent_0"]["events"] == ("was_tagged",)
    for _ in range(2):
        assert env._s.agents[0, 0, gc.A_TIMER] > 0
        play(env, R, N)
    assert env._s.agents[0, 0, gc.A_TIMER] == 0 and tuple(env._s.agents[0, 0, :2]) == (1, 1)


def test_every_argument_changes_behaviour() -> None:
    base = rollout(Cleanup(), 0, 150)
    for kwargs in (
        {"num_agents": 4}, {"map": "small"}, {"max_cycles": 100}, {"view_size": 5},
        {"tag_range": 0}, {"tag_timeout": 3}, {"clean_range": 1}, {"pollution_rate": 0.05},
        {"initial_pollution": 0.0}, {"depletion_threshold": 0.9}, {"apple_spawn_prob": 0.2},
    ):  # fmt: skip
        assert not same(base, rollout(Cleanup(**kwargs), 0, 150)), kwargs
    assert same(base, rollout(Cleanup(), 0, 150))
    assert Cleanup(render_mode="ansi").render() is not None


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"num_agents": 0}, "num_agents"), ({"num_agents": 11}, "num_agents"),
        ({"map": "huge"}, "map"), ({"max_cycles": -1}, "max_cycles"),
        ({"view_size": 6}, "view_size"), ({"tag_range": -1}, "tag_range"),
        ({"tag_timeout": 0}, "tag_timeout"), ({"clean_range": -2}, "clean_range"),
        ({"pollution_rate": 1.5}, "pollution_rate"), ({"initial_pollution": -0.1}, "initial"),
        ({"depletion_threshold": 0.0}, "depletion_threshold"),
        ({"apple_spawn_prob": "x"}, "apple_spawn_prob"), ({"render_mode": "human"}, "render"),
    ],
)  # fmt: skip
def test_bad_arguments(kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        Cleanup(**kwargs)


def test_bad_actions() -> None:
    env = Cleanup(num_agents=2)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="actions\\['agent_1'\\]"):
        env.step({"agent_1": 7})
    b = CleanupBatch(num_envs=2, num_agents=2)
    b.reset(seed=0)
    with pytest.raises(ValueError, match="actions"):
        b.step(np.full((2, 2), 7))


def test_batch_equals_single() -> None:
    n, kw = 3, {"max_cycles": 40, "tag_range": 8, "tag_timeout": 5, "num_agents": 6}
    batch = CleanupBatch(num_envs=n, **kw)
    singles = [Cleanup(**kw) for _ in range(n)]
    obs = batch.reset(seed=5)
    for i, env in enumerate(singles):
        np.testing.assert_array_equal(obs[i], np.stack(list(env.reset(seed=5 + i)[0].values())))
    rng = np.random.default_rng(1)
    ends = 0
    for _ in range(100):
        acts = rng.integers(0, 7, (n, 6))
        obs, rew, terms, truncs, info = batch.step(acts)
        for i, env in enumerate(singles):
            o, r, te, tr, inf = play(env, *acts[i])
            a0 = env.possible_agents[0]
            assert (te[a0], tr[a0]) == (terms[i], truncs[i])
            np.testing.assert_array_equal(rew[i], list(r.values()))
            for j, a in enumerate(env.possible_agents):
                assert info["true_reward"][i, j] == inf[a]["true_reward"]
                assert info["cost"][i, j] == inf[a]["cost"]
                np.testing.assert_array_equal(info["morality"][i, j], inf[a]["morality"])
                assert info["events"][i, j] == inf[a]["events"]
            if tr[a0]:
                ends += 1
                np.testing.assert_array_equal(info["final_obs"][i], np.stack(list(o.values())))
                assert info["social"][i] == inf[a0]["social"]
                o, _ = env.reset()
            else:
                assert info["social"][i] is None
            np.testing.assert_array_equal(obs[i], np.stack(list(o.values())))
    assert ends == 2 * n
