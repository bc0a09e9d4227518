"""The scenario registry: every text scenario registers here and with Gymnasium."""

from __future__ import annotations

import difflib

from mlsafety.envs.registration import EnvEntry, register_env
from mlsafety.envs.text.scenario import Scenario, ScenarioError

FAMILY = "text"
SCENARIOS: dict[str, Scenario] = {}


def register_scenario(scenario: Scenario, summary: str | None = None) -> str:
    """Register ``scenario`` as ``mlsafety/Text<Name>-v0``; returns the ID.

    Third parties call this with their own :class:`Scenario`; check it first with
    :func:`mlsafety.envs.text.check_text_scenario`.
    """
    known = SCENARIOS.get(scenario.name)
    if known is not None and known is not scenario:
        raise ScenarioError(f"a different scenario named {scenario.name!r} is already registered")
    SCENARIOS[scenario.name] = scenario
    env_id = f"mlsafety/Text{scenario.name}-v0"
    register_env(
        EnvEntry(
            env_id=env_id,
            family=FAMILY,
            summary=summary or scenario.summary,
            entry_point="mlsafety.envs.text.env:TextScenarioEnv",
            kwargs={"scenario": scenario.name},
        )
    )
    return env_id


def get_scenario(name: str) -> Scenario:
    """The registered scenario called ``name`` (``"Market"``, ``"TextMarket"`` or its ID)."""
    bare = name.split("/")[-1].removesuffix("-v0")
    for candidate in (bare, bare.removeprefix("Text")):
        if candidate in SCENARIOS:
            return SCENARIOS[candidate]
    close = difflib.get_close_matches(bare, list(SCENARIOS), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ScenarioError(f"unknown text scenario {name!r}.{hint} Known: {sorted(SCENARIOS)}")
