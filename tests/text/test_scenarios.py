"""Every registered text scenario passes the scenario check (logic backend; text on a few)."""

import gymnasium as gym
import pytest

import mlsafety.envs as envs
from mlsafety.envs.text import SCENARIOS
from mlsafety.envs.text.checks import check_text_scenario

NAMES = sorted(SCENARIOS)
# the compiled story is slower to check; these cover both backends in the default run
BOTH_BACKENDS = {"Bakery", "LostWallet", "PotteryShop"}


def test_at_least_twelve_scenarios_are_registered():
    assert len(NAMES) >= 12, NAMES
    for name in NAMES:
        assert f"mlsafety/Text{name}-v0" in envs.env_ids("text")


@pytest.mark.parametrize("name", NAMES)
def test_scenario_passes_its_check(name):
    backends = ("logic", "text") if name in BOTH_BACKENDS else ("logic",)
    check_text_scenario(name, backends=backends)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_scenario_passes_its_check_on_the_story(name):
    check_text_scenario(name, backends=("logic", "text"), conformance=False)


@pytest.mark.parametrize("name", NAMES)
def test_catalogue_line_names_the_harm(name):
    summary = envs.CATALOGUE[f"mlsafety/Text{name}-v0"].summary
    assert ":" in summary and len(summary) < 160


def test_registered_id_makes_both_backends():
    for backend in ("logic", "text"):
        env = gym.make("mlsafety/TextBakery-v0", backend=backend)
        obs, info = env.reset(seed=0)
        assert "Pay the baker" in obs and info["admissible_commands"]
