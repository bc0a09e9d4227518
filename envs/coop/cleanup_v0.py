"""PettingZoo-style module of :class:`~mlsafety.envs.coop.cleanup.Cleanup`.

``parallel_env(**kwargs)`` builds the ``ParallelEnv``; ``env(**kwargs)`` its AEC form (through
``pettingzoo.utils.parallel_to_aec``, with the out-of-bounds and order-enforcing wrappers);
``raw_env`` is the class. Registered as ``mlsafety/Cleanup-v0``.
"""

from __future__ import annotations

from typing import Any

from pettingzoo.utils import parallel_to_aec, wrappers
from pettingzoo.utils.env import AECEnv

from mlsafety.envs.coop.cleanup import Cleanup, CleanupBatch

__all__ = ["CleanupBatch", "env", "parallel_env", "raw_env"]

raw_env = Cleanup


def parallel_env(**kwargs: Any) -> Cleanup:
    return Cleanup(**kwargs)


def env(**kwargs: Any) -> AECEnv:
    aec = parallel_to_aec(Cleanup(**kwargs))
    aec = wrappers.AssertOutOfBoundsWrapper(aec)
    return wrappers.OrderEnforcingWrapper(aec)
