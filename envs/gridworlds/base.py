"""Gymnasium adapters around the numba gridworld cores: one env and a batch of N envs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, NamedTuple, SupportsFloat

import gymnasium as gym
import numpy as np
import numpy.typing as npt
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from mlsafety.contract import SAFETY_PERFORMANCE_KEY, Peek
from mlsafety.envs.core import event_table
from mlsafety.envs.gridworlds import kernels as k

Obs = npt.NDArray[np.uint8]
CELL_PIXELS = 16
OBJECT_TILES = frozenset(
    {k.BOX, k.WHISKY, k.TOMATO_DRY, k.TOMATO_WET, k.ROCK, k.DIAMOND, k.VASE, k.SUSHI, k.COIN}
)


class InvalidAction(ValueError):
    """An action outside the gridworld's ``Discrete(5)`` action space."""


class GridCore(NamedTuple):
    """The three numba kernels of one gridworld (see :mod:`.kernels`)."""

    reset: Any
    step: Any
    observe: Any


def objkinds(pushable: Sequence[int] = (), blocking: Sequence[int] = ()) -> npt.NDArray[np.int64]:
    """An object-kind table for :func:`kernels.walk`: pass over everything else."""
    table = np.full(k.N_TILES, k.PASS, dtype=np.int64)
    table[list(pushable)] = k.PUSHABLE
    table[list(blocking)] = k.BLOCKING
    return table


def parse_layouts(
    layouts: Sequence[Sequence[str]], floor_under: Mapping[str, int] | None = None
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.int64]]:
    """Parse ASCII layouts into kernel arrays.

    Characters are those of :data:`kernels.TILE_CHARS`; a space is plain floor.

    Returns ``grids`` ``int8[L, 2, H, W]`` and agent ``starts`` ``int64[L, 2]``. ``A`` marks
    the agent's start (on plain floor); object characters go on the object layer over the
    floor given by ``floor_under`` (plain floor by default).
    """
    floor_under = dict(floor_under or {})
    h, w = len(layouts[0]), len(layouts[0][0])
    grids = np.zeros((len(layouts), 2, h, w), dtype=np.int8)
    starts = np.zeros((len(layouts), 2), dtype=np.int64)
    for li, rows in enumerate(layouts):
        if len(rows) != h or any(len(r) != w for r in rows):
            raise ValueError(f"layout {li} is not {h}x{w}: {list(rows)}")
        found = 0
        for r, row in enumerate(rows):
            for c, ch in enumerate(row):
                code = k.EMPTY if ch == " " else k.TILE_CHARS.find(ch)
                if code < 0:
                    raise ValueError(f"layout {li} has unknown tile {ch!r} at row {r}, col {c}")
                if code == k.AGENT:
                    starts[li] = (r, c)
                    found += 1
                elif code in OBJECT_TILES:
                    grids[li, k.OBJ, r, c] = code
                    grids[li, k.FLOOR, r, c] = floor_under.get(ch, k.EMPTY)
                else:
                    grids[li, k.FLOOR, r, c] = code
        if found != 1:
            raise ValueError(f"layout {li} must have exactly one agent 'A', found {found}")
    return grids, starts


def check_action(action: Any) -> int:
    try:
        a = int(action)
    except (TypeError, ValueError):
        raise InvalidAction(
            f"gridworld actions are ints in [0, {k.N_ACTIONS}) "
            f"({', '.join(k.ACTION_NAMES)}); got {action!r}"
        ) from None
    if not 0 <= a < k.N_ACTIONS or a != action:
        raise InvalidAction(
            f"gridworld actions are ints in [0, {k.N_ACTIONS}) "
            f"({', '.join(k.ACTION_NAMES)}); got {action!r}"
        )
    return a


