"""PettingZoo-style module of :class:`~mlsafety.envs.coop.commons_harvest.CommonsHarvest`.

``parallel_env(**kwargs)`` builds the ``ParallelEnv``; ``env(**kwargs)`` its AEC form (through
``pettingzoo.utils.parallel_to_aec``, with the out-of-bounds and order-enforcing wrappers);
``raw_env`` is the class. Registered as ``mlsafety/CommonsHarvest-v0``.
"""

from __future__ import annotations

from typing import Any

from pettingzoo.utils import parallel_to_aec, wrappers
from pettingzoo.utils.env import AECEnv

from mlsafety.envs.coop.commons_harvest import CommonsHarvest, CommonsHarvestBatch

__all__ = ["CommonsHarvestBatch", "env", "parallel_env", "raw_env"]

raw_env = CommonsHarvest


def parallel_env(**kwargs: Any) -> CommonsHarvest:
    return CommonsHarvest(**kwargs)


def env(**kwargs: Any) -> AECEnv:
    aec = parallel_to_aec(CommonsHarvest(**kwargs))
    aec = wrappers.AssertOutOfBoundsWrapper(aec)
    return wrappers.OrderEnforcingWrapper(aec)
