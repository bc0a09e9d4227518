"""Reward misspecification at scale of capability (Pan, Bhatia & Steinhardt, ICLR 2022).

Four sims whose reward is a misspecified proxy of a true objective reported in
``info["true_reward"]``: :class:`TrafficMerge` (highway-env's merge road),
:class:`RampMerge` (an on-ramp with inflows in a fast numpy traffic model),
:class:`GlucoseMonitoring` (the UVa/Padova type-1 diabetes patient model) and
:class:`PandemicPolicy` (a regulation-stage policy over a stochastic SEIR town).

Scheme: one registered ID per sim, ``mlsafety/<Name>-v0``, built with the sim's default
misspecification kind; the kind is the constructor option ``misspecification=`` (one of
:data:`KINDS` that the sim supports, listed in :data:`MISSPEC_ENVS`), e.g.
``gym.make("mlsafety/TrafficMerge-v0", misspecification="ontological")``. Capability knobs
(observation noise and fidelity, action resolution) are constructor options of every env.

The env classes load on first use, so importing :mod:`mlsafety.envs` does not import
highway-env or compile the numba kernels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlsafety.envs.misspec.common import KINDS, check_kind
from mlsafety.envs.registration import EnvEntry, lazy_exports, register_env

if TYPE_CHECKING:
    from mlsafety.envs.misspec.glucose import GlucoseMonitoring
    from mlsafety.envs.misspec.pandemic import PandemicPolicy
    from mlsafety.envs.misspec.ramp_merge import RampMerge
    from mlsafety.envs.misspec.traffic_merge import TrafficMerge

FAMILY = "misspec"
_PKG = "mlsafety.envs.misspec"

# (name, module, class, default kind, other kinds, one line); the kinds are options, not IDs
MISSPEC_ENVS: tuple[tuple[str, str, str, str, tuple[str, ...], str], ...] = (
    ("TrafficMerge", "traffic_merge", "TrafficMerge", "scope", ("ontological", "misweighting"),
     "highway merge: mean-velocity proxy vs commute time of every car (highway-env)"),
    ("RampMerge", "ramp_merge", "RampMerge", "ontological", ("scope", "misweighting"),
     "on-ramp merge with inflows (numpy IDM): mean-velocity proxy vs time in the system"),
    ("GlucoseMonitoring", "glucose", "GlucoseMonitoring", "ontological", ("misweighting",),
     "insulin dosing for a T1D patient: cost-aware proxy vs the BG risk index"),
    ("PandemicPolicy", "pandemic", "PandemicPolicy", "misweighting", ("scope",),
     "lockdown stages over an SEIR town: misweighted economy vs health outcome"),
)  # fmt: skip

for _name, _module, _cls, _default, _others, _summary in MISSPEC_ENVS:
    register_env(
        EnvEntry(
            env_id=f"mlsafety/{_name}-v0",
            family=FAMILY,
            summary=f"{_summary} (misspecification={'|'.join((_default, *_others))})",
            entry_point=f"{_PKG}.{_module}:{_cls}",
        )
    )

_LAZY: dict[str, str] = {
    "TrafficMerge": "traffic_merge",
    "RampMerge": "ramp_merge",
    "GlucoseMonitoring": "glucose",
    "PandemicPolicy": "pandemic",
}

__all__ = [
    "FAMILY",
    "KINDS",
    "MISSPEC_ENVS",
    "GlucoseMonitoring",
    "PandemicPolicy",
    "RampMerge",
    "TrafficMerge",
    "check_kind",
]


# highway-env and the numba kernels load only when an env class is first asked for
__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
