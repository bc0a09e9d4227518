"""Conservative fallback: hand control to a safe policy when an anomaly detector fires.

Three pieces, all reading any detector that follows the monitors' convention
(``score(x) -> np.ndarray`` of shape ``(N,)``, higher = more anomalous; see
:mod:`mlsafety.monitors.detectors`):

- :func:`calibrate_threshold`: the ``1 - target_fpr`` quantile of in-distribution scores, so
  that at most ``target_fpr`` of in-distribution steps trip the monitor.
- :class:`FallbackPolicy`: wraps a policy (anything with SB3's ``predict``); it scores each
  observation and, above the threshold, returns the fallback's action for ``hold`` steps.
- :class:`FallbackMonitor` (Gymnasium) and :class:`FallbackParallel` (PettingZoo
  ``ParallelEnv``, per agent): env wrappers that take the agent's *proposed* action, score
  the observation it was chosen on, and substitute the fallback's action when the monitor
  fires. Every step's ``info`` carries ``fallback`` (bool: the fallback acted this step),
  ``fallback_detector`` (the detector's name), ``fallback_score`` (float),
  ``fallback_reason`` (see :data:`REASON_KEY`) and
  ``fallback_proposed`` (the agent's own action). At the end of an episode
  ``info["safety_episode"]`` (from :class:`mlsafety.wrappers.SafetyStats` *inside* the
  monitor) gains ``fallback_steps`` and ``fallback_rate``, also written as the flat keys
  ``safety_fallback_steps`` / ``safety_fallback_rate`` (see :data:`FALLBACK_KEYWORDS`) and,
  whether or not ``SafetyStats`` is there, as ``info["fallback_episode"]``.

Hold semantics (the same in all three): at each step the observation is scored; a score
strictly above ``threshold``, or a score that is NaN or infinite (the monitor fails closed:
``fallback_reason`` says which), (re)arms the hold counter to ``hold``; while the counter is
positive the fallback acts and the counter counts down. One flagged observation among
normal ones therefore gives exactly ``hold`` fallback steps; a run of flagged observations
keeps the fallback in control until ``hold`` steps after the last one, and then the agent
resumes: control returns once the score has fallen back.

Hysteresis (``release``, default: the threshold itself): while the fallback is in control,
a score strictly above ``release`` (``release <= threshold``) re-arms the hold as a trip
would, so control returns only after ``hold`` steps with scores at or below ``release``.
A lower release keeps a borderline score from handing control back and forth every step.

Episode totals also carry the fallback's own task result, ``fallback_true_return``: the
true reward (``info["true_reward"]``, else the reward) summed over the steps it acted, to
report beside the cost it saved.

The fallback is ``"noop"`` (the gridworlds' no-op, action 4, or the ``"noop"`` entry of
the env's ``get_action_meanings()`` in the env wrappers), an ``int`` (a fixed action), a
sequence of actions (a scripted manoeuvre, played from its start at every intervention and
repeated if the hold is longer), or any object with SB3's ``predict`` (a trusted model, a
scripted safe policy).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, SupportsFloat, runtime_checkable

import gymnasium as gym
import numpy as np
import numpy.typing as npt
from pettingzoo import ParallelEnv
from pettingzoo.utils.wrappers import BaseParallelWrapper

from mlsafety.envs.gridworlds import NOOP
from mlsafety.types import Predictor
from mlsafety.wrappers import EPISODE_KEY

FALLBACK_KEY = "fallback"
DETECTOR_KEY = "fallback_detector"
SCORE_KEY = "fallback_score"
REASON_KEY = "fallback_reason"
"""Why the monitor tripped this step: ``"anomaly"`` (score above the threshold),
``"non_finite_score"`` (NaN or inf: fails closed, as for a sensor fault) or ``""``."""
PROPOSED_KEY = "fallback_proposed"
FALLBACK_EPISODE_KEY = "fallback_episode"
FALLBACK_KEYWORDS: tuple[str, ...] = (
    "safety_fallback_steps",
    "safety_fallback_rate",
    "safety_fallback_true_return",
)
"""Extra ``info_keywords`` for SB3's ``Monitor`` next to ``mlsafety.wrappers.MONITOR_KEYWORDS``."""


@runtime_checkable
class Scorer(Protocol):
    """What the fallback needs of a detector: ``score(x) -> (N,)``, higher = more anomalous."""

    def score(self, x: Any) -> np.ndarray: ...


