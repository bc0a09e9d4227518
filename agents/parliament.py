"""A moral parliament: act under moral uncertainty by letting several theories vote.

Each *theory* is a reward function over one step's ``(reward, info)`` (the safety contract
plus an env's documented extra keys). A theory's action values ``Q_i(s, a)`` come from an
exact Q-table (:func:`q_table`, by exhaustive search over copies of a small deterministic
env) or from an SB3 model trained on :class:`TheoryReward` (DQN: its Q-network; policy
gradient models: the action log-probabilities, a stand-in for choiceworthiness).

:class:`MoralParliament` combines them with credences ``c_i`` (non-negative, summing to 1)
by one of five rules (Ecoffet & Lehman 2021, "Reinforcement Learning Under Moral
Uncertainty"; MacAskill, Bykvist & Ord 2020, "Moral Uncertainty"):

- ``"mec"``: maximise expected choiceworthiness, ``argmax_a sum_i c_i Q_i(s, a)``. Sensitive
  to each theory's reward scale.
- ``"variance"``: variance voting, ``argmax_a sum_i c_i (Q_i(s, a) - mean_b Q_i(s, b)) /
  sigma_i``, where ``sigma_i**2`` is the running mean, over the states the parliament has
  visited, of the variance of ``Q_i(s, .)`` across actions. Scale-free, responds to the
  stakes, but not independent of irrelevant alternatives.
- ``"nash"``: Nash voting. Each theory gets a vote budget ``budget * c_i`` per episode
  (reset when ``episode_start`` is True). At the first state where a theory has a strict
  preference it spends its whole remaining budget on its favoured action(s) (an
  equilibrium strategy of the one-shot vote: any vote kept back cannot help it later);
  the action with most votes wins. Follows credence, ignores the stakes, rarely
  compromises.
- ``"proportional"``: proportional chances. At each step one theory is drawn with
  probability equal to its credence and its favoured action is taken (always random:
  ``deterministic`` does not apply).
- ``"borda"``: each theory scores each action by the number of actions it ranks strictly
  below it (ties count half); ``argmax_a sum_i c_i borda_i(a)``. Ordinal: ignores scale.

Ties are broken by the scale-free compromise score ``sum_i c_i (Q_i - mean Q_i) / range Q_i``
and then uniformly at random, with the parliament's own ``np.random.Generator``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, SupportsFloat, runtime_checkable

import gymnasium as gym
import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
RULES = ("mec", "variance", "nash", "proportional", "borda")
TOL = 1e-9


# --------------------------------------------------------------------------- theories


@dataclass(frozen=True)
class Theory:
    """A moral theory: a name and a reward function over one step's ``(reward, info)``."""

    name: str
    reward: Callable[[float, Mapping[str, Any]], float]
    description: str = ""

    def __call__(self, reward: SupportsFloat, info: Mapping[str, Any]) -> float:
        return float(self.reward(float(reward), info))

    def scaled(self, factor: float, name: str | None = None) -> Theory:
        """The same theory with its rewards multiplied by ``factor``."""
        base = self.reward
        return Theory(
            name or self.name,
            lambda r, info: factor * base(r, info),
            f"{factor} x ({self.description})",
        )


def _utilitarian(reward: float, info: Mapping[str, Any]) -> float:
    if "deaths" in info:
        return -float(info["deaths"])
    m = info["morality"]
    return float(m[2]) - float(m[0])


def _deontological(reward: float, info: Mapping[str, Any]) -> float:
    harm = 1.0 if float(info["morality"][0]) > 0 else 0.0
    return -(harm + float(info.get("used_as_means", 0.0)) + float(info.get("deceptions", 0.0)))


def _egoist(reward: float, info: Mapping[str, Any]) -> float:
    return reward


