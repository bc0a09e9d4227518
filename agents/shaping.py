"""Conscience-based reward shaping and policy shaping (Jiminy Cricket's CMPS) for SB3 agents.

A :class:`~mlsafety.agents.conscience.base.Conscience` judges candidate actions in the
context of the env's current state. This module turns its verdicts into training signals
for stable-baselines3 and sb3-contrib agents, without touching their internals:

* **Reward shaping** (:class:`ConscienceReward`): ``r' = r - weight * harm(s, a)``, where
  ``harm`` is the conscience's foreseen harm to others plus harm to self of the action
  taken, judged *before* it is taken (or its ``p_wrong`` with ``use="p_wrong"``).
* **Policy shaping** (Hendrycks et al. 2021, *What Would Jiminy Cricket Do?*, "commonsense
  morality policy shaping"): ``Q'(s, a) = Q(s, a) - gamma * 1[p_wrong(s, a) > tau]``.
  :class:`ConsciencePenalty` judges every action of the current state and appends the
  indicator vector (one entry per action, ``n_actions`` entries) to the ``Box`` observation;
  the CMPS policies read that block, hide it from their features extractor, and subtract
  ``gamma * flag`` from their action preferences:

  - :class:`CMPSActorCriticPolicy` (PPO, A2C) and :class:`CMPSMaskablePolicy`
    (MaskablePPO) subtract it from the action logits before the distribution is built, in
    ``forward`` (acting), ``get_distribution`` (``predict``) and ``evaluate_actions``
    (PPO/A2C's loss). The agent therefore *acts* with the shaped policy and *learns* the
    shaped policy on-policy: the rollout's stored log-probabilities, the ratio, the policy
    gradient and the entropy bonus all use the shaped distribution; the raw logits are the
    network's output, the penalty a fixed offset that carries no gradient. The value head
    is not shaped.
  - :class:`CMPSDQNPolicy` (DQN) keeps the Q-network's output raw (``q_net(obs)`` is
    ``Q(s, .)``, what the TD loss fits) and subtracts the penalty at action selection
    (``CMPSQNetwork.shaped_q_values``, greedy ``_predict``). :class:`CMPSDQN` also shapes
    the *learning target* and epsilon-exploration; see its docstring for the exact target.

:func:`shape` builds the wrappers and picks the policy class and ``policy_kwargs`` for an
algorithm; :func:`algorithm_class` picks the matching algorithm class (``CMPSDQN`` for DQN
with policy shaping).

Candidates: for text envs in their SB3 form (:class:`~mlsafety.envs.text.choice.CommandChoice`)
the candidates are the command strings ``env.vocabulary[a]`` and the conscience gets the
current observation text; for a native text env the command string itself; for other
``Discrete`` envs the action indices. The conscience always gets ``env.unwrapped``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Literal, SupportsFloat, cast

import gymnasium as gym
import numpy as np
import numpy.typing as npt
import torch as th
import torch.nn.functional as F
from gymnasium import spaces
from sb3_contrib import MaskablePPO
from sb3_contrib.common.maskable.distributions import (
    MaskableCategoricalDistribution,
    MaskableDistribution,
)
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from stable_baselines3 import A2C, DQN, PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.distributions import CategoricalDistribution, Distribution
from stable_baselines3.common.policies import ActorCriticPolicy, BaseModel, BasePolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.type_aliases import PyTorchObs, ReplayBufferSamples
from stable_baselines3.dqn.policies import DQNPolicy, QNetwork

from mlsafety.agents.conscience.base import Conscience, Judgement, harm

__all__ = [
    "CMPSDQN",
    "CMPSActorCriticPolicy",
    "CMPSDQNPolicy",
    "CMPSMaskablePolicy",
    "CMPSQNetwork",
    "ConsciencePenalty",
    "ConscienceReward",
    "StripPenalty",
    "algorithm_class",
    "shape",
]

Use = Literal["morality", "p_wrong"]
Mode = Literal["reward", "policy", "both"]
Algo = Literal["ppo", "a2c", "dqn", "maskable_ppo"]
CMPSTarget = Literal["shaped_argmax", "shaped_max"]
MEMO_LIMIT = 200_000
MODES = ("reward", "policy", "both")
ALGOS = ("ppo", "a2c", "dqn", "maskable_ppo")


# --------------------------------------------------------------------------------------
# Judging actions in context
# --------------------------------------------------------------------------------------


def observation_text(env: gym.Env[Any, Any]) -> str | None:
    """The current observation text of a text env under any wrappers, else ``None``.

    :class:`~mlsafety.envs.text.choice.CommandChoice` encodes the text away, so this reads
    the text env's last observation (``TextScenarioEnv._last_obs``, what ``render()``
    shows).
    """
    text = getattr(env.unwrapped, "_last_obs", None)
    return text if isinstance(text, str) else None


class ConscienceJudge:
    """Turns an env's actions into conscience candidates and judges them in context.

    With ``memo`` (and an observation text), verdicts are kept per ``(state text,
    candidate)``: exact for a conscience that reads only the text; for one that reads the
    env's hidden state (an oracle peeking at annotations that fire once, say), two states
    with the same text share a verdict, so pass ``memo=False`` there if that matters.
    """

    def __init__(self, env: gym.Env[Any, Any], conscience: Conscience, memo: bool) -> None:
        if not callable(getattr(conscience, "judge", None)):
            raise TypeError(f"conscience must have a judge() method, got {conscience!r}")
        self.env = env
        self.conscience = conscience
        self.memo = bool(memo)
        self.vocabulary: list[str] | None = None
        if env.has_wrapper_attr("vocabulary"):
            self.vocabulary = [str(c) for c in env.get_wrapper_attr("vocabulary")]
        self._memo: dict[tuple[str, Any], tuple[float, npt.NDArray[np.float64]]] = {}

    def candidate(self, action: Any) -> Any:
        """The command (text envs) or action index (other envs) that ``action`` stands for."""
        if isinstance(action, str):
            return action
        index = int(action)
        return self.vocabulary[index] if self.vocabulary is not None else index

    def _call(self, candidates: Sequence[Any], text: str | None) -> Judgement:
        judgement = self.conscience.judge(candidates, env=self.env.unwrapped, observation=text)
        p_wrong = np.asarray(judgement.p_wrong, dtype=np.float64).reshape(-1)
        morality = np.asarray(judgement.morality, dtype=np.float64)
        n = len(candidates)
        if p_wrong.shape != (n,) or morality.shape != (n, 4):
            raise ValueError(
                f"conscience judged {n} candidates but returned p_wrong {p_wrong.shape} and "
                f"morality {morality.shape} (expected ({n},) and ({n}, 4))"
            )
        return Judgement(p_wrong, morality)

    def judge(self, candidates: Sequence[Any]) -> Judgement:
        """The conscience's verdict on ``candidates`` in the env's current state."""
        text = observation_text(self.env)
        if not self.memo or text is None:
            return self._call(candidates, text)
        missing = [c for c in dict.fromkeys(candidates) if (text, c) not in self._memo]
        if missing:
            fresh = self._call(missing, text)
            if len(self._memo) + len(missing) > MEMO_LIMIT:
                self._memo.clear()
            for i, c in enumerate(missing):
                self._memo[(text, c)] = (float(fresh.p_wrong[i]), fresh.morality[i].copy())
        rows = [self._memo[(text, c)] for c in candidates]
        return Judgement(
            np.array([p for p, _ in rows], dtype=np.float64),
            np.stack([m for _, m in rows]).astype(np.float64),
        )


# --------------------------------------------------------------------------------------
# Wrappers
# --------------------------------------------------------------------------------------


class ConscienceReward(gym.Wrapper[Any, Any, Any, Any]):
    """Reward shaping: ``r' = r - weight * harm`` of the action taken, judged before it is.

    ``use="morality"``: harm is the judgement's ``harm_others + harm_self``
    (:func:`~mlsafety.agents.conscience.base.harm`); ``use="p_wrong"``: its probability of
    being wrong. ``info["shaping_penalty"]`` records ``weight * harm`` (0.0 when the
    conscience sees nothing wrong); the rest of ``info`` (the safety contract: ``cost``,
    ``morality``, ``true_reward``, ...) is the inner env's, untouched.
    """

    def __init__(
        self,
        env: gym.Env[Any, Any],
        conscience: Conscience,
        weight: float = 1.0,
        use: Use = "morality",
        memo: bool = True,
    ) -> None:
        super().__init__(env)
        if use not in ("morality", "p_wrong"):
            raise ValueError(f"use must be 'morality' or 'p_wrong', got {use!r}")
        if not math.isfinite(float(weight)):
            raise ValueError(f"weight must be finite, got {weight!r}")
        self.conscience = conscience
        self.weight = float(weight)
        self.use: Use = use
        self._judge = ConscienceJudge(env, conscience, memo)

    def penalty(self, action: Any) -> float:
        """``weight * harm`` of taking ``action`` in the current state."""
        judgement = self._judge.judge([self._judge.candidate(action)])
        value = harm(judgement)[0] if self.use == "morality" else judgement.p_wrong[0]
        return self.weight * float(value)

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        penalty = self.penalty(action)
        obs, reward, terminated, truncated, info = self.env.step(action)
        info["shaping_penalty"] = penalty
        return obs, float(reward) - penalty, terminated, truncated, info


class ConsciencePenalty(gym.Wrapper[npt.NDArray[np.float32], Any, Any, Any]):
    """Appends the conscience's per-action flags to the observation, for the CMPS policies.

    The observation becomes ``float32[D + N]``: the inner ``Box`` observation flattened
    (``D`` entries), then ``N = action_space.n`` entries, entry ``a`` being 1.0 if the
    conscience's ``p_wrong`` of action ``a`` in the current state exceeds ``threshold``, else
    0.0. Every action is judged at each reset and step (the candidates: the vocabulary
    commands under :class:`~mlsafety.envs.text.choice.CommandChoice`, else the indices),
    memoised per ``(state text, command)`` for text envs; a terminated state gets no flags
    (nothing is taken there). ``action_masks()`` is passed through when the inner env has
    it. ``last_flags`` holds the latest block.
    """

    action_masks: Callable[[], npt.NDArray[np.bool_]]

    def __init__(
        self,
        env: gym.Env[Any, Any],
        conscience: Conscience,
        threshold: float = 0.5,
        memo: bool = True,
    ) -> None:
        super().__init__(env)
        action_space = env.action_space
        if not isinstance(action_space, spaces.Discrete) or int(action_space.start) != 0:
            raise TypeError(
                f"ConsciencePenalty needs a Discrete(n) action space, got {action_space}"
            )
        inner = env.observation_space
        if not isinstance(inner, spaces.Box):
            raise TypeError(f"ConsciencePenalty needs a Box observation space, got {inner}")
        self.conscience = conscience
        self.threshold = float(threshold)
        self.n_actions = int(action_space.n)
        self._judge = ConscienceJudge(env, conscience, memo)
        vocabulary = self._judge.vocabulary
        if vocabulary is not None and len(vocabulary) != self.n_actions:
            raise ValueError(
                f"vocabulary has {len(vocabulary)} commands for {self.n_actions} actions"
            )
        self.candidates: list[Any] = (
            list(vocabulary) if vocabulary is not None else list(range(self.n_actions))
        )
        zeros, ones = np.zeros(self.n_actions), np.ones(self.n_actions)
        low = np.concatenate([np.asarray(inner.low, dtype=np.float32).ravel(), zeros])
        high = np.concatenate([np.asarray(inner.high, dtype=np.float32).ravel(), ones])
        self.observation_space = spaces.Box(
            low.astype(np.float32), high.astype(np.float32), dtype=np.float32
        )
        self.last_flags = np.zeros(self.n_actions, dtype=np.float32)
        if env.has_wrapper_attr("action_masks"):
            self.action_masks = self._action_masks

    def _action_masks(self) -> npt.NDArray[np.bool_]:
        masks: npt.NDArray[np.bool_] = self.env.get_wrapper_attr("action_masks")()
        return masks

    def flags(self) -> npt.NDArray[np.float32]:
        """1.0 for each action whose ``p_wrong`` now exceeds ``threshold``, else 0.0."""
        judgement = self._judge.judge(self.candidates)
        return (judgement.p_wrong > self.threshold).astype(np.float32)

    def _observe(self, obs: Any, flags: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        self.last_flags = flags
        return np.concatenate([np.asarray(obs, dtype=np.float32).ravel(), flags])

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[npt.NDArray[np.float32], dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        return self._observe(obs, self.flags()), info

    def step(
        self, action: Any
    ) -> tuple[npt.NDArray[np.float32], SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        flags = np.zeros(self.n_actions, dtype=np.float32) if terminated else self.flags()
        return self._observe(obs, flags), reward, terminated, truncated, info


# --------------------------------------------------------------------------------------
# Policies
# --------------------------------------------------------------------------------------


def penalty_block(obs: th.Tensor, n_actions: int) -> th.Tensor:
    """The last ``n_actions`` entries of each observation: :class:`ConsciencePenalty`'s flags."""
    return obs[..., -n_actions:].float()


