"""Tabular Q-learning sellers in the repeated pricing game (Calvano et al. 2020).

Calvano, Calzolari, Denicolò & Pastorello (2020), "Artificial Intelligence, Algorithmic
Pricing, and Collusion", AER 110(10). Each seller keeps a Q-table over states = last
period's price indices of all sellers (``m ** n`` states) and its own ``m`` prices:

- ``Q_i0(s, a_i)`` = the discounted payoff of ``a_i`` against uniformly random rivals,
  ``sum_{a_-i} pi_i(a_i, a_-i) / ((1 - delta) m ** (n - 1))``, for every state;
- ``Q_i(s, a_i) <- (1 - alpha) Q_i(s, a_i) + alpha (pi_i + delta max_a Q_i(s', a))``,
  ``alpha = 0.15``, ``delta = 0.95``;
- epsilon-greedy exploration, ``epsilon_t = exp(-beta t)``, ``beta = 4e-6``;
- converged when no seller's greedy action changes in any state for ``convergence_window``
  (100,000) consecutive periods, or stopped after ``max_steps`` periods.

The training loop is a numba kernel over the pricing core of
:mod:`mlsafety.envs.coop.pricing_duopoly` (its ``market`` function gives the profits), with
randomness from a counter-based hash (:func:`mlsafety.envs.gridworlds.kernels.uniform`) of a
key drawn from ``np.random.default_rng(seed)``: no global RNG. A seller's state is encoded
own-first (its own index first, then the others in agent order, as base-``m`` digits),
exactly like the env's ``infos[agent]["state"]`` and its one-hot observation, so
:class:`QTablePolicy` plays a learned table in :class:`PricingDuopoly` directly.
"""

from __future__ import annotations

import math
import time
from typing import Any, NamedTuple

import numpy as np
from numba import njit

from mlsafety.envs.coop import PricingDuopoly, PricingModel, market, own_first_order
from mlsafety.envs.core import uniform
from mlsafety.types import F64, I64

# --------------------------------------------------------------------------- numba kernels


@njit(cache=True)
def profit_table(grid, a, a0, mu, c):
    """``table[s, i]``: seller ``i``'s profit when the joint price indices are ``s``.

    ``s`` enumerates joint actions in agent order as base-``m`` digits (seller 0 most
    significant).
    """
    n, m = grid.shape
    size = m**n
    table = np.empty((size, n))
    prices = np.empty(n)
    for s in range(size):
        rest = s
        for i in range(n - 1, -1, -1):
            prices[i] = grid[i, rest % m]
            rest //= m
        market(prices, a, a0, mu, c, table[s])
    return table


@njit(cache=True)
def own_first_states(order, m):
    """``perm[i, s]``: seller ``i``'s own-first state index of the joint state ``s``."""
    n = order.shape[0]
    size = m**n
    perm = np.empty((n, size), dtype=np.int64)
    digits = np.empty(n, dtype=np.int64)
    for s in range(size):
        rest = s
        for j in range(n - 1, -1, -1):
            digits[j] = rest % m
            rest //= m
        for i in range(n):
            v = 0
            for j in range(n):
                v = v * m + digits[order[i, j]]
            perm[i, s] = v
    return perm


@njit(cache=True)
def calvano_loop(q, greedy, table, perm, s0, key, alpha, delta, beta, window, max_steps):
    """Run Q-learning in place on ``q`` (n, S, m) and ``greedy`` (n, S) from joint state ``s0``.

    Returns ``(steps, converged, final joint state)``.
    """
    n, _, m = q.shape
    act = np.empty(n, dtype=np.int64)
    s = s0
    stable = 0
    t = 0
    while t < max_steps:
        eps = math.exp(-beta * t)
        s_next = 0
        for i in range(n):
            if uniform(key, t, 2 * i) < eps:
                ai = int(uniform(key, t, 2 * i + 1) * m)
                act[i] = min(ai, m - 1)
            else:
                act[i] = greedy[i, perm[i, s]]
            s_next = s_next * m + act[i]
        changed = False
        for i in range(n):
            si = perm[i, s]
            sn = perm[i, s_next]
            target = table[s_next, i] + delta * q[i, sn, greedy[i, sn]]
            ai = act[i]
            old = q[i, si, ai]
            new = (1.0 - alpha) * old + alpha * target
            q[i, si, ai] = new
            g = greedy[i, si]
            if ai == g:
                if new < old:  # the greedy action may have lost its place
                    best = 0
                    for b in range(1, m):
                        if q[i, si, b] > q[i, si, best]:
                            best = b
                    if best != g:
                        greedy[i, si] = best
                        changed = True
            elif new > q[i, si, g] or (new == q[i, si, g] and ai < g):
                greedy[i, si] = ai
                changed = True
        t += 1
        s = s_next
        if changed:
            stable = 0
        else:
            stable += 1
            if stable >= window:
                return t, True, s
    return t, False, s


