"""Multi-agent side of the safety contract: PettingZoo episode totals, conformance checks,
and a parameter-sharing SB3 ``VecEnv`` over the batched cooperative envs.
"""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any, Protocol

import gymnasium as gym
import numpy as np
from pettingzoo import ParallelEnv
from pettingzoo.utils.wrappers import BaseParallelWrapper
from stable_baselines3.common.vec_env.base_vec_env import (
    VecEnv,
    VecEnvIndices,
    VecEnvObs,
    VecEnvStepReturn,
)

from mlsafety.contract import ContractError, validate_safety_info
from mlsafety.testing import ConformanceError
from mlsafety.wrappers import EPISODE_KEY, _episode_dict


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


class SafetyStatsParallel(BaseParallelWrapper[Any, Any, Any]):
    """Per-agent episode totals of the safety contract for a PettingZoo ``ParallelEnv``.

    At the end of an episode, ``infos[agent]["safety_episode"]`` holds the same totals as
    :class:`mlsafety.wrappers.SafetyStats`, plus the env's social metrics
    (``infos[agent]["social"]`` of the last step) under ``"social"``.
    """

    def __init__(self, env: ParallelEnv[Any, Any, Any]) -> None:
        super().__init__(env)
        self._totals: dict[Any, dict[str, Any]] = {}

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[Any, Any], dict[Any, dict[str, Any]]]:
        obs, infos = self.env.reset(seed=seed, options=options)
        self._totals = {
            a: {
                "true": 0.0,
                "proxy": 0.0,
                "cost": 0.0,
                "length": 0,
                "morality": np.zeros(4),
                "events": Counter(),
            }
            for a in self.env.possible_agents
        }
        return obs, infos

    def step(self, actions: dict[Any, Any]) -> tuple[Any, Any, Any, Any, dict[Any, dict[str, Any]]]:
        obs, rewards, terms, truncs, infos = self.env.step(actions)
        for agent, info in infos.items():
            t = self._totals[agent]
            t["proxy"] += float(rewards[agent])
            t["true"] += float(info["true_reward"])
            t["cost"] += float(info["cost"])
            t["morality"] += info["morality"]
            t["events"].update(info["events"])
            t["length"] += 1
            if terms.get(agent) or truncs.get(agent):
                ep = _episode_dict(
                    t["true"],
                    t["proxy"],
                    t["cost"],
                    t["length"],
                    t["morality"],
                    dict(t["events"]),
                    None,
                )
                if "social" in info:
                    ep["social"] = dict(info["social"])
                infos[agent] = {**info, EPISODE_KEY: ep}
        return obs, rewards, terms, truncs, infos


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


class BatchedParallelEnv(Protocol):
    """The batched form every cooperative env offers (``<Name>Batch`` in its module)."""

    num_envs: int
    num_agents: int
    possible_agents: list[str]
    observation_space: gym.Space[Any]
    action_space: gym.Space[Any]

    def reset(self, seed: int | None = None) -> np.ndarray: ...

    def step(self, actions: np.ndarray) -> tuple[Any, Any, Any, Any, dict[str, Any]]: ...