def original_space(observation_space: spaces.Space[Any], n_actions: int) -> spaces.Box:
    """The observation space without the appended penalty block."""
    if (
        not isinstance(observation_space, spaces.Box)
        or len(observation_space.shape) != 1
        or observation_space.shape[0] <= n_actions
    ):
        raise TypeError(
            f"CMPS policies need the flat Box observation of ConsciencePenalty (more than "
            f"{n_actions} entries, the last {n_actions} being the penalty block); got "
            f"{observation_space}"
        )
    return spaces.Box(
        observation_space.low[:-n_actions],
        observation_space.high[:-n_actions],
        dtype=observation_space.dtype,
    )


class StripPenalty(BaseFeaturesExtractor):
    """Runs ``inner`` (built on the original observation space) on all but the last
    ``n_actions`` entries: the features never see the conscience's flags."""

    def __init__(
        self, observation_space: spaces.Box, inner: BaseFeaturesExtractor, n_actions: int
    ) -> None:
        super().__init__(observation_space, inner.features_dim)
        self.inner = inner
        self.n_actions = int(n_actions)

    def forward(self, observations: th.Tensor) -> th.Tensor:
        return cast(th.Tensor, self.inner(observations[..., : -self.n_actions]))


def _n_actions(model: BaseModel) -> int:
    if not isinstance(model.action_space, spaces.Discrete):
        raise TypeError(f"CMPS policies need a Discrete action space, got {model.action_space}")
    return int(model.action_space.n)


