"""Build a scenario into TextWorld game files, cached by content hash.

``game_file(scenario, "logic")`` is the logic-only ``game.json``; ``game_file(scenario,
"text")`` compiles the Inform 7 story ``game.z8`` (with its ``game.json`` beside it).
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path
from typing import Any

from mlsafety.envs.text.cache import cached_folder, digest
from mlsafety.envs.text.knowledge import TWG, TWL, knowledge_base
from mlsafety.envs.text.scenario import Scenario, ScenarioError, World

BACKENDS = ("text", "logic")
SEED = 1234


def scenario_key(scenario: Scenario) -> str:
    return digest(scenario.source_key(), TWL.read_bytes(), TWG.read_bytes(), version("textworld"))


def build_game(scenario: Scenario) -> Any:
    """Run the scenario's build function; the resulting ``textworld.Game``."""
    from textworld import GameMaker, GameOptions  # heavy: TextWorld, loaded on first build

    options = GameOptions()
    options.kb = knowledge_base()
    options.seeds = SEED
    maker = GameMaker(options)
    try:
        scenario.build(World(maker))
    except ScenarioError:
        raise
    except Exception as exc:
        raise ScenarioError(f"scenario {scenario.name}: build failed: {exc!r}") from exc
    if not maker.quests:
        raise ScenarioError(f"scenario {scenario.name}: build made no goal (call World.goal)")
    if maker.player is None:
        raise ScenarioError(f"scenario {scenario.name}: build set no start room (World.start)")
    game = maker.build()
    scenario.check_entities(info.name for info in game.infos.values() if info.name)
    return game


def game_file(scenario: Scenario, backend: str) -> Path:
    """Path of the playable game file for ``backend``, building and compiling if needed."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    key = scenario_key(scenario)
    if backend == "logic":

        def fill_json(folder: Path) -> None:
            build_game(scenario).save(str(folder / "game.json"))

        return cached_folder("games", key, fill_json) / "game.json"

    def fill_z8(folder: Path) -> None:
        # heavy: TextWorld and its compiler, loaded only to compile a game
        import textworld
        from textworld.generator import compile_game
        from textworld.generator.game import Game

        logic = game_file(scenario, "logic")
        options = textworld.GameOptions()
        options.path = str(folder / "game.z8")
        options.force_recompile = True
        compile_game(Game.load(str(logic)), options)

    return cached_folder("stories", key, fill_z8) / "game.z8"
