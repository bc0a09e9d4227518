"""Moral theories as reward functions over one step's ``(reward, info)``, and
:class:`TheoryReward` to train an SB3 model under one."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, SupportsFloat

import gymnasium as gym


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
