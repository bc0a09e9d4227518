"""Theories' action values: exact Q-tables by value iteration on an explored env
(:func:`q_table`, :func:`q_tables`), or an SB3 model's (:class:`SB3QFunction`)."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np
import numpy.typing as npt

from mlsafety.agents.parliament.search import CUT, EnvModel, StateKey, explore
from mlsafety.agents.parliament.theories import Theory, deontological, egoist, utilitarian
from mlsafety.types import F64, BoolArray


@runtime_checkable
class QFunction(Protocol):
    """What the parliament needs from a theory's policy: action values per observation."""

    def q_values(self, obs: Any) -> F64: ...


class QTablePolicy:
    """A tabular Q-function: action values per state, looked up from the observation.

    ``table`` maps state keys to ``(n_actions,)`` values (``-inf`` for an action the env did
    not allow there). By default a state key is the observation's bytes (for Markov
    observations); ``aliases`` maps observation bytes to state keys where states are keyed
    otherwise (text scenarios), and ``state_key`` (a function of the env) is what
    :meth:`bind` uses to read the bound env's own state instead of the observation.

    ``q_values(obs)`` gives ``(n_actions,)`` for one observation and ``(B, n_actions)`` for a
    batch; ``predict`` acts greedily like an SB3 model (among ``action_masks`` if given);
    ``is_start(obs)`` tells whether ``obs`` is one of the env's start states (the parliament
    uses it to spot new episodes).
    """

    def __init__(
        self,
        table: Mapping[Hashable, F64],
        obs_shape: tuple[int, ...],
        obs_dtype: Any,
        starts: Sequence[Hashable] = (),
        name: str = "",
        aliases: Mapping[bytes, Hashable] | None = None,
        state_key: StateKey | None = None,
    ) -> None:
        if not table:
            raise ValueError("a Q-table needs at least one state")
        self.table = dict(table)
        self.obs_shape = tuple(obs_shape)
        self.obs_dtype = np.dtype(obs_dtype)
        self.starts = frozenset(starts)
        self.name = name
        self.aliases = dict(aliases) if aliases is not None else None
        self.state_key = state_key
        self.n_actions = len(next(iter(self.table.values())))
        self._bound: Any = None

    def bind(self, env: gym.Env[Any, Any] | None) -> QTablePolicy:
        """Look states up from ``env``'s own state (None: from the observation); returns self.

        Only tables keyed by state (``state_key`` set) can be bound; for the others this is a
        no-op. A bound table answers one observation at a time.
        """
        self._bound = env if self.state_key is not None else None
        return self

    def _key(self, obs: Any) -> Hashable:
        if self._bound is not None and self.state_key is not None:
            return self.state_key(self._bound)
        raw = np.ascontiguousarray(obs, dtype=self.obs_dtype).tobytes()
        if self.aliases is None:
            return raw
        return self.aliases.get(raw, raw)

    def q_values(self, obs: Any) -> F64:
        o = np.asarray(obs)
        if o.shape == self.obs_shape:
            key = self._key(o)
            if key not in self.table:
                raise ValueError(
                    f"observation not in {self.name or 'the'} Q-table: was the table computed "
                    "for this env (these stakes, a max_depth that reaches this state)?"
                )
            return self.table[key].copy()
        if o.shape[1:] != self.obs_shape:
            raise ValueError(f"observation shape {o.shape} does not match {self.obs_shape}")
        if self._bound is not None and len(o) != 1:
            raise ValueError("a Q-table bound to one env answers one observation at a time")
        return np.stack([self.q_values(x) for x in o])

    def is_start(self, obs: Any) -> bool:
        return self._key(obs) in self.starts

    def predict(
        self,
        obs: Any,
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = True,
        action_masks: Any = None,
    ) -> tuple[npt.NDArray[np.int64], Any]:
        q = self.q_values(obs)
        if action_masks is not None:
            q = np.where(check_masks(action_masks, q.shape, self.name or "Q-table"), q, -np.inf)
        return np.asarray(np.argmax(q, axis=-1), dtype=np.int64), state


def check_masks(masks: Any, shape: tuple[int, ...], who: str) -> BoolArray:
    """``masks`` as a boolean array of ``shape`` (a clear ValueError otherwise)."""
    m = np.asarray(masks)
    if m.shape != shape:
        raise ValueError(f"action_masks for {who} must have shape {shape}, got {m.shape}")
    if m.dtype != np.bool_ and not np.all((m == 0) | (m == 1)):
        raise ValueError(f"action_masks must be booleans (or 0/1), got values {np.unique(m)}")
    out = m.astype(bool)
    if not out.reshape(-1, shape[-1]).any(axis=1).all():
        raise ValueError("action_masks allow no action at some observation")
    return out


