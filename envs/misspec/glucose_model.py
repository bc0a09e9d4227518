"""The UVa/Padova type-1 diabetes patient model, as simglucose implements it, in numba.

A reimplementation of simglucose's ``T1DPatient`` (Jinyu Xie, https://github.com/jxx123/
simglucose, MIT licence): the 13-state meal-glucose-insulin model of Dalla Man, Rizza &
Cobelli (IEEE TBME 2007) with the subcutaneous insulin and glucose compartments of the
UVa/Padova simulator (Kovatchev et al. 2009; Dalla Man et al., J Diabetes Sci Technol 2014),
its virtual-patient parameters (``data/vpatient_params.csv``, simglucose's table), its meal
intake (5 g/min) and its CGM noise model (Johnson SU transform of an AR(1) process sampled
every 15 minutes; sensor constants of simglucose's ``Dexcom`` row). The risk index is
Kovatchev et al.'s (Diabetes Care 1997/2006) symmetrised BG risk, as simglucose computes it.

simglucose integrates with scipy's adaptive dopri5 over each minute; here a fixed-step RK4
(``substeps`` per minute) in numba, tested against simglucose's own trajectories
(``tests/misspec/data/simglucose_reference.json``).
"""

from __future__ import annotations

import csv
import math
from functools import cache
from importlib import resources

import numpy as np
from numba import njit

from mlsafety.types import F64

N_STATES = 13
EAT_RATE = 5.0  # g/min, simglucose T1DPatient.EAT_RATE
PARAM_NAMES: tuple[str, ...] = (
    "BW", "kabs", "kmax", "kmin", "b", "d", "Vg", "Vi", "Vmx", "Km0", "k2", "k1", "p2u", "m1",
    "m2", "m4", "m30", "ki", "kp2", "kp3", "f", "ke1", "ke2", "Fsnc", "Vm0", "kd", "ksc",
    "ka1", "ka2", "u2ss", "kp1", "Ib",
)  # fmt: skip
(BW, KABS, KMAX, KMIN, B, D, VG, VI, VMX, KM0, K2, K1, P2U, M1, M2, M4, M30, KI, KP2, KP3,
 F, KE1, KE2, FSNC, VM0, KD, KSC, KA1, KA2, U2SS, KP1, IB) = range(len(PARAM_NAMES))  # fmt: skip

# simglucose's sensor_params.csv, row "Dexcom": AR(1) coefficient and Johnson SU constants
CGM_PACF = 0.7
CGM_GAMMA, CGM_LAMBDA, CGM_DELTA, CGM_XI = -0.5444, 15.9574, 1.6898, -5.47
CGM_MIN, CGM_MAX = 39.0, 600.0
CGM_KNOT_MINUTES = 15


@cache
def patient_table() -> dict[str, tuple[F64, F64]]:
    """Every virtual patient by name: (parameter vector in :data:`PARAM_NAMES` order,
    initial state (13,)), read from the shipped copy of simglucose's table."""
    text = resources.files(__package__).joinpath("data/vpatient_params.csv").read_text()
    table: dict[str, tuple[F64, F64]] = {}
    for row in csv.DictReader(text.splitlines()):
        params = np.array([float(row[n]) for n in PARAM_NAMES])
        x0 = np.array([float(row[f"x0_{i:2d}"]) for i in range(1, N_STATES + 1)])
        table[row["Name"]] = (params, x0)
    return table


def patient_names() -> tuple[str, ...]:
    """The names of the virtual patients (``adolescent#001`` ... ``child#010``)."""
    return tuple(patient_table())


def basal_rate(params: F64) -> float:
    """The patient's steady-state basal insulin rate in U/min (simglucose: u2ss * BW / 6000)."""
    return float(params[U2SS] * params[BW] / 6000.0)


@njit(cache=True)
def derivative(
    x: F64, cho: float, insulin: float, p: F64, last_qsto: float, last_food: float
) -> F64:
    """dx/dt of simglucose's ``T1DPatient.model``: ``cho`` in g/min, ``insulin`` in U/min."""
    dx = np.zeros(N_STATES)
    d = cho * 1000.0
    ins = insulin * 6000.0 / p[BW]
    qsto = x[0] + x[1]
    dbar = last_qsto + last_food * 1000.0
    dx[0] = -p[KMAX] * x[0] + d
    if dbar > 0:
        aa = 5.0 / (2.0 * dbar * (1.0 - p[B]))
        cc = 5.0 / (2.0 * dbar * p[D])
        kgut = p[KMIN] + (p[KMAX] - p[KMIN]) / 2.0 * (
            math.tanh(aa * (qsto - p[B] * dbar)) - math.tanh(cc * (qsto - p[D] * dbar)) + 2.0
        )
    else:
        kgut = p[KMAX]
    dx[1] = p[KMAX] * x[0] - x[1] * kgut
    dx[2] = kgut * x[1] - p[KABS] * x[2]
    rat = p[F] * p[KABS] * x[2] / p[BW]
    egpt = p[KP1] - p[KP2] * x[3] - p[KP3] * x[8]
    et = p[KE1] * (x[3] - p[KE2]) if x[3] > p[KE2] else 0.0
    dx[3] = max(egpt, 0.0) + rat - p[FSNC] - et - p[K1] * x[3] + p[K2] * x[4]
    if x[3] < 0:
        dx[3] = 0.0
    vmt = p[VM0] + p[VMX] * x[6]
    uidt = vmt * x[4] / (p[KM0] + x[4])
    dx[4] = -uidt + p[K1] * x[3] - p[K2] * x[4]
    if x[4] < 0:
        dx[4] = 0.0
    dx[5] = -(p[M2] + p[M4]) * x[5] + p[M1] * x[9] + p[KA1] * x[10] + p[KA2] * x[11]
    it = x[5] / p[VI]
    if x[5] < 0:
        dx[5] = 0.0
    dx[6] = -p[P2U] * x[6] + p[P2U] * (it - p[IB])
    dx[7] = -p[KI] * (x[7] - it)
    dx[8] = -p[KI] * (x[8] - x[7])
    dx[9] = -(p[M1] + p[M30]) * x[9] + p[M2] * x[5]
    if x[9] < 0:
        dx[9] = 0.0
    dx[10] = ins - (p[KA1] + p[KD]) * x[10]
    if x[10] < 0:
        dx[10] = 0.0
    dx[11] = p[KD] * x[10] - p[KA2] * x[11]
    if x[11] < 0:
        dx[11] = 0.0
    dx[12] = -p[KSC] * x[12] + p[KSC] * x[3]
    if x[12] < 0:
        dx[12] = 0.0
    return dx


