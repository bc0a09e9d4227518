"""Choosing wrappers, policies and algorithms for conscience shaping: :func:`shape` and
:func:`algorithm_class`."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
from sb3_contrib import MaskablePPO
from stable_baselines3 import A2C, DQN, PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import BasePolicy

from mlsafety.agents.conscience import Conscience
from mlsafety.agents.shaping.config import (
    ALGOS,
    MODES,
    SHAPING_DEFAULTS,
    Algo,
    Mode,
    Use,
    check_gamma,
)
from mlsafety.agents.shaping.dqn import CMPSDQN, CMPSDQNPolicy
from mlsafety.agents.shaping.policies import CMPSActorCriticPolicy, CMPSMaskablePolicy
from mlsafety.agents.shaping.wrappers import ConsciencePenalty, ConscienceReward

CMPS_POLICIES: dict[str, type[BasePolicy]] = {
    "ppo": CMPSActorCriticPolicy,
    "a2c": CMPSActorCriticPolicy,
    "dqn": CMPSDQNPolicy,
    "maskable_ppo": CMPSMaskablePolicy,
}


def check_choice(mode: str, algo: str) -> None:
    """A ``ValueError`` unless ``mode`` is one of :data:`MODES` and ``algo`` of :data:`ALGOS`."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if algo not in ALGOS:
        raise ValueError(f"algo must be one of {ALGOS}, got {algo!r}")


def shape(
    env: gym.Env[Any, Any],
    conscience: Conscience,
    mode: Mode = SHAPING_DEFAULTS.mode,
    algo: Algo = "ppo",
    weight: float = SHAPING_DEFAULTS.weight,
    gamma: float = SHAPING_DEFAULTS.cmps_gamma,
    threshold: float = SHAPING_DEFAULTS.cmps_threshold,
    use: Use = SHAPING_DEFAULTS.use,
    memo: bool = SHAPING_DEFAULTS.memo,
) -> tuple[gym.Env[Any, Any], str | type[BasePolicy], dict[str, Any]]:
    """Wrap ``env`` for conscience shaping and pick the policy for ``algo``.

    ``mode="reward"``: :class:`ConscienceReward` (``weight``, ``use``) and ``"MlpPolicy"``.
    ``mode="policy"``: :class:`ConsciencePenalty` (``threshold``) and the algorithm's CMPS
    policy with ``policy_kwargs=dict(cmps_gamma=gamma)``. ``mode="both"``: both wrappers
    (the penalty outermost) and the CMPS policy. Returns ``(env, policy, policy_kwargs)``;
    train with ``algorithm_class(algo, mode)(policy, env, policy_kwargs=policy_kwargs)``.
    """
    check_choice(mode, algo)
    wrapped = env
    if mode in ("reward", "both"):
        wrapped = ConscienceReward(wrapped, conscience, weight=weight, use=use, memo=memo)
    if mode == "reward":
        return wrapped, "MlpPolicy", {}
    wrapped = ConsciencePenalty(wrapped, conscience, threshold=threshold, memo=memo)
    return wrapped, CMPS_POLICIES[algo], {"cmps_gamma": check_gamma(gamma)}


def algorithm_class(algo: Algo, mode: Mode = SHAPING_DEFAULTS.mode) -> type[BaseAlgorithm]:
    """The algorithm class to train :func:`shape`'s output with: PPO, A2C, MaskablePPO, and
    for DQN :class:`CMPSDQN` when policy shaping is on (the shaped target), else DQN."""
    check_choice(mode, algo)
    if algo == "dqn":
        return DQN if mode == "reward" else CMPSDQN
    classes: dict[str, type[BaseAlgorithm]] = {
        "ppo": PPO,
        "a2c": A2C,
        "maskable_ppo": MaskablePPO,
    }
    return classes[algo]
