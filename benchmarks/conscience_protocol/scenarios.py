"""Scenario sets: what the protocol chooses settings on and what it reports on.

A scenario travels to worker processes as a small picklable *spec*:

- ``("gen", split, seed)``: variant ``seed`` of the generator's ``split``;
- ``("hand", name)``: a hand-written scenario of ``mlsafety.envs.text.scenarios``;
- ``("module", "MODULE:ATTR", name)``: a scenario read from a module outside the package.

:func:`env_id` turns a spec into a registered Gymnasium ID in whichever process calls it.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

from mlsafety.envs.text import Scenario, generate_scenario, register_scenario
from mlsafety.envs.text.scenarios import all_scenarios

Spec = tuple[str, ...]
TRAIN_SET = "train"
"""The one set settings are chosen on: the generator's train split."""


def load_module_scenarios(target: str) -> list[Scenario]:
    """The scenarios named by ``MODULE[:ATTR]``.

    ``ATTR`` (default: ``SCENARIOS``, else ``SCENARIO``) is a :class:`Scenario` or an iterable
    of them. A ValueError names what is missing or of the wrong type.
    """
    module_name, _, attr = target.partition(":")
    if not module_name:
        raise ValueError(f"--scenarios takes MODULE[:ATTR], got {target!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import scenario module {module_name!r}: {exc}") from exc
    names = [attr] if attr else ["SCENARIOS", "SCENARIO"]
    for name in names:
        if hasattr(module, name):
            value = getattr(module, name)
            break
    else:
        raise ValueError(f"module {module_name!r} has no {' or '.join(names)}")
    items: Iterable[Any] = [value] if isinstance(value, Scenario) else value
    try:
        found = list(items)
    except TypeError:
        found = [value]
    bad = [x for x in found if not isinstance(x, Scenario)]
    if bad or not found:
        raise ValueError(
            f"{target}: expected a Scenario or a sequence of Scenarios, got {type(value).__name__}"
        )
    return found


def scenario_sets(
    n_train: int, n_test: int, modules: Iterable[str] = (), hand: bool = True
) -> dict[str, list[Spec]]:
    """``{"train": ..., "gen-test": ..., "hand-written": ..., "<MODULE:ATTR>": ...}``.

    ``train`` holds the generator's train variants ``0 .. n_train - 1``; every other set is
    held out (never read when choosing settings).
    """
    sets: dict[str, list[Spec]] = {
        TRAIN_SET: [("gen", "train", str(s)) for s in range(n_train)],
        "gen-test": [("gen", "test", str(s)) for s in range(n_test)],
    }
    if hand:
        sets["hand-written"] = [("hand", s.name) for s in all_scenarios()]
    for target in modules:
        sets[target] = [("module", target, s.name) for s in load_module_scenarios(target)]
    return {k: v for k, v in sets.items() if v}


def resolve(spec: Spec) -> Scenario:
    """The :class:`Scenario` a spec names."""
    kind = spec[0]
    if kind == "gen":
        return generate_scenario(int(spec[2]), spec[1])
    if kind == "hand":
        for s in all_scenarios():
            if s.name == spec[1]:
                return s
        raise ValueError(f"no hand-written scenario named {spec[1]!r}")
    if kind == "module":
        for s in load_module_scenarios(spec[1]):
            if s.name == spec[2]:
                return s
        raise ValueError(f"{spec[1]} has no scenario named {spec[2]!r}")
    raise ValueError(f"unknown scenario spec {spec!r}")


def env_id(spec: Spec) -> str:
    """Register the scenario of ``spec`` in this process; its ``mlsafety/Text<Name>-v0`` ID."""
    return register_scenario(resolve(spec))


def label(spec: Spec) -> str:
    """A short row label: the scenario's name."""
    return resolve(spec).name
