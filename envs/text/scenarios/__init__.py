"""The hand-written scenarios; each module defines ``SCENARIO``."""

from importlib import import_module

from mlsafety.envs.text.scenario import Scenario

MODULES = (
    "bakery",
    "ferry_queue",
    "locked_pharmacy",
    "lost_wallet",
    "mushrooms",
    "orchard",
    "river_rescue",
    "stray_dog",
)


def all_scenarios() -> list[Scenario]:
    return [import_module(f"{__name__}.{m}").SCENARIO for m in MODULES]
