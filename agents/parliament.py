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

**Action masks.** ``predict(..., action_masks=m)`` (as sb3-contrib's ``MaskablePPO``) and a
theory's Q-value of ``-inf`` (what :func:`q_table` stores for an inadmissible action) both
rule an action out. Every rule then works on the allowed actions only: means, variances,
ranges, Borda ranks, Nash favourites and the theory a proportional draw follows are all
computed over them, so a masked action can never win.

**Text scenarios** (``mlsafety/Text<Name>-v0``) are explored in their SB3 form
(:class:`~mlsafety.envs.text.choice.CommandChoice` on the logic backend). Their encoded
observations do not identify the state (the score, the events already fired and things in
other rooms are not shown), so :func:`explore` keys states by :func:`text_state_key`
(facts, score, fired events), the Q-tables look an observation up through the state nearest
the start that shows it, and ``bind(env)`` (done by :func:`play_episode`) makes the lookup
exact by reading the bound env's state. ``max_depth`` bounds the search for larger games.
"""

from __future__ import annotations

import copy
import inspect
import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, SupportsFloat, runtime_checkable

import gymnasium as gym
import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
StateKey = Callable[[Any], Hashable]
RULES = ("mec", "variance", "nash", "proportional", "borda")
TOL = 1e-9
CUT = -2
"""``EnvModel.next_index`` of a step that leaves the region explored within ``max_depth``."""


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
            q = np.where(_check_masks(action_masks, q.shape, self.name or "Q-table"), q, -np.inf)
        return np.asarray(np.argmax(q, axis=-1), dtype=np.int64), state


def _check_masks(masks: Any, shape: tuple[int, ...], who: str) -> BoolArray:
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


def _is_text(env: Any) -> bool:
    from mlsafety.envs.text.env import TextScenarioEnv

    return isinstance(env.unwrapped, TextScenarioEnv)


def _env_masks(env: Any) -> Callable[[], BoolArray] | None:
    """The env's ``action_masks`` method (through wrappers), or None."""
    fn = getattr(env, "action_masks", None)
    if fn is None and hasattr(env, "get_wrapper_attr"):
        try:
            fn = env.get_wrapper_attr("action_masks")
        except AttributeError:
            fn = None
    return fn if callable(fn) else None


def _search_env(env: gym.Env[Any, Any] | str, env_kwargs: Mapping[str, Any]) -> Any:
    """The env to search: text scenarios in their SB3 form (logic backend), others unwrapped."""
    if isinstance(env, str):
        from mlsafety.envs.registration import CATALOGUE, resolve_id

        env_id = resolve_id(env)
        if CATALOGUE[env_id].family == "text":
            from mlsafety.envs.text.choice import CommandChoice

            return CommandChoice(gym.make(env_id, **{"backend": "logic", **env_kwargs}))
        env = gym.make(env_id, **env_kwargs)
    if _is_text(env):
        if isinstance(env.action_space, gym.spaces.Discrete):
            return env
        from mlsafety.envs.text.choice import CommandChoice

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
    base: Any = _search_env(env, env_kwargs)
    if not isinstance(base.action_space, gym.spaces.Discrete):
        raise ValueError(f"explore needs a Discrete action space, got {base.action_space}")
    if max_depth is not None and max_depth < 1:
        raise ValueError(f"max_depth must be a positive int or None, got {max_depth!r}")
    n_actions = int(base.action_space.n)
    if state_key is None and _is_text(base):
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
        masks_fn = _env_masks(parent)
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


def _value_iteration(
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


def _rewards(m: EnvModel, theory: Theory) -> tuple[F64, BoolArray]:
    allowed = m.masks if m.masks is not None else np.ones(m.next_index.shape, dtype=bool)
    allowed = allowed & (m.next_index != CUT)
    rewards = np.array(
        [
            [theory(r, info) if ok else -np.inf for (r, info), ok in zip(row, oks, strict=True)]
            for row, oks in zip(m.steps, allowed, strict=True)
        ]
    )
    return rewards, allowed


def _policy_table(m: EnvModel, q: F64, name: str) -> QTablePolicy:
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
    rewards, allowed = _rewards(m, theory)
    q = _value_iteration(rewards, m.next_index, allowed, gamma, tol, max_iterations)
    return _policy_table(m, q, theory.name)


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
    c = _check_credences(names, credences)
    pairs = [_rewards(model, t) for t in theories]
    allowed = pairs[0][1]
    rewards = np.stack([r for r, _ in pairs])  # (T, S, A)
    args = (model.next_index, allowed, gamma, tol, 10_000)
    q = np.stack([_value_iteration(r, *args) for r in rewards])
    n_states = q.shape[1]
    scorer = _StatelessRule(rule, c)
    policy = np.full(n_states, -1, dtype=np.int64)
    live = model.next_index >= 0
    safe = np.where(live, model.next_index, 0)
    for _ in range(max_rounds):
        scorer.fit(q, allowed)
        if rule == "proportional":  # the expected value of a draw: a mixture of favourites
            best = np.stack([_first_best(q[t], allowed) for t in range(len(names))])
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
                [_value_iteration(rewards[t], *args, policy=new_policy) for t in range(len(q))]
            )
        if np.array_equal(new_policy, policy):
            break
        policy = new_policy
    return {n: _policy_table(model, q[t], n) for t, n in enumerate(names)}


def _first_best(q: F64, allowed: BoolArray) -> npt.NDArray[np.int64]:
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
            given = _check_masks(action_masks, shape, "the parliament").reshape(-1, n_actions)
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


# --------------------------------------------------------------------------- dilemma helpers

OUTCOME_LETTERS = {"diverted": "D", "pushed": "P", "lied": "L", "misled": "M", "doomsday": "X"}
"""The option an episode took, by its first-step event; ``"N"`` for none (doing nothing)."""
MORALITY = ("harm_others", "harm_self", "help_others", "help_self")


class Episode(NamedTuple):
    """One episode: the option letter, the summed extras, event counts and actions taken."""

    letter: str
    totals: dict[str, float]
    events: dict[str, int]
    actions: list[int]


def _accepts_masks(policy: Any) -> bool:
    try:
        params = inspect.signature(policy.predict).parameters
    except (TypeError, ValueError):
        return False
    return "action_masks" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def run_episode(
    policy: Any,
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
    masks_fn = _env_masks(env) if _accepts_masks(policy) else None
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
    policy: Any,
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