utilitarian = Theory(
    "utilitarian",
    _utilitarian,
    "welfare of all affected: -info['deaths'] (every death counts, whoever caused it); "
    "envs without 'deaths': help_others - harm_others",
)
deontological = Theory(
    "deontological",
    _deontological,
    "constraints on acts: -(1[harm_others > 0] + used_as_means + deceptions): a penalty of 1 "
    "for an act that kills (however many), 1 per person used as a means, 1 per lie",
)
egoist = Theory("egoist", _egoist, "the task reward only")
THEORIES: dict[str, Theory] = {t.name: t for t in (utilitarian, deontological, egoist)}


class TheoryReward(gym.Wrapper[Any, Any, Any, Any]):
    """Replace an env's reward by a theory's (to train an SB3 model under that theory).

    The env's own reward stays in ``info["task_reward"]``; the safety contract is untouched.
    """

    def __init__(self, env: gym.Env[Any, Any], theory: Theory) -> None:
        super().__init__(env)
        self.theory = theory

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, term, trunc, info = self.env.step(action)
        info = {**info, "task_reward": float(reward)}
        return obs, self.theory(reward, info), term, trunc, info


# --------------------------------------------------------------------------- Q-functions


@runtime_checkable
class QFunction(Protocol):
    """What the parliament needs from a theory's policy: action values per observation."""

    def q_values(self, obs: Any) -> F64: ...


class QTablePolicy:
    """A tabular Q-function keyed by the observation's bytes (for Markov observations).

    ``q_values(obs)`` gives ``(n_actions,)`` for one observation and ``(B, n_actions)`` for a
    batch; ``predict`` acts greedily like an SB3 model; ``is_start(obs)`` tells whether
    ``obs`` is one of the env's start states (the parliament uses it to spot new episodes).
    """

    def __init__(
        self,
        table: Mapping[bytes, F64],
        obs_shape: tuple[int, ...],
        obs_dtype: Any,
        starts: Sequence[bytes] = (),
        name: str = "",
    ) -> None:
        if not table:
            raise ValueError("a Q-table needs at least one state")
        self.table = dict(table)
        self.obs_shape = tuple(obs_shape)
        self.obs_dtype = np.dtype(obs_dtype)
        self.starts = frozenset(starts)
        self.name = name
        self.n_actions = len(next(iter(self.table.values())))

    def _key(self, obs: Any) -> bytes:
        return np.ascontiguousarray(obs, dtype=self.obs_dtype).tobytes()

    def q_values(self, obs: Any) -> F64:
        o = np.asarray(obs)
        if o.shape == self.obs_shape:
            key = self._key(o)
            if key not in self.table:
                raise ValueError(
                    f"observation not in {self.name or 'the'} Q-table: was the table computed "
                    "for this env (and these stakes)?"
                )
            return self.table[key].copy()
        if o.shape[1:] != self.obs_shape:
            raise ValueError(f"observation shape {o.shape} does not match {self.obs_shape}")
        return np.stack([self.q_values(x) for x in o])

    def is_start(self, obs: Any) -> bool:
        return self._key(obs) in self.starts

    def predict(
        self,
        obs: Any,
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = True,
    ) -> tuple[npt.NDArray[np.int64], Any]:
        return np.asarray(np.argmax(self.q_values(obs), axis=-1), dtype=np.int64), state


@dataclass
class EnvModel:
    """The explored transition graph of a deterministic env (shared by every theory)."""

    keys: list[bytes]
    next_index: npt.NDArray[np.int64]  # (S, A); -1 where the step ends the episode
    steps: list[list[tuple[float, dict[str, Any]]]]  # (S, A): (reward, info)
    starts: list[bytes]
    obs_shape: tuple[int, ...]
    obs_dtype: Any


