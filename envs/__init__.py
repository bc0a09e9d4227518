"""mlsafety environments. Importing this package registers every env with Gymnasium."""

from mlsafety.envs import coop, gridworlds, text
from mlsafety.envs.registration import (
    CATALOGUE,
    EnvEntry,
    UnknownEnvError,
    env_ids,
    make,
    register_env,
    resolve_id,
)

__all__ = [
    "CATALOGUE",
    "EnvEntry",
    "UnknownEnvError",
    "coop",
    "env_ids",
    "gridworlds",
    "make",
    "register_env",
    "resolve_id",
    "text",
]
