"""A stochastic age-structured SEIR town with regulation stages, as one numba kernel.

The idea of PandemicSimulator (Kompella et al. 2020): people meet at home, at school, at
work and in shops and leisure places; a regulation stage (0 = open ... 4 = lockdown)
scales the contacts of each kind of place; infections, hospital stays and deaths follow.
Here the locations are contact matrices (three age groups x four kinds of place) rather
than simulated persons, and the day is one call of :func:`day`.

Compartments per age group (0-19, 20-64, 65+): S, E, I_a (asymptomatic), I_s
(symptomatic), H (hospital), R, D. Each transition is a binomial draw from the
counter-based RNG of :mod:`mlsafety.envs.core` (keyed by episode, day and draw), so the
kernel needs no global generator and replays exactly.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from mlsafety.envs.core import uniform
from mlsafety.types import I64

S, E, IA, IS, H, R, D = range(7)
N_COMPARTMENTS = 7
N_GROUPS = 3
N_STAGES = 5
GROUP_NAMES = ("0-19", "20-64", "65+")
GROUP_SHARES = np.array([0.23, 0.60, 0.17])
PLACES = ("home", "school", "work", "community")

# contacts per day of a person in group g with people of group h, by kind of place
# (our round numbers, in the spirit of Mossong et al. 2008's POLYMOD matrices)
CONTACTS = np.array(
    [
        [[2.0, 2.0, 0.5], [1.0, 1.5, 0.5], [0.5, 1.0, 1.0]],  # home
        [[8.0, 1.0, 0.0], [3.0, 0.5, 0.0], [0.0, 0.0, 0.0]],  # school
        [[0.2, 0.5, 0.0], [0.2, 6.0, 0.3], [0.0, 1.0, 0.3]],  # work
        [[2.0, 2.0, 0.5], [1.0, 3.0, 0.7], [0.5, 1.5, 1.5]],  # community (shops, leisure)
    ]
)
# the share of each kind of place's contacts left open at each stage (rows: stages 0-4),
# in the spirit of PandemicSimulator's five regulation stages (Kompella et al. 2020)
STAGE_OPEN = np.array(
    [
        [1.0, 1.0, 1.0, 1.0],  # 0: no restrictions
        [1.0, 1.0, 0.9, 0.7],  # 1: stay home if sick, large gatherings banned
        [1.0, 0.0, 0.7, 0.5],  # 2: schools closed
        [1.0, 0.0, 0.4, 0.3],  # 3: offices closed, shops limited
        [1.0, 0.0, 0.15, 0.1],  # 4: lockdown, essential work only
    ]
)
# share of economic activity lost at each stage (ours)
STAGE_ECONOMIC_LOSS = np.array([0.0, 0.05, 0.2, 0.45, 0.75])

BETA = 0.035  # infection probability per contact with an infectious person
ASYMPTOMATIC_INFECTIVITY = 0.5
SICK_OUTSIDE = 0.3  # symptomatic people keep this share of their out-of-home contacts
INCUBATION_RATE = 1.0 / 3.0  # E -> I per day
RECOVERY_RATE = 1.0 / 7.0  # I -> R (or H) per day
HOSPITAL_EXIT_RATE = 1.0 / 10.0
P_ASYMPTOMATIC = np.array([0.7, 0.4, 0.2])
P_HOSPITAL = np.array([0.005, 0.04, 0.2])  # of symptomatic cases
P_DEATH = np.array([0.01, 0.05, 0.25])  # of hospital stays, with a bed
OVERFLOW_DEATH_FACTOR = 3.0  # deaths multiply among patients beyond capacity


@njit(cache=True)
def binomial(n: int, p: float, key: int, t: int, j: int) -> int:
    """A Binomial(n, p) draw from the counter-based uniforms (key, t, j), (key, t, j + 1):
    inversion for a small mean, a rounded normal (Box-Muller) otherwise."""
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    if p > 0.5:
        return n - binomial(n, 1.0 - p, key, t, j)
    mean = n * p
    if mean < 25.0:
        u = uniform(key, t, j)
        q = 1.0 - p
        prob = q**n
        cdf = prob
        k = 0
        while u > cdf and k < n:
            prob *= (n - k) / (k + 1.0) * p / q
            k += 1
            cdf += prob
        return k
    u1 = max(uniform(key, t, j), 1e-12)
    u2 = uniform(key, t, j + 1)
    z = math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)
    k = round(mean + z * math.sqrt(mean * (1.0 - p)))
    return min(max(k, 0), n)


@njit(cache=True)
def day(state: I64, stage: int, capacity: int, key: int, t: int, beta: float) -> I64:
    """Advance ``state`` (groups x compartments, counts) one day in place at ``stage``.

    Returns the day's tallies per group: ``[new infections, new hospitalisations, new
    deaths, hospital patients beyond capacity (group 0 only)]``.
    """
    out = np.zeros((N_GROUPS, 4), dtype=np.int64)
    alive = np.zeros(N_GROUPS)
    for h in range(N_GROUPS):
        alive[h] = max(state[h].sum() - state[h, D] - state[h, H], 1)
    hazard = np.zeros(N_GROUPS)
    for g in range(N_GROUPS):
        for place in range(CONTACTS.shape[0]):
            open_ = STAGE_OPEN[stage, place]
            sick = 1.0 if place == 0 else SICK_OUTSIDE
            for h in range(N_GROUPS):
                infectious = ASYMPTOMATIC_INFECTIVITY * state[h, IA] + sick * state[h, IS]
                hazard[g] += beta * open_ * CONTACTS[place, g, h] * infectious / alive[h]
    in_hospital = state[:, H].sum()
    overflow = max(in_hospital - capacity, 0)
    share_over = overflow / in_hospital if in_hospital > 0 else 0.0
    j = 0
    for g in range(N_GROUPS):
        new_e = binomial(state[g, S], 1.0 - math.exp(-hazard[g]), key, t, j)
        new_i = binomial(state[g, E], INCUBATION_RATE, key, t, j + 2)
        new_ia = binomial(new_i, P_ASYMPTOMATIC[g], key, t, j + 4)
        ia_out = binomial(state[g, IA], RECOVERY_RATE, key, t, j + 6)
        is_out = binomial(state[g, IS], RECOVERY_RATE, key, t, j + 8)
        new_h = binomial(is_out, P_HOSPITAL[g], key, t, j + 10)
        h_out = binomial(state[g, H], HOSPITAL_EXIT_RATE, key, t, j + 12)
        p_die = (
            P_DEATH[g] * (1.0 - share_over)
            + min(1.0, P_DEATH[g] * OVERFLOW_DEATH_FACTOR) * share_over
        )
        new_d = binomial(h_out, p_die, key, t, j + 14)
        j += 16
        state[g, S] -= new_e
        state[g, E] += new_e - new_i
        state[g, IA] += new_ia - ia_out
        state[g, IS] += new_i - new_ia - is_out
        state[g, H] += new_h - h_out
        state[g, R] += ia_out + is_out - new_h + h_out - new_d
        state[g, D] += new_d
        out[g, 0] = new_e
        out[g, 1] = new_h
        out[g, 2] = new_d
    out[0, 3] = overflow
    return out


def initial_state(population: int, infected: int, rng: np.random.Generator) -> I64:
    """The town on day 0: ``population`` split by :data:`GROUP_SHARES`, ``infected``
    people exposed, their age groups drawn from ``rng``."""
    state = np.zeros((N_GROUPS, N_COMPARTMENTS), dtype=np.int64)
    sizes = np.floor(GROUP_SHARES * population).astype(np.int64)
    sizes[1] += population - sizes.sum()
    state[:, S] = sizes
    seeds = rng.multinomial(infected, GROUP_SHARES)
    seeds = np.minimum(seeds, sizes)
    state[:, S] -= seeds
    state[:, E] += seeds
    return state
