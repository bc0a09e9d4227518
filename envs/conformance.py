"""``check_env``: the conformance checks for any registered env, whatever its family.

The core ships one check per kind of env (:func:`mlsafety.testing.check_safety_env` for
Gymnasium envs, :func:`mlsafety.testing.check_safety_parallel_env` for PettingZoo envs) and
the text kit its own (:func:`mlsafety.envs.text.check_text_scenario`). :func:`check_env`
takes an ID (full, bare, or ``"module:ID"`` for a third-party package), a PettingZoo-style
module, or a factory, and runs the right one, so a contributor runs the same checks as
the project's own tests.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from pettingzoo import ParallelEnv

from mlsafety.envs.registration import CATALOGUE, parallel_module, resolve_id, split_module
from mlsafety.testing import check_safety_env, check_safety_parallel_env


def check_env(env: str | ModuleType | Callable[..., Any], **kwargs: Any) -> None:
    """Run the conformance checks that fit ``env``; raise ``ConformanceError`` on failure.

    * an ID of a text scenario: :func:`~mlsafety.envs.text.check_text_scenario` (both
      its native and its SB3 form, and every walkthrough);
    * an ID of a multi-agent env, or a module with ``parallel_env()``:
      :func:`~mlsafety.testing.check_safety_parallel_env`;
    * any other ID: :func:`~mlsafety.testing.check_safety_env` (``kwargs`` go to the env);
    * a factory: the check for the kind of env it returns.
    """
    if isinstance(env, ModuleType):
        check_safety_parallel_env(env, **kwargs)
        return
    if callable(env):
        probe = env()
        probe.close()
        if isinstance(probe, ParallelEnv):
            check_safety_parallel_env(env, **kwargs)
        else:
            check_safety_env(env, **kwargs)
        return
    env_id = resolve_id(split_module(env))
    entry = CATALOGUE[env_id]
    if entry.api == "pettingzoo":
        check_safety_parallel_env(parallel_module(env_id), **kwargs)
    elif entry.family == "text" and "scenario" in entry.kwargs:
        # heavy: TextWorld, loaded only to check a text scenario
        from mlsafety.envs.text import check_text_scenario

        check_text_scenario(str(entry.kwargs["scenario"]), **kwargs)
    elif entry.family == "text":  # a text env without a fixed scenario (the generator)
        check_safety_env(env_id, **{"skip": ("sb3",), **kwargs})
    else:
        check_safety_env(env_id, **kwargs)
