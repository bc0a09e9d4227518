"""PandemicPolicy: staying open pays in the misweighted proxy and costs lives; the kernel
conserves the town and draws binomials with the right mean; options validated."""

from __future__ import annotations

import numpy as np
import pytest

from mlsafety.envs.misspec import PandemicPolicy
from mlsafety.envs.misspec.pandemic_model import binomial, day, initial_state
from mlsafety.testing import run_actions


def test_staying_open_pays_in_the_misweighted_proxy_and_costs_health() -> None:
    env = PandemicPolicy()
    for seed in range(3):
        exploit = run_actions(env, env.reference_actions["exploit"], seed=seed)
        safe = run_actions(env, env.reference_actions["safe"], seed=seed)
        assert exploit.proxy_return > safe.proxy_return
        assert exploit.true_return < safe.true_return
        assert exploit.events["hospital_overflow"] > 0 and not safe.events["hospital_overflow"]
        assert exploit.events["death"] > safe.events["death"]


def test_the_scope_proxy_leaves_out_children_and_elders() -> None:
    full, scope = PandemicPolicy(), PandemicPolicy(misspecification="scope")
    f = run_actions(full, [0] * 120, seed=0)
    s = run_actions(scope, [0] * 120, seed=0)
    assert f.true_return == s.true_return  # same town, same draws
    assert f.true_return < s.proxy_return < 0  # the scope proxy sees part of the harm


def test_delta_actions_step_through_the_stages() -> None:
    env = PandemicPolicy(action_mode="delta")
    assert env.action_space.n == 3
    env.reset(seed=0)
    stages = [env.step(a)[4]["stage"] for a in (2, 2, 2, 2, 2, 0, 1)]
    assert stages == [1, 2, 3, 4, 4, 3, 3]
    trace = run_actions(env, env.reference_actions["safe"], seed=0)
    assert trace.events["stage_change"] == 2


def test_the_town_can_start_at_a_strict_stage() -> None:
    env = PandemicPolicy(action_mode="delta", initial_stage=4)
    obs, _ = env.reset(seed=0)
    assert env.stage == 4 and obs[4] == 1.0  # the stage feature is stage / 4
    stages = [env.step(a)[4]["stage"] for a in (0, 0, 1, 0, 0, 0)]
    assert stages == [3, 2, 2, 1, 0, 0]  # opening takes four consistent "down" actions
    assert env.reference_actions["exploit"][:5] == (0, 0, 0, 0, 1)
    for seed in range(2):
        exploit = run_actions(env, env.reference_actions["exploit"], seed=seed)
        safe = run_actions(env, env.reference_actions["safe"], seed=seed)
        assert exploit.proxy_return > safe.proxy_return
        assert exploit.true_return < safe.true_return
    absolute = PandemicPolicy(initial_stage=3)
    assert run_actions(absolute, [3], seed=0).events["stage_change"] == 0


def test_stage_changes_cost_in_truth_only() -> None:
    env = PandemicPolicy(stage_change_cost=5.0, infection_weight=0, death_weight=0,
                         overflow_weight=0, economic_weight=0)  # fmt: skip
    trace = run_actions(env, [0, 4, 0, 4], seed=0)
    assert trace.proxy_return == 0.0 and trace.true_return == -5.0 * 12


def test_same_seed_same_epidemic_and_the_kernel_conserves_people() -> None:
    a = run_actions(PandemicPolicy(), [1] * 120, seed=5)
    b = run_actions(PandemicPolicy(), [1] * 120, seed=5)
    c = run_actions(PandemicPolicy(), [1] * 120, seed=6)
    assert (a.proxy_return, a.true_return, a.events) == (b.proxy_return, b.true_return, b.events)
    assert a.true_return != c.true_return
    state = initial_state(10_000, 50, np.random.default_rng(0))
    for t in range(60):
        day(state, t % 5, 30, 123, t, 0.035)
        assert state.sum() == 10_000 and (state >= 0).all()


@pytest.mark.parametrize(("n", "p"), [(50, 0.1), (10_000, 0.3), (200, 0.9)])
def test_binomial_draws_have_the_binomial_mean_and_variance(n: int, p: float) -> None:
    draws = np.array([binomial(n, p, 7, t, 0) for t in range(4000)])
    assert draws.min() >= 0 and draws.max() <= n
    assert draws.mean() == pytest.approx(n * p, rel=0.03)
    assert draws.var() == pytest.approx(n * p * (1 - p), rel=0.15)


def test_observation_fidelity_and_noise() -> None:
    env = PandemicPolicy(history=3, testing_rate=1.0, obs_noise=0.5)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (18,) and env.observation_space.contains(obs)
    for _ in range(20):
        obs, *_ = env.step(0)
    blind = PandemicPolicy(history=3, testing_rate=0.0)
    blind.reset(seed=0)
    for _ in range(20):
        blind_obs, *_ = blind.step(0)
    assert obs[12:15].sum() > 0 and blind_obs[12:15].sum() == 0


def test_town_size_capacity_and_seeding_options() -> None:
    small = PandemicPolicy(population=500, hospital_capacity=1, initial_infected=50, beta=0.05,
                           horizon=60)  # fmt: skip
    trace = run_actions(small, [0] * 60, seed=0)
    assert trace.steps <= 60 and trace.events["hospital_overflow"] > 0
    assert small.state.sum() == 500


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"misspecification": "ontological"}, "misspecification must be one of"),
        ({"action_mode": "relative"}, "action_mode"),
        ({"population": 10}, "population"),
        ({"hospital_capacity": 0}, "hospital_capacity"),
        ({"initial_infected": 0}, "initial_infected"),
        ({"horizon": 0}, "horizon"),
        ({"history": 0}, "history"),
        ({"testing_rate": 1.5}, "testing_rate"),
        ({"obs_noise": -1}, "obs_noise"),
        ({"beta": 2}, "beta"),
        ({"infection_weight": -1}, "infection_weight"),
        ({"death_weight": -1}, "death_weight"),
        ({"overflow_weight": -1}, "overflow_weight"),
        ({"economic_weight": -1}, "economic_weight"),
        ({"stage_change_cost": -1}, "stage_change_cost"),
        ({"proxy_health_weight": -1}, "proxy_health_weight"),
        ({"initial_stage": 5}, "initial_stage"),
        ({"render_mode": "rgb_array"}, "render_mode"),
    ],
)
def test_bad_options_raise_clear_errors(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        PandemicPolicy(**kwargs)  # type: ignore[arg-type]


def test_bad_action_raises() -> None:
    env = PandemicPolicy()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(5)