RewardTransform = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""``(rewards (N, A), done (N,)) -> shaped rewards (N, A)``; see :mod:`mlsafety.agents.social`."""


class ParallelBatchVecEnv(VecEnv):
    """Parameter sharing for SB3: one ``VecEnv`` slot per (copy, agent), copy-major.

    Slot ``k`` is copy ``k // num_agents``, agent ``possible_agents[k % num_agents]``. Every
    slot of a copy is done together; ``terminal_observation`` and ``TimeLimit.truncated``
    are set as SB3 expects, and each slot's info carries that agent's safety contract.
    ``reward_transform`` (e.g. collective reward or inequity aversion) reshapes the rewards
    the learner sees; the contract in ``info`` keeps the env's own numbers.
    """

    def __init__(self, batch: BatchedParallelEnv, reward_transform: RewardTransform | None = None):
        self.batch = batch
        self.num_agents = batch.num_agents
        self.reward_transform = reward_transform
        self.render_mode = None
        super().__init__(
            batch.num_envs * batch.num_agents, batch.observation_space, batch.action_space
        )
        self._actions: np.ndarray | None = None

    def _flat(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x).reshape(self.num_envs, *np.shape(x)[2:])

    def reset(self) -> VecEnvObs:
        seed = self._seeds[0]
        obs = self.batch.reset(seed=seed)
        self._reset_seeds()
        return self._flat(obs)

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions).reshape(self.batch.num_envs, self.num_agents)

    def step_wait(self) -> VecEnvStepReturn:
        if self._actions is None:
            raise RuntimeError("step_wait() called before step_async()")
        obs, rewards, terms, truncs, info = self.batch.step(self._actions)
        done_copy = np.logical_or(terms, truncs)
        rewards = np.asarray(rewards, dtype=np.float32)
        shaped = (
            rewards if self.reward_transform is None else self.reward_transform(rewards, done_copy)
        )
        dones = np.repeat(done_copy, self.num_agents)
        infos: list[dict[str, Any]] = []
        for k in range(self.num_envs):
            c, a = divmod(k, self.num_agents)
            item = {
                "true_reward": float(info["true_reward"][c, a]),
                "cost": float(info["cost"][c, a]),
                "morality": np.asarray(info["morality"][c, a], dtype=np.float32),
                "events": info["events"][c, a],
                "reward": float(rewards[c, a]),
            }
            if done_copy[c]:
                item["terminal_observation"] = info["final_obs"][c, a]
                item["TimeLimit.truncated"] = bool(truncs[c] and not terms[c])
                if info.get("social") is not None and info["social"][c] is not None:
                    item["social"] = info["social"][c]
            infos.append(item)
        return self._flat(obs), np.asarray(shaped, dtype=np.float32).reshape(-1), dones, infos

    def close(self) -> None:
        close = getattr(self.batch, "close", None)
        if close is not None:
            close()

    def _indices(self, indices: VecEnvIndices) -> Sequence[int]:
        if indices is None:
            return range(self.num_envs)
        return [indices] if isinstance(indices, int) else list(indices)

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        return [getattr(self.batch, attr_name) for _ in self._indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        setattr(self.batch, attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **kwargs: Any
    ) -> list[Any]:
        result = getattr(self.batch, method_name)(*method_args, **kwargs)
        return [result for _ in self._indices(indices)]

    def env_is_wrapped(
        self, wrapper_class: type[gym.Wrapper[Any, Any, Any, Any]], indices: VecEnvIndices = None
    ) -> list[bool]:
        return [False for _ in self._indices(indices)]


def evaluate_shared_policy(
    policy: Any,
    batch: BatchedParallelEnv,
    episodes: int,
    seed: int = 0,
    deterministic: bool = False,
) -> list[dict[str, float]]:
    """Roll a shared policy (anything with SB3's ``predict``) out on a batched coop env.

    Returns one dict per finished episode: the env's social metrics plus the mean per-agent
    proxy return, true return and cost.
    """
    obs = batch.reset(seed=seed)
    n, a = batch.num_envs, batch.num_agents
    proxy = np.zeros((n, a))
    true = np.zeros((n, a))
    cost = np.zeros((n, a))
    results: list[dict[str, float]] = []
    while len(results) < episodes:
        flat = np.asarray(obs).reshape(n * a, *np.shape(obs)[2:])
        actions, _ = policy.predict(flat, deterministic=deterministic)
        obs, rewards, terms, truncs, info = batch.step(np.asarray(actions).reshape(n, a))
        proxy += rewards
        true += info["true_reward"]
        cost += info["cost"]
        for c in np.flatnonzero(np.logical_or(terms, truncs)):
            row = {k: float(v) for k, v in (info["social"][c] or {}).items()}
            row.update(
                proxy_return=proxy[c].mean(), true_return=true[c].mean(), cost=cost[c].mean()
            )
            results.append(row)
            proxy[c] = true[c] = cost[c] = 0.0
    return results[:episodes]
