"""Voting rules and the moral parliament (see :mod:`mlsafety.agents.parliament`).

:class:`MoralParliament` combines the theories' Q-functions with credences by one of
:data:`RULES` while acting; :func:`parliament_q_tables` computes each theory's values when
the parliament itself acts from the next step on (stateless forms of the rules).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import numpy.typing as npt

from mlsafety.agents.parliament.qtables import (
    QTablePolicy,
    as_q_function,
    check_masks,
    policy_table,
    theory_rewards,
    value_iteration,
)
from mlsafety.agents.parliament.search import EnvModel
from mlsafety.agents.parliament.theories import Theory
from mlsafety.types import F64, BoolArray

RULES = ("mec", "variance", "nash", "proportional", "borda")
TOL = 1e-9


def check_credences(names: Sequence[str], credences: Mapping[str, float]) -> F64:
    missing = [n for n in names if n not in credences]
    extra = [n for n in credences if n not in names]
    if missing or extra:
        raise ValueError(
            f"credences must name exactly the theories {list(names)}: "
            f"missing {missing}, unknown {extra}"
        )
    c = np.array([float(credences[n]) for n in names])
    if not np.all(np.isfinite(c)) or np.any(c < 0):
        raise ValueError(f"credences must be finite and non-negative, got {dict(credences)}")
    if not math.isclose(float(c.sum()), 1.0, abs_tol=1e-6):
        raise ValueError(f"credences must sum to 1, got {float(c.sum())} ({dict(credences)})")
    return c


class MoralParliament:
    """Theories with credences, combined by a voting rule; used like an SB3 model.

    ``theories`` maps names to Q-functions (objects with ``q_values(obs)``, e.g.
    :class:`QTablePolicy`) or SB3 models; ``credences`` maps the same names to non-negative
    floats summing to 1; ``rule`` is one of :data:`RULES`. ``budget`` is Nash voting's
    per-episode vote budget (theory ``i`` gets ``budget * c_i``). ``credence_schedule``, if
    given, is called with the episode number at every episode start and returns that
    episode's credences. ``track_variance``: variance voting adds every state it sees to its
    running statistics (turn it off to freeze them).

    ``predict(obs, state, episode_start, deterministic)`` takes one observation or a batch.
    When ``episode_start`` is None (as :func:`mlsafety.agents.evaluate.evaluate` calls it), an
    observation that a theory's Q-table knows as a start state starts a new episode.
    """

    def __init__(
        self,
        theories: Mapping[str, Any],
        credences: Mapping[str, float],
        rule: str = "mec",
        budget: float = 1.0,
        seed: int | None = None,
        rng: np.random.Generator | None = None,
        credence_schedule: Callable[[int], Mapping[str, float]] | None = None,
        track_variance: bool = True,
    ) -> None:
        if rule not in RULES:
            raise ValueError(f"unknown rule {rule!r}; rules are {list(RULES)}")
        if not theories:
            raise ValueError("a parliament needs at least one theory")
        if not (math.isfinite(budget) and budget > 0):
            raise ValueError(f"budget must be a positive number, got {budget!r}")
        self.names = list(theories)
        self.q_functions = [as_q_function(theories[n]) for n in self.names]
        self.rule = rule
        self.budget = float(budget)
        self.credences = check_credences(self.names, credences)
        self.credence_schedule = credence_schedule
        self.track_variance = track_variance
        self.rng = rng if rng is not None else np.random.default_rng(seed)
        shapes = {tuple(getattr(q, "obs_shape", ())) for q in self.q_functions}
        self.obs_shape = shapes.pop() if len(shapes) == 1 else None
        self.episodes = 0
        self._budgets = np.zeros((0, len(self.names)))
        self.reset_statistics()

    # credences and statistics

    def set_credences(self, credences: Mapping[str, float]) -> None:
        """New credences, from now on (Nash budgets are re-drawn at the next episode)."""
        self.credences = check_credences(self.names, credences)

    def reset_statistics(self) -> None:
        """Forget variance voting's running statistics."""
        self._var_sum = np.zeros(len(self.names))
        self._var_n = 0

    def observe(self, obs: Any, action_masks: Any = None) -> None:
        """Add states (one observation or a batch) to variance voting's statistics (the
        variance of each theory's values over the allowed actions)."""
        per_obs, single = self._q_batch(obs)
        masks = self._masks(per_obs, single, action_masks)
        for q, m in zip(per_obs, masks, strict=True):
            self._var_sum += q[:, m].var(axis=1)
            self._var_n += 1

    @property
    def sigmas(self) -> F64:
        """Variance voting's per-theory normaliser: sqrt(mean action-variance over states)."""
        return np.sqrt(self._var_sum / max(self._var_n, 1))

    def bind(self, env: gym.Env[Any, Any] | None) -> MoralParliament:
        """Bind every Q-table keyed by hidden state to ``env`` (see :meth:`QTablePolicy.bind`);
        returns self. :func:`play_episode` does this."""
        for q in self.q_functions:
            if hasattr(q, "bind"):
                q.bind(env)
        return self

    # acting

    def _q_batch(self, obs: Any) -> tuple[list[F64], bool]:
        o = np.asarray(obs)
        single = self.obs_shape is not None and o.shape == self.obs_shape
        batch = o[None] if single else o
        qs = [np.asarray(f.q_values(batch), dtype=np.float64) for f in self.q_functions]
        per_obs = [np.stack([q[i] for q in qs]) for i in range(len(batch))]  # (T, A) each
        return per_obs, single

    def _masks(self, per_obs: list[F64], single: bool, action_masks: Any) -> list[BoolArray]:
        """Per observation, the actions allowed: by ``action_masks`` and by every theory
        (an action a theory values at -inf, e.g. inadmissible in its Q-table, is ruled out)."""
        n_actions = per_obs[0].shape[1] if per_obs else 0
        given: BoolArray | None = None
        if action_masks is not None:
            shape = (n_actions,) if single else (len(per_obs), n_actions)
            given = check_masks(action_masks, shape, "the parliament").reshape(-1, n_actions)
        out = []
        for i, q in enumerate(per_obs):
            ok: BoolArray = np.asarray(np.isfinite(q).all(axis=0), dtype=bool)
            if given is not None:
                ok &= given[i]
            if not ok.any():
                raise ValueError(
                    "no action is allowed: the action_masks and the theories' Q-values "
                    "(-inf for inadmissible actions) rule out every action"
                )
            out.append(ok)
        return out

    def _start_episode(self, i: int) -> None:
        if self.credence_schedule is not None:
            self.set_credences(self.credence_schedule(self.episodes))
        self.episodes += 1
        self._budgets[i] = self.budget * self.credences

    def _is_start(self, o: Any) -> bool:
        return any(bool(getattr(f, "is_start", lambda _: False)(o)) for f in self.q_functions)

    def predict(
        self,
        obs: Any,
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = True,
        action_masks: Any = None,
    ) -> tuple[npt.NDArray[np.int64], Any]:
        """Actions for ``obs`` (one observation or a batch), SB3-style: ``(actions, state)``.

        ``state`` (returned and accepted) is Nash voting's remaining budgets ``(B, T)``.
        ``action_masks`` (``(A,)`` or ``(B, A)`` booleans, as for ``MaskablePPO.predict``):
        only allowed actions are chosen.
        """
        per_obs, single = self._q_batch(obs)
        masks = self._masks(per_obs, single, action_masks)
        n = len(per_obs)
        if self._budgets.shape[0] != n:
            self._budgets = np.zeros((n, len(self.names)))
            fresh = np.ones(n, dtype=bool)
        else:
            fresh = np.zeros(n, dtype=bool)
        if state is not None and np.shape(state) == self._budgets.shape:
            self._budgets = np.array(state, dtype=np.float64)
        starts = np.zeros(n, dtype=bool) if episode_start is None else np.asarray(episode_start)
        batch = np.asarray(obs)[None] if single else np.asarray(obs)
        actions = np.zeros(n, dtype=np.int64)
        for i, q in enumerate(per_obs):
            if episode_start is None:
                new = bool(fresh[i]) or self._is_start(batch[i])
            else:
                new = bool(fresh[i]) or bool(starts.reshape(-1)[i])
            if new:
                self._start_episode(i)
            allowed = np.flatnonzero(masks[i])
            actions[i] = allowed[self._choose(q[:, allowed], i)]
        out_state = self._budgets.copy() if self.rule == "nash" else None
        return (actions[0] if single else actions), out_state

    def scores(self, obs: Any, action_masks: Any = None) -> F64:
        """The rule's score of each action for one observation (no side effects; Nash voting:
        the votes with full budgets); ``-inf`` for the actions not allowed."""
        per_obs = self._q_batch(obs)[0]
        mask = self._masks(per_obs[:1], True, action_masks)[0]
        q = per_obs[0][:, mask]
        if self.rule == "nash":
            sub = self._nash_votes(q, self.budget * self.credences.copy())
        elif self.rule == "proportional":
            best = q >= q.max(axis=1, keepdims=True) - TOL
            sub = (self.credences[:, None] * best).sum(axis=0)
        else:
            sub = self._score(q, update=False)
        out = np.full(mask.shape, -np.inf)
        out[mask] = sub
        return out

    def _score(self, q: F64, update: bool) -> F64:
        c = self.credences
        centred = q - q.mean(axis=1, keepdims=True)
        if self.rule == "mec":
            return c @ q
        if self.rule == "variance":
            if update and self.track_variance:
                self._var_sum += q.var(axis=1)
                self._var_n += 1
            sig = self.sigmas
            norm = np.divide(centred, sig[:, None], out=np.zeros_like(q), where=sig[:, None] > TOL)
            return c @ norm
        # borda: actions ranked strictly below, ties count half
        below = (q[:, None, :] < q[:, :, None] - TOL).sum(axis=2)
        ties = (np.abs(q[:, None, :] - q[:, :, None]) <= TOL).sum(axis=2) - 1
        return c @ (below + 0.5 * ties)

    def _nash_votes(self, q: F64, budgets: F64) -> F64:
        votes = np.zeros(q.shape[1])
        for t in range(q.shape[0]):
            if budgets[t] > 0 and np.ptp(q[t]) > TOL:
                votes[q[t] >= q[t].max() - TOL] += budgets[t]
                budgets[t] = 0.0
        return votes

    def _compromise(self, q: F64) -> F64:
        rng_ = np.ptp(q, axis=1)[:, None]
        centred = q - q.mean(axis=1, keepdims=True)
        return self.credences @ np.divide(centred, rng_, out=np.zeros_like(q), where=rng_ > TOL)

    def _pick(self, score: F64, q: F64) -> int:
        tied = np.flatnonzero(score >= score.max() - TOL * max(1.0, float(np.abs(score).max())))
        if len(tied) > 1:
            comp = self._compromise(q)[tied]
            tied = tied[comp >= comp.max() - TOL]
        return int(tied[self.rng.integers(len(tied))]) if len(tied) > 1 else int(tied[0])

    def _choose(self, q: F64, i: int) -> int:
        if self.rule == "proportional":
            t = int(self.rng.choice(len(self.names), p=self.credences / self.credences.sum()))
            best = np.flatnonzero(q[t] >= q[t].max() - TOL)
            return self._pick(np.isin(np.arange(q.shape[1]), best).astype(float), q)
        if self.rule == "nash":
            return self._pick(self._nash_votes(q, self._budgets[i]), q)
        return self._pick(self._score(q, update=True), q)


