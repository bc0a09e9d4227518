"""What a suite may name, checked against what the envs declare: the suites fail closed.

A suite names metrics, events, env options and modules to import. Each is checked before
any episode runs, and an unknown name is a :class:`SuiteError` (exit code 2) that lists the
valid names with the closest one first:

- metrics: :data:`EPISODE_METRICS` (the safety contract's episode totals and ``cost_rate``),
  :data:`FALLBACK_METRICS` on an env with the fallback monitor, :data:`SOCIAL_METRICS`
  (also as ``social:NAME``) on multi-agent envs, and ``event:NAME``;
- ``event:NAME``: ``NAME`` must be in the env's ``event_names`` (see
  :mod:`mlsafety.contract`); an env that declares none cannot be checked on events;
- env ``kwargs``: the env constructor's parameters;
- ``import``: modules that must import (a third-party package that registers envs).
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
from gymnasium.envs.registration import load_env_creator

from mlsafety.envs import CATALOGUE, parallel_module
from mlsafety.wrappers import SCALAR_TOTALS

EPISODE_METRICS: tuple[str, ...] = (*SCALAR_TOTALS, "cost_rate")
FALLBACK_METRICS: tuple[str, ...] = ("fallback_steps", "fallback_rate", "fallback_true_return")
SOCIAL_METRICS: tuple[str, ...] = (
    "collusion_index",
    "efficiency",
    "equality",
    "sustainability",
    "peace",
    "consumer_surplus",
    "total_welfare",
    "mean_price",
    "stag_rate",
    "miscoordination_rate",
)
MAKE_KWARGS = ("max_episode_steps",)
"""``gymnasium.make``'s own options, accepted besides the constructor's parameters."""


class SuiteError(ValueError):
    """An invalid suite (or baseline): names the file, the key and the fix."""

    def __init__(self, path: str | Path, key: str, problem: str, fix: str) -> None:
        self.path = str(path)
        self.key = key
        self.problem = problem
        self.fix = fix
        super().__init__(f"{self.path}: [{key}] {problem}. Fix: {fix}")


def valid_names(name: str, valid: Iterable[str]) -> str:
    """``"use one of a, b, c"``, with ``"did you mean X?"`` first when one is close."""
    names = sorted(set(valid))
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{hint}use one of {', '.join(names) if names else '(none)'}"


def import_modules(modules: Sequence[str], path: str | Path, key: str = "import") -> None:
    """Import each module (a package registering envs); a SuiteError naming one that fails."""
    for i, name in enumerate(modules):
        try:
            importlib.import_module(name)
        except Exception as exc:  # any error while importing third-party code
            raise SuiteError(
                path,
                f"{key}[{i}]",
                f"cannot import module {name!r} ({type(exc).__name__}: {exc})",
                "install the package, or put its folder on PYTHONPATH",
            ) from None


def check_metric(
    path: str | Path, where: str, metric: str, api: str, has_fallback: bool, env_name: str
) -> None:
    """A SuiteError unless ``metric`` is known and applies to the env (events: see below)."""
    social = metric in SOCIAL_METRICS or metric.startswith("social:")
    if metric.startswith("social:") and metric.split(":", 1)[1] not in SOCIAL_METRICS:
        name = metric.split(":", 1)[1]
        raise SuiteError(
            path, where, f"unknown social metric {name!r}", valid_names(name, SOCIAL_METRICS)
        )
    if metric.startswith("event:"):
        if not metric.split(":", 1)[1]:
            raise SuiteError(path, where, "event: names no event", "write event:<name>")
        return
    known = EPISODE_METRICS + FALLBACK_METRICS + SOCIAL_METRICS
    if not social and metric not in known:
        raise SuiteError(
            path,
            where,
            f"unknown metric {metric!r}",
            valid_names(metric, known) + ", event:<name> or social:<name>",
        )
    if social and api != "pettingzoo":
        raise SuiteError(
            path, where, f"{metric!r} is a multi-agent social metric", "use it on a coop env"
        )
    if metric in FALLBACK_METRICS and not has_fallback:
        raise SuiteError(
            path,
            where,
            f"{metric!r} needs the fallback monitor on env {env_name!r}",
            f'add wrappers = [{{ type = "fallback", detector = "..." }}] to [envs.{env_name}]',
        )


def constructor(env_id: str) -> Any:
    """The callable that builds ``env_id`` (its class, or the module's ``raw_env``)."""
    entry = CATALOGUE.get(env_id)
    if entry is not None and entry.api == "pettingzoo":
        module = parallel_module(env_id)
        return getattr(module, "raw_env", module.parallel_env)
    return load_env_creator(gym.spec(env_id).entry_point)  # type: ignore[arg-type]


def accepted_kwargs(env_id: str) -> tuple[str, ...] | None:
    """The keyword arguments ``env_id``'s constructor takes (None: any, it has ``**kwargs``)."""
    try:
        params = inspect.signature(constructor(env_id)).parameters.values()
    except (TypeError, ValueError, gym.error.Error):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    names = [
        p.name
        for p in params
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        and p.name != "self"
    ]
    return tuple(names)


def check_kwargs(path: str | Path, where: str, env_id: str, kwargs: Iterable[str]) -> None:
    """A SuiteError naming the first option ``env_id``'s constructor does not take."""
    accepted = accepted_kwargs(env_id)
    if accepted is None:
        return
    entry = CATALOGUE.get(env_id)
    valid = accepted + (MAKE_KWARGS if entry is None or entry.api == "gymnasium" else ())
    for k in kwargs:
        if k not in valid:
            raise SuiteError(
                path,
                f"{where}.{k}",
                f"{env_id} takes no option {k!r}",
                valid_names(k, valid) + " (see the env's docstring)",
            )


def declared_events(env: Any) -> tuple[str, ...] | None:
    """The env's ``event_names`` (of ``env.unwrapped`` where it has one), or None."""
    base = getattr(env, "unwrapped", env)
    names = getattr(base, "event_names", None)
    if names is None:
        return None
    return tuple(str(n) for n in names)


def check_event(
    path: str | Path, where: str, metric: str, env_name: str, env_id: str, declared: Any
) -> None:
    """A SuiteError unless ``metric`` (``event:NAME``) names an event ``env_id`` declares."""
    name = metric.split(":", 1)[1]
    if declared is None:
        raise SuiteError(
            path,
            where,
            f"env {env_name!r} ({env_id}) declares no event_names, so {metric!r} cannot be checked",
            "give the env an event_names attribute (see mlsafety.contract) or drop the check",
        )
    if name not in declared:
        raise SuiteError(
            path,
            where,
            f"env {env_name!r} ({env_id}) never reports event {name!r}",
            valid_names(name, declared),
        )
