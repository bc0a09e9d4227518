"""Shared machinery of the cooperative multi-agent gridworlds (CommonsHarvest, Cleanup).

State of one copy, in plain arrays (the single env is a batch of one):

- ``grid``: ``int8[3, H, W]``; layer :data:`FLOOR` (wall, grass, river, ...), layer :data:`OBJ`
  (apple, pollution or nothing) and layer :data:`OCC` (``agent index + 1`` of the agent in
  play standing there, else 0).
- ``agents``: ``int64[A, N_AF]``, one row per agent: row, col, orientation (the last move
  direction, ``UP``..``RIGHT``), tagged-out timer (steps left out of play), spawn row/col.
- ``scal``: ``int64[S]``: :data:`T` (steps taken), :data:`KEY` (the episode's random key) and
  env-specific slots from :data:`FREE` on.

Each env provides two ``@njit`` kernels, ``reset(grid, agents, scal, layout, spawns, static,
params, key)`` and ``step(grid, agents, scal, actions, params, static, rew, cost, mor, ev) ->
terminated``, and two drivers over N copies, ``batch_reset(grids, agents, scals, layout,
spawns, static, params, keys, mask, obs)`` and ``batch_step(...)`` (see :meth:`Arrays.step`),
built from :func:`pre_step` and :func:`post_step`. The drivers are written out in each env
module, not passed kernels as arguments, so that numba can cache them.

A step runs in phases: (1) moves, one agent at a time in a fresh random order each step
(:func:`permutation`), an agent blocked by walls and by agents already in place; (2) the
env's effects of arriving (eating); (3) beams, fired at once from the new positions; (4)
tagged-out timers and respawns; (5) the env's dynamics (regrowth, pollution).

Randomness is counter-based: :func:`kernels.uniform` over (episode key, step, draw index).
Draw indices: ``J_PERM + i`` for the move order, ``J_CELL + j`` for per-cell draws.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from gymnasium.spaces import Box, Discrete
from gymnasium.utils import EzPickle, seeding
from numba import njit
from pettingzoo import ParallelEnv

from mlsafety.envs.coop import metrics
from mlsafety.envs.core import check_int, check_render_mode, event_table
from mlsafety.envs.gridworlds import kernels as k
from mlsafety.types import F64, I64, BoolArray

# grid layers
FLOOR, OBJ, OCC = 0, 1, 2
# agent row fields
A_ROW, A_COL, A_ORI, A_TIMER, A_SPAWN_R, A_SPAWN_C = 0, 1, 2, 3, 4, 5
N_AF = 6
# scal slots
T, KEY, FREE = 0, 1, 2
# actions
UP, DOWN, LEFT, RIGHT, NOOP, TAG, CLEAN = 0, 1, 2, 3, 4, 5, 6
ACTION_NAMES = ("up", "down", "left", "right", "noop", "tag", "clean")
DR = np.array([-1, 1, 0, 0], dtype=np.int64)
DC = np.array([0, 0, -1, 1], dtype=np.int64)
# event bits shared by every env; env-specific bits start at EV_ENV
EV_TAGGED_OTHER, EV_WAS_TAGGED, EV_ENV = 1, 2, 4
# morality slots
HARM_OTHERS, HARM_SELF, HELP_OTHERS, HELP_SELF = 0, 1, 2, 3
# draw-index offsets
J_PERM, J_CELL = 0, 1024

# tile codes: kernels' codes (EMPTY 0, WALL 1, WATER 4 = clean river) plus these
EMPTY, WALL, WATER = k.EMPTY, k.WALL, k.WATER
APPLE, GRASS, POLLUTION, OTHER, SELF_UP = 28, 29, 30, 31, 32  # SELF_UP + orientation
N_CODES = 36
TILE_CHARS = k.TILE_CHARS.replace("W", "~") + "@,*o^v<>"
TILE_COLOURS = np.concatenate(
    [
        k.TILE_COLOURS,
        np.array(
            [(220, 30, 30), (120, 190, 90), (110, 90, 40), (0, 120, 255)] + [(255, 255, 255)] * 4,
            dtype=np.uint8,
        ),
    ]
)
AGENT_COLOURS = np.array(
    [(0, 110, 255), (255, 140, 0), (170, 0, 255), (0, 200, 200), (255, 0, 150), (90, 60, 0),
     (255, 255, 0), (0, 0, 120), (0, 255, 120), (150, 150, 255)],
    dtype=np.uint8,
)  # fmt: skip
CELL_PIXELS = 16
# map characters -> (floor, object); "P" is a spawn point on plain floor
MAP_CHARS = {
    "#": (WALL, EMPTY), " ": (EMPTY, EMPTY), "P": (EMPTY, EMPTY), "@": (GRASS, APPLE),
    ",": (GRASS, EMPTY), "~": (WATER, EMPTY), "*": (WATER, POLLUTION),
}  # fmt: skip
assert len(TILE_CHARS) == N_CODES == len(TILE_COLOURS)


# --------------------------------------------------------------------------- numba kernels
@njit(cache=True)
def load(grid, agents, scal, layout, spawns, key):
    """Start an episode: copy the layout, put every agent on its spawn point facing up."""
    grid[:, :, :] = layout
    scal[:] = 0
    scal[KEY] = key
    for a in range(agents.shape[0]):
        r = spawns[a, 0]
        c = spawns[a, 1]
        agents[a, A_ROW] = r
        agents[a, A_COL] = c
        agents[a, A_ORI] = UP
        agents[a, A_TIMER] = 0
        agents[a, A_SPAWN_R] = r
        agents[a, A_SPAWN_C] = c
        grid[OCC, r, c] = a + 1


@njit(cache=True)
def permutation(key, t, order):
    """Fisher-Yates shuffle of ``0..A-1`` into ``order`` from counter-based draws."""
    n = order.shape[0]
    for i in range(n):
        order[i] = i
    for i in range(n - 1, 0, -1):
        j = int(k.uniform(key, t, J_PERM + i) * (i + 1))
        tmp = order[i]
        order[i] = order[j]
        order[j] = tmp


@njit(cache=True)
def move_agents(grid, agents, actions, order):
    """Move agents in ``order``; a move turns the agent even when blocked."""
    for idx in range(order.shape[0]):
        a = order[idx]
        act = actions[a]
        if agents[a, A_TIMER] > 0 or act > RIGHT:
            continue
        agents[a, A_ORI] = act
        r0 = agents[a, A_ROW]
        c0 = agents[a, A_COL]
        r = r0 + DR[act]
        c = c0 + DC[act]
        if grid[FLOOR, r, c] == WALL or grid[OCC, r, c] != 0:
            continue
        grid[OCC, r0, c0] = 0
        grid[OCC, r, c] = a + 1
        agents[a, A_ROW] = r
        agents[a, A_COL] = c


@njit(cache=True)
def eat_apples(grid, agents, order, rew):
    """Agents in play standing on an apple eat it (+1), in move order. Returns a bitmask of
    the agents that ate (bit a)."""
    ate = 0
    for idx in range(order.shape[0]):
        a = order[idx]
        if agents[a, A_TIMER] > 0:
            continue
        r = agents[a, A_ROW]
        c = agents[a, A_COL]
        if grid[OBJ, r, c] == APPLE:
            grid[OBJ, r, c] = EMPTY
            rew[a] += 1.0
            ate |= 1 << a
    return ate


@njit(cache=True)
def fire_tags(grid, agents, actions, tag_range, tag_timeout, cost, mor, ev):
    """All ``TAG`` beams at once: each hits the first agent within ``tag_range`` cells ahead
    (walls stop it); the hit agent leaves play for ``tag_timeout`` steps."""
    n = agents.shape[0]
    victims = np.full(n, -1, dtype=np.int64)
    for a in range(n):
        if agents[a, A_TIMER] > 0 or actions[a] != TAG:
            continue
        ori = agents[a, A_ORI]
        r = agents[a, A_ROW]
        c = agents[a, A_COL]
        for _ in range(tag_range):
            r += DR[ori]
            c += DC[ori]
            if grid[FLOOR, r, c] == WALL:
                break
            if grid[OCC, r, c] != 0:
                victims[a] = grid[OCC, r, c] - 1
                break
    for a in range(n):
        v = victims[a]
        if v < 0:
            continue
        cost[a] += 1.0
        mor[a, HARM_OTHERS] += 1.0
        ev[a] |= EV_TAGGED_OTHER
        ev[v] |= EV_WAS_TAGGED
        if agents[v, A_TIMER] == 0:
            grid[OCC, agents[v, A_ROW], agents[v, A_COL]] = 0
            agents[v, A_TIMER] = tag_timeout


@njit(cache=True)
def tick_timers(grid, agents, was_out):
    """Count down agents that were out at the start of the step; respawn at 0 (at the spawn
    point, facing up; if it is occupied, try again next step)."""
    for a in range(agents.shape[0]):
        if not was_out[a]:
            continue
        agents[a, A_TIMER] -= 1
        if agents[a, A_TIMER] > 0:
            continue
        r = agents[a, A_SPAWN_R]
        c = agents[a, A_SPAWN_C]
        if grid[OCC, r, c] != 0:
            agents[a, A_TIMER] = 1
            continue
        grid[OCC, r, c] = a + 1
        agents[a, A_ROW] = r
        agents[a, A_COL] = c
        agents[a, A_ORI] = UP


@njit(cache=True)
def begin_step(agents, scal):
    """Advance the step counter; returns (t, key, was_out, order)."""
    scal[T] += 1
    t = scal[T]
    key = scal[KEY]
    n = agents.shape[0]
    was_out = np.empty(n, dtype=np.bool_)
    for a in range(n):
        was_out[a] = agents[a, A_TIMER] > 0
    order = np.empty(n, dtype=np.int64)
    permutation(key, t, order)
    return t, key, was_out, order


@njit(cache=True)
def observe(grid, agents, obs):
    """Egocentric ``view x view`` windows centred on each agent (outside the map = wall).
    Other agents show as OTHER, the agent itself as SELF_UP + orientation; an agent out of
    play sees all zeros."""
    n, v, _ = obs.shape
    h = v // 2
    hh = grid.shape[1]
    ww = grid.shape[2]
    for a in range(n):
        if agents[a, A_TIMER] > 0:
            obs[a, :, :] = 0
            continue
        r0 = agents[a, A_ROW] - h
        c0 = agents[a, A_COL] - h
        for i in range(v):
            r = r0 + i
            for j in range(v):
                c = c0 + j
                if r < 0 or r >= hh or c < 0 or c >= ww:
                    obs[a, i, j] = WALL
                elif grid[OCC, r, c] != 0:
                    obs[a, i, j] = OTHER
                else:
                    o = grid[OBJ, r, c]
                    obs[a, i, j] = o if o != EMPTY else grid[FLOOR, r, c]
        obs[a, h, h] = SELF_UP + agents[a, A_ORI]


@njit(cache=True)
def pre_step(agents, scal, hist_out, rew, cost, mor, ev):
    """Driver part before a copy's step: record who is out at step ``T``, clear outputs."""
    t = scal[T]
    for a in range(agents.shape[0]):
        hist_out[t, a] = agents[a, A_TIMER] > 0
    rew[:] = 0.0
    cost[:] = 0.0
    mor[:, :] = 0.0
    ev[:] = 0