def value_iteration(
    rewards: F64,
    nxt: npt.NDArray[np.int64],
    allowed: BoolArray,
    gamma: float,
    tol: float,
    max_iterations: int,
    policy: npt.NDArray[np.int64] | None = None,
) -> F64:
    """Q-values on an explored graph: optimal, or of ``policy`` (one action per state)."""
    live = nxt >= 0
    safe = np.where(live, nxt, 0)
    q = rewards.copy()
    rows = np.arange(len(q))
    for _ in range(max_iterations):
        v = q.max(axis=1) if policy is None else q[rows, policy]
        new = rewards + gamma * np.where(live, v[safe], 0.0)
        done = float(np.max(np.abs(new[allowed] - q[allowed]))) <= tol
        q = new
        if done:
            break
    return q


def theory_rewards(m: EnvModel, theory: Theory) -> tuple[F64, BoolArray]:
    allowed = m.masks if m.masks is not None else np.ones(m.next_index.shape, dtype=bool)
    allowed = allowed & (m.next_index != CUT)
    rewards = np.array(
        [
            [theory(r, info) if ok else -np.inf for (r, info), ok in zip(row, oks, strict=True)]
            for row, oks in zip(m.steps, allowed, strict=True)
        ]
    )
    return rewards, allowed


def policy_table(m: EnvModel, q: F64, name: str) -> QTablePolicy:
    table = {key: q[s] for s, key in enumerate(m.keys)}
    aliases: dict[bytes, Hashable] | None = None
    if m.state_key is not None:  # an observation stands for the first state (nearest a start)
        aliases = {}
        for s, raw in enumerate(m.observations):
            aliases.setdefault(raw, m.keys[s])
    return QTablePolicy(table, m.obs_shape, m.obs_dtype, m.starts, name, aliases, m.state_key)


def q_table(
    model: EnvModel | gym.Env[Any, Any] | str,
    theory: Theory,
    gamma: float = 0.99,
    tol: float = 1e-10,
    max_iterations: int = 10_000,
) -> QTablePolicy:
    """The theory's exact optimal Q-table on an explored env, by value iteration.

    Actions the env did not allow get ``-inf``.
    """
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma must be in [0, 1], got {gamma}")
    m = model if isinstance(model, EnvModel) else explore(model)
    rewards, allowed = theory_rewards(m, theory)
    q = value_iteration(rewards, m.next_index, allowed, gamma, tol, max_iterations)
    return policy_table(m, q, theory.name)


def q_tables(
    env: EnvModel | gym.Env[Any, Any] | str,
    theories: Sequence[Theory] = (utilitarian, deontological, egoist),
    gamma: float = 0.99,
    max_depth: int | None = None,
    **env_kwargs: Any,
) -> dict[str, QTablePolicy]:
    """Exact Q-tables of several theories on one env (explored once)."""
    m = env if isinstance(env, EnvModel) else explore(env, max_depth=max_depth, **env_kwargs)
    return {t.name: q_table(m, t, gamma) for t in theories}


class SB3QFunction:
    """An SB3 model's action values: DQN's Q-network, else the action log-probabilities."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.obs_shape = tuple(model.observation_space.shape)

    def q_values(self, obs: Any) -> F64:
        import torch  # heavy: torch (seconds to import), only for SB3 models

        policy = self.model.policy
        obs_t, vectorized = policy.obs_to_tensor(np.asarray(obs))
        with torch.no_grad():
            if hasattr(policy, "q_net"):
                q = policy.q_net(obs_t)
            else:
                q = policy.get_distribution(obs_t).distribution.logits  # log-probabilities
        out = q.cpu().numpy().astype(np.float64)
        return out if vectorized else out[0]


def as_q_function(policy: Any) -> QFunction:
    """A :class:`QFunction` for ``policy``: itself if it has ``q_values``, or an SB3 model."""
    if hasattr(policy, "q_values"):
        return policy
    if hasattr(policy, "policy") and hasattr(policy, "observation_space"):
        return SB3QFunction(policy)
    raise TypeError(
        f"a theory's policy must have q_values(obs) or be an SB3 model, got {type(policy)!r}"
    )
