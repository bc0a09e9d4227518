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
with policy shaping). Their defaults (and those of the wrappers, policies and trainers) are
:data:`SHAPING_DEFAULTS`, a :class:`ShapingConfig`.

Modules: :mod:`.config` (settings and defaults), :mod:`.wrappers` (env wrappers),
:mod:`.policies` (PPO, A2C, MaskablePPO), :mod:`.dqn` (DQN), :mod:`.choose` (``shape``,
``algorithm_class``).

Candidates: for text envs in their SB3 form (:class:`~mlsafety.envs.text.choice.CommandChoice`)
the candidates are the command strings ``env.vocabulary[a]`` and the conscience gets the
current observation text; for a native text env the command string itself; for other
``Discrete`` envs the action indices. The conscience always gets ``env.unwrapped``.
"""

from mlsafety.agents.shaping.choose import CMPS_POLICIES, algorithm_class, check_choice, shape
from mlsafety.agents.shaping.config import (
    ALGOS,
    CMPS_TARGETS,
    MODES,
    SHAPING_DEFAULTS,
    USES,
    Algo,
    CMPSTarget,
    Mode,
    ShapingConfig,
    Use,
    check_gamma,
)
from mlsafety.agents.shaping.dqn import CMPSDQN, CMPSDQNPolicy, CMPSQNetwork
from mlsafety.agents.shaping.policies import (
    CMPSActorCriticPolicy,
    CMPSMaskablePolicy,
    StripPenalty,
    original_space,
    penalty_block,
)
from mlsafety.agents.shaping.wrappers import (
    MEMO_LIMIT,
    ConscienceJudge,
    ConsciencePenalty,
    ConscienceReward,
    observation_text,
)

__all__ = [
    "ALGOS",
    "CMPSDQN",
    "CMPS_POLICIES",
    "CMPS_TARGETS",
    "MEMO_LIMIT",
    "MODES",
    "SHAPING_DEFAULTS",
    "USES",
    "Algo",
    "CMPSActorCriticPolicy",
    "CMPSDQNPolicy",
    "CMPSMaskablePolicy",
    "CMPSQNetwork",
    "CMPSTarget",
    "ConscienceJudge",
    "ConsciencePenalty",
    "ConscienceReward",
    "Mode",
    "ShapingConfig",
    "StripPenalty",
    "Use",
    "algorithm_class",
    "check_choice",
    "check_gamma",
    "observation_text",
    "original_space",
    "penalty_block",
    "shape",
]
