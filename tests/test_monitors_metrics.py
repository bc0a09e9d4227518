"""Metrics of mlsafety.monitors against hand-computed cases (labels: 1 = anomaly)."""

import os

import numpy as np
import pytest

from mlsafety.monitors import (
    aupr_in,
    aupr_out,
    auroc,
    brier_score,
    expected_calibration_error,
    fpr_at_95_tpr,
    plot_reliability_diagram,
    reliability_diagram,
)

# three in-distribution samples (0.1, 0.2, 0.7) and two anomalies (0.6, 0.9)
LABELS = np.array([0, 0, 0, 1, 1])
SCORES = np.array([0.1, 0.2, 0.7, 0.6, 0.9])


def test_auroc_by_hand():
    # anomaly 0.6 beats 0.1 and 0.2 but not 0.7; anomaly 0.9 beats all three: 5 of 6 pairs
    assert auroc(LABELS, SCORES) == pytest.approx(5 / 6)
    assert auroc([0, 1], [0.5, 0.5]) == pytest.approx(0.5)  # a tie counts one half
    assert auroc([0, 1], [0.0, 1.0]) == 1.0
    assert auroc([1, 0], [0.0, 1.0]) == 0.0
    assert auroc([False, True], [0.0, 1.0]) == 1.0  # boolean labels


def test_aupr_out_by_hand():
    # ranked: 0.9 (anomaly: recall 1/2, precision 1), 0.7 (in), 0.6 (anomaly: recall 1,
    # precision 2/3); AP = 1/2 * 1 + 1/2 * 2/3
    assert aupr_out(LABELS, SCORES) == pytest.approx(0.5 + 1 / 3)


def test_aupr_in_by_hand():
    # in-distribution is positive, ranked by -score: -0.1 (in: R 1/3, P 1), -0.2 (in: R 2/3,
    # P 1), -0.6 (anomaly), -0.7 (in: R 1, P 3/4), -0.9; AP = 1/3 + 1/3 + 1/3 * 3/4
    assert aupr_in(LABELS, SCORES) == pytest.approx(2 / 3 + 1 / 4)


def test_fpr_at_95_tpr_by_hand():
    # catching >= 95% of two anomalies means both: threshold 0.6 flags the 0.7 in-dist sample
    assert fpr_at_95_tpr(LABELS, SCORES) == pytest.approx(1 / 3)
    # 20 anomalies scored 1..20, 10 in-distribution samples scored 0.5..9.5: 95% = 19
    # anomalies, threshold 2, flags the eight in-distribution samples 2.5..9.5
    labels = np.r_[np.ones(20), np.zeros(10)]
    scores = np.r_[np.arange(1, 21), np.arange(10) + 0.5]
    assert fpr_at_95_tpr(labels, scores) == pytest.approx(0.8)
    # perfect separation
    assert fpr_at_95_tpr([0, 0, 1, 1], [0, 1, 2, 3]) == 0.0


def test_brier_score_by_hand():
    # (0.1^2 + 0.2^2 + 0.4^2 + 0.3^2) / 4
    assert brier_score([0, 1, 1, 0], [0.1, 0.8, 0.6, 0.3]) == pytest.approx(0.075)
    assert brier_score([1, 1], [1.0, 1.0]) == 0.0  # one class is fine for calibration


def test_ece_and_reliability_diagram_by_hand():
    labels, probs = [0, 1, 1, 0], [0.1, 0.8, 0.6, 0.3]
    # bins [0, .5) and [.5, 1]: (0.1, 0.3) -> confidence 0.2, 0 anomalies, gap 0.2;
    # (0.8, 0.6) -> confidence 0.7, all anomalies, gap 0.3; ECE = (2*0.2 + 2*0.3) / 4
    assert expected_calibration_error(labels, probs, n_bins=2) == pytest.approx(0.25)
    diagram = reliability_diagram(labels, probs, n_bins=2)
    np.testing.assert_allclose(diagram["bin_edges"], [0.0, 0.5, 1.0])
    np.testing.assert_allclose(diagram["confidence"], [0.2, 0.7])
    np.testing.assert_allclose(diagram["accuracy"], [0.0, 1.0])
    np.testing.assert_array_equal(diagram["counts"], [2, 2])
    # calibrated: a quarter of the samples predicted at 0.25 are anomalies
    assert expected_calibration_error([1, 0, 0, 0], [0.25] * 4, n_bins=4) == pytest.approx(0.0)
    # p == 1 falls in the last bin; empty bins are NaN with count 0
    diagram = reliability_diagram([1, 0], [1.0, 0.0], n_bins=3)
    np.testing.assert_array_equal(diagram["counts"], [1, 0, 1])
    assert np.isnan(diagram["confidence"][1]) and np.isnan(diagram["accuracy"][1])
    assert expected_calibration_error([1, 0], [1.0, 0.0]) == 0.0
    # default 15 bins
    assert len(reliability_diagram(labels, probs)["counts"]) == 15


@pytest.mark.parametrize(
    "fn", [auroc, aupr_in, aupr_out, fpr_at_95_tpr, brier_score, expected_calibration_error]
)
def test_bad_input_raises(fn):
    with pytest.raises(ValueError, match="length"):
        fn([0, 1, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="0"):
        fn([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="finite"):
        fn([0, 1], [0.1, np.nan])


@pytest.mark.parametrize("fn", [auroc, aupr_in, aupr_out, fpr_at_95_tpr])
def test_ranking_metrics_need_both_classes(fn):
    with pytest.raises(ValueError, match="both classes"):
        fn([1, 1, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="both classes"):
        fn([0, 0], [0.1, 0.2])


@pytest.mark.parametrize("fn", [brier_score, expected_calibration_error, reliability_diagram])
def test_probabilities_outside_unit_interval_raise(fn):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        fn([0, 1], [0.1, 1.2])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        fn([0, 1], [-0.1, 0.5])


def test_plot_reliability_diagram(tmp_path):
    rng = np.random.default_rng(0)
    probs = rng.uniform(size=200)
    labels = (rng.uniform(size=200) < probs).astype(int)
    path = tmp_path / "reliability.png"
    assert plot_reliability_diagram(labels, probs, path) == str(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert os.listdir(tmp_path) == ["reliability.png"]  # no temp file left behind
