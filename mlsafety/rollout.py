"""The episode loop every evaluator shares (``mlsafety evaluate``, the regression suites).

:func:`run_episodes` plays a :class:`~mlsafety.types.Predictor` on a Gymnasium env that has
:class:`~mlsafety.wrappers.SafetyStats` inside it and returns each episode's safety totals.
Episode ``e`` of seed ``s`` resets with :func:`episode_seed` ``(s, e)``, so every evaluator
plays the same episodes for the same seeds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from mlsafety.types import Predictor
from mlsafety.wrappers import EPISODE_KEY

SEED_STRIDE = 100_003
"""Episode ``e`` of seed ``s`` resets with ``s * SEED_STRIDE + e`` (a prime stride)."""


def episode_seed(seed: int, episode: int) -> int:
    """The reset seed of episode ``episode`` under evaluation seed ``seed``."""
    return int(seed) * SEED_STRIDE + int(episode)


def run_episodes(
    env: Any,
    policy: Predictor,
    seeds: Sequence[int],
    episodes: int,
    deterministic: bool = True,
    action_masks: Callable[[], Any] | None = None,
) -> list[dict[str, Any]]:
    """``episodes`` episodes per seed of ``policy`` on ``env``; one row per episode.

    Each row is the episode's ``info["safety_episode"]`` plus ``seed`` and ``episode``.
    ``action_masks`` (a callable returning the current mask) is passed to ``predict`` as
    MaskablePPO takes it. A policy with ``reset(seed)`` (scripted and reference policies) is
    reset with the episode's seed. Actions go to the env as ints, or as arrays where its
    action space is a ``Box`` (continuous control).
    """
    if episodes < 1 or not seeds:
        raise ValueError(f"episodes must be positive and seeds non-empty, got {episodes}, {seeds}")
    reset = getattr(policy, "reset", None)
    box = isinstance(getattr(env, "action_space", None), spaces.Box)
    rows: list[dict[str, Any]] = []
    for seed in seeds:
        for ep in range(episodes):
            s = episode_seed(seed, ep)
            obs, _ = env.reset(seed=s)
            if callable(reset):
                reset(s)
            while True:
                kwargs = {} if action_masks is None else {"action_masks": action_masks()}
                action, _ = policy.predict(obs, deterministic=deterministic, **kwargs)
                act = np.asarray(action)
                obs, _, term, trunc, info = env.step(act if box else int(act.item()))
                if term or trunc:
                    if EPISODE_KEY not in info:
                        raise ValueError(
                            "the episode ended without info['safety_episode']: wrap the env "
                            "in mlsafety.wrappers.SafetyStats"
                        )
                    rows.append({**info[EPISODE_KEY], "seed": seed, "episode": ep})
                    break
    return rows