FallbackSpec = str | int | Sequence[int] | Predictor
Observe = Callable[[Any], Any]


def detector_name(detector: Any) -> str:
    """A short name for ``detector``: its ``name`` attribute, else its class (and ``kind``)."""
    name = getattr(detector, "name", None)
    if isinstance(name, str) and name:
        return name
    kind = getattr(detector, "kind", None)
    cls = type(detector).__name__
    return f"{cls}({kind})" if isinstance(kind, str) else cls


def _score_batch(
    detector: Scorer, batch: Any, observe: Observe | None = None
) -> npt.NDArray[np.float64]:
    """Scores of a batch of raw observations; ``observe`` maps one observation to features."""
    x = np.stack([np.asarray(observe(o)) for o in batch]) if observe is not None else batch
    return np.asarray(detector.score(np.asarray(x)), dtype=np.float64).reshape(-1)


def _scores_of(
    detector: Scorer | None, data: Any, observe: Observe | None = None
) -> npt.NDArray[np.float64]:
    """Scores from ``data``: already scores (1-D floats), or observations/rollouts to score."""
    if isinstance(data, np.ndarray) and data.ndim == 1 and data.dtype.kind == "f":
        return data.astype(np.float64)
    if detector is None:
        raise ValueError("calibrate_threshold needs a detector to score observations")
    if isinstance(data, np.ndarray):
        return _score_batch(detector, data, observe)
    if isinstance(data, Sequence) and len(data) and all(isinstance(x, float) for x in data):
        return np.asarray(data, dtype=np.float64)
    # a list of rollouts, each a batch (array or list) of observations
    parts = [_score_batch(detector, item, observe) for item in data if len(item)]
    if not parts:
        raise ValueError("no in-distribution data to calibrate on")
    return np.concatenate(parts)


def calibrate_threshold(
    detector: Scorer | None,
    in_distribution: Any,
    target_fpr: float = 0.05,
    observe: Observe | None = None,
) -> float:
    """The ``1 - target_fpr`` quantile of in-distribution scores.

    ``in_distribution`` is a 1-D float array of scores (``detector`` may then be ``None``), a
    batch of observations, or a list of rollouts (each a batch of observations), scored with
    ``detector.score`` (after ``observe``, which maps one raw observation to the detector's
    input, if given). The quantile uses the ``"higher"``
    method, so the fraction of calibration scores *strictly above* the threshold (the rule
    the fallback applies) is at most ``target_fpr``.
    """
    if not 0.0 <= float(target_fpr) < 1.0:
        raise ValueError(f"target_fpr must be in [0, 1), got {target_fpr!r}")
    scores = _scores_of(detector, in_distribution, observe)
    if scores.size == 0:
        raise ValueError("no in-distribution scores to calibrate on")
    if not np.all(np.isfinite(scores)):
        raise ValueError("in-distribution scores contain NaN or inf")
    return float(np.quantile(scores, 1.0 - float(target_fpr), method="higher"))


class _Fallback:
    """The conservative policy behind a :class:`FallbackSpec`."""

    def __init__(self, spec: FallbackSpec, noop: int = NOOP) -> None:
        self.sequence: tuple[int, ...] | None = None
        self.constant: int | None = None
        self.model: Predictor | None = None
        if isinstance(spec, str):
            if spec != "noop":
                raise ValueError(
                    f"fallback must be 'noop', an int action, a sequence of actions or an "
                    f"object with predict(); got {spec!r}"
                )
            self.constant = int(noop)
        elif isinstance(spec, int | np.integer) and not isinstance(spec, bool):
            self.constant = int(spec)
        elif isinstance(spec, Predictor):
            self.model = spec
        elif isinstance(spec, Sequence) and len(spec) > 0:
            self.sequence = tuple(int(a) for a in spec)
        else:
            raise ValueError(
                f"fallback must be 'noop', an int action, a non-empty sequence of actions or "
                f"an object with predict(); got {spec!r}"
            )

    def action(self, obs: Any, step_in_hold: int) -> Any:
        if self.constant is not None:
            return self.constant
        if self.sequence is not None:
            return self.sequence[step_in_hold % len(self.sequence)]
        assert self.model is not None
        act, _ = self.model.predict(obs, deterministic=True)
        return act


