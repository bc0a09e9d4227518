"""The safety contract: the ``info`` keys every mlsafety environment reports at every step.

- ``true_reward`` (float): what the designer actually wants this step; equals the reward
  where the env has no proxy.
- ``cost`` (float >= 0): safety cost this step (Safety-Gymnasium's convention).
- ``morality`` (float32 array (4,)): ``[harm_others, harm_self, help_others, help_self]``,
  Jiminy Cricket's vector; zeros when nothing salient happened.
- ``events`` (tuple of str): names of safety-relevant events this step.

Environments may also report ``performance`` (a float: the task-specific performance
figure of the episode so far, e.g. percent completion); the episode totals use the true
return where it is absent.

Every environment declares the event names it can report as ``event_names`` (a
``tuple[str, ...]`` attribute or property of the unwrapped env, ``env.unwrapped.event_names``;
of the ``ParallelEnv`` itself for multi-agent envs): gridworlds and dilemmas the names their
event table is built from, text scenarios their annotations' events (the generator
``mlsafety/TextGen-v0`` the union over its split's templates), coop envs their own. Every name
an env puts in ``info["events"]`` is in it (a test enumerates the registry); consumers that
name events, such as a suite's ``event:NAME`` checks, validate against it and refuse
names the env never reports.

Environments that reproduce a published benchmark whose episode-level safety figure is not
the sum of per-step true rewards (AI Safety Gridworlds' "safety performance", e.g. in
SafeInterruptibility) report it at the episode's last step as ``safety_performance``
(a float); :class:`mlsafety.wrappers.SafetyStats` carries it into the episode totals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, TypedDict

import numpy as np
import numpy.typing as npt

TRUE_REWARD_KEY = "true_reward"
COST_KEY = "cost"
MORALITY_KEY = "morality"
EVENTS_KEY = "events"
PERFORMANCE_KEY = "performance"
SAFETY_PERFORMANCE_KEY = "safety_performance"
CONTRACT_KEYS: tuple[str, ...] = (TRUE_REWARD_KEY, COST_KEY, MORALITY_KEY, EVENTS_KEY)

MORALITY_DIM = 4
MORALITY_LABELS: tuple[str, str, str, str] = (
    "harm_others",
    "harm_self",
    "help_others",
    "help_self",
)


class ContractError(ValueError):
    """An environment's ``info`` does not follow the safety contract."""


class SafetyInfo(TypedDict):
    """The per-step ``info`` entries of the safety contract."""

    true_reward: float
    cost: float
    morality: npt.NDArray[np.float32]
    events: tuple[str, ...]


def zero_morality() -> npt.NDArray[np.float32]:
    """The neutral morality vector (nothing salient happened)."""
    return np.zeros(MORALITY_DIM, dtype=np.float32)


def safety_info(
    true_reward: float,
    cost: float = 0.0,
    morality: Sequence[float] | npt.NDArray[np.floating[Any]] | None = None,
    events: Sequence[str] = (),
) -> SafetyInfo:
    """Build a contract-conforming ``info`` dict for one step."""
    if cost < 0:
        raise ContractError(f"cost must be >= 0, got {cost}")
    vec = zero_morality() if morality is None else np.asarray(morality, dtype=np.float32)
    if vec.shape != (MORALITY_DIM,):
        raise ContractError(f"morality must have shape (4,), got {vec.shape}")
    return {
        "true_reward": float(true_reward),
        "cost": float(cost),
        "morality": vec,
        "events": tuple(events),
    }


def validate_safety_info(info: Mapping[str, Any], where: str = "info") -> None:
    """Raise :class:`ContractError` naming the first key of ``info`` that breaks the contract."""
    missing = [k for k in CONTRACT_KEYS if k not in info]
    if missing:
        raise ContractError(
            f"{where} is missing safety-contract key(s) {missing}; every step must report "
            f"{list(CONTRACT_KEYS)} (see mlsafety.contract.safety_info)"
        )
    tr = info[TRUE_REWARD_KEY]
    if not isinstance(tr, float | int | np.floating | np.integer) or isinstance(tr, bool):
        raise ContractError(f"{where}['true_reward'] must be a float, got {type(tr).__name__}")
    if not np.isfinite(tr):
        raise ContractError(f"{where}['true_reward'] must be finite, got {tr}")
    cost = info[COST_KEY]
    if not isinstance(cost, float | int | np.floating | np.integer) or isinstance(cost, bool):
        raise ContractError(f"{where}['cost'] must be a float, got {type(cost).__name__}")
    if not cost >= 0:
        raise ContractError(f"{where}['cost'] must be >= 0, got {cost}")
    mor = info[MORALITY_KEY]
    if not isinstance(mor, np.ndarray) or mor.dtype != np.float32 or mor.shape != (MORALITY_DIM,):
        desc = f"{type(mor).__name__} {getattr(mor, 'dtype', '')} {getattr(mor, 'shape', '')}"
        raise ContractError(
            f"{where}['morality'] must be a float32 array of shape (4,), got {desc}"
        )
    if np.any(mor < 0) or not np.all(np.isfinite(mor)):
        raise ContractError(f"{where}['morality'] must be finite and >= 0, got {mor}")
    ev = info[EVENTS_KEY]
    if not isinstance(ev, tuple) or not all(isinstance(e, str) for e in ev):
        raise ContractError(f"{where}['events'] must be a tuple of str, got {ev!r}")


class Peek(NamedTuple):
    """What an action would do now, computed without taking it (an env's ``peek(action)``).

    Every env that can foresee a step returns this: gridworlds and dilemmas for an action
    index, text scenarios for a command. The oracle and cost consciences read it.
    """

    reward: float
    true_reward: float
    cost: float
    morality: npt.NDArray[np.float32]
    events: tuple[str, ...]
    terminated: bool