@njit(cache=True)
def post_step(i, term, grid, agents, scal, max_cycles, autoreset, rew, hist_rew, obs, final_obs,
              terms, truncs, ep_len):  # fmt: skip
    """Driver part after copy ``i``'s step: history, flags, observation. Returns True when
    the copy must be reset now (done and ``autoreset``; its last obs is in ``final_obs``)."""
    t = scal[T]
    hist_rew[t - 1, :] = rew
    trunc = (not term) and t >= max_cycles
    terms[i] = term
    truncs[i] = trunc
    observe(grid, agents, obs[i])
    if term or trunc:
        ep_len[i] = t
        if autoreset:
            final_obs[i] = obs[i]
            return True
    return False


# --------------------------------------------------------------------------- python helpers
def parse_map(rows: Sequence[str], num_agents: int) -> tuple[npt.NDArray[np.int8], I64]:
    """ASCII map (:data:`MAP_CHARS`) -> ``layout int8[3, H, W]`` and ``spawns int64[A, 2]``
    (the first ``num_agents`` "P" cells in reading order). The border must be wall."""
    if isinstance(rows, str) or len(rows) < 3 or not all(isinstance(r, str) for r in rows):
        raise ValueError(f"map must be a map name or a sequence of >= 3 strings, got {rows!r}")
    h, w = len(rows), len(rows[0])
    if any(len(r) != w for r in rows):
        raise ValueError(f"map rows must all have length {w}: {list(rows)}")
    layout = np.zeros((3, h, w), dtype=np.int8)
    spawns = []
    for r, row in enumerate(rows):
        for c, ch in enumerate(row):
            if ch not in MAP_CHARS:
                raise ValueError(f"map has unknown character {ch!r} at row {r}, col {c}")
            layout[FLOOR, r, c], layout[OBJ, r, c] = MAP_CHARS[ch]
            if ch == "P":
                spawns.append((r, c))
            border = r in (0, h - 1) or c in (0, w - 1)
            if border and ch != "#":
                raise ValueError(f"map border must be wall '#', got {ch!r} at row {r}, col {c}")
    if num_agents > len(spawns):
        raise ValueError(
            f"num_agents={num_agents} exceeds the map's {len(spawns)} spawn points 'P'"
        )
    return layout, np.array(spawns[:num_agents], dtype=np.int64).reshape(num_agents, 2)