def parliament_q_tables(
    model: EnvModel,
    theories: Sequence[Theory],
    credences: Mapping[str, float],
    rule: str = "mec",
    gamma: float = 0.99,
    max_rounds: int = 100,
    tol: float = 1e-10,
) -> dict[str, QTablePolicy]:
    """Each theory's Q-values when the parliament itself acts from the next step on.

    Optimal Q-tables assume each theory will have its own way afterwards, so a parliament
    over them can stall: a no-op keeps the egoist's shortcut open (``gamma * V(s)``) and
    costs the deontologist nothing, and wins over a longer honest path for ever. Here, as in
    Ecoffet & Lehman's on-policy training, ``Q_i(s, a) = r_i + gamma * Q_i(s', pi(s'))`` with
    ``pi`` the rule's choice over these same values (policy iteration from the optimal
    tables, until ``pi`` is stable or ``max_rounds``). Stateless forms of the rules: Nash
    voting with full budgets at every state, variance voting normalised over all explored
    states, proportional chances by its expected value (``pi`` mixes the theories' favoured
    actions by credence). Ties go to the scale-free compromise, then the lowest index.
    """
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}; rules are {list(RULES)}")
    names = [t.name for t in theories]
    c = check_credences(names, credences)
    pairs = [theory_rewards(model, t) for t in theories]
    allowed = pairs[0][1]
    rewards = np.stack([r for r, _ in pairs])  # (T, S, A)
    args = (model.next_index, allowed, gamma, tol, 10_000)
    q = np.stack([value_iteration(r, *args) for r in rewards])
    n_states = q.shape[1]
    scorer = _StatelessRule(rule, c)
    policy = np.full(n_states, -1, dtype=np.int64)
    live = model.next_index >= 0
    safe = np.where(live, model.next_index, 0)
    for _ in range(max_rounds):
        scorer.fit(q, allowed)
        if rule == "proportional":  # the expected value of a draw: a mixture of favourites
            best = np.stack([first_best(q[t], allowed) for t in range(len(names))])
            rows = np.arange(n_states)[None, :]
            for _ in range(10_000):
                v = np.einsum("k,tks->ts", c, q[:, rows, best])
                new = rewards + gamma * np.where(live, v[:, safe], 0.0)
                done = float(np.max(np.abs(new[:, allowed] - q[:, allowed]))) <= tol
                q = new
                if done:
                    break
            new_policy = best.reshape(-1)
        else:
            new_policy = np.array([scorer.choose(q[:, s], allowed[s]) for s in range(n_states)])
            q = np.stack(
                [value_iteration(rewards[t], *args, policy=new_policy) for t in range(len(q))]
            )
        if np.array_equal(new_policy, policy):
            break
        policy = new_policy
    return {n: policy_table(model, q[t], n) for t, n in enumerate(names)}


