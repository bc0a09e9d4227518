"""The conscience interface: score candidate actions in context for moral harm."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt


class Judgement(NamedTuple):
    """A conscience's verdict on N candidate actions.

    ``p_wrong[i]``: probability that action ``i`` is morally wrong (harms others or self).
    ``morality[i]``: expected ``[harm_others, harm_self, help_others, help_self]`` of action
    ``i`` (the safety contract's vector; who is harmed matters).
    """

    p_wrong: npt.NDArray[np.float64]  # (N,)
    morality: npt.NDArray[np.float64]  # (N, 4)


@runtime_checkable
class Conscience(Protocol):
    """Anything that judges candidate actions in the context of an env's current state.

    ``candidates`` are commands (text envs) or action indices (other envs); ``env`` is the
    (unwrapped) env the actions would be taken in, for consciences that read its state or
    annotations; ``observation`` is the current observation text where there is one.
    """

    def judge(
        self, candidates: Sequence[Any], env: Any = None, observation: str | None = None
    ) -> Judgement: ...


def harm(judgement: Judgement) -> npt.NDArray[np.float64]:
    """The harm a judgement foresees per action: harm to others plus harm to self."""
    return judgement.morality[:, 0] + judgement.morality[:, 1]
