"""Training-time plumbing: safety totals for TensorBoard, atomic checkpoints.

:class:`VecSafetyStats` sums the safety contract per sub-env from what the env reports in
``info`` (never from the algorithm's locals) and keeps the totals of finished episodes;
:class:`SafetyLogCallback` writes their means next to SB3's own scalars.
"""

from __future__ import annotations

import io
import time
from collections import Counter, deque
from pathlib import Path
from typing import Any, TextIO, cast

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper
from stable_baselines3.common.vec_env.base_vec_env import VecEnvStepReturn

from mlsafety.contract import MORALITY_LABELS
from mlsafety.io import atomic_write


class VecSafetyStats(VecEnvWrapper):
    """Episode totals of the safety contract for any SB3 ``VecEnv`` (one per slot).

    ``episodes`` holds the last ``maxlen`` finished episodes as dicts: ``true_return``,
    ``proxy_return``, ``cost``, ``length``, the four morality totals, ``immorality``,
    ``performance`` (last reported, if any), ``events`` (a Counter) and the env's ``social``
    metrics where it reports them.
    """

    def __init__(self, venv: VecEnv, maxlen: int = 1000) -> None:
        super().__init__(venv)
        n = venv.num_envs
        self._true = np.zeros(n)
        self._proxy = np.zeros(n)
        self._cost = np.zeros(n)
        self._len = np.zeros(n, dtype=np.int64)
        self._mor = np.zeros((n, 4))
        self._perf: list[float | None] = [None] * n
        self._events: list[Counter[str]] = [Counter() for _ in range(n)]
        self.episodes: deque[dict[str, Any]] = deque(maxlen=maxlen)
        self.total_episodes = 0

    def reset(self) -> Any:
        self._clear(range(self.num_envs))
        return self.venv.reset()

    def _clear(self, idx: Any) -> None:
        for i in idx:
            self._true[i] = self._proxy[i] = self._cost[i] = 0.0
            self._len[i] = 0
            self._mor[i] = 0.0
            self._perf[i] = None
            self._events[i] = Counter()

    def step_wait(self) -> VecEnvStepReturn:
        obs, rewards, dones, infos = self.venv.step_wait()
        for i, info in enumerate(infos):
            self._proxy[i] += float(info.get("reward", rewards[i]))
            self._true[i] += float(info.get("true_reward", rewards[i]))
            self._cost[i] += float(info.get("cost", 0.0))
            if "morality" in info:
                self._mor[i] += info["morality"]
            self._events[i].update(info.get("events", ()))
            if "performance" in info:
                self._perf[i] = float(info["performance"])
            self._len[i] += 1
            if dones[i]:
                ep: dict[str, Any] = {
                    "true_return": self._true[i],
                    "proxy_return": self._proxy[i],
                    "cost": self._cost[i],
                    "length": int(self._len[i]),
                    "immorality": self._mor[i, 0],
                    "performance": self._perf[i],
                    "events": self._events[i],
                }
                ep.update({label: self._mor[i, j] for j, label in enumerate(MORALITY_LABELS)})
                if "social" in info:
                    ep["social"] = dict(info["social"])
                self.episodes.append(ep)
                self.total_episodes += 1
                self._clear([i])
        return obs, rewards, dones, infos


def find_wrapper(venv: VecEnv, kind: type[VecEnvWrapper]) -> Any:
    """The first wrapper of type ``kind`` around ``venv``, or None."""
    env: Any = venv
    while env is not None:
        if isinstance(env, kind):
            return env
        env = getattr(env, "venv", None)
    return None


class SafetyLogCallback(BaseCallback):
    """Log the recent episodes' safety totals (``safety/*``) at the end of each rollout."""

    def __init__(self, window: int = 100) -> None:
        super().__init__()
        self.window = window
        self._stats: VecSafetyStats | None = None

    def _on_training_start(self) -> None:
        self._stats = find_wrapper(self.training_env, VecSafetyStats)

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        if self._stats is None or not self._stats.episodes:
            return
        recent = list(self._stats.episodes)[-self.window :]
        for key in ("true_return", "proxy_return", "cost", "immorality", *MORALITY_LABELS):
            self.logger.record(f"safety/{key}", float(np.mean([e[key] for e in recent])))
        perf = [e["performance"] for e in recent if e["performance"] is not None]
        if perf:
            self.logger.record("safety/performance", float(np.mean(perf)))
        names = set().union(*(e["events"] for e in recent))
        for name in sorted(names):
            count = np.mean([e["events"][name] for e in recent])
            self.logger.record(f"safety/events/{name}", float(count))
        social = [e["social"] for e in recent if "social" in e]
        for key in sorted(set().union(*social)) if social else ():
            vals = [s[key] for s in social if key in s]
            self.logger.record(f"social/{key}", float(np.mean(vals)))


def save_atomic(model: BaseAlgorithm, path: Path) -> None:
    """``model.save`` through a temporary file in the same folder and a rename."""
    atomic_write(path, lambda fh: model.save(cast(io.BufferedIOBase, fh)))


class AtomicCheckpoint(BaseCallback):
    """Every ``every`` steps, save ``<folder>/checkpoint.zip`` atomically (the resume point)."""

    def __init__(self, folder: Path, every: int) -> None:
        super().__init__()
        self.folder = Path(folder)
        self.every = int(every)
        self._last = 0

    def _on_training_start(self) -> None:
        self._last = self.num_timesteps

    def _on_step(self) -> bool:
        if self.every > 0 and self.num_timesteps - self._last >= self.every:
            save_atomic(self.model, self.folder / "checkpoint.zip")
            self._last = self.num_timesteps
        return True


class ProgressLog(BaseCallback):
    """A log line every tenth of a run of ``total`` steps (for runs without a terminal, where
    a progress bar shows nothing): steps, steps/s and the recent episodes' mean proxy and
    true returns."""

    def __init__(self, total: int, stream: TextIO, parts: int = 10) -> None:
        super().__init__()
        self.total = int(total)
        self.stream = stream
        self.every = max(1, self.total // parts)
        self._next = 0
        self._start = (0, 0.0)
        self._stats: VecSafetyStats | None = None

    def _on_training_start(self) -> None:
        self._stats = find_wrapper(self.training_env, VecSafetyStats)
        self._start = (self.num_timesteps, time.perf_counter())
        self._next = (self.num_timesteps // self.every + 1) * self.every

    def _on_step(self) -> bool:
        if self.num_timesteps >= self._next:
            self._next = (self.num_timesteps // self.every + 1) * self.every
            self.write()
        return True

    def _on_training_end(self) -> None:
        if self.num_timesteps % self.every:
            self.write()

    def write(self) -> None:
        steps, t0 = self._start
        rate = (self.num_timesteps - steps) / max(time.perf_counter() - t0, 1e-9)
        line = (
            f"step {self.num_timesteps}/{self.total} "
            f"({100 * self.num_timesteps / self.total:.0f}%)  {rate:.0f} steps/s"
        )
        if self._stats is not None and self._stats.episodes:
            recent = list(self._stats.episodes)[-100:]
            proxy = float(np.mean([e["proxy_return"] for e in recent]))
            true = float(np.mean([e["true_return"] for e in recent]))
            line += f"  episodes {self._stats.total_episodes}  proxy {proxy:.2f}  true {true:.2f}"
        self.stream.write(line + "\n")
        self.stream.flush()
