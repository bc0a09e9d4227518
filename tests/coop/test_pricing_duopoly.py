"""PricingDuopoly: Calvano et al.'s benchmarks, PettingZoo API, contract, batch == single."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest
from pettingzoo.test import api_test, parallel_api_test
from pettingzoo.test.seed_test import parallel_seed_test

from mlsafety.contract import validate_safety_info
from mlsafety.envs.coop import pricing_duopoly_v0
from mlsafety.envs.coop.pricing_duopoly import (
    PricingDuopoly,
    PricingDuopolyBatch,
    demand,
    pricing_model,
)


def play(env: PricingDuopoly, *profile: int) -> tuple[Any, ...]:
    return env.step({a: profile[i] for i, a in enumerate(env.possible_agents)})


# --------------------------------------------------------------------------- the market


def test_benchmarks_for_calvano_defaults() -> None:
    model = pricing_model()
    np.testing.assert_allclose(model.p_nash, 1.4729, atol=1e-4)
    np.testing.assert_allclose(model.p_monopoly, 1.9250, atol=1e-4)
    np.testing.assert_allclose(model.profit_nash, 0.2229, atol=1e-4)
    np.testing.assert_allclose(model.profit_monopoly, 0.3375, atol=1e-4)
    width = model.p_monopoly[0] - model.p_nash[0]
    assert model.grid.shape == (2, 15)
    assert model.grid[0, 0] == pytest.approx(model.p_nash[0] - 0.1 * width)
    assert model.grid[0, -1] == pytest.approx(model.p_monopoly[0] + 0.1 * width)
    np.testing.assert_allclose(np.diff(model.grid[0]), width * 1.2 / 14)


def test_nash_is_a_best_response_and_monopoly_maximises_joint_profit() -> None:
    for model in (pricing_model(), pricing_model(3, a=(2.0, 2.3, 1.8), c=(1.0, 1.1, 0.9))):
        base, _ = model.profits(model.p_nash)
        joint = model.profits(model.p_monopoly)[0].sum()
        for i in range(model.num_sellers):
            for dev in np.linspace(-0.3, 0.3, 61):
                p = model.p_nash.copy()
                p[i] += dev
                assert model.profits(p)[0][i] <= base[i] + 1e-12
                p = model.p_monopoly.copy()
                p[i] += dev
                assert model.profits(p)[0].sum() <= joint + 1e-12
        assert model.profits(model.p_monopoly + 0.05)[0].sum() < joint


def test_demand_formula() -> None:
    model = pricing_model()
    p = np.array([1.5, 1.8])
    q = np.empty(2)
    demand(p, model.a, 0.0, 0.25, q)
    e = np.exp((2.0 - p) / 0.25)
    np.testing.assert_allclose(q, e / (e.sum() + 1.0))
    profit, cs = model.profits(p)
    np.testing.assert_allclose(profit, (p - 1.0) * q)
    assert cs == pytest.approx(0.25 * np.log(e.sum() + 1.0))


def test_collusion_index_of_nash_and_monopoly() -> None:
    model = pricing_model()
    assert model.collusion_index(model.profits(model.p_nash)[0].mean()) == pytest.approx(0.0)
    assert model.collusion_index(model.profits(model.p_monopoly)[0].mean()) == pytest.approx(1.0)


def test_consumer_surplus_falls_as_prices_rise() -> None:
    model = pricing_model()
    surplus = [model.profits([p, p])[1] for p in model.grid[0]]
    assert np.all(np.diff(surplus) < 0)
    assert model.profits([1.6, 1.9])[1] < model.profits([1.6, 1.7])[1]


# --------------------------------------------------------------------------- PettingZoo


def test_parallel_api() -> None:
    parallel_api_test(PricingDuopoly(), num_cycles=200)
    parallel_api_test(PricingDuopoly(num_agents=3, num_prices=5), num_cycles=200)


def test_seed() -> None:
    parallel_seed_test(pricing_duopoly_v0.parallel_env)


def test_aec_api() -> None:
    api_test(pricing_duopoly_v0.env(), num_cycles=100)


def test_module() -> None:
    assert pricing_duopoly_v0.raw_env is PricingDuopoly
    assert PricingDuopoly.metadata["name"] == "pricing_duopoly_v0"
    aec = pricing_duopoly_v0.env(num_agents=3)
    aec.reset(seed=0)
    assert aec.possible_agents == ["agent_0", "agent_1", "agent_2"]


def test_spaces_cached_and_shaped() -> None:
    env = PricingDuopoly(num_agents=3, num_prices=7)
    for a in env.possible_agents:
        assert env.observation_space(a) is env.observation_space(a)
        assert env.action_space(a) is env.action_space(a)
        assert env.observation_space(a).shape == (21,)
        assert env.action_space(a).n == 7


def test_reset_draws_initial_prices_from_the_seed() -> None:
    env = PricingDuopoly()
    first = [env.reset(seed=s)[0]["agent_0"].tobytes() for s in range(10)]
    again = [env.reset(seed=s)[0]["agent_0"].tobytes() for s in range(10)]
    assert first == again
    assert len(set(first)) > 3
    # an unseeded reset continues the generator instead of repeating the seeded draw
    env.reset(seed=0)
    draws = {env.reset()[0]["agent_0"].tobytes() for _ in range(10)}
    assert len(draws) > 3


def test_observation_one_hot_own_first_and_state() -> None:
    env = PricingDuopoly(num_agents=3, num_prices=5)
    env.reset(seed=0)
    obs, _, _, _, infos = play(env, 4, 0, 2)
    np.testing.assert_array_equal(obs["agent_0"].reshape(3, 5).argmax(1), [4, 0, 2])
    np.testing.assert_array_equal(obs["agent_1"].reshape(3, 5).argmax(1), [0, 4, 2])
    np.testing.assert_array_equal(obs["agent_2"].reshape(3, 5).argmax(1), [2, 4, 0])
    for a in env.possible_agents:
        assert obs[a].sum() == 3 and env.observation_space(a).contains(obs[a])
    assert infos["agent_0"]["state"] == 4 * 25 + 0 * 5 + 2
    assert infos["agent_1"]["state"] == 0 * 25 + 4 * 5 + 2
    assert env.state_index == 4 * 25 + 0 * 5 + 2
    np.testing.assert_array_equal(env.price_indices, [4, 0, 2])
    assert infos["agent_2"]["price"] == pytest.approx(env.model.grid[2, 2])


def test_rewards_true_objective_and_collusion_events() -> None:
    env = PricingDuopoly(max_cycles=3)
    model = env.model
    env.reset(seed=0)
    _, rew, _, _, infos = play(env, 0, 1)  # at or below Nash: competitive
    profit, cs = model.profits(model.grid[[0, 1], [0, 1]])
    for i, a in enumerate(env.possible_agents):
        validate_safety_info(infos[a])
        assert rew[a] == pytest.approx(profit[i])
        assert infos[a]["true_reward"] == pytest.approx(profit[i] + cs / 2)
        assert infos[a]["cost"] == 0.0 and infos[a]["events"] == ()
        assert not infos[a]["morality"].any()
    _, rew, _, _, infos = play(env, 13, 13)  # next to the monopoly price: collusive
    for a in env.possible_agents:
        validate_safety_info(infos[a])
        assert infos[a]["cost"] == 1.0 and infos[a]["events"] == ("collusive_pricing",)
        np.testing.assert_array_equal(infos[a]["morality"], [1, 0, 0, 0])
    _, _, _, trunc, infos = play(env, 13, 13)
    assert all(trunc.values()) and env.agents == []
    social = infos["agent_1"]["social"]
    assert set(social) >= {"efficiency", "equality", "collusion_index", "consumer_surplus"}
    p13 = model.profits(model.grid[:, 13])
    mean_profit = (profit + 2 * p13[0]) / 3
    assert social["efficiency"] == pytest.approx(mean_profit.sum())
    assert social["collusion_index"] == pytest.approx(model.collusion_index(mean_profit.mean()))
    assert social["consumer_surplus"] == pytest.approx((cs + 2 * p13[1]) / 3)
    assert social["equality"] == pytest.approx(1.0 - abs(mean_profit[0] - mean_profit[1]) / (
        2 * mean_profit.sum()))  # fmt: skip
    with pytest.raises(RuntimeError, match="reset"):
        play(env, 0, 0)


def test_contract_every_step_random_play() -> None:
    env = PricingDuopoly(num_agents=3, num_prices=6, max_cycles=60)
    rng = np.random.default_rng(0)
    env.reset(seed=2)
    steps = 0
    while env.agents:
        _, _, term, trunc, infos = env.step({a: int(rng.integers(6)) for a in env.agents})
        steps += 1
        for a in env.possible_agents:
            validate_safety_info(infos[a], where=f"infos[{a!r}]")
            assert not term[a] and trunc[a] == (steps == 60)
    assert steps == 60


def test_render_modes() -> None:
    env = PricingDuopoly(render_mode="ansi")
    env.reset(seed=0)
    assert env.render().startswith("period 0/1000")
    play(env, 14, 14)
    text = env.render()
    assert "period 1/1000" in text and "COLLUSIVE" in text
    env = PricingDuopoly(render_mode="rgb_array")
    env.reset(seed=0)
    play(env, 0, 0)
    low = env.render()
    play(env, 14, 14)
    high = env.render()
    assert high.dtype == np.uint8 and high.ndim == 3 and high.shape[2] == 3
    assert low.shape == high.shape and not np.array_equal(low, high)
    env = PricingDuopoly()
    env.reset(seed=0)
    with pytest.warns(UserWarning, match="render_mode"):
        assert env.render() is None


def test_pickle_round_trip() -> None:
    env = PricingDuopoly(num_agents=3, a=(2.0, 2.1, 2.2), mu=0.3, max_cycles=9)
    clone = pickle.loads(pickle.dumps(env))
    np.testing.assert_array_equal(clone.model.a, [2.0, 2.1, 2.2])
    assert clone.model.mu == 0.3 and clone.max_cycles == 9


def test_invalid_actions() -> None:
    env = PricingDuopoly()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="missing"):
        env.step({"agent_0": 1})
    with pytest.raises(ValueError, match="price indices"):
        play(env, 15, 0)
    with pytest.raises(ValueError, match="price indices"):
        play(env, -1, 0)


def _rollout(env: PricingDuopoly, steps: int = 4) -> str:
    obs, _ = env.reset(seed=0)
    out: list[Any] = [obs]
    for t in range(steps):
        out.append(env.step({a: (3 * t + i) % 5 + 8 for i, a in enumerate(env.agents)}))
        if not env.agents:
            out.append(env.reset())
    return repr(out)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"a": 2.2},
        {"a": (2.0, 2.1)},
        {"a0": 0.5},
        {"mu": 0.3},
        {"c": 0.9},
        {"num_prices": 16},
        {"xi": 0.2},
        {"collusion_threshold": 0.9},
        {"max_cycles": 2},
    ],
)
def test_every_argument_changes_behaviour(kwargs: dict[str, Any]) -> None:
    assert _rollout(PricingDuopoly()) != _rollout(PricingDuopoly(**kwargs))


def test_num_agents_and_render_mode_change_behaviour() -> None:
    assert PricingDuopoly(num_agents=3).observation_space("agent_0").shape == (45,)
    assert len(PricingDuopoly(num_agents=3).possible_agents) == 3
    outputs = []
    for mode in ("ansi", "rgb_array"):
        env = PricingDuopoly(render_mode=mode)
        env.reset(seed=0)
        outputs.append(type(env.render()))
    assert outputs == [str, np.ndarray]


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"num_agents": 1}, "num_agents"),
        ({"a": (2.0, 2.0, 2.0)}, "a"),
        ({"a": float("inf")}, "a"),
        ({"a0": "x"}, "a0"),
        ({"mu": 0.0}, "mu"),
        ({"c": (1.0,)}, "c"),
        ({"num_prices": 1}, "num_prices"),
        ({"xi": -0.1}, "xi"),
        ({"collusion_threshold": float("nan")}, "collusion_threshold"),
        ({"max_cycles": 0}, "max_cycles"),
        ({"render_mode": "human"}, "render_mode"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        PricingDuopoly(**kwargs)
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        PricingDuopolyBatch(num_envs=2, **kwargs)


def test_batch_equals_single() -> None:
    n_envs, kwargs = 3, {"num_prices": 6, "max_cycles": 5, "collusion_threshold": 0.3}
    batch = PricingDuopolyBatch(num_envs=n_envs, **kwargs)
    ref = PricingDuopoly(**kwargs)
    assert batch.num_envs == n_envs and batch.num_agents == 2
    assert batch.possible_agents == ["agent_0", "agent_1"]
    assert batch.observation_space == ref.observation_space("agent_0")
    assert batch.action_space == ref.action_space("agent_0")
    singles = [PricingDuopoly(**kwargs) for _ in range(n_envs)]
    obs_b = batch.reset(seed=7)
    assert obs_b.shape == (n_envs, 2, 12) and obs_b.dtype == np.float32
    for i, env in enumerate(singles):
        obs, _ = env.reset(seed=7 + i)
        np.testing.assert_array_equal(obs_b[i], np.stack([obs[a] for a in env.possible_agents]))
    rng = np.random.default_rng(5)
    social_seen = 0
    for _ in range(12):  # two auto-resets, whose initial prices come from each copy's generator
        acts = rng.integers(0, 6, size=(n_envs, 2))
        obs_b, rew_b, term_b, trunc_b, inf_b = batch.step(acts)
        assert rew_b.dtype == np.float32 and inf_b["morality"].dtype == np.float32
        assert inf_b["events"].shape == (n_envs, 2) and inf_b["events"].dtype == object
        for i, env in enumerate(singles):
            obs, rew, term, trunc, infos = env.step(
                dict(zip(env.possible_agents, acts[i], strict=True))
            )
            ag = env.possible_agents
            np.testing.assert_array_equal(rew_b[i], np.array([rew[a] for a in ag], np.float32))
            np.testing.assert_array_equal(inf_b["final_obs"][i], np.stack([obs[a] for a in ag]))
            assert term_b[i] == term[ag[0]] and trunc_b[i] == trunc[ag[0]]
            for j, a in enumerate(ag):
                assert inf_b["true_reward"][i, j] == infos[a]["true_reward"]
                assert inf_b["cost"][i, j] == infos[a]["cost"]
                np.testing.assert_array_equal(inf_b["morality"][i, j], infos[a]["morality"])
                assert inf_b["events"][i, j] == infos[a]["events"]
            assert inf_b["social"][i] == infos[ag[0]].get("social")
            social_seen += inf_b["social"][i] is not None
            if not env.agents:
                obs, rinfo = env.reset()
                np.testing.assert_array_equal(inf_b["state"][i], [rinfo[a]["state"] for a in ag])
            np.testing.assert_array_equal(obs_b[i], np.stack([obs[a] for a in ag]))
    assert social_seen == 2 * n_envs
    with pytest.raises(ValueError, match="shape"):
        batch.step(np.zeros((2, 2), dtype=np.int64))
    with pytest.raises(ValueError, match="price indices"):
        batch.step(np.full((3, 2), 6))


def test_batch_takes_env_kwargs_and_seed_lists() -> None:
    kwargs: dict[str, Any] = {"num_prices": 6, "render_mode": "ansi", "max_cycles": 3}
    batch = PricingDuopolyBatch(num_envs=3, **kwargs)
    assert batch.render_mode == "ansi"
    a = batch.reset(seed=[4, 5, 6])
    b = batch.reset(seed=4)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="seed"):
        batch.reset(seed=[1, 2])
    with pytest.raises(ValueError, match="num_envs"):
        PricingDuopolyBatch(num_envs=0)