def _check_hold(hold: int) -> int:
    if isinstance(hold, bool) or not isinstance(hold, int | np.integer) or hold < 1:
        raise ValueError(f"hold must be a positive int, got {hold!r}")
    return int(hold)


def _finite(observation: Any) -> Any:
    """``observation`` with NaN and inf entries replaced by 0 (floating arrays only)."""
    arr = np.asarray(observation) if not isinstance(observation, dict) else None
    if arr is None or not np.issubdtype(arr.dtype, np.floating) or np.isfinite(arr).all():
        return observation
    return np.nan_to_num(arr, nan=0.0, posinf=0.0, neginf=0.0)


def trip_reason(score: float, threshold: float) -> str:
    """Why ``score`` trips the monitor, or ``""``. Fails closed: a NaN or infinite score (a
    sensor fault, a detector fed garbage) trips it, whatever the threshold."""
    if not math.isfinite(score):
        return "non_finite_score"
    return "anomaly" if score > threshold else ""


def _check_threshold(threshold: float) -> float:
    t = float(threshold)
    if np.isnan(t):
        raise ValueError("threshold is NaN")
    return t


def check_release(release: float | None, threshold: float) -> float:
    """The hysteresis level: ``threshold`` when ``release`` is None, else a number
    ``<= threshold`` (a ValueError otherwise)."""
    if release is None:
        return threshold
    r = float(release)
    if np.isnan(r) or r > threshold:
        raise ValueError(f"release must be a number <= threshold ({threshold}), got {release!r}")
    return r


class _Switch:
    """The hold counter of one stream of observations (with the release hysteresis)."""

    def __init__(self, hold: int) -> None:
        self.hold = hold
        self.remaining = 0
        self.step_in_hold = 0
        self.acting = False

    def reset(self) -> None:
        self.remaining = 0
        self.step_in_hold = 0
        self.acting = False

    def update(self, triggered: bool, above_release: bool = False) -> bool:
        """Advance one step; True when the fallback acts this step. ``above_release``: the
        score is above the release level, which re-arms the hold while the fallback acts."""
        if triggered or (self.acting and above_release):
            if self.remaining == 0:
                self.step_in_hold = 0
            self.remaining = self.hold
        if self.remaining > 0:
            self.remaining -= 1
            self.acting = True
            return True
        self.step_in_hold = 0
        self.acting = False
        return False


def _above(score: float, release: float) -> bool:
    return not math.isfinite(score) or score > release


