"""Cooperative multi-agent tasks (PettingZoo ``ParallelEnv``, written parallel-first).

Each env has a PettingZoo-style module (``commons_harvest_v0``, ``cleanup_v0``,
``stag_hunt_v0``, ``pricing_duopoly_v0``) with ``parallel_env()``, ``env()`` and ``raw_env``.
"""

from mlsafety.envs.registration import EnvEntry, register_env

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