class GridworldEnv(gym.Env[Obs, np.int64]):
    """Base class of the proxy-gaming gridworlds (see the subclasses' docstrings).

    Subclasses set ``core`` (their numba kernels) and ``event_names``, and call
    :meth:`_setup` from ``__init__`` with their layouts and parameter vector.
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 8}
    core: ClassVar[GridCore]
    event_names: ClassVar[tuple[str, ...]] = ()
    floor_under: ClassVar[Mapping[str, int]] = {}
    reference_actions: Mapping[str, tuple[int, ...]] = {}
    """Scripted action sequences from ``reset(seed=0)`` under the default arguments:
    ``"exploit"`` (pays in proxy, costs in truth) and ``"safe"`` (the intended behaviour)."""
    reports_safety_performance: ClassVar[bool] = False
    """If True, the episode's summed true reward is also reported at its last step as
    ``info["safety_performance"]`` (a faithful port whose original names its hidden return
    the episode's "safety performance" and documents it apart from the per-step reward)."""

    def _setup(
        self,
        layouts: Sequence[Sequence[str]],
        params: Sequence[float],
        max_steps: int,
        render_mode: str | None,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']} or None, "
                f"got {render_mode!r}"
            )
        if int(max_steps) < 1:
            raise ValueError(f"max_steps must be a positive int, got {max_steps!r}")
        self.render_mode = render_mode
        self.max_steps = int(max_steps)
        self._layouts, self._starts = parse_layouts(layouts, self.floor_under)
        self._params = np.asarray(params, dtype=np.float64)
        _, _, h, w = self._layouts.shape
        self.observation_space = spaces.Box(0, k.N_TILES - 1, (h, w), dtype=np.uint8)
        self.action_space = spaces.Discrete(k.N_ACTIONS)
        self._grid = self._layouts[0].copy()
        self._scal = np.zeros(k.NSCAL, dtype=np.int64)
        self._out = np.zeros(k.OUT_SIZE, dtype=np.float64)
        self._obs = np.zeros((h, w), dtype=np.uint8)
        self._events = event_table(self.event_names)
        self._episode_true = 0.0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Obs, dict[str, Any]]:
        super().reset(seed=seed)
        key = int(self.np_random.integers(0, 2**63 - 1))
        self.core.reset(self._grid, self._scal, self._params, self._layouts, self._starts, key)
        self.core.observe(self._grid, self._scal, self._params, self._obs)
        self._episode_true = 0.0
        return self._obs.copy(), {}

    def step(self, action: Any) -> tuple[Obs, SupportsFloat, bool, bool, dict[str, Any]]:
        a = check_action(action)
        out = self._out
        ev = self.core.step(self._grid, self._scal, a, self._params, out)
        self.core.observe(self._grid, self._scal, self._params, self._obs)
        terminated = bool(out[k.O_TERMINATED])
        truncated = not terminated and bool(self._scal[k.T] >= self.max_steps)
        info = {
            "true_reward": float(out[k.O_TRUE]),
            "cost": float(out[k.O_COST]),
            "morality": out[k.O_MORALITY : k.O_MORALITY + 4].astype(np.float32),
            "events": self._events[ev],
        }
        if self.reports_safety_performance:
            self._episode_true += info["true_reward"]
            if terminated or truncated:
                info[SAFETY_PERFORMANCE_KEY] = self._episode_true
        return self._obs.copy(), float(out[k.O_REWARD]), terminated, truncated, info

    def peek(self, action: int) -> Peek:
        """What ``action`` would do now (reward, true reward, cost, morality, events, whether
        it ends the episode), computed on a copy of the state: the env as its own model."""
        a = check_action(action)
        grid, scal = self._grid.copy(), self._scal.copy()
        out = np.zeros(k.OUT_SIZE, dtype=np.float64)
        ev = self.core.step(grid, scal, a, self._params, out)
        return Peek(
            reward=float(out[k.O_REWARD]),
            true_reward=float(out[k.O_TRUE]),
            cost=float(out[k.O_COST]),
            morality=out[k.O_MORALITY : k.O_MORALITY + 4].astype(np.float32),
            events=self._events[ev],
            terminated=bool(out[k.O_TERMINATED]),
        )

    def board(self) -> Obs:
        """The true state as tile codes (objects over floor, agent on top)."""
        view = np.zeros_like(self._obs)
        k.draw_standard(self._grid, self._scal, view)
        return view

    def render(self) -> Any:
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode= to make()")
            return None
        view = self.board()
        if self.render_mode == "ansi":
            chars = np.array(list(k.TILE_CHARS))[view]
            return "\n".join("".join(row) for row in chars) + "\n"
        img = k.TILE_COLOURS[view]
        return np.repeat(np.repeat(img, CELL_PIXELS, axis=0), CELL_PIXELS, axis=1)

    def get_action_meanings(self) -> tuple[str, ...]:
        return k.ACTION_NAMES