class FallbackPolicy:
    """A policy that defers to a conservative fallback when ``detector`` flags the observation.

    ``predict(obs, state=None, episode_start=None, deterministic=True)`` has SB3's signature
    and takes one observation or a batch (as SB3's ``predict`` does: an observation whose shape
    is the policy's ``observation_space`` shape is a single one). Each observation is passed
    through ``observe`` (identity by default; e.g. a feature map) and scored with
    ``detector.score``; above ``threshold`` the fallback acts for ``hold`` steps (per env in
    a batch; ``episode_start`` clears the hold; ``release``: see the module docstring).
    ``last_intervention`` is the last decision:
    ``{"fallback": bool, "detector": name, "score": float}`` for a single observation, with
    arrays for ``fallback`` and ``score`` after a batch.
    """

    def __init__(
        self,
        policy: Predictor,
        detector: Scorer,
        fallback: FallbackSpec = "noop",
        threshold: float = 0.0,
        hold: int = 1,
        observe: Observe | None = None,
        release: float | None = None,
    ) -> None:
        self.policy = policy
        self.detector = detector
        self.fallback = fallback
        self._fallback = _Fallback(fallback)
        self.threshold = _check_threshold(threshold)
        self.release = check_release(release, self.threshold)
        self.hold = _check_hold(hold)
        self.observe = observe
        self.detector_name = detector_name(detector)
        self.observation_space = getattr(policy, "observation_space", None)
        self.action_space = getattr(policy, "action_space", None)
        self._switches: list[_Switch] = []
        self.last_intervention: dict[str, Any] = {
            "fallback": False,
            "detector": self.detector_name,
            "score": float("nan"),
        }
        self.interventions = 0
        self.steps = 0

    def reset(self) -> None:
        """Clear every hold (call at the start of a new episode when not passing episode_start)."""
        for s in self._switches:
            s.reset()

    def _is_batch(self, obs: Any) -> bool:
        shape = getattr(self.observation_space, "shape", None)
        arr = np.asarray(obs)
        if shape is not None and arr.dtype != object:
            return arr.shape != tuple(shape)
        return False

    def score(self, obs: Any) -> npt.NDArray[np.float64]:
        """Detector scores of a batch of raw observations (each mapped by ``observe``)."""
        return _score_batch(self.detector, obs, self.observe)

    def predict(
        self,
        observation: Any,
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = True,
    ) -> tuple[Any, Any]:
        batch = self._is_batch(observation)
        obs_b: Any = observation if batch else [observation]
        n = len(obs_b)
        while len(self._switches) < n:
            self._switches.append(_Switch(self.hold))
        if episode_start is not None:
            starts = np.asarray(episode_start, dtype=bool).reshape(-1)
            for j in np.flatnonzero(starts[:n]):
                self._switches[int(j)].reset()
        scores = self.score(obs_b if batch else np.asarray(obs_b))
        # a faulty observation trips the monitor below; the policy sees it zeroed so that it
        # can still propose actions for the other rows (its proposal there is replaced)
        actions, state = self.policy.predict(
            _finite(observation), state=state, episode_start=episode_start,
            deterministic=deterministic,
        )  # fmt: skip
        if scores.shape[0] != n:
            raise ValueError(f"detector returned {scores.shape[0]} scores for {n} observations")
        acts = np.array(actions, copy=True).reshape(n, *np.shape(actions)[1 if batch else 0 :])
        used = np.zeros(n, dtype=bool)
        reasons = [trip_reason(float(x), self.threshold) for x in scores]
        for i in range(n):
            sw = self._switches[i]
            if sw.update(bool(reasons[i]), _above(float(scores[i]), self.release)):
                used[i] = True
                single = obs_b[i]
                acts[i] = self._fallback.action(single, sw.step_in_hold)
                sw.step_in_hold += 1
        self.steps += n
        self.interventions += int(used.sum())
        if batch:
            self.last_intervention = {
                "fallback": used,
                "detector": self.detector_name,
                "score": scores,
                "reason": reasons,
            }
            return acts, state
        self.last_intervention = {
            "fallback": bool(used[0]),
            "detector": self.detector_name,
            "score": float(scores[0]),
            "reason": reasons[0],
        }
        return acts.reshape(np.shape(actions)), state

    @property
    def intervention_rate(self) -> float:
        """Fraction of steps (over every ``predict`` call so far) where the fallback acted."""
        return self.interventions / self.steps if self.steps else 0.0


def _is_noop(spec: Any) -> bool:
    return isinstance(spec, str) and spec == "noop"


def _noop_of(env: Any) -> int:
    meanings = getattr(getattr(env, "unwrapped", env), "get_action_meanings", None)
    if callable(meanings):
        names = [str(m).lower() for m in meanings()]
        for key in ("noop", "no-op", "stay", "wait"):
            if key in names:
                return names.index(key)
    raise ValueError(
        "this env names no no-op action (get_action_meanings); pass the conservative action "
        "as an int fallback"
    )


def _true_reward(info: Mapping[str, Any], reward: Any) -> float:
    value = info.get("true_reward", reward)
    return float(value) if value is not None else 0.0


def _add_episode_totals(
    info: dict[str, Any], steps: int, length: int, fallback_return: float = 0.0
) -> dict[str, Any]:
    info = dict(info)
    rate = steps / length if length else 0.0
    totals = {
        "fallback_steps": steps,
        "fallback_rate": rate,
        "fallback_true_return": fallback_return,
    }
    info[FALLBACK_EPISODE_KEY] = {**totals, "length": length}
    if EPISODE_KEY in info:
        info[EPISODE_KEY] = {**dict(info[EPISODE_KEY]), **totals}
    for key, value in totals.items():
        info[f"safety_{key}"] = value
    return info


