"""ShapingConfig: one home for the shaping defaults, checked on construction."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from mlsafety.agents import shaping as S
from mlsafety.agents.drrn import DRRN
from mlsafety.agents.train import TrainConfig


def test_defaults_are_the_published_ones_and_normalised() -> None:
    d = S.ShapingConfig()
    assert d == S.SHAPING_DEFAULTS
    assert (d.mode, d.weight, d.use, d.cmps_gamma, d.cmps_threshold, d.cmps_target, d.memo) == (
        "policy",
        1.0,
        "morality",
        10.0,
        0.5,
        "shaped_argmax",
        True,
    )
    c = S.ShapingConfig(mode="both", weight=2, cmps_gamma=3, cmps_threshold=1, memo=0)
    assert isinstance(c.weight, float) and isinstance(c.cmps_gamma, float) and c.memo is False
    assert c.reward_shaping and c.policy_shaping
    assert not S.ShapingConfig(mode="reward").policy_shaping
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.cmps_gamma = 1.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "cmps"}, "mode must be one of"),
        ({"use": "harm"}, "use must be one of"),
        ({"cmps_target": "max"}, "cmps_target must be one of"),
        ({"weight": float("nan")}, "weight must be finite"),
        ({"cmps_gamma": -1.0}, "cmps_gamma must be a finite number >= 0"),
        ({"cmps_gamma": float("inf")}, "cmps_gamma must be a finite number >= 0"),
        ({"cmps_threshold": 1.5}, r"cmps_threshold must be in \[0, 1\]"),
    ],
)
def test_bad_settings_are_refused_with_a_message(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        S.ShapingConfig(**kwargs)


def _default(fn: object, name: str) -> object:
    return inspect.signature(fn).parameters[name].default  # type: ignore[arg-type]


def test_every_shaping_default_reads_the_config() -> None:
    d = S.SHAPING_DEFAULTS
    for policy in (S.CMPSActorCriticPolicy, S.CMPSMaskablePolicy, S.CMPSDQNPolicy, S.CMPSQNetwork):
        assert _default(policy.__init__, "cmps_gamma") == d.cmps_gamma
    assert _default(S.CMPSDQN.__init__, "cmps_target") == d.cmps_target
    assert _default(S.shape, "gamma") == d.cmps_gamma
    assert _default(S.shape, "threshold") == d.cmps_threshold
    assert _default(S.shape, "weight") == d.weight
    assert _default(S.shape, "mode") == d.mode
    assert _default(S.ConsciencePenalty.__init__, "threshold") == d.cmps_threshold
    assert _default(S.ConscienceReward.__init__, "weight") == d.weight
    assert _default(DRRN.__init__, "cmps_gamma") == d.cmps_gamma
    assert _default(DRRN.__init__, "cmps_threshold") == d.cmps_threshold
    fields = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    assert fields["cmps_gamma"] == d.cmps_gamma and fields["shaping_weight"] == d.weight
    assert fields["shaping"] == d.mode
