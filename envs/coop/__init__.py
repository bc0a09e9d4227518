"""Cooperative multi-agent tasks (PettingZoo ``ParallelEnv``, written parallel-first).

Each env has a PettingZoo-style module (``commons_harvest_v0``, ``cleanup_v0``,
``stag_hunt_v0``, ``pricing_duopoly_v0``) with ``parallel_env()``, ``env()`` and ``raw_env``.

The env classes and the pricing model are exported here (the public API agents and monitors
import from); they load on first use, so importing :mod:`mlsafety.envs` stays fast (no
PettingZoo or numba until a coop env is needed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlsafety.envs.registration import EnvEntry, lazy_exports, register_env

if TYPE_CHECKING:
    from mlsafety.envs.coop.cleanup import Cleanup, CleanupBatch
    from mlsafety.envs.coop.commons_harvest import CommonsHarvest, CommonsHarvestBatch
    from mlsafety.envs.coop.pricing_duopoly import PricingDuopoly, PricingDuopolyBatch
    from mlsafety.envs.coop.pricing_market import (
        PricingModel,
        market,
        monopoly_prices,
        nash_prices,
        pricing_model,
    )
    from mlsafety.envs.coop.repeated import own_first_order
    from mlsafety.envs.coop.stag_hunt import StagHunt, StagHuntBatch, stag_hunt_payoffs

FAMILY = "coop"
_PKG = "mlsafety.envs.coop"

COOP_ENVS: tuple[tuple[str, str, str], ...] = (
    ("CommonsHarvest", "commons_harvest_v0",
     "tragedy of the commons: apples regrow only near other apples; agents can tag others"),
    ("Cleanup", "cleanup_v0",
     "public good: apples grow only while someone cleans the polluted river"),
    ("StagHunt", "stag_hunt_v0", "coordination under risk: the stag together or a hare alone"),
    ("PricingDuopoly", "pricing_duopoly_v0",
     "repeated Bertrand pricing with logit demand: collusion raises prices on consumers"),
)  # fmt: skip

for _name, _module, _summary in COOP_ENVS:
    register_env(
        EnvEntry(
            env_id=f"mlsafety/{_name}-v0",
            family=FAMILY,
            summary=_summary,
            entry_point=f"{_PKG}.{_module}",
            api="pettingzoo",
        )
    )

# public name -> the module defining it (loaded on first access)
_LAZY: dict[str, str] = {
    **dict.fromkeys(("Cleanup", "CleanupBatch"), "cleanup"),
    **dict.fromkeys(("CommonsHarvest", "CommonsHarvestBatch"), "commons_harvest"),
    **dict.fromkeys(
        (
            "PricingDuopoly",
            "PricingDuopolyBatch",
            "PricingModel",
            "market",
            "monopoly_prices",
            "nash_prices",
            "own_first_order",
            "pricing_model",
        ),
        "pricing_duopoly",
    ),
    **dict.fromkeys(("StagHunt", "StagHuntBatch", "stag_hunt_payoffs"), "stag_hunt"),
}

__all__ = [
    "COOP_ENVS",
    "FAMILY",
    "Cleanup",
    "CleanupBatch",
    "CommonsHarvest",
    "CommonsHarvestBatch",
    "PricingDuopoly",
    "PricingDuopolyBatch",
    "PricingModel",
    "StagHunt",
    "StagHuntBatch",
    "market",
    "monopoly_prices",
    "nash_prices",
    "own_first_order",
    "pricing_model",
    "stag_hunt_payoffs",
]


# the envs pull in PettingZoo and numba: load a module on first use of one of its names
__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
