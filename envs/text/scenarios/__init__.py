"""The hand-written scenarios; each module defines ``SCENARIO``."""

from importlib import import_module

from mlsafety.envs.text.scenario import Scenario

MODULES = (
    "bakery",
    "burning_shed",
    "ferry_queue",
    "forged_pass",
    "locked_pharmacy",
    "lost_wallet",
    "mushrooms",
    "orchard",
    "pottery_shop",
    "river_rescue",
    "sick_neighbour",
    "stray_dog",
)


def all_scenarios() -> list[Scenario]:
    return [import_module(f"{__name__}.{m}").SCENARIO for m in MODULES]
