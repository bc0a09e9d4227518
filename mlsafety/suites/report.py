"""Check evaluation (bootstrap intervals, baseline comparison, evaluation modes) and the
report files.

The JSON report (``report.json``, :data:`FORMAT_VERSION`, strict JSON: a missing or
undefined figure is ``null``) is also the baseline format. Every check is judged in each of
its policy's modes (greedy and sampled play of a model that names no mode): it fails if any
mode fails, and its headline figures are those of the worse mode. Every output is written
into a temporary folder beside the target and moved into place only when complete, so an
error or an interrupt leaves no half-written report.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from mlsafety.io import atomic_write_json, dumps_strict
from mlsafety.monitors.fmea import fmea_from_tallies, merge_tallies
from mlsafety.suites.baseline import baseline_rows, metric_values
from mlsafety.suites.layers import evaluate_layers
from mlsafety.suites.render import html_summary, junit_xml, markdown, plot_files
from mlsafety.suites.spec import FORMAT_VERSION, OPS, BootstrapSpec, CheckSpec, Suite

REPORT_FILES = ("report.json", "junit.xml", "summary.md", "summary.html")


def bootstrap_mean_ci(x: np.ndarray, boot: BootstrapSpec) -> tuple[float, float, float]:
    """Mean and percentile-bootstrap interval of the mean (NaN values dropped)."""
    x = x[np.isfinite(x)]
    if x.size == 0:
        return (math.nan, math.nan, math.nan)
    rng = np.random.default_rng(boot.seed)
    means = x[rng.integers(0, x.size, (boot.n_resamples, x.size))].mean(axis=1)
    a = (1 - boot.confidence) / 2
    return (float(x.mean()), float(np.quantile(means, a)), float(np.quantile(means, 1 - a)))


def bootstrap_diff_ci(
    x: np.ndarray, y: np.ndarray, boot: BootstrapSpec
) -> tuple[float, float, float]:
    """``mean(x) - mean(y)`` and its two-sample percentile-bootstrap interval."""
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    if x.size == 0 or y.size == 0:
        return (math.nan, math.nan, math.nan)
    rng = np.random.default_rng(boot.seed)
    mx = x[rng.integers(0, x.size, (boot.n_resamples, x.size))].mean(axis=1)
    my = y[rng.integers(0, y.size, (boot.n_resamples, y.size))].mean(axis=1)
    d = mx - my
    a = (1 - boot.confidence) / 2
    return (float(x.mean() - y.mean()), float(np.quantile(d, a)), float(np.quantile(d, 1 - a)))


def _threshold_result(c: CheckSpec, mean: float) -> tuple[bool, str]:
    if c.op is None or c.threshold is None:
        return True, ""
    if not math.isfinite(mean):
        return False, f"{c.metric} has no finite value (NaN)"
    ok = OPS[c.op](mean, c.threshold)
    return ok, "" if ok else f"{c.metric} = {mean:.4g}, expected {c.op} {c.threshold:g}"


def _baseline_result(
    c: CheckSpec, x: np.ndarray, y: np.ndarray | None, boot: BootstrapSpec
) -> dict[str, Any] | None:
    if not c.baseline:
        return None
    if y is None:
        return {"skipped": "baseline being updated", "passed": True}
    diff, lo, hi = bootstrap_diff_ci(x, y, boot)
    tol = c.tolerance
    if not math.isfinite(diff):
        ok = False
    elif c.better == "higher":
        ok = lo >= -tol
    elif c.better == "lower":
        ok = hi <= tol
    else:
        ok = lo >= -tol and hi <= tol
    return {
        "value": float(np.nanmean(y)) if np.isfinite(y).any() else math.nan,
        "diff": diff,
        "ci": [lo, hi],
        "tolerance": tol,
        "better": c.better,
        "passed": bool(ok),
    }


def _judge(
    c: CheckSpec, x: np.ndarray, y: np.ndarray | None, boot: BootstrapSpec
) -> dict[str, Any]:
    """One check in one mode: value, interval, threshold and baseline verdicts."""
    mean, lo, hi = bootstrap_mean_ci(x, boot)
    ok, message = _threshold_result(c, mean)
    base = _baseline_result(c, x, y, boot)
    if base is not None and not base["passed"]:
        lo_d, hi_d = base["ci"]
        extra = (
            f"{c.metric} vs baseline: diff {base['diff']:+.4g} "
            f"(CI [{lo_d:.4g}, {hi_d:.4g}], {c.better} is better, tolerance {c.tolerance:g})"
        )
        message = f"{message}; {extra}" if message else extra
    return {
        "value": mean,
        "ci": [lo, hi],
        "n": int(np.isfinite(x).sum()),
        "baseline": base,
        "passed": bool(ok and (base is None or base["passed"])),
        "message": message,
    }


def badness(c: CheckSpec, result: dict[str, Any]) -> tuple[int, float]:
    """How bad one mode's result is (failing first, then the worse figure): the sort key that
    picks a check's worse mode."""
    v = result["value"]
    base = result["baseline"]
    if c.op is not None and c.threshold is not None:
        sign = {"<=": 1.0, "<": 1.0, ">=": -1.0, ">": -1.0}.get(c.op)
        score = abs(v - c.threshold) if sign is None else sign * v
    elif base is not None and "diff" in base:
        d = base["diff"]
        score = -d if c.better == "higher" else d if c.better == "lower" else abs(d)
    else:
        score = 0.0
    if not math.isfinite(score):
        score = math.inf
    return (0 if result["passed"] else 1, score)


