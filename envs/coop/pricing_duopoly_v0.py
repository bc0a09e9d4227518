"""PettingZoo-style module of :class:`~mlsafety.envs.coop.pricing_duopoly.PricingDuopoly`.

``parallel_env(**kwargs)`` builds the ``ParallelEnv``; ``env(**kwargs)`` wraps it as an AEC
env (``pettingzoo.utils.parallel_to_aec``); ``raw_env`` is the class itself.
"""

from __future__ import annotations

from typing import Any

from pettingzoo.utils import parallel_to_aec

from mlsafety.envs.coop.pricing_duopoly import (
    PricingDuopoly,
    PricingDuopolyBatch,
    PricingModel,
    pricing_model,
)

raw_env = PricingDuopoly

__all__ = ["PricingDuopoly", "PricingDuopolyBatch", "PricingModel", "env", "parallel_env",
           "pricing_model", "raw_env"]  # fmt: skip


def parallel_env(**kwargs: Any) -> PricingDuopoly:
    """The parallel env (see :class:`PricingDuopoly` for the keyword arguments)."""
    return PricingDuopoly(**kwargs)


def env(**kwargs: Any) -> Any:
    """The AEC version of :func:`parallel_env`."""
    return parallel_to_aec(parallel_env(**kwargs))
