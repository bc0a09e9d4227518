"""The env as its own model: judge each action by what ``env.peek(action)`` says it would do."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mlsafety.agents.conscience.base import Judgement
from mlsafety.contract import Peek


class CostConscience:
    """Judges the actions of any env with ``peek(action) -> Peek`` (gridworlds, dilemmas,
    text scenarios: see :class:`mlsafety.contract.Peek`).

    ``p_wrong`` is 1 when the peeked ``cost`` exceeds ``threshold`` or the peeked morality
    harms anyone (``harm_others + harm_self > 0``), else 0; ``morality`` is the peeked vector.
    The env is unwrapped here, so a ``gym.make`` env can be passed as it is. Peeking never
    changes the env's state.
    """

    def __init__(self, threshold: float = 0.0) -> None:
        self.threshold = float(threshold)

    def judge(
        self, candidates: Sequence[Any], env: Any = None, observation: str | None = None
    ) -> Judgement:
        if env is None:
            raise ValueError(f"{type(self).__name__} needs the env whose actions it judges")
        base = getattr(env, "unwrapped", env)
        peek = getattr(base, "peek", None)
        if peek is None:
            raise TypeError(f"{type(base).__name__} has no peek(action): cannot judge its actions")
        p = np.zeros(len(candidates), dtype=np.float64)
        morality = np.zeros((len(candidates), 4), dtype=np.float64)
        for i, action in enumerate(candidates):
            out = peek(action)
            if not isinstance(out, Peek):
                raise TypeError(
                    f"{type(base).__name__}.peek() returned {type(out).__name__}; "
                    "it must return mlsafety.contract.Peek"
                )
            vec = np.asarray(out.morality, dtype=np.float64).reshape(4)
            morality[i] = vec
            p[i] = 1.0 if out.cost > self.threshold or vec[0] + vec[1] > 0 else 0.0
        return Judgement(p_wrong=p, morality=morality)
