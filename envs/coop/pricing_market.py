"""The logit-demand Bertrand market of Calvano, Calzolari, Denicolò & Pastorello (2020).

Numba kernels over price vectors (:func:`demand`, :func:`market`, :func:`batch_market`,
:func:`nash_prices`, :func:`monopoly_prices`) and :func:`pricing_model`, which solves for the
static Nash and the joint-monopoly prices and lays out the price grid. The env
(:mod:`~mlsafety.envs.coop.pricing_duopoly`) and the tabular Q-learning sellers of
:mod:`mlsafety.agents.qlearning` share them.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numba import njit

from mlsafety.envs.coop.metrics import collusion_index
from mlsafety.envs.coop.repeated import (
    finite,
    int_at_least,
)
from mlsafety.types import F64

# --------------------------------------------------------------------------- market kernels


@njit(cache=True)
def log_partition(prices, a, a0, mu):
    """``log(sum_j exp((a_j - p_j) / mu) + exp(a0 / mu))``, computed without overflow."""
    top = a0 / mu
    for j in range(prices.shape[0]):
        x = (a[j] - prices[j]) / mu
        if x > top:
            top = x
    s = math.exp(a0 / mu - top)
    for j in range(prices.shape[0]):
        s += math.exp((a[j] - prices[j]) / mu - top)
    return top + math.log(s)


@njit(cache=True)
def demand(prices, a, a0, mu, out):
    """Logit demand ``q_i = exp((a_i - p_i)/mu) / (sum_j exp((a_j - p_j)/mu) + exp(a0/mu))``."""
    z = log_partition(prices, a, a0, mu)
    for j in range(prices.shape[0]):
        out[j] = math.exp((a[j] - prices[j]) / mu - z)


@njit(cache=True)
def market(prices, a, a0, mu, c, profit):
    """Fill ``profit[i] = (p_i - c_i) q_i`` and return the logit consumer surplus.

    Consumer surplus is ``mu * log(sum_j exp((a_j - p_j)/mu) + exp(a0/mu))`` (same mass
    normalisation as the demand).
    """
    z = log_partition(prices, a, a0, mu)
    for j in range(prices.shape[0]):
        profit[j] = (prices[j] - c[j]) * math.exp((a[j] - prices[j]) / mu - z)
    return mu * z


@njit(cache=True)
def batch_market(idx, grid, a, a0, mu, c, prices, profit, cs):
    """Price indices ``idx[k, i]`` -> ``prices``, ``profit`` (N, n) and ``cs`` (N,)."""
    for k in range(idx.shape[0]):
        for i in range(idx.shape[1]):
            prices[k, i] = grid[i, idx[k, i]]
        cs[k] = market(prices[k], a, a0, mu, c, profit[k])


@njit(cache=True)
def _best_response(prices, i, a, a0, mu, c, q):
    """Seller ``i``'s static best response: the root of ``(p_i - c_i)(1 - q_i) = mu``."""
    lo = c[i]
    prices[i] = lo
    demand(prices, a, a0, mu, q)
    hi = c[i] + mu / (1.0 - q[i])  # q_i falls with p_i, so the left side is >= mu here
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        prices[i] = mid
        demand(prices, a, a0, mu, q)
        if (mid - c[i]) * (1.0 - q[i]) < mu:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-15:
            break
    return 0.5 * (lo + hi)


@njit(cache=True)
def nash_prices(a, a0, mu, c):
    """Static Bertrand-Nash prices by best-response iteration (a contraction for logit demand).

    Returns the prices and the number of rounds taken (-1 if it did not converge).
    """
    n = a.shape[0]
    p = c + mu
    q = np.empty(n)
    for rounds in range(10000):
        change = 0.0
        for i in range(n):
            old = p[i]
            new = _best_response(p, i, a, a0, mu, c, q)  # moves p[i] while it searches
            change = max(change, abs(new - old))
            p[i] = new
        if change < 1e-13:
            return p, rounds + 1
    return p, -1


@njit(cache=True)
def monopoly_prices(a, a0, mu, c):
    """Joint-profit-maximising prices.

    The first-order conditions give every product the same markup ``m`` with
    ``m (1 - sum_j q_j) = mu``; the left side rises with ``m``, so bisection finds it.
    """
    n = a.shape[0]
    q = np.empty(n)
    demand(c.copy(), a, a0, mu, q)
    lo = 0.0
    hi = mu / (1.0 - q.sum())
    p = np.empty(n)
    for _ in range(300):
        mid = 0.5 * (lo + hi)
        for j in range(n):
            p[j] = c[j] + mid
        demand(p, a, a0, mu, q)
        if mid * (1.0 - q.sum()) < mu:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-15:
            break
    return c + 0.5 * (lo + hi)


