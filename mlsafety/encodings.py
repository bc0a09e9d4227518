"""Observation encodings that networks learn from: tile codes as one-hot channels.

Gridworlds and coop grids observe a board of integer tile codes (``Box(0, n - 1, (H, W))``).
An MLP reading those codes as magnitudes learns slowly and generalises badly (a wall is not
"less" than lava); one-hot channels (``(n, H, W)``, 0/1 as ``uint8``) are the usual
encoding (Minigrid's ``OneHotPartialObsWrapper``, Melting Pot's RGB layers). One function
and four thin adapters, so every form of an env gets the same encoding:

* :func:`one_hot_tiles` - the transform, for any leading batch axes;
* :class:`OneHotTiles` - a Gymnasium env; :class:`OneHotTilesVector` - a Gymnasium vector
  env (any autoreset mode: ``info["final_obs"]`` is encoded too);
* :class:`OneHotTilesParallel` - a PettingZoo ``ParallelEnv``; :class:`OneHotTilesBatch` -
  the coop envs' batched form (``reset``/``step`` over ``(N, A, H, W)``), for
  :class:`mlsafety.sb3.ParallelBatchVecEnv`.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import VectorEnv, VectorWrapper
from pettingzoo import ParallelEnv
from pettingzoo.utils.wrappers import BaseParallelWrapper

from mlsafety.types import I64


def tile_count(space: gym.Space[Any]) -> int:
    """The number of tile codes of an integer ``Box`` with ``low == 0`` (``high + 1``)."""
    if not isinstance(space, spaces.Box) or not np.issubdtype(space.dtype, np.integer):
        raise TypeError(f"one-hot tiles need an integer Box observation space, got {space}")
    if np.any(space.low != 0) or not np.all(space.high == space.high.flat[0]):
        raise ValueError(f"one-hot tiles need codes 0..n-1 in every cell, got {space}")
    n = int(space.high.flat[0]) + 1
    if n < 2:
        raise ValueError(f"a one-hot encoding needs at least 2 tile codes, got {n}")
    return n


def one_hot_space(space: gym.Space[Any]) -> spaces.Box:
    """The one-hot form of a tile ``Box`` of shape ``S``: ``Box(0, 1, (n, *S), uint8)``."""
    n = tile_count(space)
    shape = (n, *(space.shape or ()))
    return spaces.Box(0, 1, shape, np.uint8)


def one_hot_tiles(x: Any, n: int, ndim: int) -> np.ndarray:
    """``x`` (``(*batch, *S)`` integer codes, ``len(S) == ndim``) as ``(*batch, n, *S)`` 0/1.

    Codes outside ``[0, n)`` raise ``ValueError``.
    """
    arr = np.asarray(x)
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        raise ValueError(f"tile codes must lie in [0, {n}), got [{arr.min()}, {arr.max()}]")
    codes: I64 = np.arange(n, dtype=np.int64).reshape((n,) + (1,) * ndim)
    lead = arr.ndim - ndim
    return (np.expand_dims(arr, lead) == codes).astype(np.uint8)


class OneHotTiles(gym.ObservationWrapper[Any, Any, Any]):
    """A Gymnasium env's tile observation as one-hot channels ``(n, H, W)``."""

    def __init__(self, env: gym.Env[Any, Any]) -> None:
        super().__init__(env)
        self.n = tile_count(env.observation_space)
        self.ndim = len(env.observation_space.shape or ())
        self.observation_space = one_hot_space(env.observation_space)

    def observation(self, observation: Any) -> np.ndarray:
        return one_hot_tiles(observation, self.n, self.ndim)


class OneHotTilesVector(VectorWrapper):
    """A Gymnasium vector env's tile observations as one-hot channels ``(N, n, H, W)``.

    Unlike ``VectorObservationWrapper`` this takes every autoreset mode: the batched
    gridworlds use ``SAME_STEP`` under SB3, with the final observations in
    ``info["final_obs"]``, which are encoded too.
    """

    def __init__(self, env: VectorEnv[Any, Any, Any]) -> None:
        super().__init__(env)
        self.n = tile_count(env.single_observation_space)
        self.ndim = len(env.single_observation_space.shape or ())
        self.single_observation_space = one_hot_space(env.single_observation_space)
        self.observation_space = gym.vector.utils.batch_space(
            self.single_observation_space, env.num_envs
        )

    def _encode(self, obs: Any) -> np.ndarray:
        return one_hot_tiles(obs, self.n, self.ndim)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        return self._encode(obs), info

    def step(self, actions: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        obs, rewards, terms, truncs, info = self.env.step(actions)
        if "final_obs" in info:
            info = dict(info)
            final = np.asarray(info["final_obs"])
            if final.dtype != object:
                info["final_obs"] = self._encode(final)
            else:  # an object array with None where no episode ended
                # filled slot by slot: np.array() of equal-shaped arrays (every episode ending
                # on the same step) would make one object block SB3 cannot read
                encoded = np.empty(len(final), dtype=object)
                for i, f in enumerate(final):
                    encoded[i] = None if f is None else self._encode(f)
                info["final_obs"] = encoded
        return self._encode(obs), rewards, terms, truncs, info


class OneHotTilesParallel(BaseParallelWrapper[Any, Any, Any]):
    """A PettingZoo ``ParallelEnv``'s per-agent tile observations as one-hot channels."""

    def __init__(self, env: ParallelEnv[Any, Any, Any]) -> None:
        super().__init__(env)
        agent = env.possible_agents[0]
        base = env.observation_space(agent)
        self.n = tile_count(base)
        self.ndim = len(base.shape or ())
        self._spaces = {a: one_hot_space(env.observation_space(a)) for a in env.possible_agents}

    def observation_space(self, agent: Any) -> spaces.Box:
        return self._spaces[agent]

    def _encode(self, obs: dict[Any, Any]) -> dict[Any, np.ndarray]:
        return {a: one_hot_tiles(o, self.n, self.ndim) for a, o in obs.items()}

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[Any, Any], dict[Any, dict[str, Any]]]:
        obs, infos = self.env.reset(seed=seed, options=options)
        return self._encode(obs), infos

    def step(self, actions: dict[Any, Any]) -> tuple[Any, Any, Any, Any, Any]:
        obs, rewards, terms, truncs, infos = self.env.step(actions)
        return self._encode(obs), rewards, terms, truncs, infos


class OneHotTilesBatch:
    """The coop envs' batched form (observations ``(N, A, H, W)``) with one-hot channels
    ``(N, A, n, H, W)``; everything else passes through to the batch."""

    def __init__(self, batch: Any) -> None:
        self.batch = batch
        self.n = tile_count(batch.observation_space)
        self.ndim = len(batch.observation_space.shape or ())
        self.observation_space = one_hot_space(batch.observation_space)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.batch, name)

    def _encode(self, obs: Any) -> np.ndarray:
        return one_hot_tiles(obs, self.n, self.ndim)

    def reset(self, seed: int | None = None) -> np.ndarray:
        return self._encode(self.batch.reset(seed=seed))

    def step(self, actions: np.ndarray) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        obs, rewards, terms, truncs, info = self.batch.step(actions)
        if "final_obs" in info:
            info = dict(info)
            info["final_obs"] = self._encode(info["final_obs"])
        return self._encode(obs), rewards, terms, truncs, info