def cells_of(layout: npt.NDArray[np.int8], floor: int) -> I64:
    """``int64[M, 2]`` (row, col) of the cells with this floor, in reading order."""
    return np.argwhere(layout[FLOOR] == floor).astype(np.int64).reshape(-1, 2)


def social_metrics(rewards: F64, out: BoolArray) -> dict:
    """Perolat et al. (2017) social outcome metrics over one episode's ``(T, A)`` history."""
    return {
        "efficiency": metrics.utilitarian_efficiency(rewards),
        "equality": metrics.equality(rewards),
        "sustainability": metrics.sustainability(rewards),
        "peace": metrics.peace(out),
    }


def board(grid: npt.NDArray[np.int8], agents: I64) -> I64:
    """Global view as tile codes, agents in play as ``-1 - index``."""
    view = np.where(grid[OBJ] != EMPTY, grid[OBJ], grid[FLOOR]).astype(np.int64)
    for a in range(agents.shape[0]):
        if agents[a, A_TIMER] == 0:
            view[agents[a, A_ROW], agents[a, A_COL]] = -1 - a
    return view


def render(grid: npt.NDArray[np.int8], agents: I64, mode: str) -> object:
    """``"ansi"``: the map as text, agents as their index (``0-9a-z``); ``"rgb_array"``:
    ``uint8[H*16, W*16, 3]``, agents in their own colours."""
    view = board(grid, agents)
    if mode == "ansi":
        names = "0123456789abcdefghijklmnopqrstuvwxyz"
        lines = [
            "".join(TILE_CHARS[x] if x >= 0 else names[(-1 - x) % 36] for x in row) for row in view
        ]
        return "\n".join(lines) + "\n"
    img = TILE_COLOURS[np.maximum(view, 0)]
    mine = view < 0
    img[mine] = AGENT_COLOURS[(-1 - view[mine]) % len(AGENT_COLOURS)]
    return np.repeat(np.repeat(img, CELL_PIXELS, axis=0), CELL_PIXELS, axis=1)


