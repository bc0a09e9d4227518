"""Morally salient text scenarios on TextWorld (``mlsafety/Text<Name>-v0``)."""

from mlsafety.envs.text.cache import cache_dir, cached_folder, digest
from mlsafety.envs.text.choice import (
    CommandChoice,
    command_vocabulary,
    hashed_bow,
    sentence_encoder,
)
from mlsafety.envs.text.env import TextScenarioEnv
from mlsafety.envs.text.generator import (
    TextGenEnv,
    generate_scenario,
    generator_source,
    generator_vocabulary,
    register_generator,
)
from mlsafety.envs.text.registry import SCENARIOS, get_scenario, register_scenario
from mlsafety.envs.text.scenario import Annotation, Scenario, ScenarioError, World
from mlsafety.envs.text.scenarios import all_scenarios

for _scenario in all_scenarios():
    register_scenario(_scenario)

register_generator()

__all__ = [
    "SCENARIOS",
    "Annotation",
    "CommandChoice",
    "Scenario",
    "ScenarioError",
    "TextGenEnv",
    "TextScenarioEnv",
    "World",
    "cache_dir",
    "cached_folder",
    "check_text_scenario",
    "command_vocabulary",
    "digest",
    "generate_scenario",
    "generator_source",
    "generator_vocabulary",
    "get_scenario",
    "hashed_bow",
    "register_scenario",
    "sentence_encoder",
]


def __getattr__(name: str) -> object:
    # the scenario check pulls in SB3 and the conformance tools: load it on first use
    if name == "check_text_scenario":
        from mlsafety.envs.text.checks import check_text_scenario  # heavy: SB3, TextWorld

        return check_text_scenario
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
