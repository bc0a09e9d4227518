"""Calvano et al. (2020) Q-learning sellers: they learn supra-competitive prices.

Timing on the 2-core dev box (numba, after compilation): one session with beta = 1e-4
converges in ~200k periods and ~0.01 s; beta = 4e-6 (the paper's) in ~1.8M periods and
~0.1 s. Over 100 seeds: beta = 1e-4 gives a collusion index of 0.70 on average (min 0.65),
beta = 4e-6 gives 0.86 (min 0.50), all sessions converged.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mlsafety.agents.qlearning import (
    QTablePolicy,
    initial_q_tables,
    own_first_states,
    profit_table,
    train_calvano,
)
from mlsafety.envs.coop.pricing_duopoly import PricingDuopoly, own_first_order, pricing_model


@pytest.fixture(scope="module")
def fast_runs() -> list[Any]:
    return [train_calvano(seed=s, beta=1e-4) for s in range(4)]


def test_fast_beta_converges_to_supra_competitive_prices(fast_runs: list[Any]) -> None:
    model = pricing_model()
    for r in fast_runs:
        assert r.converged
        assert 100_000 < r.steps < 1_000_000
        assert r.collusion_index > 0.4
        assert np.all(r.greedy_prices > model.p_nash[0])
    assert np.mean([r.collusion_index for r in fast_runs]) > 0.55


def test_paper_beta_colludes() -> None:
    runs = [train_calvano(seed=s) for s in range(3)]  # beta = 4e-6: ~0.1 s each
    assert all(r.converged for r in runs)
    assert np.mean([r.collusion_index for r in runs]) > 0.5


def test_deterministic_given_seed(fast_runs: list[Any]) -> None:
    again = train_calvano(seed=0, beta=1e-4)
    np.testing.assert_array_equal(again.q_tables, fast_runs[0].q_tables)
    assert again.steps == fast_runs[0].steps
    assert not np.array_equal(fast_runs[0].q_tables, fast_runs[1].q_tables)


def test_result_fields(fast_runs: list[Any]) -> None:
    r = fast_runs[0]
    assert r.q_tables.shape == (2, 225, 15)
    assert r.greedy_prices.shape == r.mean_profit.shape == (2,)
    assert r.cycle.ndim == 2 and r.cycle.shape[1] == 2
    grid = r.model.grid
    np.testing.assert_allclose(r.greedy_prices, grid[[0, 1], r.cycle].mean(axis=0))
    profits = np.mean([r.model.profits(grid[[0, 1], c])[0] for c in r.cycle], axis=0)
    np.testing.assert_allclose(r.mean_profit, profits)
    assert r.collusion_index == pytest.approx(r.model.collusion_index(profits.mean()))


def test_initial_q_is_discounted_payoff_against_uniform_rivals() -> None:
    model = pricing_model()
    table = profit_table(model.grid, model.a, model.a0, model.mu, model.c)
    q = initial_q_tables(table, 15, 0.95)
    for a_i in (0, 7, 14):
        rivals = [model.profits([model.grid[0, a_i], model.grid[1, b]])[0][0] for b in range(15)]
        np.testing.assert_allclose(q[0, :, a_i], np.mean(rivals) / 0.05)
        rivals = [model.profits([model.grid[0, b], model.grid[1, a_i]])[0][1] for b in range(15)]
        np.testing.assert_allclose(q[1, :, a_i], np.mean(rivals) / 0.05)


def test_own_first_states_match_the_env() -> None:
    perm = own_first_states(own_first_order(3), 4)
    env = PricingDuopoly(num_agents=3, num_prices=4)
    env.reset(seed=0)
    *_, infos = env.step({"agent_0": 3, "agent_1": 1, "agent_2": 2})
    joint = env.state_index
    assert [perm[i, joint] for i in range(3)] == [infos[a]["state"] for a in env.agents]


def test_policies_replay_the_greedy_cycle_in_the_env(fast_runs: list[Any]) -> None:
    for r in fast_runs[:2]:
        policies = r.policies()
        env = PricingDuopoly(max_cycles=200)
        env.reset(seed=0)
        obs, *_ = env.step(
            dict(zip(env.agents, r.cycle[0].tolist(), strict=True))
        )  # put the market on the cycle
        visited, profits = [], []
        for _ in range(3 * len(r.cycle)):
            acts = {a: int(p.predict(obs[a])[0]) for a, p in zip(env.agents, policies, strict=True)}
            obs, rew, *_ = env.step(acts)
            visited.append(tuple(env.price_indices))
            profits.append([rew[a] for a in env.possible_agents])
        cycle = [tuple(c) for c in r.cycle]
        assert visited[: len(cycle)] == cycle[1:] + cycle[:1]
        np.testing.assert_allclose(np.mean(profits, axis=0), r.mean_profit)


def test_policy_predict_shapes(fast_runs: list[Any]) -> None:
    r = fast_runs[0]
    pol = QTablePolicy.from_result(r, agent=1)
    env = PricingDuopoly()
    obs, infos = env.reset(seed=3)
    action, state = pol.predict(obs["agent_1"])
    assert action.shape == () and state is None
    assert action == pol.predict(np.int64(infos["agent_1"]["state"]))[0]
    assert action == int(np.argmax(r.q_tables[1, infos["agent_1"]["state"]]))
    batch = np.stack([obs["agent_1"], obs["agent_0"]])
    actions, _ = pol.predict(batch, deterministic=True)
    assert actions.shape == (2,)
    explorer = QTablePolicy(r.q_tables[0], 2, epsilon=1.0, seed=0)
    many = explorer.predict(np.repeat(batch, 50, axis=0), deterministic=False)[0]
    assert len(set(many.tolist())) > 5
    with pytest.raises(ValueError, match="obs must have shape"):
        pol.predict(np.zeros(29, dtype=np.float32))
    with pytest.raises(ValueError, match="q_table"):
        QTablePolicy(r.q_tables[0], 3)


def test_max_steps_stops_unconverged() -> None:
    r = train_calvano(seed=0, beta=1e-4, max_steps=5000)
    assert not r.converged and r.steps == 5000


def test_three_sellers_and_env_kwargs() -> None:
    r = train_calvano(
        num_sellers=3, seed=0, beta=1e-4, convergence_window=20_000,
        env_kwargs={"num_prices": 5, "mu": 0.3},
    )  # fmt: skip
    assert r.q_tables.shape == (3, 125, 5) and r.model.mu == 0.3
    assert r.converged and np.isfinite(r.collusion_index)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"alpha": 0.0}, "alpha"),
        ({"alpha": 1.5}, "alpha"),
        ({"delta": 1.0}, "delta"),
        ({"beta": -1e-6}, "beta"),
        ({"convergence_window": 0}, "convergence_window"),
        ({"max_steps": 2.5}, "max_steps"),
        ({"seed": "a"}, "seed"),
        ({"num_sellers": 1}, "num_sellers"),
        ({"env_kwargs": {"mu": -1.0}}, "mu"),
        ({"env_kwargs": {"bogus": 1}}, "bogus"),
        ({"env_kwargs": {"num_agents": 3}}, "num_agents"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        train_calvano(**kwargs)
