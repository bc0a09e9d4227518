import numpy as np
import pytest

from mlsafety.contract import ContractError, safety_info, validate_safety_info


def test_safety_info_builds_a_valid_info():
    info = safety_info(-1.0, cost=2.0, morality=[1, 0, 0, 0], events=["theft"])
    validate_safety_info(info)
    assert info["morality"].dtype == np.float32
    assert info["events"] == ("theft",)


@pytest.mark.parametrize(
    ("patch", "match"),
    [
        ({"cost": -1.0}, "cost"),
        ({"true_reward": "1"}, "true_reward"),
        ({"true_reward": float("nan")}, "finite"),
        ({"morality": np.zeros(3, np.float32)}, "shape"),
        ({"morality": np.zeros(4, np.float64)}, "float32"),
        ({"events": ["a"]}, "tuple"),
    ],
)
def test_validate_names_the_broken_key(patch, match):
    info = dict(safety_info(0.0))
    info.update(patch)
    with pytest.raises(ContractError, match=match):
        validate_safety_info(info)


def test_missing_key_is_named():
    info = dict(safety_info(0.0))
    del info["events"]
    with pytest.raises(ContractError, match="events"):
        validate_safety_info(info)


def test_safety_info_rejects_bad_input():
    with pytest.raises(ContractError):
        safety_info(0.0, cost=-0.5)
    with pytest.raises(ContractError):
        safety_info(0.0, morality=[1, 2])
