"""Adapter from a Gymnasium vector env to Stable-Baselines3's ``VecEnv``.

SB3 does not take Gymnasium vector envs. :class:`SB3VecEnv` wraps one (for instance the
batched gridworlds from ``gymnasium.make_vec(..., vectorization_mode="vector_entry_point")``)
and converts its dict-of-arrays ``info`` into SB3's list of per-env dicts, with
``terminal_observation`` and ``TimeLimit.truncated`` where SB3 expects them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env.base_vec_env import (
    VecEnv,
    VecEnvIndices,
    VecEnvObs,
    VecEnvStepReturn,
)


def split_vector_info(info: dict[str, Any], num_envs: int) -> list[dict[str, Any]]:
    """Gymnasium's vector ``info`` (arrays plus ``_key`` masks) as one dict per sub-env."""
    out: list[dict[str, Any]] = [{} for _ in range(num_envs)]
    for key, value in info.items():
        if key.startswith("_"):
            continue
        mask = info.get("_" + key)
        if isinstance(value, dict):
            parts = split_vector_info(value, num_envs)
            for i in range(num_envs):
                if mask is None or mask[i]:
                    out[i][key] = parts[i]
            continue
        for i in range(num_envs):
            if mask is None or mask[i]:
                out[i][key] = value[i]
    return out


class SB3VecEnv(VecEnv):
    """Present a Gymnasium ``VectorEnv`` (autoreset mode ``SameStep``) as an SB3 ``VecEnv``."""

    def __init__(self, venv: VectorEnv) -> None:
        if not isinstance(venv, VectorEnv):
            raise TypeError(f"expected a gymnasium.vector.VectorEnv, got {type(venv).__name__}")
        mode = venv.metadata.get("autoreset_mode")
        if mode not in (AutoresetMode.SAME_STEP, AutoresetMode.SAME_STEP.value):
            raise ValueError(
                "SB3 needs same-step autoreset: create the vector env with "
                'autoreset_mode="SameStep" (e.g. gymnasium.make_vec(ID, num_envs=N, '
                'vectorization_mode="vector_entry_point", autoreset_mode="SameStep"))'
            )
        self.venv = venv
        super().__init__(venv.num_envs, venv.single_observation_space, venv.single_action_space)
        self.render_mode = getattr(venv, "render_mode", None)
        self._actions: np.ndarray | None = None

    def reset(self) -> VecEnvObs:
        seeds = self._seeds
        seed: Any = None if all(s is None for s in seeds) else list(seeds)
        obs, info = self.venv.reset(seed=seed, options=self._options[0] or None)
        self.reset_infos = split_vector_info(info, self.num_envs)
        self._reset_seeds()
        self._reset_options()
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self) -> VecEnvStepReturn:
        obs, rewards, terms, truncs, info = self.venv.step(self._actions)
        infos = split_vector_info(info, self.num_envs)
        final_obs = info.get("final_obs")
        dones = np.logical_or(terms, truncs)
        for i in np.flatnonzero(dones):
            if final_obs is not None:
                infos[i]["terminal_observation"] = final_obs[i]
            infos[i]["TimeLimit.truncated"] = bool(truncs[i] and not terms[i])
            infos[i].pop("final_obs", None)
            infos[i].pop("final_info", None)
        return obs, np.asarray(rewards, dtype=np.float32), dones, infos

    def close(self) -> None:
        self.venv.close()

    def _indices(self, indices: VecEnvIndices) -> Sequence[int]:
        if indices is None:
            return range(self.num_envs)
        if isinstance(indices, int):
            return [indices]
        return list(indices)

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        target = self.venv if hasattr(self.venv, attr_name) else self.venv.unwrapped
        value = getattr(target, attr_name)
        return [value for _ in self._indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        setattr(self.venv.unwrapped, attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **kwargs: Any
    ) -> list[Any]:
        target = self.venv if hasattr(self.venv, method_name) else self.venv.unwrapped
        result = getattr(target, method_name)(*method_args, **kwargs)
        idx = self._indices(indices)
        if isinstance(result, np.ndarray) and result.shape[:1] == (self.num_envs,):
            return [result[i] for i in idx]
        return [result for _ in idx]

    def env_is_wrapped(
        self, wrapper_class: type[gym.Wrapper[Any, Any, Any, Any]], indices: VecEnvIndices = None
    ) -> list[bool]:
        return [False for _ in self._indices(indices)]

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [None for _ in range(self.num_envs)]


def make_sb3_vec_env(
    env_id: str, num_envs: int, wrappers: Iterable[Any] = (), **kwargs: Any
) -> VecEnv:
    """An SB3 ``VecEnv`` of ``num_envs`` copies of ``env_id``, batched where the env allows.

    Envs with a vector entry point (every gridworld) step in one numba batch; others fall
    back to SB3's ``DummyVecEnv``.
    """
    spec = gym.spec(env_id)
    if spec.vector_entry_point is not None:
        venv = gym.make_vec(
            env_id,
            num_envs=num_envs,
            vectorization_mode="vector_entry_point",
            autoreset_mode=AutoresetMode.SAME_STEP,
            **kwargs,
        )
        for wrapper in wrappers:
            venv = wrapper(venv)
        return SB3VecEnv(venv)
    # a factory, not the ID: given an ID, SB3 asks for render_mode="rgb_array", which envs
    # that draw nothing rightly refuse
    return make_vec_env(lambda: gym.make(env_id, **kwargs), n_envs=num_envs)


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
