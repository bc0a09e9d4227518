"""Distribution shifts to test monitors and the conservative fallback on.

- :class:`ObservationNoise`: corrupt observations. On the gridworlds' integer tile ``Box``
  each cell is replaced, with probability ``scale``, by a tile drawn uniformly from the
  space's range; on a float ``Box`` Gaussian noise of standard deviation ``scale`` is added
  (clipped to the bounds). Seeded: ``ObservationNoise(env, scale, seed)``.
- Perturbed gridworlds (:func:`perturbed_gridworld`, :data:`PERTURBATIONS`): the same
  dynamics and rewards on shifted maps of the faithful levels (moved hazards, new hazards
  or walls), each a registered ID of the base env (its ``layout=`` option), made with
  ``gym.make``.
- The DistributionalShift test split: :func:`distributional_shift_test` (the registered
  ``mlsafety/DistributionalShiftTest-v0``).
- Text: :func:`text_split_env` (``TextGenEnv`` on the held-out ``"test"`` split, or the
  training split) and :func:`text_features` (the ``hashed_bow`` encoding of
  :mod:`mlsafety.envs.text.choice`) to give feature-space detectors a vector per step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import numpy.typing as npt
from gymnasium import spaces

import mlsafety.envs  # noqa: F401  (registers the IDs)
from mlsafety.envs.text import TextGenEnv, hashed_bow


class ObservationNoise(gym.ObservationWrapper[Any, Any, Any]):
    """Seeded observation noise on a ``Box`` observation space.

    Integer ``Box`` (tile codes): each entry is replaced with probability ``scale`` by a
    value drawn uniformly from ``[low, high]`` (which may equal the old one; the realised
    change rate is ``scale * (1 - 1/n_values)``). Float ``Box``: ``obs + scale * N(0, 1)``,
    clipped to the bounds. ``last_mask`` is the boolean mask of replaced entries (integer
    spaces) after each observation. The generator is seeded with ``seed`` at construction and
    re-seeded when ``reset`` gets a seed (with ``[seed, reset seed]``), so runs repeat.
    """

    def __init__(self, env: gym.Env[Any, Any], scale: float, seed: int | None = None) -> None:
        super().__init__(env)
        space = env.observation_space
        if not isinstance(space, spaces.Box):
            raise TypeError(
                f"ObservationNoise needs a Box observation space, got {type(space).__name__}"
            )
        s = float(scale)
        if not np.isfinite(s) or s < 0:
            raise ValueError(f"scale must be a finite float >= 0, got {scale!r}")
        self.discrete = np.issubdtype(space.dtype, np.integer)
        if self.discrete and s > 1:
            raise ValueError(f"scale is a flip probability on integer Boxes: in [0, 1], got {s}")
        self.scale = s
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.last_mask: npt.NDArray[np.bool_] | None = None
        self._low = np.broadcast_to(space.low, space.shape)
        self._high = np.broadcast_to(space.high, space.shape)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        if seed is not None:
            base = [] if self.seed is None else [int(self.seed)]
            self.rng = np.random.default_rng([*base, int(seed)])
        return super().reset(seed=seed, options=options)

    def observation(self, observation: Any) -> Any:
        obs = np.asarray(observation)
        space = self.observation_space
        if self.discrete:
            mask = self.rng.random(obs.shape) < self.scale
            self.last_mask = mask
            if not mask.any():
                return obs.copy()
            draws = self.rng.integers(
                self._low.astype(np.int64), self._high.astype(np.int64) + 1, size=obs.shape
            )
            return np.where(mask, draws, obs).astype(space.dtype)
        noisy = obs + self.scale * self.rng.standard_normal(obs.shape)
        return np.clip(noisy, self._low, self._high).astype(space.dtype)


# ---- perturbed gridworlds -------------------------------------------------------------

ISLAND_PERTURBATIONS: dict[str, str] = {
    # the lake has spread onto the shortest dry route below the start
    "water_near_start": "mlsafety/IslandNavigationWaterNearStart-v0",
    # a pond lies between the start and the goal
    "moved_lake": "mlsafety/IslandNavigationMovedLake-v0",
}
"""IslandNavigation's shifted maps: variant name -> registered ID."""
DISTRIBUTIONAL_SHIFT_PERTURBATIONS: dict[str, str] = {
    # new lava on the memorised route's corridor, and a wall segment that was never there
    "new_lava": "mlsafety/DistributionalShiftNewLava-v0",
    # the goal's neighbourhood is lava: the last step of the memorised route burns
    "lava_at_goal": "mlsafety/DistributionalShiftLavaAtGoal-v0",
}
"""DistributionalShift's shifted training maps: variant name -> registered ID."""

PERTURBATIONS: dict[str, dict[str, str]] = {
    "IslandNavigation": ISLAND_PERTURBATIONS,
    "DistributionalShift": DISTRIBUTIONAL_SHIFT_PERTURBATIONS,
}
"""Base env name -> {variant name: registered ID of the perturbed env}."""


def perturbed_gridworld(name: str, variant: str, **kwargs: Any) -> gym.Env[Any, Any]:
    """A perturbed gridworld: ``perturbed_gridworld("IslandNavigation", "moved_lake")``.

    The base env's rules on a shifted map, made with ``gym.make`` from its registered ID;
    ``kwargs`` go to the env's constructor (``layout=`` rows replace the map).
    """
    if name not in PERTURBATIONS:
        raise ValueError(f"no perturbations for {name!r}; choose one of {sorted(PERTURBATIONS)}")
    table = PERTURBATIONS[name]
    if variant not in table:
        raise ValueError(f"unknown perturbation {variant!r}; choose one of {sorted(table)}")
    return gym.make(table[variant], **kwargs)


def perturbed_factory(name: str, variant: str, **kwargs: Any) -> Callable[[], gym.Env[Any, Any]]:
    """A zero-argument factory of :func:`perturbed_gridworld` (for ``check_safety_env``)."""

    def make() -> gym.Env[Any, Any]:
        return perturbed_gridworld(name, variant, **kwargs)

    return make


def distributional_shift_test(**kwargs: Any) -> gym.Env[Any, Any]:
    """The DistributionalShift test split (``mlsafety/DistributionalShiftTest-v0``)."""
    return gym.make("mlsafety/DistributionalShiftTest-v0", **kwargs)


# ---- text -----------------------------------------------------------------------------

TEXT_DIM = 256


def text_features(text: str, dim: int = TEXT_DIM) -> npt.NDArray[np.float32]:
    """The hashed bag of unigrams and bigrams of :mod:`mlsafety.envs.text.choice`."""
    return hashed_bow(str(text), dim)


def text_split_env(split: str = "test", **kwargs: Any) -> gym.Env[Any, Any]:
    """``TextGenEnv`` on ``split`` (``"test"``: the generator's held-out split)."""
    return TextGenEnv(split=split, **kwargs)
