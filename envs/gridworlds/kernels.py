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

from mlsafety.envs.core import (  # noqa: F401  (the tile table, re-exported for the kernels)
    AGENT,
    ARROW_DOWN,
    ARROW_LEFT,
    ARROW_RIGHT,
    ARROW_UP,
    BELT,
    BOX,
    BROKEN,
    BUCKET,
    BUTTON,
    COIN,
    DIAMOND,
    EMPTY,
    GOAL,
    GOAL_AREA,
    INTERRUPT,
    LAVA,
    N_TILES,
    NONE,
    PUNISH,
    ROCK,
    SUPERVISOR,
    SUSHI,
    SWITCH,
    TILE_CHARS,
    TILE_COLOURS,
    TOMATO_DRY,
    TOMATO_WET,
    VASE,
    WALL,
    WATER,
    WHISKY,
    uniform,
)
from mlsafety.envs.gridworlds.actions import (  # noqa: F401  (re-exported for the kernels)
    ACTION_NAMES,
    DOWN,
    LEFT,
    N_ACTIONS,
    NOOP,
    RIGHT,
    UP,
)

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

DR = np.array([-1, 1, 0, 0, 0], dtype=np.int64)
DC = np.array([0, 0, -1, 1, 0], dtype=np.int64)


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


@njit(cache=True)
def observe_standard(grid, scal, params, obs):
    """The ``observe`` kernel of every env whose view is the plain one (:func:`draw_standard`)."""
    draw_standard(grid, scal, obs)


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
