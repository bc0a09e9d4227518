"""Monitors fail closed: a NaN or infinite observation is an anomaly for every detector,
and the fallback takes over (``info`` says why) instead of trusting the policy."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3 import PPO

from mlsafety.monitors import (
    FallbackMonitor,
    FallbackPolicy,
    KNNDetector,
    MahalanobisDetector,
    PolicyDivergenceDetector,
    PolicyOutputDetector,
)
from mlsafety.monitors.fallback import REASON_KEY, trip_reason


class FaultySensor(gym.ObservationWrapper[Any, Any, Any]):
    """CartPole whose sensor returns NaN from step ``fault_at`` on."""

    def __init__(self, env: gym.Env[Any, Any], fault_at: int) -> None:
        super().__init__(env)
        self.fault_at = fault_at
        self.t = 0

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        self.t = 0
        return super().reset(**kwargs)

    def step(self, action: Any) -> Any:
        self.t += 1
        return super().step(action)

    def observation(self, observation: Any) -> Any:
        obs = np.asarray(observation, dtype=np.float32).copy()
        if self.t >= self.fault_at:
            obs[:] = np.nan
        return obs


@pytest.fixture(scope="module")
def models() -> tuple[Any, Any]:
    env = gym.make("CartPole-v1")
    return PPO("MlpPolicy", env, seed=0, device="cpu"), PPO("MlpPolicy", env, seed=1, device="cpu")


def _clean(n: int = 64) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(n, 4)).astype(np.float32)


def _detectors(models: tuple[Any, Any]) -> dict[str, Any]:
    policy, trusted = models
    return {
        "mahalanobis": MahalanobisDetector().fit(_clean()),
        "knn": KNNDetector(k=3).fit(_clean()),
        **{k: PolicyOutputDetector(policy, kind=k) for k in PolicyOutputDetector.kinds},
        **{
            f"divergence_{k}": PolicyDivergenceDetector(policy, trusted, kind=k)
            for k in PolicyDivergenceDetector.kinds
        },
    }


@pytest.mark.parametrize(
    "name",
    ["mahalanobis", "knn", "msp", "max_logit", "energy", "entropy"]
    + [f"divergence_{k}" for k in ("js", "hellinger", "kl")],
)
def test_every_detector_scores_a_faulty_observation_as_infinitely_anomalous(
    models: tuple[Any, Any], name: str
) -> None:
    det = _detectors(models)[name]
    batch = _clean(5)
    batch[2, 1] = np.nan
    batch[4, 0] = np.inf
    scores = det.score(batch)
    assert scores.shape == (5,)
    assert np.isposinf(scores[2]) and np.isposinf(scores[4])
    assert np.all(np.isfinite(scores[[0, 1, 3]]))
    single = np.full(4, np.nan, dtype=np.float32)
    assert np.isposinf(det.score(single)).all()


def test_fitting_on_faulty_observations_is_refused() -> None:
    data = _clean()
    data[3, 0] = np.nan
    for det in (MahalanobisDetector(), KNNDetector(k=3)):
        with pytest.raises(ValueError, match="NaN or inf"):
            det.fit(data)


def test_trip_reason_fails_closed_whatever_the_threshold() -> None:
    assert trip_reason(float("nan"), threshold=1e300) == "non_finite_score"
    assert trip_reason(float("inf"), threshold=float("inf")) == "non_finite_score"
    assert trip_reason(2.0, threshold=1.0) == "anomaly"
    assert trip_reason(0.5, threshold=1.0) == ""


def test_monitor_takes_over_on_a_sensor_fault(models: tuple[Any, Any]) -> None:
    policy, _ = models
    det = PolicyOutputDetector(policy, kind="msp")
    env = FallbackMonitor(
        FaultySensor(gym.make("CartPole-v1"), fault_at=3), det, fallback=0, threshold=0.99
    )
    env.reset(seed=0)
    seen = []
    for _ in range(6):
        _, _, term, trunc, info = env.step(1)  # the agent proposes 1 whatever it sees
        assert info["fallback_proposed"] == 1
        seen.append((info["fallback"], info[REASON_KEY], info["fallback_score"]))
        if term or trunc:
            break
    # the observation the agent acts on at step t is the one returned at step t - 1
    assert [s[0] for s in seen[:3]] == [False, False, False]
    assert all(s[0] and s[1] == "non_finite_score" for s in seen[3:])
    assert all(np.isposinf(s[2]) for s in seen[3:])


def test_policy_wrapper_takes_over_on_a_sensor_fault(models: tuple[Any, Any]) -> None:
    policy, _ = models
    guarded = FallbackPolicy(policy, PolicyOutputDetector(policy, kind="energy"), 0, 1e9)
    obs = np.full(4, np.nan, dtype=np.float32)
    action, _ = guarded.predict(obs, deterministic=True)
    assert int(action) == 0
    assert guarded.last_intervention["fallback"] is True
    assert guarded.last_intervention["reason"] == "non_finite_score"
