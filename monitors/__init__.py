"""Monitors: anomaly detectors, conservative fallback, regression suites (see DESIGN.md).

Detectors (:mod:`mlsafety.monitors.detectors`) share one convention: ``fit(samples)``,
``score(x) -> np.ndarray`` with higher = more anomalous, ``save(path)`` / ``load(path)``.
Metrics (:mod:`mlsafety.monitors.metrics`) take ``labels`` with 1 = anomaly.
"""

from mlsafety.monitors.detectors import (
    Detector,
    KNNDetector,
    MahalanobisDetector,
    PolicyDivergenceDetector,
    PolicyOutputDetector,
    load_detector,
    policy_features,
)
from mlsafety.monitors.fallback import (
    FallbackMonitor,
    FallbackParallel,
    FallbackPolicy,
    calibrate_threshold,
)
from mlsafety.monitors.metrics import (
    aupr_in,
    aupr_out,
    auroc,
    brier_score,
    expected_calibration_error,
    fpr_at_95_tpr,
    plot_reliability_diagram,
    reliability_diagram,
)

__all__ = [
    "Detector",
    "FallbackMonitor",
    "FallbackParallel",
    "FallbackPolicy",
    "KNNDetector",
    "MahalanobisDetector",
    "PolicyDivergenceDetector",
    "PolicyOutputDetector",
    "aupr_in",
    "aupr_out",
    "auroc",
    "brier_score",
    "calibrate_threshold",
    "expected_calibration_error",
    "fpr_at_95_tpr",
    "load_detector",
    "plot_reliability_diagram",
    "policy_features",
    "reliability_diagram",
]