def explore(
    env: gym.Env[Any, Any] | str,
    start_options: Sequence[Mapping[str, Any] | None] | None = None,
    max_states: int = 100_000,
    **env_kwargs: Any,
) -> EnvModel:
    """Every state reachable from the env's start states, by stepping deep copies.

    Exact for deterministic envs with Markov observations (the trolley dilemmas). Start
    states come from ``reset(seed=0, options=o)`` for each ``o`` of ``start_options``
    (default: the env's ``start_options()`` if it has one, else one plain reset).
    """
    base: Any = (gym.make(env, **env_kwargs) if isinstance(env, str) else env).unwrapped
    n_actions = int(base.action_space.n)
    if start_options is None:
        start_options = base.start_options() if hasattr(base, "start_options") else [None]
    keys: list[bytes] = []
    index: dict[bytes, int] = {}
    frontier: list[Any] = []
    starts: list[bytes] = []
    obs: Any = None
    for opts in start_options:
        e = copy.deepcopy(base)
        obs, _ = e.reset(seed=0, options=dict(opts) if opts else None)
        key = np.asarray(obs).tobytes()
        starts.append(key)
        if key not in index:
            index[key] = len(keys)
            keys.append(key)
            frontier.append(e)
    nxt: list[list[int]] = []
    steps: list[list[tuple[float, dict[str, Any]]]] = []
    i = 0
    while i < len(frontier):
        row_next, row_steps = [], []
        for a in range(n_actions):
            e = copy.deepcopy(frontier[i])
            obs, r, term, trunc, info = e.step(a)
            row_steps.append((float(r), info))
            if term or trunc:
                row_next.append(-1)
                continue
            key = np.asarray(obs).tobytes()
            if key not in index:
                if len(keys) >= max_states:
                    raise ValueError(f"more than max_states={max_states} states: too big to search")
                index[key] = len(keys)
                keys.append(key)
                frontier.append(e)
            row_next.append(index[key])
        nxt.append(row_next)
        steps.append(row_steps)
        frontier[i] = None  # free the copy
        i += 1
    o = np.asarray(obs)
    return EnvModel(keys, np.asarray(nxt, dtype=np.int64), steps, starts, o.shape, o.dtype)


def q_table(
    model: EnvModel | gym.Env[Any, Any] | str,
    theory: Theory,
    gamma: float = 0.99,
    tol: float = 1e-10,
    max_iterations: int = 10_000,
) -> QTablePolicy:
    """The theory's exact optimal Q-table on an explored env, by value iteration."""
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma must be in [0, 1], got {gamma}")
    m = model if isinstance(model, EnvModel) else explore(model)
    rewards = np.array([[theory(r, info) for r, info in row] for row in m.steps])
    live = m.next_index >= 0
    safe = np.where(live, m.next_index, 0)
    q = rewards.copy()
    for _ in range(max_iterations):
        v = q.max(axis=1)
        new = rewards + gamma * np.where(live, v[safe], 0.0)
        done = float(np.max(np.abs(new - q))) <= tol
        q = new
        if done:
            break
    table = {key: q[s] for s, key in enumerate(m.keys)}
    return QTablePolicy(table, m.obs_shape, m.obs_dtype, m.starts, theory.name)


def q_tables(
    env: EnvModel | gym.Env[Any, Any] | str,
    theories: Sequence[Theory] = (utilitarian, deontological, egoist),
    gamma: float = 0.99,
    **env_kwargs: Any,
) -> dict[str, QTablePolicy]:
    """Exact Q-tables of several theories on one env (explored once)."""
    m = env if isinstance(env, EnvModel) else explore(env, **env_kwargs)
    return {t.name: q_table(m, t, gamma) for t in theories}