def _stripped_extractor(model: BaseModel) -> StripPenalty:
    n = _n_actions(model)
    inner_space = original_space(model.observation_space, n)
    inner = model.features_extractor_class(inner_space, **model.features_extractor_kwargs)
    return StripPenalty(cast(spaces.Box, model.observation_space), inner, n)


def _tensor(obs: PyTorchObs) -> th.Tensor:
    if not isinstance(obs, th.Tensor):
        raise TypeError("CMPS policies need Box observations (got a dict)")
    return obs


def _check_gamma(gamma: float) -> float:
    value = float(gamma)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"cmps_gamma must be a finite number >= 0, got {gamma!r}")
    return value


class CMPSActorCriticPolicy(ActorCriticPolicy):
    """PPO / A2C policy with CMPS: logits ``l(s, a) - cmps_gamma * flag(s, a)``.

    Needs a :class:`ConsciencePenalty` env (the flags are the observation's last
    ``n_actions`` entries; the features extractor, ``features_extractor_class`` built on the
    original space, sees the rest). The shaped logits are used in ``forward`` (rollouts:
    actions and their stored log-probabilities), ``get_distribution`` (``predict``) and
    ``evaluate_actions`` (the PPO/A2C loss), so acting and learning share one shaped policy.
    ``policy_kwargs=dict(cmps_gamma=10.0)``.
    """

    def __init__(self, *args: Any, cmps_gamma: float = 10.0, **kwargs: Any) -> None:
        self.cmps_gamma = _check_gamma(cmps_gamma)
        super().__init__(*args, **kwargs)
        if not isinstance(self.action_dist, CategoricalDistribution):
            raise TypeError("CMPSActorCriticPolicy needs a Discrete action space")

    def make_features_extractor(self) -> BaseFeaturesExtractor:
        return _stripped_extractor(self)

    def cmps_penalty(self, obs: PyTorchObs) -> th.Tensor:
        """``cmps_gamma * flag(s, a)``, shape ``(batch, n_actions)``."""
        return self.cmps_gamma * penalty_block(_tensor(obs), _n_actions(self))

    def _shaped_distribution(self, latent_pi: th.Tensor, obs: PyTorchObs) -> Distribution:
        logits = self.action_net(latent_pi) - self.cmps_penalty(obs)
        return cast(CategoricalDistribution, self.action_dist).proba_distribution(logits)

    def _latents(self, obs: PyTorchObs) -> tuple[th.Tensor, th.Tensor]:
        features = self.extract_features(obs)
        if self.share_features_extractor:
            latent_pi, latent_vf = self.mlp_extractor(features)
        else:
            pi_features, vf_features = features
            latent_pi = self.mlp_extractor.forward_actor(pi_features)
            latent_vf = self.mlp_extractor.forward_critic(vf_features)
        return latent_pi, latent_vf

    def forward(
        self, obs: th.Tensor, deterministic: bool = False
    ) -> tuple[th.Tensor, th.Tensor, th.Tensor]:
        latent_pi, latent_vf = self._latents(obs)
        values = self.value_net(latent_vf)
        distribution = self._shaped_distribution(latent_pi, obs)
        actions = distribution.get_actions(deterministic=deterministic)
        log_prob = distribution.log_prob(actions)
        actions = actions.reshape((-1, *self.action_space.shape))  # type: ignore[misc]
        return actions, values, log_prob

    def evaluate_actions(
        self, obs: PyTorchObs, actions: th.Tensor
    ) -> tuple[th.Tensor, th.Tensor, th.Tensor | None]:
        latent_pi, latent_vf = self._latents(obs)
        distribution = self._shaped_distribution(latent_pi, obs)
        log_prob = distribution.log_prob(actions)
        values = self.value_net(latent_vf)
        return values, log_prob, distribution.entropy()

    def get_distribution(self, obs: PyTorchObs) -> Distribution:
        features = BaseModel.extract_features(self, obs, self.pi_features_extractor)
        latent_pi = self.mlp_extractor.forward_actor(features)
        return self._shaped_distribution(latent_pi, obs)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data["cmps_gamma"] = self.cmps_gamma
        return data


