"""Capability sweeps (``mlsafety sweep``): train PPO across capability axes on a proxy
reward, measure proxy and true return, detect phase transitions, and Pan et al.'s
detection of reward-hacking policies. See ``docs/sweeps.md``.

- :mod:`mlsafety.sweeps.spec`: axes, the grid of runs, validation;
- :mod:`mlsafety.sweeps.runner`: one run, the local and Ray backends, resume;
- :mod:`mlsafety.sweeps.analysis`: per-point returns, the transition rule, plots;
- :mod:`mlsafety.sweeps.detection`: trusted vs reward-hacking policies, AUROC;
- :mod:`mlsafety.sweeps.command` and :mod:`mlsafety.sweeps.flags`: the CLI command.

The names below are loaded on first use, so ``mlsafety.sweeps.flags`` (which the CLI's
parser imports) does not pull in SB3, torch and scikit-learn.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the lazy names of __getattr__, for type checkers
    from mlsafety.sweeps.analysis import (
        PointStats,
        Transition,
        divergence_trend,
        find_transition,
        plot_sweep,
        point_stats,
        points_table,
        transition_table,
        write_report,
    )
    from mlsafety.sweeps.detection import (
        detection_table,
        detection_task,
        hacking_point,
        transition_detection,
        transition_detection_table,
    )
    from mlsafety.sweeps.runner import (
        BACKENDS,
        RunOutcome,
        execute_run,
        load_finished,
        run_all,
        run_folder,
        run_sweep,
    )
    from mlsafety.sweeps.spec import Axis, RunSpec, SweepSpec

_HOMES = {
    "analysis": (
        "PointStats",
        "Transition",
        "divergence_trend",
        "find_transition",
        "plot_sweep",
        "point_stats",
        "points_table",
        "transition_table",
        "write_report",
    ),
    "detection": (
        "detection_table",
        "detection_task",
        "hacking_point",
        "transition_detection",
        "transition_detection_table",
    ),
    "runner": (
        "BACKENDS",
        "RunOutcome",
        "execute_run",
        "load_finished",
        "run_all",
        "run_folder",
        "run_sweep",
    ),
    "spec": ("Axis", "RunSpec", "SweepSpec"),
}
_WHERE = {name: module for module, names in _HOMES.items() for name in names}
__all__ = [
    "BACKENDS",
    "Axis",
    "PointStats",
    "RunOutcome",
    "RunSpec",
    "SweepSpec",
    "Transition",
    "detection_table",
    "detection_task",
    "divergence_trend",
    "execute_run",
    "find_transition",
    "hacking_point",
    "load_finished",
    "plot_sweep",
    "point_stats",
    "points_table",
    "run_all",
    "run_folder",
    "run_sweep",
    "transition_detection",
    "transition_detection_table",
    "transition_table",
    "write_report",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
