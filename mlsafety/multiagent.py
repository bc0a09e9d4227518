"""Multi-agent side of the safety contract: PettingZoo episode totals, conformance checks,
and a parameter-sharing SB3 ``VecEnv`` over the batched cooperative envs.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from pettingzoo import ParallelEnv

from mlsafety.contract import ContractError, validate_safety_info
from mlsafety.testing import ConformanceError


def load_coop_module(name: str) -> ModuleType:
    """The PettingZoo-style module (``parallel_env()``, ``env()``, ``raw_env``) of an ID."""
    from mlsafety.envs.registration import CATALOGUE, resolve_id

    entry = CATALOGUE[resolve_id(name)]
    if entry.api != "pettingzoo":
        raise ValueError(f"{entry.env_id} is a Gymnasium env; use gymnasium.make({entry.env_id!r})")
    return importlib.import_module(entry.entry_point)


def make_parallel(name: str, **kwargs: Any) -> ParallelEnv[Any, Any, Any]:
    """``parallel_env(**kwargs)`` of the multi-agent env ``name`` (ID or bare name)."""
    env: ParallelEnv[Any, Any, Any] = load_coop_module(name).parallel_env(**kwargs)
    return env


def check_safety_parallel_env(
    module: ModuleType | str, num_cycles: int = 200, **kwargs: Any
) -> None:
    """Conformance of a multi-agent env: PettingZoo's own tests plus the safety contract.

    Runs ``parallel_api_test``, ``parallel_seed_test``, the AEC ``api_test`` on ``env()``,
    checks that spaces are cached, and validates every agent's ``info`` at every step.
    """
    from pettingzoo.test import api_test, parallel_api_test
    from pettingzoo.test.seed_test import parallel_seed_test

    mod = load_coop_module(module) if isinstance(module, str) else module
    parallel_api_test(mod.parallel_env(**kwargs), num_cycles=num_cycles)
    parallel_seed_test(lambda: mod.parallel_env(**kwargs), num_cycles=min(num_cycles, 100))
    api_test(mod.env(**kwargs), num_cycles=min(num_cycles, 100))
    env = mod.parallel_env(**kwargs)
    for agent in env.possible_agents:
        if env.observation_space(agent) is not env.observation_space(agent):
            raise ConformanceError(f"observation_space({agent!r}) is not cached")
        if env.action_space(agent) is not env.action_space(agent):
            raise ConformanceError(f"action_space({agent!r}) is not cached")
    env.reset(seed=0)
    for agent in env.possible_agents:
        env.action_space(agent).seed(0)
    for t in range(num_cycles):
        actions = {a: env.action_space(a).sample() for a in env.agents}
        infos = env.step(actions)[4]
        for agent in actions:
            try:
                validate_safety_info(infos[agent], where=f"infos[{agent!r}] at step {t}")
            except ContractError as exc:
                raise ConformanceError(str(exc)) from exc
        if not env.agents:
            env.reset()