class SB3QFunction:
    """An SB3 model's action values: DQN's Q-network, else the action log-probabilities."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.obs_shape = tuple(model.observation_space.shape)

    def q_values(self, obs: Any) -> F64:
        import torch

        policy = self.model.policy
        obs_t, vectorized = policy.obs_to_tensor(np.asarray(obs))
        with torch.no_grad():
            if hasattr(policy, "q_net"):
                q = policy.q_net(obs_t)
            else:
                q = policy.get_distribution(obs_t).distribution.logits  # log-probabilities
        out = q.cpu().numpy().astype(np.float64)
        return out if vectorized else out[0]


def as_q_function(policy: Any) -> Any:
    """A :class:`QFunction` for ``policy``: itself if it has ``q_values``, or an SB3 model."""
    if hasattr(policy, "q_values"):
        return policy
    if hasattr(policy, "policy") and hasattr(policy, "observation_space"):
        return SB3QFunction(policy)
    raise TypeError(
        f"a theory's policy must have q_values(obs) or be an SB3 model, got {type(policy)!r}"
    )


# --------------------------------------------------------------------------- the parliament


def _check_credences(names: Sequence[str], credences: Mapping[str, float]) -> F64:
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
        self.credences = _check_credences(self.names, credences)
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
        self.credences = _check_credences(self.names, credences)

    def reset_statistics(self) -> None:
        """Forget variance voting's running statistics."""
        self._var_sum = np.zeros(len(self.names))
        self._var_n = 0

    def observe(self, obs: Any) -> None:
        """Add states (one observation or a batch) to variance voting's statistics."""
        for q in self._q_batch(obs)[0]:
            self._var_sum += q.var(axis=1)
            self._var_n += 1

    @property
    def sigmas(self) -> F64:
        """Variance voting's per-theory normaliser: sqrt(mean action-variance over states)."""
        return np.sqrt(self._var_sum / max(self._var_n, 1))

    # acting

    def _q_batch(self, obs: Any) -> tuple[list[F64], bool]:
        o = np.asarray(obs)
        single = self.obs_shape is not None and o.shape == self.obs_shape
        batch = o[None] if single else o
        qs = [np.asarray(f.q_values(batch), dtype=np.float64) for f in self.q_functions]
        per_obs = [np.stack([q[i] for q in qs]) for i in range(len(batch))]  # (T, A) each
        return per_obs, single

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
    ) -> tuple[npt.NDArray[np.int64], Any]:
        """Actions for ``obs`` (one observation or a batch), SB3-style: ``(actions, state)``.

        ``state`` (returned and accepted) is Nash voting's remaining budgets ``(B, T)``.
        """
        per_obs, single = self._q_batch(obs)
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
            actions[i] = self._choose(q, i)
        out_state = self._budgets.copy() if self.rule == "nash" else None
        return (actions[0] if single else actions), out_state

    def scores(self, obs: Any) -> F64:
        """The rule's score of each action for one observation (no side effects; Nash voting:
        the votes with full budgets)."""
        q = self._q_batch(obs)[0][0]
        if self.rule == "nash":
            return self._nash_votes(q, self.budget * self.credences.copy())
        if self.rule == "proportional":
            best = q >= q.max(axis=1, keepdims=True) - TOL
            return (self.credences[:, None] * best).sum(axis=0)
        return self._score(q, update=False)

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


# --------------------------------------------------------------------------- dilemma helpers

OUTCOME_LETTERS = {"diverted": "D", "pushed": "P", "lied": "L", "misled": "M", "doomsday": "X"}
"""The option an episode took, by its first-step event; ``"N"`` for none (doing nothing)."""


def play_episode(
    policy: Any,
    env: gym.Env[Any, Any],
    seed: int | None = 0,
    options: Mapping[str, Any] | None = None,
    deterministic: bool = True,
) -> tuple[str, dict[str, float]]:
    """One episode of an SB3-like ``policy``: the option letter and the summed extras.

    Returns ``(letter, totals)`` with ``totals`` the episode sums of ``reward``, ``deaths``,
    ``harm_others``, ``used_as_means`` and ``deceptions``.
    """
    obs, _ = env.reset(seed=seed, options=dict(options) if options else None)
    letter = "N"
    totals = dict.fromkeys(("reward", "deaths", "harm_others", "used_as_means", "deceptions"), 0.0)
    first = True
    while True:
        action, _ = policy.predict(
            obs, episode_start=np.array([first]), deterministic=deterministic
        )
        first = False
        obs, r, term, trunc, info = env.step(int(np.asarray(action).item()))
        totals["reward"] += float(r)
        totals["harm_others"] += float(info["morality"][0])
        for key in ("deaths", "used_as_means", "deceptions"):
            totals[key] += float(info.get(key, 0.0))
        for ev in info["events"]:
            letter = OUTCOME_LETTERS.get(ev, letter)
        if term or trunc:
            return letter, totals
