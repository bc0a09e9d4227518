"""Numba building blocks shared by the gridworld cores.

A gridworld's state is two arrays per copy:

- ``grid``: ``int8[2, H, W]``; layer :data:`FLOOR` holds the floor tile of every cell
  (wall, goal, water, belt, ...), layer :data:`OBJ` the movable or consumable object on
  it (box, rock, vase, whisky, ...) or :data:`NONE`.
- ``scal``: ``int64[NSCAL]``; slots :data:`ROW`, :data:`COL` (agent position), :data:`T`
  (steps taken this episode), :data:`KEY` (the episode's random key) and env-specific
  slots from :data:`FREE` on.

Each env module provides three ``@njit`` kernels over one copy:
``reset(grid, scal, params, layouts, starts, key)``,
``step(grid, scal, action, params, out) -> int64`` (a bitmask of the env's events) and
``observe(grid, scal, params, obs)``. ``out`` is ``float64[OUT_SIZE]``: proxy reward, true
reward, cost, the morality vector (4) and a terminated flag. The batch drivers below loop
the same kernels over N copies, so the single env and the batched env share one
implementation and give identical results.

Randomness inside an episode is counter-based: :func:`uniform` hashes the episode key
(drawn from the env's seeded ``np.random.Generator`` at reset), the step counter and a
draw index. No global RNG is used.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# grid layers
FLOOR = 0
OBJ = 1

# scal slots
ROW = 0
COL = 1
T = 2
KEY = 3
FREE = 4
NSCAL = 12

# out slots
O_REWARD = 0
O_TRUE = 1
O_COST = 2
O_MORALITY = 3  # 3..6
O_TERMINATED = 7
OUT_SIZE = 8

# object kinds (see walk)
PASS = 0
PUSHABLE = 1
BLOCKING = 2

# actions
UP, DOWN, LEFT, RIGHT, NOOP = 0, 1, 2, 3, 4
N_ACTIONS = 5
ACTION_NAMES = ("up", "down", "left", "right", "noop")
DR = np.array([-1, 1, 0, 0, 0], dtype=np.int64)
DC = np.array([0, 0, -1, 1, 0], dtype=np.int64)

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
assert len(TILE_CHARS) == N_TILES == len(TILE_COLOURS)


@njit(cache=True)
def uniform(key: int, t: int, j: int) -> float:
    """A float in [0, 1) from (episode key, step, draw index): splitmix64 over the triple."""
    z = np.uint64(key) ^ (np.uint64(t) * np.uint64(0x9E3779B97F4A7C15))
    z = z ^ (np.uint64(j + 1) * np.uint64(0xD1B54A32D192ED03))
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return float(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def load_layout(grid, scal, layouts, starts, idx, key):
    """Copy layout ``idx`` into ``grid`` and start a fresh episode with ``key``."""
    grid[:, :, :] = layouts[idx]
    scal[:] = 0
    scal[ROW] = starts[idx, 0]
    scal[COL] = starts[idx, 1]
    scal[KEY] = key


@njit(cache=True)
def clear_out(out):
    out[:] = 0.0


@njit(cache=True)
def draw_standard(grid, scal, obs):
    """The plain view: objects over floor, the agent on top."""
    h, w = obs.shape
    for r in range(h):
        for c in range(w):
            o = grid[OBJ, r, c]
            obs[r, c] = o if o != NONE else grid[FLOOR, r, c]
    obs[scal[ROW], scal[COL]] = AGENT


# Not cached: numba cannot reload cached code whose arguments are other jitted functions
# ("underlying object has vanished"); each process compiles these once per env.
@njit(cache=False)
def batch_reset(reset, observe, grids, scals, params, layouts, starts, keys, mask, obs):
    for i in range(grids.shape[0]):
        if mask[i]:
            reset(grids[i], scals[i], params, layouts, starts, keys[i])
            observe(grids[i], scals[i], params, obs[i])


@njit(cache=False)
def batch_step(step, observe, grids, scals, actions, params, outs, obs, active, events):
    for i in range(grids.shape[0]):
        if active[i]:
            events[i] = step(grids[i], scals[i], actions[i], params, outs[i])
            observe(grids[i], scals[i], params, obs[i])
        else:
            events[i] = 0
            outs[i, :] = 0.0


@njit(cache=True)
def push(grid, r, c, dr, dc):
    """Push the object at (r, c) one cell along (dr, dc) if that cell is open; True if moved."""
    r2 = r + dr
    c2 = c + dc
    if grid[FLOOR, r2, c2] == WALL or grid[OBJ, r2, c2] != NONE:
        return False
    grid[OBJ, r2, c2] = grid[OBJ, r, c]
    grid[OBJ, r, c] = NONE
    return True


@njit(cache=True)
def walk(grid, scal, action, objkind):
    """Move the agent one cell, pushing a pushable object ahead of it.

    ``objkind`` is an int array indexed by object tile code: :data:`PASS` (the agent steps
    onto it, e.g. whisky), :data:`PUSHABLE` (moved ahead of the agent if the cell beyond
    is open) or :data:`BLOCKING`. Walls block. Returns True if the agent moved.
    """
    dr = DR[action]
    dc = DC[action]
    if dr == 0 and dc == 0:
        return False
    r = scal[ROW] + dr
    c = scal[COL] + dc
    if grid[FLOOR, r, c] == WALL:
        return False
    o = grid[OBJ, r, c]
    if o != NONE:
        kind = objkind[o]
        if kind == BLOCKING or (kind == PUSHABLE and not push(grid, r, c, dr, dc)):
            return False
    scal[ROW] = r
    scal[COL] = c
    return True