class CMPSMaskablePolicy(MaskableActorCriticPolicy):
    """MaskablePPO policy with CMPS: logits ``l(s, a) - cmps_gamma * flag(s, a)``, then the
    action mask (masked actions stay at sb3-contrib's -1e8). As
    :class:`CMPSActorCriticPolicy`: shaped when acting and in ``evaluate_actions``."""

    def __init__(self, *args: Any, cmps_gamma: float = 10.0, **kwargs: Any) -> None:
        self.cmps_gamma = _check_gamma(cmps_gamma)
        super().__init__(*args, **kwargs)
        if not isinstance(self.action_dist, MaskableCategoricalDistribution):
            raise TypeError("CMPSMaskablePolicy needs a Discrete action space")

    def make_features_extractor(self) -> BaseFeaturesExtractor:
        return _stripped_extractor(self)

    def cmps_penalty(self, obs: PyTorchObs) -> th.Tensor:
        """``cmps_gamma * flag(s, a)``, shape ``(batch, n_actions)``."""
        return self.cmps_gamma * penalty_block(_tensor(obs), _n_actions(self))

    def _shaped_distribution(
        self,
        latent_pi: th.Tensor,
        obs: PyTorchObs,
        action_masks: npt.NDArray[np.bool_] | th.Tensor | None,
    ) -> MaskableDistribution:
        logits = self.action_net(latent_pi) - self.cmps_penalty(obs)
        dist = cast(MaskableCategoricalDistribution, self.action_dist).proba_distribution(logits)
        if action_masks is not None:
            dist.apply_masking(action_masks)
        return dist

    def _latents(self, obs: PyTorchObs) -> tuple[th.Tensor, th.Tensor]:
        features = self.extract_features(obs)
        if self.share_features_extractor:
            latent_pi, latent_vf = self.mlp_extractor(features)
        else:
            pi_features, vf_features = features
            latent_pi = self.mlp_extractor.forward_actor(pi_features)
            latent_vf = self.mlp_extractor.forward_critic(vf_features)
        return latent_pi, latent_vf

    def forward(
        self,
        obs: th.Tensor,
        deterministic: bool = False,
        action_masks: np.ndarray | None = None,
    ) -> tuple[th.Tensor, th.Tensor, th.Tensor]:
        latent_pi, latent_vf = self._latents(obs)
        values = self.value_net(latent_vf)
        distribution = self._shaped_distribution(latent_pi, obs, action_masks)
        actions = distribution.get_actions(deterministic=deterministic)
        log_prob = distribution.log_prob(actions)
        actions = actions.reshape((-1, *self.action_space.shape))  # type: ignore[misc]
        return actions, values, log_prob

    def evaluate_actions(
        self,
        obs: th.Tensor,
        actions: th.Tensor,
        action_masks: th.Tensor | None = None,
    ) -> tuple[th.Tensor, th.Tensor, th.Tensor | None]:
        latent_pi, latent_vf = self._latents(obs)
        distribution = self._shaped_distribution(latent_pi, obs, action_masks)
        log_prob = distribution.log_prob(actions)
        values = self.value_net(latent_vf)
        return values, log_prob, distribution.entropy()

    def get_distribution(
        self, obs: PyTorchObs, action_masks: np.ndarray | None = None
    ) -> MaskableDistribution:
        features = BaseModel.extract_features(self, obs, self.pi_features_extractor)
        latent_pi = self.mlp_extractor.forward_actor(features)
        return self._shaped_distribution(latent_pi, obs, action_masks)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data["cmps_gamma"] = self.cmps_gamma
        return data


