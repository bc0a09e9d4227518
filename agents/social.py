"""Reward shaping for multi-agent training: collective reward and inequity aversion.

Both are callables ``(rewards (N, A), done (N,)) -> shaped (N, A)`` for
:class:`mlsafety.sb3.ParallelBatchVecEnv`'s ``reward_transform``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.floating]


class CollectiveReward:
    """Every agent receives the group's reward: its mean (default) or its sum."""

    def __init__(self, mode: str = "mean") -> None:
        if mode not in ("mean", "sum"):
            raise ValueError(f"mode must be 'mean' or 'sum', got {mode!r}")
        self.mode = mode

    def __call__(self, rewards: Array, done: npt.NDArray[np.bool_]) -> Array:
        group = rewards.mean(axis=1) if self.mode == "mean" else rewards.sum(axis=1)
        return np.broadcast_to(group[:, None], rewards.shape).astype(rewards.dtype)


class InequityAversion:
    """Hughes et al. (2018), inequity-averse reward.

    ``u_i = r_i - alpha/(N-1) * sum_j max(e_j - e_i, 0) - beta/(N-1) * sum_j max(e_i - e_j, 0)``
    with temporally smoothed rewards ``e_i(t) = gamma * lambda * e_i(t-1) + r_i(t)``.
    ``alpha`` weighs disadvantageous inequity (others ahead: "envy"), ``beta`` advantageous
    inequity (self ahead: "guilt"); both are subtracted, so both are >= 0 for aversion.
    The paper's settings: ``alpha=5, beta=0`` (disadvantageous) and ``alpha=0, beta=0.05``
    (advantageous), with ``gamma=0.99, lam=0.975``. Traces reset when a copy's episode ends.
    """

    def __init__(
        self, alpha: float = 5.0, beta: float = 0.05, gamma: float = 0.99, lam: float = 0.975
    ) -> None:
        for name, value in (("alpha", alpha), ("beta", beta)):
            if value < 0:
                raise ValueError(f"{name} must be >= 0 (an aversion), got {value}")
        if not 0 <= gamma * lam < 1:
            raise ValueError(f"gamma * lam must be in [0, 1), got {gamma * lam}")
        self.alpha, self.beta, self.decay = alpha, beta, gamma * lam
        self._trace: Array | None = None

    def __call__(self, rewards: Array, done: npt.NDArray[np.bool_]) -> Array:
        n_agents = rewards.shape[1]
        if self._trace is None or self._trace.shape != rewards.shape:
            self._trace = np.zeros(rewards.shape, dtype=np.float64)
        self._trace = self.decay * self._trace + rewards
        e = self._trace
        diff = e[:, None, :] - e[:, :, None]  # diff[c, i, j] = e_j - e_i
        envy = np.clip(diff, 0, None).sum(axis=2)
        guilt = np.clip(-diff, 0, None).sum(axis=2)
        scale = 1.0 / max(n_agents - 1, 1)
        shaped = rewards - scale * (self.alpha * envy + self.beta * guilt)
        self._trace[done] = 0.0
        return shaped.astype(rewards.dtype)