# --------------------------------------------------------------------------- the model


class PricingModel(NamedTuple):
    """The market of one set of parameters, with its benchmarks (all arrays per seller)."""

    num_sellers: int
    a: F64
    a0: float
    mu: float
    c: F64
    num_prices: int
    xi: float
    p_nash: F64
    p_monopoly: F64
    profit_nash: F64
    profit_monopoly: F64
    grid: F64
    """``grid[i, k]``: seller ``i``'s ``k``-th price; ``num_prices`` points evenly spaced on
    ``[p_N - xi (p_M - p_N), p_M + xi (p_M - p_N)]``."""

    def profits(self, prices: Sequence[float] | F64) -> tuple[F64, float]:
        """Per-seller profits and consumer surplus at ``prices``."""
        p = np.asarray(prices, dtype=np.float64)
        out = np.empty(self.num_sellers)
        cs = market(p, self.a, self.a0, self.mu, self.c, out)
        return out, float(cs)

    def collusion_index(self, mean_profit: float) -> float:
        """Calvano's Delta of a mean (over sellers) profit, against the mean benchmarks."""
        return collusion_index(
            float(mean_profit),
            float(self.profit_nash.mean()),
            float(self.profit_monopoly.mean()),
        )


def _per_seller(name: str, value: float | Sequence[float], n: int) -> F64:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise ValueError(f"{name} must be a number or a sequence of {n} numbers, got {value!r}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return arr


@functools.lru_cache(maxsize=64)
def _cached_model(
    n: int, a: tuple[float, ...], a0: float, mu: float, c: tuple[float, ...], m: int, xi: float
) -> PricingModel:
    a_arr = np.array(a, dtype=np.float64)
    c_arr = np.array(c, dtype=np.float64)
    p_n, rounds = nash_prices(a_arr, a0, mu, c_arr)
    if rounds < 0 or not np.all(np.isfinite(p_n)):
        raise ValueError(f"no static Nash equilibrium found for a={a}, a0={a0}, mu={mu}, c={c}")
    p_m = monopoly_prices(a_arr, a0, mu, c_arr)
    if not np.all(p_m > p_n + 1e-9):
        raise ValueError(
            f"the monopoly prices {p_m} do not exceed the Nash prices {p_n}: the parameters "
            f"(a={a}, a0={a0}, mu={mu}, c={c}) leave no room for collusion"
        )
    width = p_m - p_n
    grid = np.linspace(p_n - xi * width, p_m + xi * width, m, axis=1)
    pi_n = np.empty(n)
    pi_m = np.empty(n)
    market(p_n, a_arr, a0, mu, c_arr, pi_n)
    market(p_m, a_arr, a0, mu, c_arr, pi_m)
    for arr in (a_arr, c_arr, p_n, p_m, pi_n, pi_m, grid):
        arr.setflags(write=False)
    return PricingModel(n, a_arr, a0, mu, c_arr, m, xi, p_n, p_m, pi_n, pi_m, grid)


def pricing_model(
    num_sellers: int = 2,
    a: float | Sequence[float] = 2.0,
    a0: float = 0.0,
    mu: float = 0.25,
    c: float | Sequence[float] = 1.0,
    num_prices: int = 15,
    xi: float = 0.1,
) -> PricingModel:
    """Validate the market parameters and compute the Nash and monopoly benchmarks.

    Raises :class:`ValueError` naming the offending argument.
    """
    n = int_at_least("num_agents", num_sellers, 2)
    a_arr = _per_seller("a", a, n)
    c_arr = _per_seller("c", c, n)
    a0 = finite("a0", a0)
    mu = finite("mu", mu)
    if mu <= 0:
        raise ValueError(f"mu must be > 0, got {mu!r}")
    m = int_at_least("num_prices", num_prices, 2)
    xi = finite("xi", xi)
    if xi < 0:
        raise ValueError(f"xi must be >= 0, got {xi!r}")
    return _cached_model(n, tuple(a_arr.tolist()), a0, mu, tuple(c_arr.tolist()), m, xi)
