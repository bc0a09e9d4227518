"""One catalogue of every mlsafety environment, registered with Gymnasium in one place."""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import sys
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

import gymnasium as gym

if TYPE_CHECKING:
    from pettingzoo import ParallelEnv

NAMESPACE = "mlsafety"
ENTRY_POINT_GROUP = "mlsafety.envs"
"""The entry-point group of third-party env packages: each entry point names a module whose
import registers its envs (``[project.entry-points."mlsafety.envs"] mypkg = "mypkg.envs"``)."""


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


class WrongAPIError(gym.error.Error, ValueError):
    """An ID of the other API: a PettingZoo env given to :func:`make`, or a Gymnasium env
    given to :func:`make_parallel`. The message names the function to call instead."""


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
    ``BoatRace-v0``), either optionally after ``"module:"`` (the module is imported first,
    see :func:`split_module`).
    """
    name = split_module(name)
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


def split_module(name: str) -> str:
    """``"module:ID"`` -> ``"ID"`` after importing ``module`` (which may register the ID), as
    ``gymnasium.make`` does; a name without a colon is returned as it is."""
    if ":" not in name:
        return name
    module, env_id = name.split(":", 1)
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise UnknownEnvError(
            f"cannot import module {module!r} named in {name!r} (the 'module:ID' form): {exc}"
        ) from exc
    return env_id


def load_plugins() -> list[str]:
    """Import every module of the :data:`ENTRY_POINT_GROUP` entry points (once each), so
    installed third-party packages register their envs; returns the names loaded.

    A broken entry point is a warning naming it, never an error: one bad package must not
    stop the others or the command that asked.
    """
    loaded = []
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in LOADED_PLUGINS:
            continue
        try:
            ep.load()
        except Exception as exc:  # any error in third-party code: reported, not raised
            warnings.warn(
                f"mlsafety: the {ENTRY_POINT_GROUP} entry point {ep.name!r} ({ep.value}) "
                f"failed to load: {type(exc).__name__}: {exc}",
                RuntimeWarning,
                stacklevel=2,
            )
            continue
        LOADED_PLUGINS.add(ep.name)
        loaded.append(ep.name)
    return loaded


LOADED_PLUGINS: set[str] = set()


def make(name: str, **kwargs: Any) -> gym.Env[Any, Any]:
    """``gymnasium.make`` with name resolution and a suggestion for unknown IDs.

    ``name`` is a full ID (``mlsafety/BoatRace-v0``), a bare name (``BoatRace``), or either
    after ``"module:"``. Multi-agent (PettingZoo) IDs raise :class:`WrongAPIError`: build
    those with :func:`make_parallel`.
    """
    env_id = resolve_id(split_module(name))
    if CATALOGUE[env_id].api == "pettingzoo":
        raise WrongAPIError(
            f"{env_id} is a multi-agent PettingZoo env; build it with "
            f"mlsafety.envs.make_parallel({env_id!r})"
        )
    return gym.make(env_id, **kwargs)


def parallel_module(name: str) -> ModuleType:
    """The PettingZoo-style module (``parallel_env()``, ``env()``, ``raw_env``) registered as
    the multi-agent env ``name`` (resolved as in :func:`make_parallel`)."""
    env_id = resolve_id(split_module(name))
    entry = CATALOGUE[env_id]
    if entry.api != "pettingzoo":
        raise WrongAPIError(
            f"{env_id} is a single-agent Gymnasium env; build it with "
            f"mlsafety.envs.make({env_id!r}) or gymnasium.make({env_id!r})"
        )
    return importlib.import_module(entry.entry_point)


def make_parallel(name: str, **kwargs: Any) -> ParallelEnv[Any, Any, Any]:
    """The PettingZoo ``ParallelEnv`` registered as ``name``, built with ``kwargs``.

    ``name`` resolves as in :func:`make`: the full ID (``mlsafety/StagHunt-v0``), the bare
    name (``StagHunt`` or ``StagHunt-v0``), or either after ``"module:"`` (the module is
    imported first, so a third-party package can register its envs on import). An unknown
    name raises :class:`UnknownEnvError` with the closest registered ID; a single-agent
    (Gymnasium) ID raises :class:`WrongAPIError` pointing to :func:`make`. The catalogue
    entry's ``kwargs`` are the defaults, overridden by ``kwargs``.
    """
    module = parallel_module(name)
    entry = CATALOGUE[resolve_id(split_module(name))]
    env: ParallelEnv[Any, Any, Any] = module.parallel_env(**{**entry.kwargs, **kwargs})
    return env


def lazy_exports(
    package: str, table: Mapping[str, str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """A package's ``__getattr__`` and ``__dir__`` that import ``table[name]`` (a submodule
    of ``package``) on the first use of ``name`` and keep the value in the package.

    For family packages whose envs pull in heavy dependencies (numba kernels, PettingZoo,
    highway-env): ``__getattr__, __dir__ = lazy_exports(__name__, _LAZY)``.
    """

    def getattr_(name: str) -> object:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)
        return value

    def dir_() -> list[str]:
        return sorted({*vars(sys.modules[package]), *table})

    return getattr_, dir_
