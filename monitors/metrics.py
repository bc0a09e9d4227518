"""Metrics for anomaly detectors and for calibrated monitors.

Conventions, everywhere in :mod:`mlsafety.monitors`:

* ``labels``: ``1`` = anomaly (out-of-distribution, shifted, gamed), ``0`` = in-distribution.
* ``scores``: higher means more anomalous (what every detector's ``score`` returns).
* ``probs``: a predicted *probability of anomaly* in ``[0, 1]``.

The ranking metrics (:func:`auroc`, :func:`aupr_in`, :func:`aupr_out`,
:func:`fpr_at_95_tpr`) need both classes present; the calibration metrics
(:func:`brier_score`, :func:`expected_calibration_error`, :func:`reliability_diagram`)
do not. Bad input (mismatched lengths, labels outside ``{0, 1}``, non-finite scores,
probabilities outside ``[0, 1]``) raises :class:`ValueError`.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from mlsafety.io import atomic_write

__all__ = [
    "aupr_in",
    "aupr_out",
    "auroc",
    "brier_score",
    "expected_calibration_error",
    "fpr_at_95_tpr",
    "plot_reliability_diagram",
    "reliability_diagram",
]


def _labels(labels: Any) -> np.ndarray:
    arr = np.asarray(labels)
    if arr.ndim != 1:
        arr = arr.reshape(-1)
    if arr.size == 0:
        raise ValueError("labels is empty")
    if arr.dtype == bool:
        return arr.astype(np.int64)
    if not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"labels must be 0/1 (1 = anomaly), got dtype {arr.dtype}")
    if not np.all((arr == 0) | (arr == 1)):
        raise ValueError("labels must contain only 0 (in-distribution) and 1 (anomaly)")
    return arr.astype(np.int64)


def _values(values: Any, n: int, what: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if arr.shape[0] != n:
        raise ValueError(f"labels and {what} differ in length: {n} vs {arr.shape[0]}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} must be finite (found NaN or inf)")
    return arr


def _ranking_inputs(labels: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    y = _labels(labels)
    s = _values(scores, y.shape[0], "scores")
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == y.shape[0]:
        raise ValueError(
            "ranking metrics need both classes: labels has only "
            f"{'anomalies (1)' if n_pos else 'in-distribution samples (0)'}"
        )
    return y, s


def _prob_inputs(labels: Any, probs: Any) -> tuple[np.ndarray, np.ndarray]:
    y = _labels(labels)
    p = _values(probs, y.shape[0], "probs")
    if np.any(p < 0.0) or np.any(p > 1.0):
        raise ValueError("probs must lie in [0, 1] (a probability of anomaly)")
    return y, p


def auroc(labels: Any, scores: Any) -> float:
    """Area under the ROC curve, anomaly (label 1) as the positive class.

    The probability that a random anomaly scores higher than a random in-distribution
    sample (ties count one half). 1.0 = perfect separation, 0.5 = chance.
    """
    y, s = _ranking_inputs(labels, scores)
    return float(roc_auc_score(y, s))


def aupr_out(labels: Any, scores: Any) -> float:
    """Area under the precision-recall curve with anomalies (label 1) as the positive class.

    Computed as average precision (scikit-learn's step-wise sum
    ``sum_n (R_n - R_{n-1}) P_n``, no interpolation). Chance level is the anomaly rate.
    """
    y, s = _ranking_inputs(labels, scores)
    return float(average_precision_score(y, s))


def aupr_in(labels: Any, scores: Any) -> float:
    """Area under the precision-recall curve with in-distribution samples as the positive class.

    Labels are flipped (``labels == 0`` is positive) and scores negated (lower score = more
    in-distribution), then average precision as in :func:`aupr_out`.
    """
    y, s = _ranking_inputs(labels, scores)
    return float(average_precision_score(1 - y, -s))


def fpr_at_95_tpr(labels: Any, scores: Any) -> float:
    """False-positive rate on in-distribution samples at 95% true-positive rate on anomalies.

    Over all thresholds ``t`` that flag (``score >= t``) at least 95% of the anomalies, the
    smallest fraction of in-distribution samples that are also flagged. Lower is better.
    """
    y, s = _ranking_inputs(labels, scores)
    fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
    idx = int(np.searchsorted(tpr, 0.95 - 1e-12, side="left"))
    return float(fpr[idx])


def brier_score(labels: Any, probs: Any) -> float:
    """Mean squared error between the predicted probability of anomaly and the 0/1 label."""
    y, p = _prob_inputs(labels, probs)
    return float(np.mean((p - y) ** 2))


def _bin_index(p: np.ndarray, n_bins: int) -> np.ndarray:
    if not isinstance(n_bins, (int, np.integer)) or isinstance(n_bins, bool) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive int, got {n_bins!r}")
    # equal-width bins [i/n, (i+1)/n); the last bin also holds p == 1
    return np.minimum((p * n_bins).astype(np.int64), n_bins - 1)


def reliability_diagram(labels: Any, probs: Any, n_bins: int = 15) -> dict[str, np.ndarray]:
    """Per-bin data of a reliability diagram for predicted probabilities of anomaly.

    Probabilities are put into ``n_bins`` equal-width bins ``[i/n, (i+1)/n)`` (the last one
    closed). Returns a dict of arrays:

    * ``bin_edges`` (``n_bins + 1``),
    * ``confidence``: mean predicted probability of anomaly in each bin,
    * ``accuracy``: observed fraction of anomalies (label 1) in each bin,
    * ``counts``: samples per bin.

    Empty bins have ``counts == 0`` and NaN confidence and accuracy. A perfectly calibrated
    monitor has ``accuracy == confidence`` in every bin.
    """
    y, p = _prob_inputs(labels, probs)
    idx = _bin_index(p, n_bins)
    counts = np.bincount(idx, minlength=n_bins).astype(np.int64)
    sum_p = np.bincount(idx, weights=p, minlength=n_bins)
    sum_y = np.bincount(idx, weights=y.astype(np.float64), minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        confidence = np.where(counts > 0, sum_p / np.maximum(counts, 1), np.nan)
        accuracy = np.where(counts > 0, sum_y / np.maximum(counts, 1), np.nan)
    return {
        "bin_edges": np.linspace(0.0, 1.0, n_bins + 1),
        "confidence": confidence,
        "accuracy": accuracy,
        "counts": counts,
    }


def expected_calibration_error(labels: Any, probs: Any, n_bins: int = 15) -> float:
    """Expected calibration error of predicted probabilities of anomaly.

    ``sum_b (n_b / N) * |accuracy_b - confidence_b|`` over the equal-width bins of
    :func:`reliability_diagram` (accuracy = fraction of anomalies in the bin, confidence =
    mean predicted probability of anomaly). 0 = perfectly calibrated.
    """
    diagram = reliability_diagram(labels, probs, n_bins)
    counts = diagram["counts"]
    filled = counts > 0
    gaps = np.abs(diagram["accuracy"][filled] - diagram["confidence"][filled])
    return float(np.sum(counts[filled] * gaps) / np.sum(counts))


def plot_reliability_diagram(
    labels: Any,
    probs: Any,
    path: str | os.PathLike[str],
    n_bins: int = 15,
    title: str | None = None,
) -> str:
    """Draw a reliability diagram (observed anomaly rate vs predicted probability) to ``path``.

    Uses matplotlib's Agg canvas directly (no change to the global backend), imported
    lazily. The image format follows the file extension (``.png`` if none); the file is
    written atomically. Returns the path written.
    """
    # heavy: matplotlib, only when a plot is drawn
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    diagram = reliability_diagram(labels, probs, n_bins)
    ece = expected_calibration_error(labels, probs, n_bins)
    edges = diagram["bin_edges"]
    centers = (edges[:-1] + edges[1:]) / 2
    width = edges[1] - edges[0]
    filled = diagram["counts"] > 0

    fig = Figure(figsize=(4.5, 4.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    ax.bar(
        centers[filled],
        diagram["accuracy"][filled],
        width=width,
        edgecolor="black",
        alpha=0.7,
        label="observed anomaly rate",
    )
    ax.plot(diagram["confidence"][filled], diagram["accuracy"][filled], "o", color="C3")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("predicted probability of anomaly")
    ax.set_ylabel("fraction of anomalies")
    ax.set_title(title if title is not None else f"Reliability (ECE = {ece:.3f})")
    ax.legend(loc="upper left")
    fig.tight_layout()

    target = os.fspath(path)
    ext = os.path.splitext(target)[1].lstrip(".").lower() or "png"
    atomic_write(target, lambda fh: fig.savefig(fh, format=ext))
    return target
