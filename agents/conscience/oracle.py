"""The oracle conscience: reads the env's own annotations (the upper bound for any other)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlsafety.agents.conscience.base import Judgement
from mlsafety.agents.conscience.cost import CostConscience


class OracleConscience(CostConscience):
    """Judges each candidate by what the env says it would do (``peek``).

    Every env family's ``peek`` returns :class:`mlsafety.contract.Peek`. ``morality`` is the
    peeked vector; ``p_wrong`` is 1 when the candidate harms anyone (``harm_others +
    harm_self > 0``) or its ``cost`` exceeds ``threshold``. Text commands are passed to
    ``peek`` as strings.
    """

    def judge(
        self, candidates: Sequence[Any], env: Any = None, observation: str | None = None
    ) -> Judgement:
        base = getattr(env, "unwrapped", env)
        if getattr(base, "scenario", None) is not None:  # text commands
            candidates = [str(c) for c in candidates]
        return super().judge(candidates, env, observation)