def first_best(q: F64, allowed: BoolArray) -> npt.NDArray[np.int64]:
    return np.asarray(np.argmax(np.where(allowed, q, -np.inf), axis=1), dtype=np.int64)


class _StatelessRule:
    """A rule's choice at one state from the theories' values (for :func:`parliament_q_tables`)."""

    def __init__(self, rule: str, credences: F64) -> None:
        self.rule = rule
        self.c = credences
        self.sigma = np.ones(len(credences))

    def fit(self, q: F64, allowed: BoolArray) -> None:
        if self.rule == "variance":
            var = [q[:, s][:, allowed[s]].var(axis=1) for s in range(q.shape[1])]
            self.sigma = np.sqrt(np.mean(var, axis=0))

    def choose(self, q: F64, allowed: BoolArray) -> int:
        idx = np.flatnonzero(allowed)
        sub = q[:, idx]
        centred = sub - sub.mean(axis=1, keepdims=True)
        if self.rule == "mec":
            score = self.c @ sub
        elif self.rule == "variance":
            sig = self.sigma[:, None]
            score = self.c @ np.divide(centred, sig, out=np.zeros_like(sub), where=sig > TOL)
        elif self.rule == "borda":
            below = (sub[:, None, :] < sub[:, :, None] - TOL).sum(axis=2)
            ties = (np.abs(sub[:, None, :] - sub[:, :, None]) <= TOL).sum(axis=2) - 1
            score = self.c @ (below + 0.5 * ties)
        else:  # nash, full budgets
            score = np.zeros(sub.shape[1])
            for t in range(sub.shape[0]):
                if np.ptp(sub[t]) > TOL:
                    score[sub[t] >= sub[t].max() - TOL] += self.c[t]
        tied = np.flatnonzero(score >= score.max() - TOL * max(1.0, float(np.abs(score).max())))
        rng_ = np.ptp(sub, axis=1)[:, None]
        comp = (self.c @ np.divide(centred, rng_, out=np.zeros_like(sub), where=rng_ > TOL))[tied]
        return int(idx[tied[int(np.argmax(comp >= comp.max() - TOL))]])
