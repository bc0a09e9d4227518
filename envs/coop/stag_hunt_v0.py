"""PettingZoo-style module of :class:`~mlsafety.envs.coop.stag_hunt.StagHunt`.

``parallel_env(**kwargs)`` builds the ``ParallelEnv``; ``env(**kwargs)`` wraps it as an AEC
env (``pettingzoo.utils.parallel_to_aec``); ``raw_env`` is the class itself.
"""

from __future__ import annotations

from typing import Any

from pettingzoo.utils import parallel_to_aec

from mlsafety.envs.coop.stag_hunt import StagHunt, StagHuntBatch, stag_hunt_payoffs

raw_env = StagHunt

__all__ = ["StagHunt", "StagHuntBatch", "env", "parallel_env", "raw_env", "stag_hunt_payoffs"]


def parallel_env(**kwargs: Any) -> StagHunt:
    """The parallel env (see :class:`StagHunt` for the keyword arguments)."""
    return StagHunt(**kwargs)


def env(**kwargs: Any) -> Any:
    """The AEC version of :func:`parallel_env`."""
    return parallel_to_aec(parallel_env(**kwargs))
