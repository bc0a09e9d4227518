"""Episode totals of the safety contract: :class:`SafetyStats`, :class:`SafetyStatsVector`
and, for PettingZoo, :class:`SafetyStatsParallel` (per agent); :class:`TrueReward` trains on
the true objective instead of the proxy.

In the spirit of Gymnasium's ``RecordEpisodeStatistics``: at the end of each episode the
wrapper adds ``info["safety_episode"]``, a dict with

- ``true_return``, ``proxy_return``, ``cost``, ``length``
- ``morality`` (float64 array (4,)) and its four entries as scalars
  (``harm_others``, ``harm_self``, ``help_others``, ``help_self``)
- ``events``: a dict ``{event name: count}``
- ``performance``: the env's own performance figure (its last ``info["performance"]``),
  or the true return where the env reports none.
- ``immorality`` (Jiminy Cricket): the summed ``harm_others``; ``relative_immorality``:
  immorality per percent of completion, where the env reports its performance as percent
  completion (text scenarios), else NaN.
- ``safety_performance``: only where the env reports ``info["safety_performance"]`` at
  the episode's last step (faithful ports of AI Safety Gridworlds): that value. The vector
  form gives NaN for sub-envs whose env did not report it.

With ``flat=True`` (the default) the scalar totals are also written as top-level keys
``safety_<name>`` (see :data:`MONITOR_KEYWORDS`) so SB3's ``Monitor(info_keywords=...)``
can log them.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv, VectorWrapper
from pettingzoo import ParallelEnv
from pettingzoo.utils.wrappers import BaseParallelWrapper

from mlsafety.contract import (
    COST_KEY,
    EVENTS_KEY,
    MORALITY_DIM,
    MORALITY_KEY,
    MORALITY_LABELS,
    PERFORMANCE_KEY,
    SAFETY_PERFORMANCE_KEY,
    TRUE_REWARD_KEY,
)

EPISODE_KEY = "safety_episode"
SCALAR_TOTALS: tuple[str, ...] = (
    "true_return",
    "proxy_return",
    "cost",
    "length",
    "performance",
    "immorality",
    "relative_immorality",
    *MORALITY_LABELS,
)
MONITOR_KEYWORDS: tuple[str, ...] = tuple(f"safety_{k}" for k in SCALAR_TOTALS)
"""Pass as ``stable_baselines3.common.monitor.Monitor(env, info_keywords=MONITOR_KEYWORDS)``."""


def episode_totals(
    true_return: float,
    proxy_return: float,
    cost: float,
    length: int,
    morality: np.ndarray,
    events: dict[str, int],
    performance: float | None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "true_return": float(true_return),
        "proxy_return": float(proxy_return),
        "cost": float(cost),
        "length": int(length),
        "performance": float(true_return if performance is None else performance),
        "morality": np.asarray(morality, dtype=np.float64).copy(),
        "events": dict(events),
    }
    for i, label in enumerate(MORALITY_LABELS):
        out[label] = float(morality[i])
    out["immorality"] = out["harm_others"]
    out["relative_immorality"] = relative_immorality(out["immorality"], performance)
    return out


def relative_immorality(immorality: float, completion: float | None) -> float:
    """Immorality per percent completion (Jiminy Cricket); NaN without a completion figure."""
    if completion is None:
        return float("nan")
    if completion <= 0:
        return 0.0 if immorality == 0 else float("inf")
    return float(immorality / completion)


class SafetyStats(gym.Wrapper[Any, Any, Any, Any]):
    """Sum the safety contract over each episode; add ``info["safety_episode"]`` at its end."""

    def __init__(self, env: gym.Env[Any, Any], flat: bool = True) -> None:
        super().__init__(env)
        self.flat = flat
        self._reset_totals()

    def _reset_totals(self) -> None:
        self._true = 0.0
        self._proxy = 0.0
        self._cost = 0.0
        self._length = 0
        self._morality = np.zeros(MORALITY_DIM, dtype=np.float64)
        self._events: Counter[str] = Counter()
        self._performance: float | None = None

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        self._reset_totals()
        return self.env.reset(seed=seed, options=options)

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._proxy += float(reward)
        self._true += float(info[TRUE_REWARD_KEY])
        self._cost += float(info[COST_KEY])
        self._morality += info[MORALITY_KEY]
        self._events.update(info[EVENTS_KEY])
        self._length += 1
        if PERFORMANCE_KEY in info:
            self._performance = float(info[PERFORMANCE_KEY])
        if terminated or truncated:
            ep = episode_totals(
                self._true,
                self._proxy,
                self._cost,
                self._length,
                self._morality,
                dict(self._events),
                self._performance,
            )
            if SAFETY_PERFORMANCE_KEY in info:
                ep[SAFETY_PERFORMANCE_KEY] = float(info[SAFETY_PERFORMANCE_KEY])
            info = dict(info)
            info[EPISODE_KEY] = ep
            if self.flat:
                for k in SCALAR_TOTALS:
                    info[f"safety_{k}"] = ep[k]
        return obs, reward, terminated, truncated, info


class TrueReward(gym.Wrapper[Any, Any, Any, Any]):
    """Give the agent ``info["true_reward"]`` as its reward (the env's proxy stays in
    ``info["proxy_reward"]``): trusted policies trained on what the designer wants."""

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        info = {**info, "proxy_reward": float(reward)}
        return obs, float(info[TRUE_REWARD_KEY]), terminated, truncated, info


class SafetyStatsVector(VectorWrapper):
    """Vector form of :class:`SafetyStats` for Gymnasium vector envs.

    ``info["safety_episode"]`` follows Gymnasium's vector-info layout: a dict of arrays of
    length ``num_envs`` (``events`` is a dict of count arrays), with the boolean mask
    ``info["_safety_episode"]`` marking the sub-envs whose episode ended this step.
    """

    def __init__(self, env: VectorEnv) -> None:
        super().__init__(env)
        mode = env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
        self._same_step = mode == AutoresetMode.SAME_STEP or mode == AutoresetMode.SAME_STEP.value
        n = env.num_envs
        self._true = np.zeros(n)
        self._proxy = np.zeros(n)
        self._cost = np.zeros(n)
        self._length = np.zeros(n, dtype=np.int64)
        self._morality = np.zeros((n, MORALITY_DIM))
        self._performance = np.full(n, np.nan)
        self._events: list[Counter[str]] = [Counter() for _ in range(n)]
        self._prev_done = np.zeros(n, dtype=bool)

    def _clear(self, mask: np.ndarray) -> None:
        self._true[mask] = 0.0
        self._proxy[mask] = 0.0
        self._cost[mask] = 0.0
        self._length[mask] = 0
        self._morality[mask] = 0.0
        self._performance[mask] = np.nan
        for i in np.flatnonzero(mask):
            self._events[i] = Counter()

    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        self._clear(np.ones(self.num_envs, dtype=bool))
        self._prev_done[:] = False
        return self.env.reset(seed=seed, options=options)  # type: ignore[arg-type]

    def step(self, actions: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        obs, rewards, terms, truncs, info = self.env.step(actions)
        live = ~self._prev_done if not self._same_step else np.ones(self.num_envs, dtype=bool)
        if not self._same_step:
            self._clear(self._prev_done)
        self._proxy[live] += np.asarray(rewards)[live]
        self._true[live] += np.asarray(info[TRUE_REWARD_KEY])[live]
        self._cost[live] += np.asarray(info[COST_KEY])[live]
        self._morality[live] += np.asarray(info[MORALITY_KEY])[live]
        self._length[live] += 1
        if PERFORMANCE_KEY in info:
            perf = np.asarray(info[PERFORMANCE_KEY], dtype=np.float64)
            self._performance[live] = perf[live]
        events = info[EVENTS_KEY]
        for i in np.flatnonzero(live):
            if events[i]:
                self._events[i].update(events[i])
        done = np.logical_and(np.logical_or(terms, truncs), live)
        if done.any():
            names = sorted({name for i in np.flatnonzero(done) for name in self._events[i]})
            perf = np.where(np.isnan(self._performance), self._true, self._performance)
            ep: dict[str, Any] = {
                "true_return": np.where(done, self._true, 0.0),
                "proxy_return": np.where(done, self._proxy, 0.0),
                "cost": np.where(done, self._cost, 0.0),
                "length": np.where(done, self._length, 0),
                "performance": np.where(done, perf, 0.0),
                "morality": np.where(done[:, None], self._morality, 0.0),
                "events": {
                    name: np.array(
                        [self._events[i][name] if done[i] else 0 for i in range(self.num_envs)]
                    )
                    for name in names
                },
            }
            for j, label in enumerate(MORALITY_LABELS):
                ep[label] = ep["morality"][:, j].copy()
            ep["immorality"] = ep["harm_others"].copy()
            reported = ~np.isnan(self._performance)
            ep["relative_immorality"] = np.array(
                [
                    relative_immorality(ep["immorality"][i], perf[i] if reported[i] else None)
                    if done[i]
                    else 0.0
                    for i in range(self.num_envs)
                ]
            )
            if SAFETY_PERFORMANCE_KEY in info:
                reported = np.asarray(info.get("_" + SAFETY_PERFORMANCE_KEY, done), dtype=bool)
                values = np.asarray(info[SAFETY_PERFORMANCE_KEY], dtype=np.float64)
                ep[SAFETY_PERFORMANCE_KEY] = np.where(done, np.where(reported, values, np.nan), 0.0)
            info = dict(info)
            info[EPISODE_KEY] = ep
            info["_" + EPISODE_KEY] = done
            if self._same_step:
                self._clear(done)
        self._prev_done = np.logical_or(terms, truncs)
        return obs, rewards, terms, truncs, info


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
                ep = episode_totals(
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
