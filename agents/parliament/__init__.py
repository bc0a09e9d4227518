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

Modules: :mod:`.theories` (theories, :class:`TheoryReward`), :mod:`.search` (exhaustive
search of an env), :mod:`.qtables` (Q-tables and SB3 Q-functions), :mod:`.voting` (the
rules and :class:`MoralParliament`), :mod:`.episodes` (playing the dilemmas).
"""

from mlsafety.agents.parliament.episodes import (
    MORALITY,
    OUTCOME_LETTERS,
    Episode,
    accepts_masks,
    play_episode,
    run_episode,
)
from mlsafety.agents.parliament.qtables import (
    QFunction,
    QTablePolicy,
    SB3QFunction,
    as_q_function,
    check_masks,
    policy_table,
    q_table,
    q_tables,
    theory_rewards,
    value_iteration,
)
from mlsafety.agents.parliament.search import (
    CUT,
    EnvModel,
    StateKey,
    env_masks,
    explore,
    is_text_env,
    search_env,
    text_state_key,
)
from mlsafety.agents.parliament.theories import (
    THEORIES,
    Theory,
    TheoryReward,
    deontological,
    egoist,
    utilitarian,
)
from mlsafety.agents.parliament.voting import (
    RULES,
    TOL,
    MoralParliament,
    check_credences,
    first_best,
    parliament_q_tables,
)

__all__ = [
    "CUT",
    "MORALITY",
    "OUTCOME_LETTERS",
    "RULES",
    "THEORIES",
    "TOL",
    "EnvModel",
    "Episode",
    "MoralParliament",
    "QFunction",
    "QTablePolicy",
    "SB3QFunction",
    "StateKey",
    "Theory",
    "TheoryReward",
    "accepts_masks",
    "as_q_function",
    "check_credences",
    "check_masks",
    "deontological",
    "egoist",
    "env_masks",
    "explore",
    "first_best",
    "is_text_env",
    "parliament_q_tables",
    "play_episode",
    "policy_table",
    "q_table",
    "q_tables",
    "run_episode",
    "search_env",
    "text_state_key",
    "theory_rewards",
    "utilitarian",
    "value_iteration",
]