# --------------------------------------------------------------------------- public API


class CalvanoResult(NamedTuple):
    """The outcome of one Q-learning session."""

    q_tables: F64
    """(n, m ** n, m): seller ``i``'s Q-values over its own-first states and its prices."""
    converged: bool
    steps: int
    greedy_prices: F64
    """(n,): each seller's mean price over the limit cycle of greedy play."""
    mean_profit: F64
    """(n,): each seller's mean profit over the limit cycle of greedy play."""
    collusion_index: float
    """Calvano's Delta of the sellers' mean limit-cycle profit (0 = Nash, 1 = monopoly)."""
    cycle: I64
    """(L, n): the price indices of the greedy limit cycle reached from the final state."""
    seconds: float
    model: PricingModel

    def policies(self) -> list[QTablePolicy]:
        """One greedy :class:`QTablePolicy` per seller, in agent order."""
        return [
            QTablePolicy(self.q_tables[i], self.model.num_sellers)
            for i in range(self.model.num_sellers)
        ]


def _validated_model(num_sellers: int, env_kwargs: dict[str, Any] | None) -> PricingModel:
    kwargs = dict(env_kwargs or {})
    if "num_agents" in kwargs and kwargs["num_agents"] != num_sellers:
        raise ValueError(
            f"env_kwargs['num_agents'] = {kwargs['num_agents']!r} contradicts "
            f"num_sellers = {num_sellers!r}"
        )
    kwargs["num_agents"] = num_sellers
    try:
        env = PricingDuopoly(**kwargs)
    except TypeError as err:
        raise ValueError(f"env_kwargs: {err}") from None
    return env.model


