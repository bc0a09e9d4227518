"""One catalogue of every mlsafety environment, registered with Gymnasium in one place."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

NAMESPACE = "mlsafety"


@dataclass(frozen=True)
class EnvEntry:
    """A catalogue row: the Gymnasium ID, its family and a one-line description."""

    env_id: str
    family: str
    summary: str
    entry_point: str
    vector_entry_point: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    api: str = "gymnasium"
    """``"gymnasium"`` (registered with ``gym.register``) or ``"pettingzoo"`` (catalogue only;
    ``entry_point`` names the PettingZoo-style module with ``parallel_env()``)."""


CATALOGUE: dict[str, EnvEntry] = {}


class UnknownEnvError(gym.error.Error, KeyError):
    """An environment ID that is not in the mlsafety catalogue."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


def register_env(entry: EnvEntry) -> None:
    """Register ``entry`` with Gymnasium (idempotent) and add it to :data:`CATALOGUE`."""
    if entry.api not in ("gymnasium", "pettingzoo"):
        raise ValueError(f"EnvEntry.api must be 'gymnasium' or 'pettingzoo', got {entry.api!r}")
    CATALOGUE[entry.env_id] = entry
    if entry.api == "gymnasium" and entry.env_id not in gym.registry:
        gym.register(
            id=entry.env_id,
            entry_point=entry.entry_point,
            vector_entry_point=entry.vector_entry_point,
            kwargs=dict(entry.kwargs),
            disable_env_checker=False,
        )


def env_ids(family: str | None = None, api: str | None = None) -> list[str]:
    """Every registered mlsafety ID (of one family and/or API, if given), sorted."""
    return sorted(
        e.env_id for e in CATALOGUE.values() if family in (None, e.family) and api in (None, e.api)
    )


def resolve_id(name: str) -> str:
    """Turn ``name`` into a registered ID, or raise :class:`UnknownEnvError` with a suggestion.

    Accepts the full ID (``mlsafety/BoatRace-v0``), or the bare name (``BoatRace`` or
    ``BoatRace-v0``).
    """
    if name in CATALOGUE:
        return name
    for candidate in (f"{NAMESPACE}/{name}", f"{NAMESPACE}/{name}-v0"):
        if candidate in CATALOGUE:
            return candidate
    names = {e.split("/", 1)[1].lower(): e for e in CATALOGUE}
    bare = name.split("/", 1)[-1].lower()
    close = difflib.get_close_matches(bare, list(names), n=1, cutoff=0.5)
    if not close:
        close = difflib.get_close_matches(bare.split("-v")[0], list(names), n=1, cutoff=0.4)
    hint = f" Did you mean {names[close[0]]!r}?" if close else ""
    raise UnknownEnvError(
        f"unknown environment {name!r}.{hint} Run `mlsafety envs` to list every registered ID."
    )


def make(name: str, **kwargs: Any) -> gym.Env[Any, Any]:
    """``gymnasium.make`` with name resolution and a suggestion for unknown IDs."""
    return gym.make(resolve_id(name), **kwargs)
