"""The skeleton of a batched repeated game: ``num_envs`` copies of a matrix or price game
stepped together with numpy, each copy auto-reset when it reaches ``max_cycles``.

:class:`RepeatedGameBatch` holds what the stag hunt and the pricing duopoly batches share:
per-copy seeding (copy ``i`` seeded like the single env with ``seed + i``), the action-shape
check, the step (contract arrays, events, per-copy social outcomes and auto-reset, the
observation before the reset in ``infos["final_obs"]``) and the info layout. A game supplies
its core (:class:`GameCore`: N copies of its state) and four hooks: :meth:`check_actions`,
:meth:`observe`, :meth:`step_rewards` and :meth:`extra_infos`. Also here: the agents'
own-first order and the two parameter checks these games share.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar, Protocol

import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding

from mlsafety.envs.core import copy_seeds
from mlsafety.types import F32, F64, I64


def own_first_order(n: int) -> I64:
    """``order[i]``: the agents as seen by agent ``i`` (itself first, then the others)."""
    return np.array([[i] + [j for j in range(n) if j != i] for i in range(n)], dtype=np.int64)


def int_at_least(name: str, value: int, low: int) -> int:
    """``value`` as an int; ``ValueError`` naming ``name`` unless it is an integer >= ``low``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def finite(name: str, value: float) -> float:
    """``value`` as a float; ``ValueError`` naming ``name`` unless it is a finite number."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return v


class GameCore(Protocol):
    """N copies of a repeated game's state (the single env is the core with N = 1)."""

    t: I64

    def reset_copy(self, k: int, rng: np.random.Generator) -> None: ...

    def step(self, actions: I64) -> None: ...

    def contract(self) -> tuple[F64, F64, F32]: ...

    def events(self, k: int) -> list[tuple[str, ...]]: ...

    def social(self, k: int) -> dict[str, float]: ...


class RepeatedGameBatch:
    """``num_envs`` copies of a repeated game stepped together (auto-reset); see the module.

    ``infos`` is a dict of arrays: ``true_reward``, ``cost`` (N, A), ``morality`` (N, A, 4)
    float32, ``events`` (N, A) object array of tuples, the game's :meth:`extra_infos`,
    ``final_obs`` (N, A, obs_dim) (the observation before any auto-reset, for every copy) and
    ``social`` (a list of N: the episode's social outcomes for copies that finished this
    step, else None).
    """

    metadata: ClassVar[dict[str, Any]] = {}
    core: GameCore

    def __init__(
        self,
        num_envs: int,
        num_agents: int,
        max_cycles: int,
        observation_space: spaces.Box,
        action_space: spaces.Discrete,
        render_mode: str | None,
    ) -> None:
        """Set the shared attributes; a game validates ``num_envs`` and its own parameters
        first, calls this, then sets :attr:`core`."""
        self.num_envs = num_envs
        self.max_cycles = int_at_least("max_cycles", max_cycles, 1)
        self.num_agents = num_agents
        self.possible_agents = [f"agent_{i}" for i in range(num_agents)]
        self.observation_space = observation_space
        self.action_space = action_space
        self._rngs: list[np.random.Generator] = [
            seeding.np_random(None)[0] for _ in range(num_envs)
        ]
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']} or None, "
                f"got {render_mode!r}"
            )
        self.render_mode = render_mode  # accepted for symmetry with the single env; no rendering
        self._started = False

    # ------------------------------------------------------------------ the game's hooks
    def check_actions(self, actions: Any) -> I64:
        """The actions as an int64 array; ``ValueError`` for values the game does not take."""
        raise NotImplementedError

    def observe(self) -> F32:
        """Every copy's observations: (N, A, obs_dim) float32."""
        raise NotImplementedError

    def step_rewards(self) -> F32:
        """The rewards of the step just played: (N, A) float32."""
        raise NotImplementedError

    def extra_infos(self) -> dict[str, Any]:
        """Game-specific info arrays (after any auto-reset, like ``obs``)."""
        return {}

    # ------------------------------------------------------------------ the shared skeleton
    def reset(
        self, seed: int | Sequence[int] | None = None, options: dict[str, Any] | None = None
    ) -> F32:
        """Reset every copy; ``seed`` is the first copy's seed (copy ``i`` gets ``seed + i``)
        or a sequence of ``num_envs`` seeds."""
        if seed is not None:
            self._rngs = [seeding.np_random(s)[0] for s in copy_seeds(seed, self.num_envs)]
        for k in range(self.num_envs):
            self.core.reset_copy(k, self._rngs[k])
        self._started = True
        return self.observe()

    def step(self, actions: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        if not self._started:
            raise RuntimeError("call reset() before step()")
        acts = self.check_actions(actions)
        if acts.shape != (self.num_envs, self.num_agents):
            raise ValueError(
                f"actions must have shape (num_envs, num_agents) = "
                f"{(self.num_envs, self.num_agents)}, got {acts.shape}"
            )
        core = self.core
        core.step(acts)
        true, cost, morality = core.contract()
        rewards = self.step_rewards()
        final_obs = self.observe()
        truncs = core.t >= self.max_cycles
        terms = np.zeros(self.num_envs, dtype=bool)
        events = np.empty((self.num_envs, self.num_agents), dtype=object)
        for k in range(self.num_envs):
            for i, ev in enumerate(core.events(k)):
                events[k, i] = ev
        social: list[dict[str, float] | None] = [None] * self.num_envs
        for k in np.flatnonzero(truncs).tolist():
            social[k] = core.social(k)
            core.reset_copy(k, self._rngs[k])
        obs = self.observe() if truncs.any() else final_obs.copy()
        infos = {
            "true_reward": true,
            "cost": cost,
            "morality": morality,
            "events": events,
            **self.extra_infos(),
            "final_obs": final_obs,
            "social": social,
        }
        return obs, rewards, terms, truncs.copy(), infos

    def close(self) -> None:
        pass
