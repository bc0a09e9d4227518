"""Shared type aliases and protocols (one home, as SB3's ``common/type_aliases.py``)."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@runtime_checkable
class Predictor(Protocol):
    """Anything with SB3's ``predict``: SB3 models, the moral parliament, scripted and
    reference policies, shaped policies. Everything downstream (evaluation, fallback,
    suites) takes this."""

    def predict(
        self,
        observation: Any,
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = False,
    ) -> tuple[Any, Any]: ...