class GridworldVectorEnv(VectorEnv):
    """N copies of a gridworld stepped together by the numba batch drivers.

    Reached with ``gymnasium.make_vec(ID, num_envs=N, vectorization_mode="vector_entry_point")``.
    Sub-env ``i`` reset with seed ``s`` behaves exactly like the single env reset with seed
    ``s + i`` (Gymnasium's ``SyncVectorEnv`` convention). ``autoreset_mode`` is ``"NextStep"``
    (Gymnasium's default) or ``"SameStep"`` (final observation in ``info["final_obs"]``).
    """

    env_class: ClassVar[type[GridworldEnv]]

    def __init__(
        self,
        num_envs: int = 1,
        autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
        **kwargs: Any,
    ) -> None:
        if int(num_envs) < 1:
            raise ValueError(f"num_envs must be a positive int, got {num_envs!r}")
        mode = AutoresetMode(autoreset_mode)
        if mode == AutoresetMode.DISABLED:
            raise ValueError("autoreset_mode must be NextStep or SameStep")
        self.template = self.env_class(**kwargs)
        t = self.template
        self.num_envs = n = int(num_envs)
        self.metadata = {**t.metadata, "autoreset_mode": mode}
        self.render_mode = t.render_mode
        self.single_observation_space = t.observation_space
        self.single_action_space = t.action_space
        self.observation_space = batch_space(t.observation_space, n)
        self.action_space = batch_space(t.action_space, n)
        self.max_steps = t.max_steps
        self._grids = np.repeat(t._layouts[:1], n, axis=0)
        self._scals = np.zeros((n, k.NSCAL), dtype=np.int64)
        self._outs = np.zeros((n, k.OUT_SIZE), dtype=np.float64)
        self._obs = np.zeros((n, *t.observation_space.shape), dtype=np.uint8)  # type: ignore[misc]
        self._ev = np.zeros(n, dtype=np.int64)
        self._events = np.empty(len(t._events), dtype=object)
        self._events[:] = t._events
        self._autoreset = np.zeros(n, dtype=bool)
        self._gens = [seeding.np_random(None)[0] for _ in range(n)]
        self._episode_true = np.zeros(n, dtype=np.float64)

    def _reset_envs(self, mask: npt.NDArray[np.bool_]) -> None:
        t = self.template
        keys = np.zeros(self.num_envs, dtype=np.int64)
        for i in np.flatnonzero(mask):
            keys[i] = self._gens[i].integers(0, 2**63 - 1)
        k.batch_reset(
            t.core.reset,
            t.core.observe,
            self._grids,
            self._scals,
            t._params,
            t._layouts,
            t._starts,
            keys,
            mask,
            self._obs,
        )
        self._episode_true[mask] = 0.0

    def reset(
        self,
        *,
        seed: int | Sequence[int | None] | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[Obs, dict[str, Any]]:
        if seed is not None:
            seeds = [seed + i for i in range(self.num_envs)] if isinstance(seed, int) else seed
            if len(seeds) != self.num_envs:
                raise ValueError(f"expected {self.num_envs} seeds, got {len(seeds)}")
            self._gens = [seeding.np_random(s)[0] for s in seeds]
        self._reset_envs(np.ones(self.num_envs, dtype=bool))
        self._autoreset[:] = False
        return self._obs.copy(), {}

    def step(self, actions: Any) -> tuple[Obs, Any, Any, Any, dict[str, Any]]:
        a = np.asarray(actions)
        if (
            a.shape != (self.num_envs,)
            or a.dtype.kind not in "iu"
            or a.min() < 0
            or a.max() >= k.N_ACTIONS
        ):
            raise InvalidAction(
                f"expected {self.num_envs} int actions in [0, {k.N_ACTIONS}), got {actions!r}"
            )
        t = self.template
        same_step = self.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
        resetting = self._autoreset
        if not same_step and resetting.any():
            self._reset_envs(resetting)
        active = ~resetting if not same_step else np.ones(self.num_envs, dtype=bool)
        k.batch_step(
            t.core.step,
            t.core.observe,
            self._grids,
            self._scals,
            a.astype(np.int64),
            t._params,
            self._outs,
            self._obs,
            active,
            self._ev,
        )
        outs = self._outs
        terms = (outs[:, k.O_TERMINATED] != 0) & active
        truncs = (self._scals[:, k.T] >= self.max_steps) & ~terms & active
        info: dict[str, Any] = {
            "true_reward": outs[:, k.O_TRUE].copy(),
            "cost": outs[:, k.O_COST].copy(),
            "morality": outs[:, k.O_MORALITY : k.O_MORALITY + 4].astype(np.float32),
            "events": self._events[self._ev],
        }
        for key in ("true_reward", "cost", "morality", "events"):
            info["_" + key] = active
        done = terms | truncs
        if t.reports_safety_performance:
            self._episode_true[active] += outs[active, k.O_TRUE]
            info[SAFETY_PERFORMANCE_KEY] = np.where(done, self._episode_true, 0.0)
            info["_" + SAFETY_PERFORMANCE_KEY] = done
        obs = self._obs.copy()
        if same_step and done.any():
            final = np.empty(self.num_envs, dtype=object)
            for i in np.flatnonzero(done):
                final[i] = obs[i].copy()
            info["final_obs"] = final
            info["_final_obs"] = done
            info["final_info"] = {
                key: info[key]
                for key in ("true_reward", "cost", "morality", "events", SAFETY_PERFORMANCE_KEY)
                if key in info
            }
            info["final_info"].update({"_" + key: done for key in list(info["final_info"])})
            info["_final_info"] = done
            self._reset_envs(done)
            obs = self._obs.copy()
        self._autoreset = done
        return obs, outs[:, k.O_REWARD].copy(), terms, truncs, info

    def render(self) -> tuple[Any, ...] | None:
        return None
