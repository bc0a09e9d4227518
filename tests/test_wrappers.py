"""SafetyStats sums the contract per episode, for single and vectorised envs, and for SB3."""

import gymnasium as gym
import numpy as np
from stable_baselines3.common.monitor import Monitor

from mlsafety.envs.gridworlds.boat_race_laps import BoatRaceLaps as BoatRace
from mlsafety.envs.gridworlds.safe_interruptibility import SafeInterruptibility
from mlsafety.testing import run_actions
from mlsafety.wrappers import MONITOR_KEYWORDS, SafetyStats, SafetyStatsVector

EXPLOIT = BoatRace.reference_actions["exploit"]


def _episode(env, actions, seed=0):
    env.reset(seed=seed)
    for a in actions:
        _, _, term, trunc, info = env.step(a)
        if term or trunc:
            return info
    raise AssertionError("episode did not end")


def test_episode_totals_match_the_steps():
    env = SafetyStats(BoatRace(max_steps=20))
    ep = _episode(env, EXPLOIT)["safety_episode"]
    trace = run_actions(BoatRace(max_steps=20), EXPLOIT)
    assert ep["proxy_return"] == trace.proxy_return == 3.0 * 10
    assert ep["true_return"] == trace.true_return == 3.0
    assert ep["cost"] == trace.cost == 9
    assert ep["length"] == 20
    assert ep["events"] == {"checkpoint": 1, "reward_gaming": 9}
    assert ep["performance"] == ep["true_return"]
    assert ep["morality"].shape == (4,) and ep["harm_others"] == 0.0


def test_totals_reset_between_episodes_and_not_before_the_end():
    env = SafetyStats(BoatRace(max_steps=20))
    _episode(env, EXPLOIT)
    _, _, _, _, info = env.step(0)  # stepping past the end is the user's business
    env.reset(seed=0)
    _, _, _, _, info = env.step(3)
    assert "safety_episode" not in info
    ep = _episode(env, EXPLOIT)["safety_episode"]
    assert ep["length"] == 20


def test_flat_keys_for_sb3_monitor(tmp_path):
    env = Monitor(
        SafetyStats(BoatRace(max_steps=20)),
        filename=str(tmp_path / "m"),
        info_keywords=MONITOR_KEYWORDS,
    )
    _episode(env, EXPLOIT)
    env.close()
    text = (tmp_path / "m.monitor.csv").read_text().splitlines()
    header = text[1].split(",")
    row = dict(zip(header, text[2].split(","), strict=True))
    assert float(row["r"]) == 30.0
    assert float(row["safety_true_return"]) == 3.0
    assert float(row["safety_cost"]) == 9.0
    info = _episode(SafetyStats(BoatRace(max_steps=20), flat=False), EXPLOIT)
    assert "safety_true_return" not in info and "safety_episode" in info


def test_vector_totals_match_single_envs():
    n = 4
    for mode in ("NextStep", "SameStep"):
        v = SafetyStatsVector(
            gym.make_vec(
                "mlsafety/BoatRaceLaps-v0",
                num_envs=n,
                vectorization_mode="vector_entry_point",
                max_steps=15,
                autoreset_mode=mode,
            )
        )
        v.reset(seed=5)
        rng = np.random.default_rng(1)
        actions = rng.integers(0, 5, (40, n))
        got = {i: [] for i in range(n)}
        for a in actions:
            _, _, _, _, info = v.step(a)
            if "safety_episode" in info:
                for i in np.flatnonzero(info["_safety_episode"]):
                    got[i].append(float(info["safety_episode"]["proxy_return"][i]))
        for i in range(n):
            single = SafetyStats(BoatRace(max_steps=15))
            single.reset(seed=5 + i)
            want = []
            seq = actions[:, i] if mode == "SameStep" else _skip_reset_steps(actions[:, i], 15)
            for a in seq:
                _, _, term, trunc, info = single.step(int(a))
                if term or trunc:
                    want.append(info["safety_episode"]["proxy_return"])
                    single.reset()
            assert got[i] == want and len(want) >= 2, (mode, i)


def _skip_reset_steps(actions, length):
    """NextStep autoreset spends one step on the reset after every episode of ``length``."""
    return [a for t, a in enumerate(actions) if (t + 1) % (length + 1) != 0]


# SafeInterruptibility's short path; the original's safety performance is its return when
# the agent is not interrupted, 0 when it is
SHORT_PATH = SafeInterruptibility.reference_actions["safe"]


def test_safety_performance_is_carried_into_the_episode_totals():
    for p, want in ((0.0, 42.0), (1.0, 0.0)):
        env = SafetyStats(SafeInterruptibility(interruption_probability=p))
        info = _episode(env, SHORT_PATH)
        assert info["safety_performance"] == want
        assert info["safety_episode"]["safety_performance"] == want
    # envs that do not report it get no such total
    info = _episode(SafetyStats(BoatRace(max_steps=20)), EXPLOIT)
    assert "safety_performance" not in info["safety_episode"]


def test_vector_safety_performance_matches_single_envs():
    n = 6
    for mode in ("NextStep", "SameStep"):
        v = SafetyStatsVector(
            gym.make_vec(
                "mlsafety/SafeInterruptibility-v0",
                num_envs=n,
                vectorization_mode="vector_entry_point",
                autoreset_mode=mode,
            )
        )
        v.reset(seed=3)
        first: dict[int, tuple[float, float]] = {}  # sub-env -> its first episode's totals
        for a in SHORT_PATH:
            _, _, _, _, info = v.step(np.full(n, a))
            if "safety_episode" in info:
                ep = info["safety_episode"]
                for i in np.flatnonzero(info["_safety_episode"]):
                    pair = (ep["safety_performance"][i], ep["true_return"][i])
                    first.setdefault(int(i), pair)
        assert sorted(first) == list(range(n)), mode
        for i in range(n):
            single = SafetyStats(SafeInterruptibility())
            want = _episode(single, SHORT_PATH, seed=3 + i)["safety_episode"]
            assert first[i] == (want["safety_performance"], want["true_return"])
        assert {p for p, _ in first.values()} == {0.0, 42.0}, mode
    v = SafetyStatsVector(
        gym.make_vec("mlsafety/BoatRace-v0", num_envs=2, vectorization_mode="vector_entry_point")
    )
    v.reset(seed=0)
    for _ in range(100):
        _, _, _, _, info = v.step(np.zeros(2, dtype=np.int64))
    assert "safety_episode" in info and "safety_performance" not in info["safety_episode"]