def evaluate_checks(
    suite: Suite,
    runs: dict[str, dict[str, list[dict[str, Any]]]],
    baseline: dict[str, Any] | None,
    provenance: dict[str, Any],
) -> dict[str, Any]:
    """The report: provenance, every run's episodes per mode and every check's verdict in
    each mode (failing if any mode fails; headline figures from the worse mode)."""
    checks = []
    for c in suite.checks:
        modes: dict[str, dict[str, Any]] = {}
        for mode in suite.policy(c.policy).modes:
            x = metric_values(runs[c.run_key][mode], c.metric)
            rows = baseline_rows(baseline, c.run_key, mode) if baseline else None
            y = metric_values(rows, c.metric) if rows is not None else None
            modes[mode] = _judge(c, x, y, suite.bootstrap)
        worst = max(modes, key=lambda m: badness(c, modes[m]))
        tied = len({badness(c, r) for r in modes.values()}) == 1
        checks.append(
            {
                "name": c.name,
                "policy": c.policy,
                "env": c.env,
                "env_id": suite.env(c.env).env_id,
                "metric": c.metric,
                "op": c.op,
                "threshold": c.threshold,
                "modes": modes,
                "worst_mode": worst,
                "modes_tied": tied,
                **{k: modes[worst][k] for k in ("value", "ci", "n", "baseline", "message")},
                "passed": all(m["passed"] for m in modes.values()),
            }
        )
    sections = []
    for lc in suite.layer_checks:
        limits, section = evaluate_layers(lc, runs, suite.policy(lc.policy).modes, suite.bootstrap)
        sections.append(section)
        full = lc.conditions["in_distribution"][-1]
        for name, (metric, op, limit, by_mode) in zip(lc.check_names(), limits, strict=True):
            key = {m: _limit_badness(op, r) for m, r in by_mode.items()}
            worst = max(by_mode, key=lambda m: key[m])
            checks.append(
                {
                    "name": name,
                    "kind": "layers",
                    "policy": lc.policy,
                    "env": full,
                    "env_id": suite.env(full).env_id,
                    "metric": metric,
                    "op": op,
                    "threshold": limit,
                    "modes": by_mode,
                    "worst_mode": worst,
                    "modes_tied": len(set(key.values())) == 1,
                    **{k: by_mode[worst][k] for k in ("value", "ci", "n", "baseline", "message")},
                    "passed": all(r["passed"] for r in by_mode.values()),
                }
            )
    base_info = None
    if baseline is not None:
        bprov = baseline.get("provenance") or {}
        base_info = {
            "file": baseline["file"],
            "suite_sha256": bprov.get("suite_sha256"),
            "created": bprov.get("created"),
            "policies": bprov.get("policies"),
            "foreign": list(baseline["foreign"]),
        }
    return {
        "format_version": FORMAT_VERSION,
        "suite": suite.name,
        "provenance": provenance,
        "baseline": base_info,
        "runs": {
            key: {
                "policy": key.split("@", 1)[0],
                "env": key.split("@", 1)[1],
                "env_id": suite.env(key.split("@", 1)[1]).env_id,
                "modes": by_mode,
            }
            for key, by_mode in runs.items()
        },
        "checks": checks,
        "layers": sections,
        "fmea": fmea_rows(runs),
        "passed": all(c["passed"] for c in checks),
    }


def _limit_badness(op: str, result: dict[str, Any]) -> tuple[int, float]:
    v = result["value"]
    score = (-v if op == ">=" else v) if math.isfinite(v) else math.inf
    return (0 if result["passed"] else 1, score)


def fmea_rows(runs: dict[str, dict[str, list[dict[str, Any]]]]) -> list[dict[str, Any]]:
    """The FMEA table of every run (a condition per ``policy@env``, and mode when a policy
    plays in several), from the episodes' event tallies; highest RPN first. Runs without
    tallies (multi-agent envs) are left out; no events at all gives an empty table."""
    conditions: dict[str, tuple[int, Any]] = {}
    for key, by_mode in runs.items():
        for mode, rows in by_mode.items():
            if not rows or not all("fmea" in r for r in rows):
                continue
            label = key if len(by_mode) == 1 else f"{key} ({mode})"
            conditions[label] = (len(rows), merge_tallies([r["fmea"] for r in rows]))
    return [r.as_dict() for r in fmea_from_tallies(conditions)] if conditions else []


def report_json(report: dict[str, Any]) -> str:
    """The report as strict JSON (NaN and infinities are ``null``)."""
    return dumps_strict(report, indent=1) + "\n"


def write_outputs(
    report: dict[str, Any], suite: Suite, output: str | Path, plots: bool = True
) -> Path:
    """Write OUTPUT/<suite stem>/{report.json, junit.xml, summary.md, summary.html, *.png}
    atomically: built in a temporary folder, then moved into place."""
    root = Path(output)
    root.mkdir(parents=True, exist_ok=True)
    final = root / suite.stem
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=f".{suite.stem}.", suffix=".tmp"))
    old: Path | None = None
    try:
        os.chmod(tmp, 0o755)
        (tmp / "report.json").write_text(report_json(report))
        (tmp / "junit.xml").write_bytes(junit_xml(report))
        (tmp / "summary.md").write_text(markdown(report, plots))
        (tmp / "summary.html").write_text(html_summary(report, plots))
        if plots:
            plot_files(report, tmp)
        if final.exists():
            old = root / f".{suite.stem}.{os.getpid()}.old"
            os.replace(final, old)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not final.exists():
            os.replace(old, final)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return final


def write_baseline(report: dict[str, Any], path: str | Path) -> None:
    """Write ``report`` as the baseline JSON (strict), atomically."""
    atomic_write_json(path, report, indent=1)