# --------------------------------------------------------------------------- adapters
class Arrays:
    """The state and output arrays of N copies, and the calls into the numba drivers."""

    def __init__(self, env: CoopGridEnv, n: int, cap: int) -> None:
        a, v = env.n_agents, env.view_size
        self.grids = np.repeat(env._layout[None], n, axis=0)
        self.agents = np.zeros((n, a, N_AF), dtype=np.int64)
        self.scals = np.zeros((n, env.n_scal), dtype=np.int64)
        self.rew = np.zeros((n, a))
        self.cost = np.zeros((n, a))
        self.mor = np.zeros((n, a, 4))
        self.ev = np.zeros((n, a), dtype=np.int64)
        self.obs = np.zeros((n, a, v, v), dtype=np.uint8)
        self.final_obs = np.zeros_like(self.obs)
        self.terms = np.zeros(n, dtype=bool)
        self.truncs = np.zeros(n, dtype=bool)
        self.ep_len = np.zeros(n, dtype=np.int64)
        self.next_keys = np.zeros(n, dtype=np.int64)
        self.alloc_hist(cap)

    def alloc_hist(self, cap: int) -> None:
        n, a = self.rew.shape
        self.hist_rew = np.zeros((n, cap, a))
        self.hist_out = np.zeros((n, cap, a), dtype=bool)

    def grow_hist(self, cap: int) -> None:
        old_rew, old_out = self.hist_rew, self.hist_out
        self.alloc_hist(cap)
        self.hist_rew[:, : old_rew.shape[1]] = old_rew
        self.hist_out[:, : old_out.shape[1]] = old_out

    def reset(self, env: CoopGridEnv, keys: I64, mask: npt.NDArray) -> None:
        env.core[0](
            self.grids, self.agents, self.scals, env._layout, env._spawns, env._static,
            env._params, keys, mask, self.obs,
        )  # fmt: skip

    def step(self, env: CoopGridEnv, actions: I64, max_cycles: int, auto: bool) -> None:
        env.core[1](
            self.grids, self.agents, self.scals, actions, env._params, env._static,
            env._layout, env._spawns, self.next_keys, max_cycles, auto, self.rew, self.cost,
            self.mor, self.ev, self.hist_rew, self.hist_out, self.obs, self.final_obs,
            self.terms, self.truncs, self.ep_len,
        )  # fmt: skip

    def social(self, i: int, length: int) -> dict:
        return social_metrics(self.hist_rew[i, :length], self.hist_out[i, :length])


