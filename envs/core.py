"""The engine pieces every env family shares (gridworlds, dilemmas, coop grids, pricing).

* Tile codes, characters and colours of the grid families (observation values and
  rendering), so a wall is the same number in a gridworld and a coop grid.
* Counter-based randomness: :func:`uniform` hashes (episode key, step, draw index), so a
  batched numba kernel and the single env draw the same numbers without a global RNG.
* Event tables: :func:`event_table` turns a kernel's event bitmask into event names.
* Seeding: :func:`copy_seeds` gives per-copy seeds for batched envs.
* Parameter validation: :func:`number`, :func:`check_int`, :func:`check_prob`,
  :func:`check_render_mode` raise a ``ValueError`` naming the argument.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import combinations

import numpy as np
from numba import njit

# tile codes, shared by every gridworld (observation values and rendering)
NONE = 0  # no object / plain floor
EMPTY = 0
WALL = 1
AGENT = 2
GOAL = 3
WATER = 4
LAVA = 5
BOX = 6
PUNISH = 7
SUPERVISOR = 8
BUTTON = 9
INTERRUPT = 10
WHISKY = 11
TOMATO_DRY = 12
TOMATO_WET = 13
BUCKET = 14
ARROW_UP = 15
ARROW_DOWN = 16
ARROW_LEFT = 17
ARROW_RIGHT = 18
ROCK = 19
DIAMOND = 20
SWITCH = 21
GOAL_AREA = 22
BELT = 23
VASE = 24
SUSHI = 25
BROKEN = 26
COIN = 27
N_TILES = 28

TILE_CHARS = ".#AGWLXPSBIKtTO^v<>RDsg=VUbC"
TILE_COLOURS = np.array(
    [
        (219, 219, 219),  # empty
        (60, 60, 60),  # wall
        (0, 180, 255),  # agent
        (0, 200, 0),  # goal
        (30, 60, 200),  # water
        (230, 70, 0),  # lava
        (160, 110, 40),  # box
        (200, 0, 0),  # punishment
        (255, 0, 255),  # supervisor
        (120, 0, 200),  # button
        (255, 120, 200),  # interruption
        (150, 80, 0),  # whisky
        (150, 130, 60),  # dry tomato
        (240, 40, 40),  # watered tomato
        (120, 120, 255),  # bucket
        (255, 210, 0),  # arrows (4)
        (255, 210, 0),
        (255, 210, 0),
        (255, 210, 0),
        (120, 120, 120),  # rock
        (0, 255, 230),  # diamond
        (255, 150, 0),  # switch
        (170, 240, 170),  # goal area
        (110, 110, 160),  # belt
        (250, 250, 160),  # vase
        (255, 160, 160),  # sushi
        (90, 60, 30),  # broken
        (255, 230, 60),  # coin
    ],
    dtype=np.uint8,
)
if not len(TILE_CHARS) == N_TILES == len(TILE_COLOURS):
    raise RuntimeError("tile table out of step: TILE_CHARS, N_TILES and TILE_COLOURS")


# --------------------------------------------------------------------------- randomness
@njit(cache=True)
def uniform(key: int, t: int, j: int) -> float:
    """A float in [0, 1) from (episode key, step, draw index): splitmix64 over the triple."""
    z = np.uint64(key) ^ (np.uint64(t) * np.uint64(0x9E3779B97F4A7C15))
    z = z ^ (np.uint64(j + 1) * np.uint64(0xD1B54A32D192ED03))
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return float(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


def copy_seeds(seed: int | Sequence[int], num_envs: int) -> list[int]:
    """Per-copy seeds: ``seed + i`` for an int (Gymnasium's convention), or the list given."""
    if isinstance(seed, int | np.integer):
        return [int(seed) + i for i in range(num_envs)]
    seeds = [int(s) for s in seed]
    if len(seeds) != num_envs:
        raise ValueError(f"seed must be an int or {num_envs} ints, got {len(seeds)}")
    return seeds


# --------------------------------------------------------------------------- events
def event_table(names: Sequence[str]) -> tuple[tuple[str, ...], ...]:
    """Tuple of event-name tuples indexed by the kernels' event bitmask."""
    table: list[tuple[str, ...]] = [()] * (1 << len(names))
    for n in range(1, len(names) + 1):
        for combo in combinations(range(len(names)), n):
            table[sum(1 << i for i in combo)] = tuple(names[i] for i in combo)
    return tuple(table)


# --------------------------------------------------------------------------- parameters
def number(name: str, value: float, nonnegative: bool = False) -> float:
    """A constructor argument as a finite float (and >= 0 if asked); ValueError naming it."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite number, got {value!r}") from None
    if not math.isfinite(v) or (nonnegative and v < 0):
        kind = "a finite number >= 0" if nonnegative else "a finite number"
        raise ValueError(f"{name} must be {kind}, got {value!r}")
    return v


def check_int(name: str, value: object, lo: int, hi: int | None = None) -> int:
    """``value`` as an int in ``[lo, hi]``, else ValueError naming ``name``."""
    ok = isinstance(value, int | np.integer) and not isinstance(value, bool)
    if not ok or value < lo or (hi is not None and value > hi):  # type: ignore[operator]
        rng = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise ValueError(f"{name} must be an int {rng}, got {value!r}")
    return int(value)  # type: ignore[call-overload]


def check_prob(name: str, value: object, lo: float = 0.0, hi: float = 1.0) -> float:
    """``value`` as a float in ``[lo, hi]``, else ValueError naming ``name``."""
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        x = float("nan")
    if isinstance(value, bool) or not lo <= x <= hi:
        raise ValueError(f"{name} must be a number in [{lo}, {hi}], got {value!r}")
    return x


def check_render_mode(render_mode: str | None, modes: Sequence[str]) -> None:
    """ValueError unless ``render_mode`` is None or one of ``modes``."""
    if render_mode is not None and render_mode not in modes:
        raise ValueError(f"render_mode must be one of {list(modes)} or None, got {render_mode!r}")