class FallbackMonitor(gym.Wrapper[Any, Any, Any, Any]):
    """Env wrapper: substitute the fallback's action for the agent's when the monitor fires.

    The observation last returned by ``reset``/``step`` is scored (after ``observe``) when
    the agent's action arrives; see the module docstring for the hold rule and the ``info``
    keys. Wrap *outside* :class:`mlsafety.wrappers.SafetyStats` so that its episode totals
    gain ``fallback_steps`` and ``fallback_rate``. ``policy`` is optional: when given,
    :meth:`run_episode` plays it. ``interventions`` / ``total_steps`` count over the
    wrapper's lifetime (:attr:`intervention_rate`). ``release``: the hysteresis level (see
    the module docstring).
    """

    def __init__(
        self,
        env: gym.Env[Any, Any],
        detector: Scorer,
        fallback: FallbackSpec = "noop",
        threshold: float = 0.0,
        hold: int = 1,
        observe: Observe | None = None,
        policy: Predictor | None = None,
        release: float | None = None,
    ) -> None:
        super().__init__(env)
        self.detector = detector
        self.detector_name = detector_name(detector)
        noop = _noop_of(env) if _is_noop(fallback) else NOOP
        self._fallback = _Fallback(fallback, noop=noop)
        self.threshold = _check_threshold(threshold)
        self.release = check_release(release, self.threshold)
        self.hold = _check_hold(hold)
        self.observe = observe
        self.policy = policy
        self._switch = _Switch(self.hold)
        self._last_obs: Any = None
        self._ep_steps = 0
        self._ep_fallback = 0
        self._ep_fallback_return = 0.0
        self.interventions = 0
        self.total_steps = 0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        self._last_obs = obs
        self._switch.reset()
        self._ep_steps = 0
        self._ep_fallback = 0
        self._ep_fallback_return = 0.0
        return obs, info

    def score(self, obs: Any) -> float:
        """The detector's score of one raw observation (mapped by ``observe``)."""
        return float(_score_batch(self.detector, [obs], self.observe)[0])

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        if self._last_obs is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        score = self.score(self._last_obs)
        reason = trip_reason(score, self.threshold)
        acting = self._switch.update(bool(reason), _above(score, self.release))
        taken = action
        if acting:
            taken = self._fallback.action(self._last_obs, self._switch.step_in_hold)
            self._switch.step_in_hold += 1
            taken = type(action)(taken) if isinstance(action, int | np.integer) else taken
        obs, reward, terminated, truncated, info = self.env.step(taken)
        self._last_obs = obs
        self._ep_steps += 1
        self.total_steps += 1
        if acting:
            self._ep_fallback += 1
            self._ep_fallback_return += _true_reward(info, reward)
            self.interventions += 1
        info = dict(info)
        info[FALLBACK_KEY] = acting
        info[DETECTOR_KEY] = self.detector_name
        info[SCORE_KEY] = score
        info[REASON_KEY] = reason
        info[PROPOSED_KEY] = action
        if terminated or truncated:
            info = _add_episode_totals(
                info, self._ep_fallback, self._ep_steps, self._ep_fallback_return
            )
        return obs, reward, terminated, truncated, info

    @property
    def intervention_rate(self) -> float:
        return self.interventions / self.total_steps if self.total_steps else 0.0

    def run_episode(
        self, seed: int | None = None, deterministic: bool = True, policy: Predictor | None = None
    ) -> dict[str, Any]:
        """Play one episode with ``policy`` (or the one given at construction); its last info."""
        pol = policy if policy is not None else self.policy
        if pol is None:
            raise ValueError("run_episode needs a policy (pass policy= here or to the wrapper)")
        obs, info = self.reset(seed=seed)
        while True:
            action, _ = pol.predict(obs, deterministic=deterministic)
            act = action.item() if isinstance(action, np.ndarray) and action.ndim == 0 else action
            obs, _, term, trunc, info = self.step(act)
            if term or trunc:
                return info


def _per_agent(value: Any, agents: Sequence[Any], what: str) -> dict[Any, Any]:
    if isinstance(value, Mapping):
        missing = [a for a in agents if a not in value]
        if missing:
            raise ValueError(f"{what} has no entry for agents {missing}")
        return {a: value[a] for a in agents}
    return {a: value for a in agents}


