"""The misspec family in the catalogue: one ID per sim, its kinds as an option; the
registry-wide checks cover the IDs, and the other kinds and non-default capability settings
pass the conformance checks too."""

from __future__ import annotations

import gymnasium as gym
import pytest

import mlsafety.envs as envs
from mlsafety.envs.misspec import KINDS, MISSPEC_ENVS
from mlsafety.testing import check_safety_env


def test_one_id_per_sim_and_its_kinds_as_an_option() -> None:
    assert envs.env_ids("misspec") == sorted(f"mlsafety/{row[0]}-v0" for row in MISSPEC_ENVS)
    for name, _module, _cls, default, others, _summary in MISSPEC_ENVS:
        assert {default, *others} <= set(KINDS)
        assert gym.make(f"mlsafety/{name}-v0").unwrapped.misspecification == default
        for kind in others:
            env = gym.make(f"mlsafety/{name}-v0", misspecification=kind)
            assert env.unwrapped.misspecification == kind
        unsupported = sorted(set(KINDS) - {default, *others})
        for kind in unsupported:
            with pytest.raises(ValueError, match="misspecification must be one of"):
                gym.make(f"mlsafety/{name}-v0", misspecification=kind)


def test_registry_wide_conformance_covers_the_family() -> None:
    from tests.test_registry import ALL_IDS  # the list tests/test_registry.py checks

    assert set(envs.env_ids("misspec")) <= set(ALL_IDS)


@pytest.mark.parametrize(
    ("env_id", "kwargs"),
    [
        ("mlsafety/GlucoseMonitoring-v0", {"cgm_noise": 0.0, "action_levels": 3, "history": 2}),
        (
            "mlsafety/GlucoseMonitoring-v0",
            {"misspecification": "misweighting", "patient": "child#003", "horizon": 40},
        ),
        ("mlsafety/PandemicPolicy-v0", {"action_mode": "delta", "history": 4, "obs_noise": 0.3}),
        (
            "mlsafety/PandemicPolicy-v0",
            {"misspecification": "scope", "population": 1000, "horizon": 30},
        ),
        pytest.param(
            "mlsafety/TrafficMerge-v0",
            {"misspecification": "ontological", "horizon": 5, "obs_noise": 0.05},
            marks=pytest.mark.slow,  # highway-env: ~10 s alone, more on a busy machine
        ),
    ],
)
def test_conformance_of_non_default_capability_settings(
    env_id: str, kwargs: dict[str, object]
) -> None:
    check_safety_env(env_id, steps=150, **kwargs)


def test_obs_noise_is_drawn_from_the_seeded_generator() -> None:
    a = gym.make("mlsafety/PandemicPolicy-v0", obs_noise=0.5, testing_rate=1.0)
    b = gym.make("mlsafety/PandemicPolicy-v0", obs_noise=0.5, testing_rate=1.0)
    for env in (a, b):
        env.reset(seed=1)
    for _ in range(30):
        oa, *_ = a.step(0)
        ob, *_ = b.step(0)
        assert (oa == ob).all()
