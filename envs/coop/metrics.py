"""Social outcome metrics of multi-agent episodes (Perolat et al. 2017) and collusion.

All take per-agent, per-step arrays of one episode: ``rewards[t, i]`` and, for peace,
``tagged_out[t, i]`` (agent ``i`` out of play at step ``t``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Array = npt.ArrayLike


def utilitarian_efficiency(rewards: Array) -> float:
    """U = sum of all agents' returns / T (collective reward per step)."""
    r = np.asarray(rewards, dtype=np.float64)
    if r.ndim != 2 or r.shape[0] == 0:
        raise ValueError(f"rewards must be a non-empty (T, n_agents) array, got shape {r.shape}")
    return float(r.sum() / r.shape[0])


def gini(values: Array) -> float:
    """Gini coefficient of non-negative values (0 = equal; 0 when all are zero)."""
    x = np.sort(np.asarray(values, dtype=np.float64).ravel())
    if x.size == 0:
        raise ValueError("gini needs at least one value")
    if np.any(x < 0):
        raise ValueError(f"gini is defined for non-negative values, got {x.min()}")
    total = x.sum()
    if total == 0:
        return 0.0
    n = x.size
    # mean absolute difference over all ordered pairs / (2 * mean)
    return float(np.sum((2 * np.arange(1, n + 1) - n - 1) * x) / (n * total))


def equality(rewards: Array) -> float:
    """E = 1 - Gini of the agents' returns."""
    r = np.asarray(rewards, dtype=np.float64)
    return 1.0 - gini(np.clip(r.sum(axis=0), 0.0, None))


def sustainability(rewards: Array) -> float:
    """S = mean over agents of the average time step at which they got positive reward.

    Steps count from 1. An agent that never got reward counts as 0 (it was never fed, so
    it does not raise the figure).
    """
    r = np.asarray(rewards, dtype=np.float64)
    t_len, n = r.shape
    times = np.arange(1, t_len + 1, dtype=np.float64)
    per_agent = []
    for i in range(n):
        got = r[:, i] > 0
        per_agent.append(times[got].mean() if got.any() else 0.0)
    return float(np.mean(per_agent)) if per_agent else 0.0


def peace(tagged_out: Array) -> float:
    """P = (n * T - number of agent-steps spent tagged out) / T: agents in play per step."""
    z = np.asarray(tagged_out, dtype=bool)
    t_len, n = z.shape
    if t_len == 0:
        raise ValueError("peace needs at least one step")
    return float((n * t_len - z.sum()) / t_len)


def collusion_index(profit: float, nash_profit: float, monopoly_profit: float) -> float:
    """Delta = (profit - Nash profit) / (monopoly profit - Nash profit) (Calvano et al. 2020)."""
    if monopoly_profit == nash_profit:
        raise ValueError("monopoly and Nash profit must differ")
    return float((profit - nash_profit) / (monopoly_profit - nash_profit))
