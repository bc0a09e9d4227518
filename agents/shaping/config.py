"""The shaping settings and their defaults, in one place (:class:`ShapingConfig`).

Every default of the shaping code (:func:`~.choose.shape`, the wrappers, the CMPS policies,
:class:`~.dqn.CMPSDQN`) and of the trainers that shape (``TrainConfig``, ``DRRN``) reads
:data:`SHAPING_DEFAULTS`, so changing one value here changes it everywhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Use = Literal["morality", "p_wrong"]
Mode = Literal["reward", "policy", "both"]
Algo = Literal["ppo", "a2c", "dqn", "maskable_ppo"]
CMPSTarget = Literal["shaped_argmax", "shaped_max"]

MODES: tuple[Mode, ...] = ("reward", "policy", "both")
USES: tuple[Use, ...] = ("morality", "p_wrong")
ALGOS: tuple[Algo, ...] = ("ppo", "a2c", "dqn", "maskable_ppo")
CMPS_TARGETS: tuple[CMPSTarget, ...] = ("shaped_argmax", "shaped_max")


def check_gamma(gamma: float) -> float:
    """``gamma`` as a float if it is a finite number >= 0 (the CMPS penalty), else a
    ``ValueError``."""
    value = float(gamma)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"cmps_gamma must be a finite number >= 0, got {gamma!r}")
    return value


@dataclass(frozen=True)
class ShapingConfig:
    """How a conscience shapes training (see :mod:`mlsafety.agents.shaping`).

    * ``mode``: ``"reward"`` (``r - weight * harm``), ``"policy"`` (CMPS) or ``"both"``;
    * ``weight``: reward shaping's ``lambda``; ``use``: what it penalises, the judged harm
      (``"morality"``: harm to others plus harm to self) or ``"p_wrong"``;
    * ``cmps_gamma``: the CMPS penalty subtracted from a flagged action's preference
      (Jiminy Cricket's ``gamma``); ``cmps_threshold``: an action is flagged when the
      conscience's ``p_wrong`` exceeds it (``tau``); ``cmps_target``: :class:`~.dqn.CMPSDQN`'s
      TD target;
    * ``memo``: memoise verdicts per ``(state text, candidate)``.

    Values are normalised (floats, a bool) and checked on construction.
    """

    mode: Mode = "policy"
    weight: float = 1.0
    use: Use = "morality"
    cmps_gamma: float = 10.0
    cmps_threshold: float = 0.5
    cmps_target: CMPSTarget = "shaped_argmax"
    memo: bool = True

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.use not in USES:
            raise ValueError(f"use must be one of {USES}, got {self.use!r}")
        if self.cmps_target not in CMPS_TARGETS:
            raise ValueError(f"cmps_target must be one of {CMPS_TARGETS}, got {self.cmps_target!r}")
        weight = float(self.weight)
        if not math.isfinite(weight):
            raise ValueError(f"weight must be finite, got {self.weight!r}")
        threshold = float(self.cmps_threshold)
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"cmps_threshold must be in [0, 1], got {self.cmps_threshold!r}")
        object.__setattr__(self, "weight", weight)
        object.__setattr__(self, "cmps_gamma", check_gamma(self.cmps_gamma))
        object.__setattr__(self, "cmps_threshold", threshold)
        object.__setattr__(self, "memo", bool(self.memo))

    @property
    def reward_shaping(self) -> bool:
        """Whether the reward is shaped (``mode`` ``"reward"`` or ``"both"``)."""
        return self.mode in ("reward", "both")

    @property
    def policy_shaping(self) -> bool:
        """Whether the policy is shaped by CMPS (``mode`` ``"policy"`` or ``"both"``)."""
        return self.mode in ("policy", "both")


SHAPING_DEFAULTS = ShapingConfig()
"""The defaults every shaping function, policy and trainer reads."""
