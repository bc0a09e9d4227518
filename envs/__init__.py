"""mlsafety environments. Importing this package registers every env with Gymnasium."""

from mlsafety.envs import coop, gridworlds, misspec, text
from mlsafety.envs.registration import (
    CATALOGUE,
    ENTRY_POINT_GROUP,
    EnvEntry,
    UnknownEnvError,
    WrongAPIError,
    env_ids,
    load_plugins,
    make,
    make_parallel,
    parallel_module,
    register_env,
    resolve_id,
    split_module,
)

__all__ = [
    "CATALOGUE",
    "ENTRY_POINT_GROUP",
    "EnvEntry",
    "UnknownEnvError",
    "WrongAPIError",
    "check_env",
    "coop",
    "env_ids",
    "gridworlds",
    "load_plugins",
    "make",
    "make_parallel",
    "misspec",
    "parallel_module",
    "register_env",
    "resolve_id",
    "split_module",
    "text",
]


def __getattr__(name: str) -> object:
    # the conformance checks pull in PettingZoo's tests and SB3: load them on first use
    if name == "check_env":
        from mlsafety.envs.conformance import check_env  # heavy: PettingZoo tests, SB3

        return check_env
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
