"""CMPS for DQN: shaped greedy actions, and a shaped learning target and exploration.

:class:`CMPSQNetwork` keeps the Q-network's output raw (``q_net(obs)`` is ``Q(s, .)``, what
the TD loss fits) and subtracts ``cmps_gamma * flag`` at action selection
(:meth:`CMPSQNetwork.shaped_q_values`, greedy ``_predict``); :class:`CMPSDQNPolicy` builds
its networks; :class:`CMPSDQN` also shapes the TD target and epsilon-exploration (see its
docstring for the exact target).
"""

from __future__ import annotations

from typing import Any, ClassVar, cast

import numpy as np
import torch as th
import torch.nn.functional as F
from gymnasium import spaces
from stable_baselines3 import DQN
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.type_aliases import PyTorchObs, ReplayBufferSamples
from stable_baselines3.dqn.policies import DQNPolicy, QNetwork

from mlsafety.agents.shaping.config import CMPS_TARGETS, SHAPING_DEFAULTS, CMPSTarget, check_gamma
from mlsafety.agents.shaping.policies import box_tensor, penalty_block, stripped_extractor


class CMPSQNetwork(QNetwork):
    """A Q-network whose output stays raw (``forward``: ``Q(s, .)``, what DQN's TD loss
    fits) and whose greedy action is that of ``Q(s, a) - cmps_gamma * flag(s, a)``."""

    def __init__(
        self, *args: Any, cmps_gamma: float = SHAPING_DEFAULTS.cmps_gamma, **kwargs: Any
    ) -> None:
        self.cmps_gamma = check_gamma(cmps_gamma)
        super().__init__(*args, **kwargs)

    def cmps_penalty(self, obs: PyTorchObs) -> th.Tensor:
        """``cmps_gamma * flag(s, a)``, shape ``(batch, n_actions)``."""
        return self.cmps_gamma * penalty_block(box_tensor(obs), int(self.action_space.n))

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

    def __init__(
        self, *args: Any, cmps_gamma: float = SHAPING_DEFAULTS.cmps_gamma, **kwargs: Any
    ) -> None:
        self.cmps_gamma = check_gamma(cmps_gamma)  # make_q_net() runs inside __init__
        super().__init__(*args, **kwargs)

    def make_features_extractor(self) -> BaseFeaturesExtractor:
        return stripped_extractor(self)

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

    def __init__(
        self, *args: Any, cmps_target: CMPSTarget = SHAPING_DEFAULTS.cmps_target, **kwargs: Any
    ):
        if cmps_target not in CMPS_TARGETS:
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