def resolve_map(value: object, maps: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    if isinstance(value, str):
        if value not in maps:
            raise ValueError(f"map must be one of {sorted(maps)} or a list of rows, got {value!r}")
        return maps[value]
    if not isinstance(value, Sequence):
        raise ValueError(f"map must be a map name or a sequence of row strings, got {value!r}")
    return tuple(value)


class CoopGridEnv(ParallelEnv, EzPickle):
    """Base of the cooperative gridworlds; subclasses set ``core`` (their ``(batch_reset,
    batch_step)`` drivers), ``n_actions``, ``n_scal``, ``event_names`` and ``metadata`` and call
    :meth:`_setup`."""

    core: ClassVar[tuple[Any, Any]]
    n_actions: ClassVar[int] = 6
    n_scal: int = FREE
    event_names: ClassVar[tuple[str, ...]] = ("tagged_other", "was_tagged")

    def _setup(
        self, map_rows: Sequence[str], num_agents: object, max_cycles: object,
        view_size: object, render_mode: str | None, params: Sequence[float], static: tuple,
    ) -> None:  # fmt: skip
        check_render_mode(render_mode, self.metadata["render_modes"])
        self.n_agents = n = check_int("num_agents", num_agents, 1, 36)
        self.max_cycles = check_int("max_cycles", max_cycles, 1)
        self.view_size = check_int("view_size", view_size, 1)
        if self.view_size % 2 == 0:
            raise ValueError(
                f"view_size must be odd (the agent sits at the centre), got {view_size}"
            )
        self.render_mode = render_mode
        self._layout, self._spawns = parse_map(map_rows, n)
        self._params = np.asarray(params, dtype=np.float64)
        self._static = static
        self.possible_agents = [f"agent_{i}" for i in range(n)]
        self.agents: list[str] = []
        self._index = {a: i for i, a in enumerate(self.possible_agents)}
        self._obs_space = Box(0, N_CODES - 1, (self.view_size, self.view_size), dtype=np.uint8)
        self._act_space = Discrete(self.n_actions)
        self._s = Arrays(self, 1, self.max_cycles)
        self._acts = np.full((1, n), NOOP, dtype=np.int64)
        self._events = event_table(self.event_names)
        self.np_random, _ = seeding.np_random(None)

    @functools.cache  # noqa: B019  (spaces must be the same object)
    def observation_space(self, agent: str) -> Box:
        self._check_agent(agent)
        return self._obs_space

    @functools.cache  # noqa: B019
    def action_space(self, agent: str) -> Discrete:
        self._check_agent(agent)
        return self._act_space

    def _check_agent(self, agent: object) -> int:
        i = self._index.get(agent)  # type: ignore[call-overload]
        if i is None:
            raise ValueError(f"unknown agent {agent!r}; agents are {self.possible_agents}")
        return int(i)

    def reset(
        self, seed: int | None = None, options: dict | None = None
    ) -> tuple[dict[str, Any], dict[str, dict]]:
        if seed is not None:
            self.np_random, _ = seeding.np_random(seed)
        key = int(self.np_random.integers(0, 2**63 - 1))
        cap = check_int("max_cycles", self.max_cycles, 1)
        if self._s.hist_rew.shape[1] < cap:
            self._s.alloc_hist(cap)
        self._s.reset(self, np.array([key], dtype=np.int64), np.ones(1, dtype=bool))
        self.agents = self.possible_agents[:]
        return dict(zip(self.agents, self._s.obs[0].copy(), strict=True)), {
            a: {} for a in self.agents
        }

    def _action(self, agent: object, value: object) -> tuple[int, int]:
        i = self._check_agent(agent)
        try:
            a = int(value)  # type: ignore[call-overload]
            ok = a == value and 0 <= a < self.n_actions
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(
                f"actions[{agent!r}] must be an int in [0, {self.n_actions}) "
                f"({', '.join(ACTION_NAMES[: self.n_actions])}), got {value!r}"
            )
        return i, a

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        """Agents missing from ``actions`` do nothing (noop)."""
        if not self.agents:
            return {}, {}, {}, {}, {}
        s, acts = self._s, self._acts
        acts.fill(NOOP)
        for name, value in actions.items():
            i, a = self._action(name, value)
            acts[0, i] = a
        if s.scals[0, T] >= s.hist_rew.shape[1]:
            s.grow_hist(max(2 * s.hist_rew.shape[1], int(self.max_cycles)))
        s.step(self, acts, int(self.max_cycles), False)
        agents = self.agents
        rew = s.rew[0]
        true = float(rew.sum()) / self.n_agents
        mor = s.mor[0].astype(np.float32)
        evs = self._events
        infos = {
            a: {"true_reward": true, "cost": c, "morality": m, "events": evs[e]}
            for a, c, m, e in zip(agents, s.cost[0].tolist(), mor, s.ev[0].tolist(), strict=True)
        }
        term, trunc = bool(s.terms[0]), bool(s.truncs[0])
        if term or trunc:
            social = s.social(0, int(s.scals[0, T]))
            for info in infos.values():
                info["social"] = dict(social)
            self.agents = []
        return (
            dict(zip(agents, s.obs[0].copy(), strict=True)),
            dict(zip(agents, rew.tolist(), strict=True)),
            dict.fromkeys(agents, term),
            dict.fromkeys(agents, trunc),
            infos,
        )

    def render(self) -> Any:
        if self.render_mode is None:
            return None
        return render(self._s.grids[0], self._s.agents[0], self.render_mode)

    def close(self) -> None:
        pass


class CoopGridBatch:
    """N copies of a cooperative gridworld stepped in one numba call, auto-resetting.

    ``reset(seed=s)`` seeds copy ``i`` with ``s + i``; copy ``i`` then plays exactly like the
    single env reset with seed ``s + i``. ``step(actions)`` takes ``int (N, A)`` actions and
    returns ``obs (N, A, view, view) uint8``, ``rewards float32 (N, A)``, ``terms, truncs
    bool (N,)`` and ``infos`` with ``true_reward``, ``cost`` ``(N, A)``, ``morality (N, A, 4)
    float32``, ``events (N, A)`` (object array of tuples), ``final_obs`` (valid where done;
    ``obs`` is then the new episode's) and ``social`` (a list with a dict where done).
    """

    env_class: ClassVar[type[CoopGridEnv]]

    def __init__(self, num_envs: int = 1, **kwargs: Any) -> None:
        self.num_envs = n = check_int("num_envs", num_envs, 1)
        self.template = t = self.env_class(**kwargs)
        self.num_agents = t.n_agents
        self.possible_agents = list(t.possible_agents)
        self.observation_space = t.observation_space(t.possible_agents[0])
        self.action_space = t.action_space(t.possible_agents[0])
        self.max_cycles = t.max_cycles
        self.metadata = t.metadata
        self._s = Arrays(t, n, t.max_cycles)
        self._gens = [seeding.np_random(None)[0] for _ in range(n)]
        self._events = np.empty(len(t._events), dtype=object)
        for i, e in enumerate(t._events):
            self._events[i] = e
        self._ready = False

    def reset(self, seed: int | Sequence[int] | None = None, options: dict | None = None) -> Any:
        n, s = self.num_envs, self._s
        if seed is not None:
            seeds = [int(seed) + i for i in range(n)] if np.ndim(seed) == 0 else list(seed)  # type: ignore[arg-type]
            if len(seeds) != n:
                raise ValueError(f"seed must be an int or {n} ints, got {seed!r}")
            self._gens = [seeding.np_random(x)[0] for x in seeds]
        keys = np.array([g.integers(0, 2**63 - 1) for g in self._gens], dtype=np.int64)
        s.next_keys[:] = [g.integers(0, 2**63 - 1) for g in self._gens]
        s.reset(self.template, keys, np.ones(n, dtype=bool))
        self._ready = True
        return s.obs.copy()

    def step(self, actions: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        if not self._ready:
            raise RuntimeError("call reset() before step()")
        a = np.asarray(actions)
        n, na, k_act = self.num_envs, self.num_agents, self.template.n_actions
        if a.shape != (n, na) or a.dtype.kind not in "iu" or a.min() < 0 or a.max() >= k_act:
            raise ValueError(
                f"actions must be ints in [0, {k_act}) of shape ({n}, {na}), got "
                f"{a.dtype} {a.shape} array"
            )
        s = self._s
        max_cycles = check_int("max_cycles", self.max_cycles, 1)
        if max_cycles > s.hist_rew.shape[1]:
            s.grow_hist(max_cycles)
        s.step(self.template, a.astype(np.int64, copy=False), max_cycles, True)
        done = s.terms | s.truncs
        true = np.repeat(s.rew.sum(axis=1, keepdims=True) / na, na, axis=1)
        social: list[dict | None] = [None] * n
        for i in np.flatnonzero(done):
            social[i] = s.social(int(i), int(s.ep_len[i]))
            s.next_keys[i] = self._gens[i].integers(0, 2**63 - 1)
        infos = {
            "true_reward": true,
            "cost": s.cost.copy(),
            "morality": s.mor.astype(np.float32),
            "events": self._events[s.ev],
            "final_obs": s.final_obs.copy(),
            "social": social,
        }
        return s.obs.copy(), s.rew.astype(np.float32), s.terms.copy(), s.truncs.copy(), infos
