"""The oracle conscience: reads the env's own annotations (the upper bound for any other)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mlsafety.agents.conscience.base import Judgement
from mlsafety.agents.conscience.cost import CostConscience


class OracleConscience:
    """Judges each candidate by what the env says it would do.

    Text scenarios (envs whose ``peek(command)`` returns ``(morality, events)``): ``morality``
    is the peeked vector and ``p_wrong`` is 1 when it harms anyone (``harm_others +
    harm_self > 0``). Other envs (gridworlds, whose ``peek(action)`` returns a dict) are
    judged by :class:`CostConscience` with the given ``threshold``. Peeking never changes the
    env's state. The env is unwrapped here.
    """

    def __init__(self, threshold: float = 0.0) -> None:
        self._cost = CostConscience(threshold)

    def judge(
        self, candidates: Sequence[Any], env: Any = None, observation: str | None = None
    ) -> Judgement:
        if env is None:
            raise ValueError("OracleConscience needs the env whose actions it judges")
        base = getattr(env, "unwrapped", env)
        if getattr(base, "scenario", None) is None:  # not a text scenario
            return self._cost.judge(candidates, base, observation)
        p = np.zeros(len(candidates), dtype=np.float64)
        morality = np.zeros((len(candidates), 4), dtype=np.float64)
        for i, command in enumerate(candidates):
            vec, _events = base.peek(str(command))
            morality[i] = np.asarray(vec, dtype=np.float64).reshape(4)
            p[i] = 1.0 if morality[i, 0] + morality[i, 1] > 0 else 0.0
        return Judgement(p_wrong=p, morality=morality)
