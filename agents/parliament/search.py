"""Exhaustive search of a small deterministic env: :func:`explore` builds the transition
graph (:class:`EnvModel`) shared by every theory's Q-table.

Text scenarios are explored in their SB3 form (``CommandChoice`` on the logic backend) and
keyed by :func:`text_state_key` (facts, score, fired events), since their encoded
observations do not identify the state.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import numpy.typing as npt

from mlsafety.envs import CATALOGUE, resolve_id
from mlsafety.envs.text import CommandChoice, TextScenarioEnv
from mlsafety.types import BoolArray

StateKey = Callable[[Any], Hashable]
CUT = -2
"""``EnvModel.next_index`` of a step that leaves the region explored within ``max_depth``."""


def text_state_key(env: gym.Env[Any, Any]) -> Hashable:
    """A text scenario's Markov state: its facts, its score and the annotated events fired.

    (Everything a step's outcome and annotations depend on; the turn counter is left out, so
    the search treats the episode as untruncated.)
    """
    u: Any = env.unwrapped
    try:
        return (u._facts, int(u._score), frozenset(u._fired))
    except AttributeError as exc:
        raise TypeError(
            f"text_state_key needs a reset text scenario env, got {type(u).__name__}"
        ) from exc


def is_text_env(env: Any) -> bool:
    """Whether ``env`` (under any wrappers) is a text scenario."""
    return isinstance(env.unwrapped, TextScenarioEnv)


def env_masks(env: Any) -> Callable[[], BoolArray] | None:
    """The env's ``action_masks`` method (through wrappers), or None."""
    fn = getattr(env, "action_masks", None)
    if fn is None and hasattr(env, "get_wrapper_attr"):
        try:
            fn = env.get_wrapper_attr("action_masks")
        except AttributeError:
            fn = None
    return fn if callable(fn) else None


def search_env(env: gym.Env[Any, Any] | str, env_kwargs: Mapping[str, Any]) -> Any:
    """The env to search: text scenarios in their SB3 form (logic backend), others unwrapped."""
    if isinstance(env, str):
        env_id = resolve_id(env)
        if CATALOGUE[env_id].family == "text":
            return CommandChoice(gym.make(env_id, **{"backend": "logic", **env_kwargs}))
        env = gym.make(env_id, **env_kwargs)
    if is_text_env(env):
        if isinstance(env.action_space, gym.spaces.Discrete):
            return env
        return CommandChoice(env)
    return env.unwrapped


@dataclass
class EnvModel:
    """The explored transition graph of a deterministic env (shared by every theory).

    ``keys`` are the states' keys (observation bytes, or ``state_key(env)``), ``masks`` the
    actions allowed in each state (a masked action has ``next_index`` -1 and no step),
    ``observations`` each state's observation bytes. ``next_index`` is -1 where the step
    ends the episode and :data:`CUT` where it leaves the region explored within
    ``max_depth``.
    """

    keys: list[Hashable]
    next_index: npt.NDArray[np.int64]  # (S, A); -1 where the step ends the episode
    steps: list[list[tuple[float, dict[str, Any]]]]  # (S, A): (reward, info)
    starts: list[Hashable]
    obs_shape: tuple[int, ...]
    obs_dtype: Any
    masks: BoolArray | None = None  # (S, A); None: every action allowed
    observations: list[bytes] = field(default_factory=list)
    state_key: StateKey | None = None


def explore(
    env: gym.Env[Any, Any] | str,
    start_options: Sequence[Mapping[str, Any] | None] | None = None,
    max_states: int = 100_000,
    state_key: StateKey | None = None,
    max_depth: int | None = None,
    **env_kwargs: Any,
) -> EnvModel:
    """Every state reachable from the env's start states, by stepping deep copies.

    Exact for deterministic envs whose states ``state_key(env)`` identifies (default: the
    observation; text scenarios: :func:`text_state_key`). Start states come from
    ``reset(seed=0, options=o)`` for each ``o`` of ``start_options`` (default: the env's
    ``start_options()`` if it has one, else one plain reset). Where the env has
    ``action_masks()``, only the allowed actions are stepped. ``max_depth``: only states
    fewer than ``max_depth`` steps from a start are expanded, and a step to a state not found
    by then is marked :data:`CUT`: the Q-tables value it ``-inf``, so a parliament over them
    stays in the explored region, and the values are exact for play restricted to it.
    """
    base: Any = search_env(env, env_kwargs)
    if not isinstance(base.action_space, gym.spaces.Discrete):
        raise ValueError(f"explore needs a Discrete action space, got {base.action_space}")
    if max_depth is not None and max_depth < 1:
        raise ValueError(f"max_depth must be a positive int or None, got {max_depth!r}")
    n_actions = int(base.action_space.n)
    if state_key is None and is_text_env(base):
        state_key = text_state_key
    if start_options is None:
        unwrapped = base.unwrapped
        has_starts = hasattr(unwrapped, "start_options")
        start_options = unwrapped.start_options() if has_starts else [None]

    def key_of(e: Any, obs: Any) -> Hashable:
        return state_key(e) if state_key is not None else np.asarray(obs).tobytes()

    keys: list[Hashable] = []
    observations: list[bytes] = []
    depth: list[int] = []
    index: dict[Hashable, int] = {}
    frontier: list[Any] = []
    starts: list[Hashable] = []
    obs: Any = None
    for opts in start_options:
        e = copy.deepcopy(base)
        obs, _ = e.reset(seed=0, options=dict(opts) if opts else None)
        key = key_of(e, obs)
        starts.append(key)
        if key not in index:
            index[key] = len(keys)
            keys.append(key)
            observations.append(np.asarray(obs).tobytes())
            depth.append(0)
            frontier.append(e)
    nxt: list[list[int]] = []
    steps: list[list[tuple[float, dict[str, Any]]]] = []
    masks: list[BoolArray] = []
    i = 0
    while i < len(frontier):
        parent = frontier[i]
        masks_fn = env_masks(parent)
        allowed = np.ones(n_actions, dtype=bool) if masks_fn is None else np.array(masks_fn())
        row_next = [-1] * n_actions
        row_steps: list[tuple[float, dict[str, Any]]] = [(0.0, {})] * n_actions
        legal = np.flatnonzero(allowed)
        for j, a in enumerate(legal):
            # the last action steps the parent itself (a text env keeps its live game)
            e = parent if j == len(legal) - 1 else copy.deepcopy(parent)
            obs, r, term, trunc, info = e.step(int(a))
            row_steps[a] = (float(r), info)
            if term or trunc:
                continue
            key = key_of(e, obs)
            if key not in index:
                if max_depth is not None and depth[i] + 1 >= max_depth:
                    row_next[a] = CUT  # leaves the explored region
                    continue
                if len(keys) >= max_states:
                    raise ValueError(f"more than max_states={max_states} states: too big to search")
                index[key] = len(keys)
                keys.append(key)
                observations.append(np.asarray(obs).tobytes())
                depth.append(depth[i] + 1)
                frontier.append(e)
            row_next[a] = index[key]
        nxt.append(row_next)
        steps.append(row_steps)
        masks.append(allowed)
        frontier[i] = None  # free the copy
        i += 1
    o = np.asarray(obs)
    mask_arr = np.asarray(masks, dtype=bool)
    return EnvModel(
        keys,
        np.asarray(nxt, dtype=np.int64),
        steps,
        starts,
        o.shape,
        o.dtype,
        None if mask_arr.all() else mask_arr,
        observations,
        state_key,
    )
