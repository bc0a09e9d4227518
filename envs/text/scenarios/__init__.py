"""The hand-written scenarios; each module defines ``SCENARIO``."""

from importlib import import_module

from mlsafety.envs.text.scenario import Scenario

MODULES = ("bakery", "ferry_queue", "locked_pharmacy", "river_rescue")


def all_scenarios() -> list[Scenario]:
    return [import_module(f"{__name__}.{m}").SCENARIO for m in MODULES]