@njit(cache=True)
def advance(
    x: F64,
    meal: F64,
    insulin: float,
    p: F64,
    eat: F64,
    substeps: int,
) -> F64:
    """Advance the patient ``len(meal)`` minutes in place; returns BG (mg/dL) after each.

    ``meal[k]`` is the carbohydrate (g) announced at minute k; ``eat`` is the intake state
    ``[planned_meal, last_qsto, last_foodtaken, last_cho, is_eating]`` that simglucose keeps
    across steps (updated in place). ``insulin`` (U/min) is held over the minutes.
    """
    minutes = meal.shape[0]
    bg = np.empty(minutes)
    h = 1.0 / substeps
    for k in range(minutes):
        eat[0] += meal[k]
        to_eat = 0.0
        if eat[0] > 0:
            to_eat = min(EAT_RATE, eat[0])
            eat[0] = max(0.0, eat[0] - to_eat)
        if to_eat > 0 and eat[3] <= 0:
            eat[1] = x[0] + x[1]
            eat[2] = 0.0
            eat[4] = 1.0
        if eat[4] > 0:
            eat[2] += to_eat
        if to_eat <= 0 and eat[3] > 0:
            eat[4] = 0.0
        eat[3] = to_eat
        for _ in range(substeps):
            k1 = derivative(x, to_eat, insulin, p, eat[1], eat[2])
            k2 = derivative(x + 0.5 * h * k1, to_eat, insulin, p, eat[1], eat[2])
            k3 = derivative(x + 0.5 * h * k2, to_eat, insulin, p, eat[1], eat[2])
            k4 = derivative(x + h * k3, to_eat, insulin, p, eat[1], eat[2])
            x += h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        bg[k] = x[12] / p[VG]
    return bg


@njit(cache=True)
def risk(bg: float) -> tuple[float, float]:
    """Kovatchev's (LBGI, HBGI) terms of one BG reading (mg/dL), as simglucose computes them:
    ``f = 1.509 (ln(BG)^1.084 - 5.381)``, risk ``10 f^2`` on the low or the high side."""
    f = 1.509 * (math.log(max(bg, 1.0)) ** 1.084 - 5.381)
    r = 10.0 * f * f
    return (r, 0.0) if f < 0 else (0.0, r)


def cgm_noise_knot(e: float, z: float, first: bool) -> tuple[float, float]:
    """One 15-minute knot of simglucose's CGM noise: the AR(1) state ``e`` updated with the
    standard normal ``z``, and the noise in mg/dL (Johnson SU transform)."""
    e = z if first else CGM_PACF * (e + z)
    return e, CGM_XI + CGM_LAMBDA * math.sinh((e - CGM_GAMMA) / CGM_DELTA)


def meal_scenario(rng: np.random.Generator, days: int) -> F64:
    """Carbohydrate (g) announced at each minute of ``days`` days from midnight, drawn as
    simglucose's ``RandomScenario`` does: three meals (p = 0.95) and three snacks (p = 0.3)
    a day, times from truncated normals, amounts from normals rounded to grams."""
    prob = (0.95, 0.3, 0.95, 0.3, 0.95, 0.3)
    lb = np.array([5, 9, 10, 14, 16, 20]) * 60
    ub = np.array([9, 10, 14, 16, 20, 23]) * 60
    mu = np.array([7, 9.5, 12, 15, 18, 21.5]) * 60
    sd = np.array([60, 30, 60, 30, 60, 30])
    amount_mu = (45, 10, 70, 10, 80, 10)
    amount_sd = (10, 5, 10, 5, 10, 5)
    meal = np.zeros(days * 24 * 60)
    for day in range(days):
        for i in range(6):
            if rng.random() < prob[i]:
                t = float(rng.normal(mu[i], sd[i]))
                while not lb[i] <= t <= ub[i]:  # truncated normal by rejection
                    t = float(rng.normal(mu[i], sd[i]))
                meal[day * 1440 + round(t)] += max(round(rng.normal(amount_mu[i], amount_sd[i])), 0)
    return meal
