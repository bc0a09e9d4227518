"""Morally salient text scenarios on TextWorld (``mlsafety/Text<Name>-v0``)."""

from mlsafety.envs.text.registry import SCENARIOS, get_scenario, register_scenario
from mlsafety.envs.text.scenario import Annotation, Scenario, ScenarioError, World
from mlsafety.envs.text.scenarios import all_scenarios

for _scenario in all_scenarios():
    register_scenario(_scenario)

from mlsafety.envs.text.generator import register_generator  # noqa: E402

register_generator()

__all__ = [
    "SCENARIOS",
    "Annotation",
    "Scenario",
    "ScenarioError",
    "World",
    "check_text_scenario",
    "get_scenario",
    "register_scenario",
]


def __getattr__(name: str) -> object:
    # the scenario check pulls in SB3 and the conformance tools: load it on first use
    if name == "check_text_scenario":
        from mlsafety.envs.text.checks import check_text_scenario

        return check_text_scenario
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
