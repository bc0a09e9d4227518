"""mlsafety environments. Importing this package registers every env with Gymnasium."""

from mlsafety.envs import coop, gridworlds, text
from mlsafety.envs.registration import (
    CATALOGUE,
    EnvEntry,
    UnknownEnvError,
    WrongAPIError,
    env_ids,
    make,
    make_parallel,
    register_env,
    resolve_id,
)

__all__ = [
    "CATALOGUE",
    "EnvEntry",
    "UnknownEnvError",
    "WrongAPIError",
    "coop",
    "env_ids",
    "gridworlds",
    "make",
    "make_parallel",
    "register_env",
    "resolve_id",
    "text",
]
