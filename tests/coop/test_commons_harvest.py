"""CommonsHarvest: PettingZoo conformance, the safety contract, scripted behaviour by hand,
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
from mlsafety.envs.coop import commons_harvest_v0
from mlsafety.envs.coop import gridcore as gc
from mlsafety.envs.coop.commons_harvest import CommonsHarvest, CommonsHarvestBatch

U, D, L, R, N, TAG = 0, 1, 2, 3, 4, 5
# patch A: one apple at (1, 2); patch B: (1, 6) empty apple cell next to an apple at (1, 7)
TWO_PATCHES = ("##########", "#P@   ,@ #", "#P       #", "##########")
SURE = (0.0, 1.0, 1.0, 1.0)


def play(env: CommonsHarvest, *acts: int) -> tuple[Any, ...]:
    return env.step(dict(zip(env.possible_agents, acts, strict=True)))


def rollout(env: CommonsHarvest, seed: int, steps: int, act_seed: int = 1) -> list[Any]:
    """A trajectory signature under fixed random actions."""
    rng = np.random.default_rng(act_seed)
    out: list[Any] = [env.reset(seed=seed)[0]]
    for _ in range(steps):
        if not env.agents:
            out.append(env.reset()[0])
        acts = rng.integers(0, env.n_actions, env.n_agents)
        obs, rew, term, trunc, infos = play(env, *acts)
        out += [obs, rew, term, trunc, [(i["cost"], i["events"]) for i in infos.values()]]
    return out


def same(a: Any, b: Any) -> bool:
    try:
        np.testing.assert_equal(a, b)
    except AssertionError:
        return False
    return True


def test_parallel_api() -> None:
    parallel_api_test(CommonsHarvest(), num_cycles=200)
    parallel_api_test(CommonsHarvest(map="small", num_agents=3, max_cycles=50), num_cycles=200)


def test_seed() -> None:
    parallel_seed_test(lambda: commons_harvest_v0.parallel_env(max_cycles=100), num_cycles=150)


def test_aec_api() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a tagged-out agent's observation is all zeros
        api_test(commons_harvest_v0.env(max_cycles=30), num_cycles=100)


def test_module_and_pickle() -> None:
    assert commons_harvest_v0.raw_env is CommonsHarvest
    assert CommonsHarvest.metadata["name"] == "commons_harvest_v0"
    assert isinstance(commons_harvest_v0.parallel_env(num_agents=3), CommonsHarvest)
    aec = commons_harvest_v0.env(num_agents=3)
    aec.reset(seed=0)
    assert aec.possible_agents == ["agent_0", "agent_1", "agent_2"]
    env = CommonsHarvest(num_agents=3, tag_timeout=7, map="small")
    copy = pickle.loads(pickle.dumps(env))
    assert (copy.n_agents, copy.tag_timeout) == (3, 7)
    assert same(rollout(env, 3, 30), rollout(copy, 3, 30))
    for doc in ("Description", "Action Space", "Observation Space", "Rewards", "True objective",
                "Safety events", "Termination", "Social metrics", "Registered IDs"):  # fmt: skip
        assert f"## {doc}" in (CommonsHarvest.__doc__ or "")


def test_spaces() -> None:
    env = CommonsHarvest(view_size=5)
    for a in env.possible_agents:
        assert env.observation_space(a) is env.observation_space(a)
        assert env.action_space(a) is env.action_space(a)
    space = env.observation_space("agent_0")
    assert space is env.observation_space("agent_4")
    assert (space.shape, space.dtype, int(space.high.max())) == ((5, 5), np.uint8, 35)
    assert env.action_space("agent_0").n == 6
    with pytest.raises(ValueError, match="agent_9"):
        env.observation_space("agent_9")
    b = CommonsHarvestBatch(num_envs=2, view_size=5)
    assert b.observation_space == space and b.action_space.n == 6


def test_contract_every_step_and_social_at_end() -> None:
    env = CommonsHarvest(max_cycles=120, tag_range=10)
    rng = np.random.default_rng(0)
    obs, infos = env.reset(seed=0)
    assert set(obs) == set(env.possible_agents)
    seen: set[str] = set()
    for t in range(120):
        obs, rew, term, trunc, infos = play(env, *rng.integers(0, 6, 5))
        for a in env.possible_agents:
            validate_safety_info(infos[a], where=a)
            assert infos[a]["true_reward"] == pytest.approx(sum(rew.values()) / 5)
            assert isinstance(rew[a], float)
            assert env.observation_space(a).contains(obs[a])
            seen.update(infos[a]["events"])
            assert ("social" in infos[a]) == (t == 119)
        pos = {tuple(r[:2]) for r in env._s.agents[0] if r[gc.A_TIMER] == 0}
        assert len(pos) == int((env._s.agents[0, :, gc.A_TIMER] == 0).sum())  # no overlaps
    assert trunc["agent_0"] and not term["agent_0"] and env.agents == []
    social = infos["agent_0"]["social"]
    assert set(social) == {"efficiency", "equality", "sustainability", "peace"}
    assert all(isinstance(v, float) for v in social.values())
    assert {"tagged_other", "was_tagged"} <= seen
    assert env.step({}) == ({}, {}, {}, {}, {})


def test_render() -> None:
    for mode in ("ansi", "rgb_array"):
        env = CommonsHarvest(render_mode=mode)
        env.reset(seed=0)
        out = env.render()
        if mode == "ansi":
            assert isinstance(out, str) and out.splitlines()[1].startswith("#0..1..2")
        else:
            assert isinstance(out, np.ndarray) and out.shape == (15 * 16, 25 * 16, 3)
            assert out.dtype == np.uint8
    assert CommonsHarvest().render() is None


def test_eating_and_depletion_scripted() -> None:
    env = CommonsHarvest(num_agents=1, map=TWO_PATCHES, regrowth_probabilities=SURE)
    obs, _ = env.reset(seed=0)
    assert obs["agent_0"][3, 4] == gc.APPLE and obs["agent_0"][3, 3] == gc.SELF_UP
    obs, rew, term, _, info = play(env, R)  # eat patch A's only apple
    i = info["agent_0"]
    assert rew["agent_0"] == 1.0 and i["true_reward"] == 1.0 and i["cost"] == 1.0
    assert i["events"] == ("depleted_patch",) and list(i["morality"]) == [1, 0, 0, 0]
    assert obs["agent_0"][3, 3] == gc.SELF_UP + R
    assert env._s.grids[0, gc.OBJ, 1, 6] == gc.APPLE  # patch B grew next to its apple
    for _ in range(60):  # patch A never regrows, with regrowth probability 1 near apples
        obs, rew, term, _, info = play(env, N if env._s.agents[0, 0, gc.A_COL] > 2 else R)
        assert env._s.grids[0, gc.OBJ, 1, 2] == gc.EMPTY and not term["agent_0"]
    for _ in range(2):  # walk from (1, 3) to (1, 5)
        obs, rew, term, _, info = play(env, R)
    obs, rew, term, _, info = play(env, R)  # eat (1, 6): patch B keeps (1, 7)
    assert rew["agent_0"] == 1.0 and info["agent_0"]["events"] == () and not term["agent_0"]
    obs, rew, term, _, info = play(env, R)  # eat B's last apple: nothing can ever grow again
    assert info["agent_0"]["events"] == ("depleted_patch",) and term["agent_0"]


def test_tagging_and_social_metrics_by_hand() -> None:
    env = CommonsHarvest(
        num_agents=2, map=TWO_PATCHES, regrowth_probabilities=SURE, tag_timeout=3, tag_range=1
    )
    env.reset(seed=0)
    play(env, R, R)  # agent_0 eats A (t=1); agent_1 to (2, 2), facing right
    _, _, _, _, info = play(env, N, U)  # agent_1 bumps into agent_0: turns up, stays
    assert info["agent_1"]["events"] == ()
    _, _, _, _, info = play(env, R, TAG)  # t=3: beams fire after moves: agent_0 gets away
    assert env._s.agents[0, 0, gc.A_COL] == 3  # it moved out of the beam to (1, 3)
    assert info["agent_1"]["events"] == () and info["agent_1"]["cost"] == 0.0
    play(env, L, N)  # back to (1, 2)
    obs, _, _, _, info = play(env, N, TAG)  # t=5: tag
    assert info["agent_1"]["events"] == ("tagged_other",) and info["agent_1"]["cost"] == 1.0
    assert list(info["agent_1"]["morality"]) == [1, 0, 0, 0]
    assert info["agent_0"]["events"] == ("was_tagged",) and info["agent_0"]["cost"] == 0.0
    assert not obs["agent_0"].any() and env.agents == env.possible_agents
    for _ in range(3):  # out for tag_timeout=3 steps (t=6..8): actions ignored
        assert env._s.agents[0, 0, gc.A_TIMER] > 0
        obs, *_ = play(env, D, N)
    assert obs["agent_0"][3, 3] == gc.SELF_UP and tuple(env._s.agents[0, 0, :2]) == (1, 1)
    for _ in range(9, 15):  # agent_0: (1,1) -> (1,7), eating (1,6) at t=13 and (1,7) at t=14
        obs, _, term, _, info = play(env, R, N)
    assert term["agent_0"] and info["agent_1"]["social"] == info["agent_0"]["social"]
    # rewards: agent_0 at t = 1, 13, 14; agent_1 none; 3 agent-steps out of 2 * 14
    assert info["agent_0"]["social"] == pytest.approx(
        {"efficiency": 3 / 14, "equality": 0.5, "sustainability": (28 / 3) / 2, "peace": 25 / 14}
    )


def test_every_argument_changes_behaviour() -> None:
    base = rollout(CommonsHarvest(), 0, 150)
    for kwargs in (
        {"num_agents": 4}, {"map": "small"}, {"max_cycles": 100}, {"view_size": 5},
        {"tag_range": 0}, {"tag_timeout": 3}, {"regrowth_probabilities": (0, 0.2, 0.2, 0.2)},
    ):  # fmt: skip
        assert not same(base, rollout(CommonsHarvest(**kwargs), 0, 150)), kwargs
    assert same(base, rollout(CommonsHarvest(), 0, 150))
    assert not same(base, rollout(CommonsHarvest(), 1, 150))
    assert CommonsHarvest(render_mode="ansi").render() is not None


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"num_agents": 0}, "num_agents"), ({"num_agents": 15}, "num_agents"),
        ({"num_agents": 2.5}, "num_agents"), ({"map": "huge"}, "map"), ({"map": ["#"]}, "map"),
        ({"map": ("###", "#P ", "###")}, "map"), ({"map": ("###", "#X#", "###")}, "map"),
        ({"max_cycles": 0}, "max_cycles"), ({"view_size": 4}, "view_size"),
        ({"view_size": 0}, "view_size"), ({"tag_range": -1}, "tag_range"),
        ({"tag_timeout": 0}, "tag_timeout"), ({"regrowth_probabilities": (0.1,)}, "regrowth"),
        ({"regrowth_probabilities": (0, 0, 0, 2)}, "regrowth"),
        ({"render_mode": "human"}, "render_mode"),
    ],
)  # fmt: skip
def test_bad_arguments(kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        CommonsHarvest(**kwargs)


def test_bad_actions() -> None:
    env = CommonsHarvest(num_agents=2)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="actions\\['agent_0'\\]"):
        env.step({"agent_0": 6})
    with pytest.raises(ValueError, match="agent_7"):
        env.step({"agent_7": 0})
    b = CommonsHarvestBatch(num_envs=2, num_agents=2)
    with pytest.raises(RuntimeError, match="reset"):
        b.step(np.zeros((2, 2), dtype=int))
    b.reset(seed=0)
    with pytest.raises(ValueError, match="actions"):
        b.step(np.zeros((2, 3), dtype=int))
    with pytest.raises(ValueError, match="num_envs"):
        CommonsHarvestBatch(num_envs=0)


def test_batch_equals_single() -> None:
    n, steps, kw = 3, 130, {"max_cycles": 50, "tag_range": 8, "tag_timeout": 5}
    batch = CommonsHarvestBatch(num_envs=n, **kw)
    singles = [CommonsHarvest(**kw) for _ in range(n)]
    obs = batch.reset(seed=10)
    assert obs.shape == (n, 5, 7, 7) and obs.dtype == np.uint8
    for i, env in enumerate(singles):
        np.testing.assert_array_equal(obs[i], np.stack(list(env.reset(seed=10 + i)[0].values())))
    rng = np.random.default_rng(0)
    ends = 0
    for _ in range(steps):
        acts = rng.integers(0, 6, (n, 5))
        obs, rew, terms, truncs, info = batch.step(acts)
        assert rew.dtype == np.float32 and rew.shape == (n, 5) and terms.shape == (n,)
        assert info["morality"].dtype == np.float32 and info["events"].shape == (n, 5)
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
            if te[a0] or tr[a0]:
                ends += 1
                np.testing.assert_array_equal(info["final_obs"][i], np.stack(list(o.values())))
                assert info["social"][i] == inf[a0]["social"]
                o, _ = env.reset()
            else:
                assert info["social"][i] is None
            np.testing.assert_array_equal(obs[i], np.stack(list(o.values())))
    assert ends == 2 * n
