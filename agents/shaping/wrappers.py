"""Gymnasium wrappers that turn a conscience's verdicts into training signals.

* :class:`ConscienceReward`: reward shaping, ``r' = r - weight * harm(s, a)`` of the action
  taken, judged before it is taken.
* :class:`ConsciencePenalty`: appends the conscience's per-action flags
  (``1[p_wrong(s, a) > threshold]``) to the observation, for the CMPS policies
  (:mod:`.policies`, :mod:`.dqn`).
* :class:`ConscienceJudge`: turns an env's actions into conscience candidates (vocabulary
  commands for text envs in their SB3 form, the command itself for a native text env, action
  indices otherwise) and judges them in the current state, memoised per
  ``(state text, candidate)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
import numpy.typing as npt
from gymnasium import spaces

from mlsafety.agents.conscience import Conscience, Judgement, harm
from mlsafety.agents.shaping.config import SHAPING_DEFAULTS, USES, Use

MEMO_LIMIT = 200_000


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
        weight: float = SHAPING_DEFAULTS.weight,
        use: Use = SHAPING_DEFAULTS.use,
        memo: bool = SHAPING_DEFAULTS.memo,
    ) -> None:
        super().__init__(env)
        if use not in USES:
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
        threshold: float = SHAPING_DEFAULTS.cmps_threshold,
        memo: bool = SHAPING_DEFAULTS.memo,
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
