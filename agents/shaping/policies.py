"""CMPS policies for PPO, A2C and MaskablePPO: shaped logits from the penalty block.

:class:`~.wrappers.ConsciencePenalty` appends ``N = n_actions`` flags to each observation.
The policies here hide that block from their features extractor (:class:`StripPenalty`) and
subtract ``cmps_gamma * flag`` from the action logits before the distribution is built, in
``forward`` (acting), ``get_distribution`` (``predict``) and ``evaluate_actions`` (the
PPO/A2C loss): the agent acts with, and learns on-policy, the shaped policy. The raw logits
are the network's output, the penalty a fixed offset that carries no gradient; the value
head is not shaped.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import numpy.typing as npt
import torch as th
from gymnasium import spaces
from sb3_contrib.common.maskable.distributions import (
    MaskableCategoricalDistribution,
    MaskableDistribution,
)
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from stable_baselines3.common.distributions import CategoricalDistribution, Distribution
from stable_baselines3.common.policies import ActorCriticPolicy, BaseModel
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.type_aliases import PyTorchObs

from mlsafety.agents.shaping.config import SHAPING_DEFAULTS, check_gamma


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


def discrete_actions(model: BaseModel) -> int:
    """The number of actions of a CMPS policy's ``Discrete`` action space."""
    if not isinstance(model.action_space, spaces.Discrete):
        raise TypeError(f"CMPS policies need a Discrete action space, got {model.action_space}")
    return int(model.action_space.n)


def stripped_extractor(model: BaseModel) -> StripPenalty:
    """``model``'s features extractor, built on the space without the penalty block."""
    n = discrete_actions(model)
    inner_space = original_space(model.observation_space, n)
    inner = model.features_extractor_class(inner_space, **model.features_extractor_kwargs)
    return StripPenalty(cast(spaces.Box, model.observation_space), inner, n)


def box_tensor(obs: PyTorchObs) -> th.Tensor:
    """``obs`` as a tensor (CMPS policies take flat ``Box`` observations, not dicts)."""
    if not isinstance(obs, th.Tensor):
        raise TypeError("CMPS policies need Box observations (got a dict)")
    return obs


class CMPSActorCriticPolicy(ActorCriticPolicy):
    """PPO / A2C policy with CMPS: logits ``l(s, a) - cmps_gamma * flag(s, a)``.

    Needs a :class:`ConsciencePenalty` env (the flags are the observation's last
    ``n_actions`` entries; the features extractor, ``features_extractor_class`` built on the
    original space, sees the rest). The shaped logits are used in ``forward`` (rollouts:
    actions and their stored log-probabilities), ``get_distribution`` (``predict``) and
    ``evaluate_actions`` (the PPO/A2C loss), so acting and learning share one shaped policy.
    ``policy_kwargs=dict(cmps_gamma=...)`` (default ``SHAPING_DEFAULTS.cmps_gamma``).
    """

    def __init__(
        self, *args: Any, cmps_gamma: float = SHAPING_DEFAULTS.cmps_gamma, **kwargs: Any
    ) -> None:
        self.cmps_gamma = check_gamma(cmps_gamma)
        super().__init__(*args, **kwargs)
        if not isinstance(self.action_dist, CategoricalDistribution):
            raise TypeError("CMPSActorCriticPolicy needs a Discrete action space")

    def make_features_extractor(self) -> BaseFeaturesExtractor:
        return stripped_extractor(self)

    def cmps_penalty(self, obs: PyTorchObs) -> th.Tensor:
        """``cmps_gamma * flag(s, a)``, shape ``(batch, n_actions)``."""
        return self.cmps_gamma * penalty_block(box_tensor(obs), discrete_actions(self))

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

    def __init__(
        self, *args: Any, cmps_gamma: float = SHAPING_DEFAULTS.cmps_gamma, **kwargs: Any
    ) -> None:
        self.cmps_gamma = check_gamma(cmps_gamma)
        super().__init__(*args, **kwargs)
        if not isinstance(self.action_dist, MaskableCategoricalDistribution):
            raise TypeError("CMPSMaskablePolicy needs a Discrete action space")

    def make_features_extractor(self) -> BaseFeaturesExtractor:
        return stripped_extractor(self)

    def cmps_penalty(self, obs: PyTorchObs) -> th.Tensor:
        """``cmps_gamma * flag(s, a)``, shape ``(batch, n_actions)``."""
        return self.cmps_gamma * penalty_block(box_tensor(obs), discrete_actions(self))

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