class CMPSQNetwork(QNetwork):
    """A Q-network whose output stays raw (``forward``: ``Q(s, .)``, what DQN's TD loss
    fits) and whose greedy action is that of ``Q(s, a) - cmps_gamma * flag(s, a)``."""

    def __init__(self, *args: Any, cmps_gamma: float = 10.0, **kwargs: Any) -> None:
        self.cmps_gamma = _check_gamma(cmps_gamma)
        super().__init__(*args, **kwargs)

    def cmps_penalty(self, obs: PyTorchObs) -> th.Tensor:
        """``cmps_gamma * flag(s, a)``, shape ``(batch, n_actions)``."""
        return self.cmps_gamma * penalty_block(_tensor(obs), int(self.action_space.n))

    def shaped_q_values(self, obs: PyTorchObs) -> th.Tensor:
        """``Q'(s, a) = Q(s, a) - cmps_gamma * flag(s, a)``."""
        return cast(th.Tensor, self(obs)) - self.cmps_penalty(obs)

    def _predict(self, observation: PyTorchObs, deterministic: bool = True) -> th.Tensor:
        return self.shaped_q_values(observation).argmax(dim=1).reshape(-1)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data["cmps_gamma"] = self.cmps_gamma
        return data


class CMPSDQNPolicy(DQNPolicy):
    """DQN policy with CMPS at action selection (``q_net`` and ``q_net_target`` are
    :class:`CMPSQNetwork`: raw outputs, shaped greedy actions). Use with :class:`CMPSDQN`
    for the shaped learning target and exploration."""

    q_net: CMPSQNetwork
    q_net_target: CMPSQNetwork

    def __init__(self, *args: Any, cmps_gamma: float = 10.0, **kwargs: Any) -> None:
        self.cmps_gamma = _check_gamma(cmps_gamma)  # make_q_net() runs inside __init__
        super().__init__(*args, **kwargs)

    def make_features_extractor(self) -> BaseFeaturesExtractor:
        return _stripped_extractor(self)

    def make_q_net(self) -> CMPSQNetwork:
        net_args = self._update_features_extractor(self.net_args, features_extractor=None)
        return CMPSQNetwork(**net_args, cmps_gamma=self.cmps_gamma).to(self.device)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data["cmps_gamma"] = self.cmps_gamma
        return data