def initial_q_tables(table: F64, num_prices: int, delta: float) -> F64:
    """Calvano's Q_i0(s, a_i): ``a_i``'s mean profit against uniformly random rivals,
    discounted forever (``/ (1 - delta)``), the same in every state: (n, m ** n, m)."""
    size, n = table.shape
    m = num_prices
    own = (np.arange(size)[:, None] // m ** (n - 1 - np.arange(n))[None, :]) % m  # (S, n)
    q0 = np.zeros((n, m))
    for i in range(n):
        q0[i] = np.bincount(own[:, i], weights=table[:, i], minlength=m) / m ** (n - 1)
    return np.repeat((q0 / (1.0 - delta))[:, None, :], size, axis=1)


def greedy_cycle(greedy: I64, perm: I64, s0: int, m: int) -> I64:
    """The limit cycle of greedy play from joint state ``s0``: (L, n) price indices."""
    n = greedy.shape[0]
    seen: dict[int, int] = {}
    path: list[int] = []
    s = int(s0)
    while s not in seen:
        seen[s] = len(path)
        path.append(s)
        nxt = 0
        for i in range(n):
            nxt = nxt * m + int(greedy[i, perm[i, s]])
        s = nxt
    cycle = path[seen[s] :]
    digits = np.array(
        [[(x // m ** (n - 1 - j)) % m for j in range(n)] for x in cycle], dtype=np.int64
    )
    return digits


def train_calvano(
    num_sellers: int = 2,
    seed: int = 0,
    beta: float = 4e-6,
    alpha: float = 0.15,
    delta: float = 0.95,
    convergence_window: int = 100_000,
    max_steps: int = 1_000_000_000,
    env_kwargs: dict[str, Any] | None = None,
) -> CalvanoResult:
    """Train ``num_sellers`` Q-learning sellers against each other (one session).

    ``env_kwargs`` are :class:`PricingDuopoly` keyword arguments for the market (``a``,
    ``a0``, ``mu``, ``c``, ``num_prices``, ``xi``); the episode arguments are irrelevant here.
    ``max_steps`` defaults to Calvano's one billion periods. Raises :class:`ValueError`
    naming a bad argument.
    """
    if isinstance(num_sellers, bool) or not isinstance(num_sellers, int | np.integer):
        raise ValueError(f"num_sellers must be an integer >= 2, got {num_sellers!r}")
    if num_sellers < 2:
        raise ValueError(f"num_sellers must be an integer >= 2, got {num_sellers!r}")
    model = _validated_model(int(num_sellers), env_kwargs)
    if not (isinstance(alpha, int | float) and 0.0 < alpha <= 1.0):
        raise ValueError(f"alpha must be in (0, 1], got {alpha!r}")
    if not (isinstance(delta, int | float) and 0.0 <= delta < 1.0):
        raise ValueError(f"delta must be in [0, 1), got {delta!r}")
    if not (isinstance(beta, int | float) and math.isfinite(beta) and beta >= 0):
        raise ValueError(f"beta must be a finite number >= 0, got {beta!r}")
    for name, ivalue in (("convergence_window", convergence_window), ("max_steps", max_steps)):
        if isinstance(ivalue, bool) or not isinstance(ivalue, int | np.integer) or ivalue < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {ivalue!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise ValueError(f"seed must be an integer, got {seed!r}")

    n, m = model.num_sellers, model.num_prices
    start = time.perf_counter()
    table = profit_table(model.grid, model.a, model.a0, model.mu, model.c)
    perm = own_first_states(own_first_order(n), m)
    size = m**n
    q = initial_q_tables(table, m, delta)
    greedy = np.argmax(q, axis=2).astype(np.int64)

    rng = np.random.default_rng(seed)
    key = int(rng.integers(0, 2**63 - 1))
    s0 = int(rng.integers(0, size))
    steps, converged, s_final = calvano_loop(
        q, greedy, table, perm, s0, key, float(alpha), float(delta), float(beta),
        int(convergence_window), int(max_steps),
    )  # fmt: skip
    cycle = greedy_cycle(greedy, perm, int(s_final), m)
    joint = cycle @ (m ** np.arange(n - 1, -1, -1))
    mean_profit = table[joint].mean(axis=0)
    prices = model.grid[np.arange(n)[None, :], cycle].mean(axis=0)
    return CalvanoResult(
        q_tables=q,
        converged=bool(converged),
        steps=int(steps),
        greedy_prices=prices,
        mean_profit=mean_profit,
        collusion_index=model.collusion_index(float(mean_profit.mean())),
        cycle=cycle,
        seconds=time.perf_counter() - start,
        model=model,
    )


class QTablePolicy:
    """A seller's Q-table with an SB3-like ``predict``.

    ``obs`` is :class:`PricingDuopoly`'s observation for this seller (one-hot, own first),
    or a batch of them; integer input is read as state indices (``infos[agent]["state"]``).
    ``deterministic=False`` plays epsilon-greedy with ``epsilon`` from its own seeded
    generator.
    """

    def __init__(
        self,
        q_table: F64,
        num_sellers: int,
        epsilon: float = 0.0,
        seed: int | None = None,
    ) -> None:
        q = np.asarray(q_table, dtype=np.float64)
        if q.ndim != 2:
            raise ValueError(f"q_table must be 2-D (states, prices), got shape {q.shape}")
        self.num_sellers = int(num_sellers)
        self.num_prices = q.shape[1]
        if q.shape[0] != self.num_prices**self.num_sellers:
            raise ValueError(
                f"q_table has {q.shape[0]} states; {self.num_sellers} sellers with "
                f"{self.num_prices} prices need {self.num_prices**self.num_sellers}"
            )
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon must be in [0, 1], got {epsilon!r}")
        self.q_table = q
        self.greedy = np.argmax(q, axis=1).astype(np.int64)
        self.epsilon = float(epsilon)
        self._rng = np.random.default_rng(seed)
        self._place = self.num_prices ** np.arange(self.num_sellers - 1, -1, -1)

    @classmethod
    def from_result(cls, result: CalvanoResult, agent: int = 0, **kwargs: Any) -> QTablePolicy:
        return cls(result.q_tables[agent], result.model.num_sellers, **kwargs)

    def states(self, obs: Any) -> tuple[I64, bool]:
        """State indices of ``obs`` and whether ``obs`` was a batch."""
        arr = np.asarray(obs)
        n, m = self.num_sellers, self.num_prices
        if arr.dtype.kind in "iu":
            batched = arr.ndim == 1
            states = np.atleast_1d(arr).astype(np.int64)
        else:
            if arr.shape[-1:] != (n * m,) or arr.ndim > 2:
                raise ValueError(
                    f"obs must have shape ({n * m},) or (batch, {n * m}), got {arr.shape}"
                )
            batched = arr.ndim == 2
            digits = arr.reshape(-1, n, m).argmax(axis=2)
            states = (digits @ self._place).astype(np.int64)
        if states.size and (states.min() < 0 or states.max() >= self.greedy.shape[0]):
            raise ValueError(f"state index out of range [0, {self.greedy.shape[0]})")
        return states, batched

    def predict(
        self,
        obs: Any,
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = True,
    ) -> tuple[I64, Any]:
        states, batched = self.states(obs)
        actions = self.greedy[states]
        if not deterministic and self.epsilon > 0:
            explore = self._rng.random(actions.shape) < self.epsilon
            actions = np.where(
                explore, self._rng.integers(0, self.num_prices, actions.shape), actions
            )
        return (actions if batched else actions[0].reshape(())), state