class FallbackParallel(BaseParallelWrapper[Any, Any, Any]):
    """:class:`FallbackMonitor` for a PettingZoo ``ParallelEnv``: per-agent scoring and fallback.

    ``detector``, ``fallback``, ``threshold``, ``hold`` and ``observe`` are one value shared
    by every agent or a dict keyed by agent (``release`` likewise). Each agent's observation
    is scored on its own and only that agent's action is replaced; ``infos[agent]`` carries
    the same keys as the single-agent monitor. Wrap outside
    :class:`mlsafety.wrappers.SafetyStatsParallel` for the per-agent episode totals to gain
    ``fallback_steps`` / ``fallback_rate``.
    """

    def __init__(
        self,
        env: ParallelEnv[Any, Any, Any],
        detector: Scorer | Mapping[Any, Scorer],
        fallback: FallbackSpec | Mapping[Any, FallbackSpec] = "noop",
        threshold: float | Mapping[Any, float] = 0.0,
        hold: int | Mapping[Any, int] = 1,
        observe: Observe | Mapping[Any, Observe | None] | None = None,
        release: float | Mapping[Any, float | None] | None = None,
    ) -> None:
        super().__init__(env)
        agents = list(env.possible_agents)
        self.detectors: dict[Any, Scorer] = _per_agent(detector, agents, "detector")
        fallbacks = _per_agent(fallback, agents, "fallback")
        self._fallbacks: dict[Any, _Fallback] = {}
        for a in agents:
            noop = _noop_of(env) if _is_noop(fallbacks[a]) else NOOP
            self._fallbacks[a] = _Fallback(fallbacks[a], noop=noop)
        self.thresholds = {
            a: _check_threshold(t) for a, t in _per_agent(threshold, agents, "threshold").items()
        }
        self.releases = {
            a: check_release(r, self.thresholds[a])
            for a, r in _per_agent(release, agents, "release").items()
        }
        self.holds = {a: _check_hold(h) for a, h in _per_agent(hold, agents, "hold").items()}
        self.observes: dict[Any, Observe | None] = _per_agent(observe, agents, "observe")
        self._switches = {a: _Switch(self.holds[a]) for a in agents}
        self._last_obs: dict[Any, Any] = {}
        self._ep_steps = dict.fromkeys(agents, 0)
        self._ep_fallback = dict.fromkeys(agents, 0)
        self._ep_fallback_return = dict.fromkeys(agents, 0.0)
        self.interventions = dict.fromkeys(agents, 0)
        self.total_steps = dict.fromkeys(agents, 0)

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[Any, Any], dict[Any, dict[str, Any]]]:
        obs, infos = self.env.reset(seed=seed, options=options)
        self._last_obs = dict(obs)
        for a, sw in self._switches.items():
            sw.reset()
            self._ep_steps[a] = 0
            self._ep_fallback[a] = 0
            self._ep_fallback_return[a] = 0.0
        return obs, infos

    def score(self, agent: Any, obs: Any) -> float:
        """Agent ``agent``'s detector score of its raw observation ``obs``."""
        return float(_score_batch(self.detectors[agent], [obs], self.observes[agent])[0])

    def step(self, actions: dict[Any, Any]) -> tuple[Any, Any, Any, Any, dict[Any, dict[str, Any]]]:
        taken: dict[Any, Any] = {}
        decisions: dict[Any, tuple[bool, float, str]] = {}
        for agent, action in actions.items():
            if agent not in self._last_obs:
                raise gym.error.ResetNeeded("call reset() before step()")
            obs = self._last_obs[agent]
            score = self.score(agent, obs)
            sw = self._switches[agent]
            reason = trip_reason(score, self.thresholds[agent])
            acting = sw.update(bool(reason), _above(score, self.releases[agent]))
            if acting:
                act = self._fallbacks[agent].action(obs, sw.step_in_hold)
                sw.step_in_hold += 1
                taken[agent] = type(action)(act) if isinstance(action, int | np.integer) else act
            else:
                taken[agent] = action
            decisions[agent] = (acting, score, reason)
        obs, rewards, terms, truncs, infos = self.env.step(taken)
        self._last_obs.update(obs)
        infos = {a: dict(i) for a, i in infos.items()}
        for agent, (acting, score, reason) in decisions.items():
            info = infos.setdefault(agent, {})
            self._ep_steps[agent] += 1
            self.total_steps[agent] += 1
            if acting:
                self._ep_fallback[agent] += 1
                self._ep_fallback_return[agent] += _true_reward(info, rewards.get(agent))
                self.interventions[agent] += 1
            info[FALLBACK_KEY] = acting
            info[DETECTOR_KEY] = detector_name(self.detectors[agent])
            info[SCORE_KEY] = score
            info[REASON_KEY] = reason
            info[PROPOSED_KEY] = actions[agent]
            if terms.get(agent) or truncs.get(agent):
                infos[agent] = _add_episode_totals(
                    info,
                    self._ep_fallback[agent],
                    self._ep_steps[agent],
                    self._ep_fallback_return[agent],
                )
        return obs, rewards, terms, truncs, infos
