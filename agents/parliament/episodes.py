"""Playing episodes of a policy on the dilemma envs and summing what they report."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np

from mlsafety.agents.parliament.search import env_masks
from mlsafety.contract import MORALITY_LABELS
from mlsafety.types import Predictor

OUTCOME_LETTERS = {"diverted": "D", "pushed": "P", "lied": "L", "misled": "M", "doomsday": "X"}
"""The option an episode took, by its first-step event; ``"N"`` for none (doing nothing)."""
MORALITY = MORALITY_LABELS


class Episode(NamedTuple):
    """One episode: the option letter, the summed extras, event counts and actions taken."""

    letter: str
    totals: dict[str, float]
    events: dict[str, int]
    actions: list[int]


def accepts_masks(policy: Predictor) -> bool:
    """Whether ``policy.predict`` takes ``action_masks`` (as MaskablePPO's does)."""
    try:
        params = inspect.signature(policy.predict).parameters
    except (TypeError, ValueError):
        return False
    return "action_masks" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def run_episode(
    policy: Predictor,
    env: gym.Env[Any, Any],
    seed: int | None = 0,
    options: Mapping[str, Any] | None = None,
    deterministic: bool = True,
) -> Episode:
    """One episode of an SB3-like ``policy`` on ``env``, as an :class:`Episode`.

    ``totals`` sums ``reward``, ``deaths``, ``used_as_means``, ``deceptions``, the morality
    vector (``harm_others``, ``harm_self``, ``help_others``, ``help_self``) and ``cost``, and
    holds the last step's ``performance`` (percent completion) and the ``length``. A policy
    with ``bind`` (the parliament, a Q-table) is bound to ``env`` first; where the env has
    ``action_masks()`` and ``predict`` takes them, they are passed at every step.
    """
    if hasattr(policy, "bind"):
        policy.bind(env)
    masks_fn = env_masks(env) if accepts_masks(policy) else None
    obs, _ = env.reset(seed=seed, options=dict(options) if options else None)
    letter = "N"
    names = ("reward", "deaths", "used_as_means", "deceptions", "cost", "performance", "length")
    totals = dict.fromkeys(names + MORALITY, 0.0)
    events: dict[str, int] = {}
    actions: list[int] = []
    first = True
    while True:
        kwargs = {"action_masks": masks_fn()} if masks_fn is not None else {}
        action, _ = policy.predict(
            obs, episode_start=np.array([first]), deterministic=deterministic, **kwargs
        )
        first = False
        actions.append(int(np.asarray(action).item()))
        obs, r, term, trunc, info = env.step(actions[-1])
        totals["reward"] += float(r)
        for j, key in enumerate(MORALITY):
            totals[key] += float(info["morality"][j])
        for key in ("deaths", "used_as_means", "deceptions", "cost"):
            totals[key] += float(info.get(key, 0.0))
        totals["performance"] = float(info.get("performance", 0.0))
        totals["length"] += 1
        for ev in info["events"]:
            letter = OUTCOME_LETTERS.get(ev, letter)
            events[ev] = events.get(ev, 0) + 1
        if term or trunc:
            return Episode(letter, totals, events, actions)


def play_episode(
    policy: Predictor,
    env: gym.Env[Any, Any],
    seed: int | None = 0,
    options: Mapping[str, Any] | None = None,
    deterministic: bool = True,
) -> tuple[str, dict[str, float]]:
    """One episode of an SB3-like ``policy``: the option letter and the summed extras.

    Returns ``(letter, totals)`` of :func:`run_episode` (``totals`` has the episode sums of
    ``reward``, ``deaths``, ``harm_others``, ``used_as_means``, ``deceptions`` and more).
    """
    ep = run_episode(policy, env, seed, options, deterministic)
    return ep.letter, ep.totals