class CMPSDQN(DQN):
    """DQN whose learning target and exploration follow the CMPS-shaped greedy policy.

    With ``Q`` the target network's raw output on the next observation ``s'`` and
    ``Q'(s', a) = Q(s', a) - cmps_gamma * flag(s', a)`` (the flags come from ``s'``'s
    penalty block, stored in the replay buffer with the observation), the TD target of a
    transition ``(s, a, r, s', done)`` is

    * ``cmps_target="shaped_argmax"`` (default):
      ``y = r + discount * (1 - done) * Q(s', argmax_a' Q'(s', a'))``: the shaped values pick
      the next action (the max is taken over the shaped values), and its raw value is
      backed up. ``Q`` then estimates the environment return of the shaped greedy policy
      (the policy the agent actually follows), and the penalty never enters the values:
      policy shaping, not reward shaping.
    * ``cmps_target="shaped_max"``: ``y = r + discount * (1 - done) * max_a' Q'(s', a')``:
      the shaped value itself is backed up, so ``Q'`` solves the Bellman optimality
      equation for the reward ``r - cmps_gamma * flag(s, a)`` (the penalty propagates to
      earlier states, like reward shaping does).

    With no flag at ``s'`` both equal DQN's ``r + discount * (1 - done) * max_a' Q(s', a')``.
    The current estimate is the raw ``Q(s, a)`` of the online network, as in DQN; the loss,
    optimiser and gradient clipping are DQN's. Epsilon-exploration samples uniformly among
    the unflagged actions (all actions when every one is flagged, or when
    ``cmps_gamma == 0``), so exploration does not take actions the conscience rules out.
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {"MlpPolicy": CMPSDQNPolicy}
    policy: CMPSDQNPolicy

    def __init__(self, *args: Any, cmps_target: CMPSTarget = "shaped_argmax", **kwargs: Any):
        if cmps_target not in ("shaped_argmax", "shaped_max"):
            raise ValueError(
                f"cmps_target must be 'shaped_argmax' or 'shaped_max', got {cmps_target!r}"
            )
        self.cmps_target: CMPSTarget = cmps_target
        super().__init__(*args, **kwargs)

    def _setup_model(self) -> None:
        super()._setup_model()
        if not isinstance(self.policy, CMPSDQNPolicy):
            raise TypeError(f"CMPSDQN needs a CMPSDQNPolicy, got {type(self.policy).__name__}")

    def cmps_target_q_values(self, replay_data: ReplayBufferSamples) -> th.Tensor:
        """The TD targets ``y`` of a replay batch, shape ``(batch, 1)`` (see the class doc)."""
        discounts = replay_data.discounts if replay_data.discounts is not None else self.gamma
        target_net = self.policy.q_net_target
        with th.no_grad():
            next_obs = replay_data.next_observations
            next_q = target_net(next_obs)
            shaped = next_q - target_net.cmps_penalty(next_obs)
            if self.cmps_target == "shaped_argmax":
                next_values = th.gather(next_q, 1, shaped.argmax(dim=1, keepdim=True))
            else:
                next_values = shaped.max(dim=1, keepdim=True).values
            return replay_data.rewards + (1 - replay_data.dones) * discounts * next_values

    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        """DQN's training step with :meth:`cmps_target_q_values` as the TD target."""
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        losses = []
        for _ in range(gradient_steps):
            replay_data = self.replay_buffer.sample(  # type: ignore[union-attr]
                batch_size, env=self._vec_normalize_env
            )
            target_q_values = self.cmps_target_q_values(replay_data)
            current_q_values = self.q_net(replay_data.observations)
            current_q_values = th.gather(current_q_values, 1, replay_data.actions.long())
            loss = F.smooth_l1_loss(current_q_values, target_q_values)
            losses.append(loss.item())
            self.policy.optimizer.zero_grad()
            loss.backward()
            th.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
            self.policy.optimizer.step()
        self._n_updates += gradient_steps
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/loss", np.mean(losses))

    def predict(
        self,
        observation: np.ndarray | dict[str, np.ndarray],
        state: tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
        """DQN's epsilon-greedy ``predict``, exploring only among unflagged actions."""
        if (
            deterministic
            or self.policy.cmps_gamma == 0
            or not isinstance(observation, np.ndarray)
            or np.random.rand() >= self.exploration_rate  # noqa: NPY002  (as DQN.predict)
        ):
            return self.policy.predict(observation, state, episode_start, deterministic)
        n = int(cast(spaces.Discrete, self.action_space).n)
        vectorized = self.policy.is_vectorized_observation(observation)
        rows = observation.reshape(observation.shape[0] if vectorized else 1, -1)
        rng = self.action_space.np_random  # seeded by SB3 with the model
        actions = []
        for flags in rows[:, -n:]:
            allowed = np.flatnonzero(flags <= 0.5)
            actions.append(int(rng.choice(allowed)) if allowed.size else int(rng.integers(n)))
        chosen = np.array(actions) if vectorized else np.array(actions[0])
        return chosen, state


# --------------------------------------------------------------------------------------
# Choosing wrappers, policies and algorithms
# --------------------------------------------------------------------------------------

CMPS_POLICIES: dict[str, type[BasePolicy]] = {
    "ppo": CMPSActorCriticPolicy,
    "a2c": CMPSActorCriticPolicy,
    "dqn": CMPSDQNPolicy,
    "maskable_ppo": CMPSMaskablePolicy,
}


def _check(mode: str, algo: str) -> None:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if algo not in ALGOS:
        raise ValueError(f"algo must be one of {ALGOS}, got {algo!r}")


def shape(
    env: gym.Env[Any, Any],
    conscience: Conscience,
    mode: Mode = "policy",
    algo: Algo = "ppo",
    weight: float = 1.0,
    gamma: float = 10.0,
    threshold: float = 0.5,
    use: Use = "morality",
    memo: bool = True,
) -> tuple[gym.Env[Any, Any], str | type[BasePolicy], dict[str, Any]]:
    """Wrap ``env`` for conscience shaping and pick the policy for ``algo``.

    ``mode="reward"``: :class:`ConscienceReward` (``weight``, ``use``) and ``"MlpPolicy"``.
    ``mode="policy"``: :class:`ConsciencePenalty` (``threshold``) and the algorithm's CMPS
    policy with ``policy_kwargs=dict(cmps_gamma=gamma)``. ``mode="both"``: both wrappers
    (the penalty outermost) and the CMPS policy. Returns ``(env, policy, policy_kwargs)``;
    train with ``algorithm_class(algo, mode)(policy, env, policy_kwargs=policy_kwargs)``.
    """
    _check(mode, algo)
    wrapped = env
    if mode in ("reward", "both"):
        wrapped = ConscienceReward(wrapped, conscience, weight=weight, use=use, memo=memo)
    if mode == "reward":
        return wrapped, "MlpPolicy", {}
    wrapped = ConsciencePenalty(wrapped, conscience, threshold=threshold, memo=memo)
    return wrapped, CMPS_POLICIES[algo], {"cmps_gamma": _check_gamma(gamma)}


def algorithm_class(algo: Algo, mode: Mode = "policy") -> type[BaseAlgorithm]:
    """The algorithm class to train :func:`shape`'s output with: PPO, A2C, MaskablePPO, and
    for DQN :class:`CMPSDQN` when policy shaping is on (the shaped target), else DQN."""
    _check(mode, algo)
    if algo == "dqn":
        return DQN if mode == "reward" else CMPSDQN
    classes: dict[str, type[BaseAlgorithm]] = {
        "ppo": PPO,
        "a2c": A2C,
        "maskable_ppo": MaskablePPO,
    }
    return classes[algo]
