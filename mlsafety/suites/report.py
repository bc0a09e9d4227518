"""Check evaluation (bootstrap intervals, baseline comparison) and the report files.

The JSON report (``report.json``, :data:`FORMAT_VERSION`) is also the baseline format.
Every output is written into a temporary folder beside the target and moved into place
only when complete, so an error or an interrupt leaves no half-written report.
"""

from __future__ import annotations

import html
import json
import math
import os
import shutil
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from mlsafety.io import atomic_write_text
from mlsafety.suites.spec import (
    FORMAT_VERSION,
    OPS,
    BootstrapSpec,
    CheckSpec,
    Suite,
    SuiteError,
)

REPORT_FILES = ("report.json", "junit.xml", "summary.md", "summary.html")


def _version() -> str:
    try:
        return version("mlsafety-gym")
    except Exception:  # not installed as a distribution
        return "unknown"


def metric_values(rows: Sequence[dict[str, Any]], metric: str) -> np.ndarray:
    """Per-episode values of ``metric`` (``event:<name>`` counts, ``social:<name>``)."""
    if metric.startswith("event:"):
        name = metric.split(":", 1)[1]
        return np.array([float(r["events"].get(name, 0)) for r in rows])
    key = metric.split(":", 1)[1] if metric.startswith("social:") else metric
    return np.array([float(r["metrics"].get(key, math.nan)) for r in rows])


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


def load_baseline(suite: Suite) -> dict[str, Any] | None:
    """The suite's baseline report, or None when no check compares against one."""
    if suite.baseline is None or not any(c.baseline for c in suite.checks):
        return None
    p = suite.baseline
    fix = f"create or refresh it with `mlsafety check {suite.path.name} --update-baseline`"
    try:
        data = json.loads(p.read_text())
    except FileNotFoundError:
        raise SuiteError(suite.path, "baseline.report", f"no baseline report at {p}", fix) from None
    except (OSError, ValueError) as exc:
        raise SuiteError(p, "-", f"unreadable baseline report ({exc})", fix) from None
    if not isinstance(data, dict) or data.get("format_version") != FORMAT_VERSION:
        got = data.get("format_version") if isinstance(data, dict) else None
        raise SuiteError(p, "format_version", f"baseline report format {got!r}, this version "
                         f"reads {FORMAT_VERSION}", fix)  # fmt: skip
    runs = data.get("runs")
    if not isinstance(runs, dict):
        raise SuiteError(p, "runs", "missing from the baseline report", fix)
    for c in suite.checks:
        if not c.baseline:
            continue
        run = runs.get(c.run_key)
        if not isinstance(run, dict) or not isinstance(run.get("episodes"), list):
            raise SuiteError(p, f"runs.{c.run_key}", "the baseline has no such run", fix)
        vals = metric_values(run["episodes"], c.metric) if run["episodes"] else np.array([])
        if not np.isfinite(vals).any():
            raise SuiteError(p, f"runs.{c.run_key}", f"no values of {c.metric!r}", fix)
    return data


def _threshold_result(c: CheckSpec, mean: float) -> tuple[bool, str]:
    if c.op is None or c.threshold is None:
        return True, ""
    if not math.isfinite(mean):
        return False, f"{c.metric} has no finite value (NaN)"
    ok = OPS[c.op](mean, c.threshold)
    return ok, "" if ok else f"{c.metric} = {mean:.4g}, expected {c.op} {c.threshold:g}"


def _baseline_result(
    c: CheckSpec, x: np.ndarray, baseline: dict[str, Any] | None, boot: BootstrapSpec
) -> dict[str, Any] | None:
    if not c.baseline:
        return None
    if baseline is None:
        return {"skipped": "baseline being updated", "passed": True}
    y = metric_values(baseline["runs"][c.run_key]["episodes"], c.metric)
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


def evaluate_checks(
    suite: Suite,
    runs: dict[str, list[dict[str, Any]]],
    baseline: dict[str, Any] | None,
    backend: str = "process",
) -> dict[str, Any]:
    """The report: every run's episodes and every check's verdict."""
    checks = []
    for c in suite.checks:
        x = metric_values(runs[c.run_key], c.metric)
        mean, lo, hi = bootstrap_mean_ci(x, suite.bootstrap)
        ok, message = _threshold_result(c, mean)
        base = _baseline_result(c, x, baseline, suite.bootstrap)
        if base is not None and not base["passed"]:
            lo_d, hi_d = base["ci"]
            extra = (
                f"{c.metric} vs baseline: diff {base['diff']:+.4g} "
                f"(CI [{lo_d:.4g}, {hi_d:.4g}], {c.better} is better, tolerance {c.tolerance:g})"
            )
            message = f"{message}; {extra}" if message else extra
        checks.append(
            {
                "name": c.name,
                "policy": c.policy,
                "env": c.env,
                "env_id": suite.env(c.env).env_id,
                "metric": c.metric,
                "op": c.op,
                "threshold": c.threshold,
                "value": mean,
                "ci": [lo, hi],
                "n": int(np.isfinite(x).sum()),
                "baseline": base,
                "passed": bool(ok and (base is None or base["passed"])),
                "message": message,
            }
        )
    return {
        "format_version": FORMAT_VERSION,
        "mlsafety_version": _version(),
        "suite": suite.name,
        "suite_file": str(suite.path),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "backend": backend,
        "episodes": suite.episodes,
        "seeds": list(suite.seeds),
        "bootstrap": {
            "n_resamples": suite.bootstrap.n_resamples,
            "seed": suite.bootstrap.seed,
            "confidence": suite.bootstrap.confidence,
        },
        "runs": {
            key: {
                "policy": key.split("@", 1)[0],
                "env": suite.env(key.split("@", 1)[1]).env_id,
                "episodes": rows,
            }
            for key, rows in runs.items()
        },
        "checks": checks,
        "passed": all(c["passed"] for c in checks),
    }


def failure_message(check: dict[str, Any]) -> str:
    """A readable one-paragraph failure: check, metric, value, threshold/baseline, interval."""
    lo, hi = check["ci"]
    parts = [
        f"check {check['name']!r} failed: {check['metric']} = {check['value']:.4g} "
        f"(95% bootstrap CI [{lo:.4g}, {hi:.4g}], n={check['n']}) "
        f"for policy {check['policy']!r} on {check['env_id']}"
    ]
    if check["op"] is not None:
        parts.append(f"threshold: {check['metric']} {check['op']} {check['threshold']:g}")
    b = check.get("baseline")
    if b and "diff" in b:
        parts.append(
            f"baseline: {b['value']:.4g}, difference {b['diff']:+.4g} "
            f"(CI [{b['ci'][0]:.4g}, {b['ci'][1]:.4g}]), tolerance {b['tolerance']:g}, "
            f"{b['better']} is better"
        )
    if check["message"]:
        parts.append(check["message"])
    return "\n  ".join(parts)


def format_table(report: dict[str, Any]) -> str:
    """The checks as a plain-text table."""
    rows = [("check", "value", "interval", "expect", "vs baseline", "result")]
    for c in report["checks"]:
        b = c["baseline"]
        bs = ""
        if b is not None:
            bs = b.get("skipped", "") or f"{b['diff']:+.3g} [{b['ci'][0]:.3g}, {b['ci'][1]:.3g}]"
        expect = f"{c['op']} {c['threshold']:g}" if c["op"] else ""
        rows.append(
            (
                c["name"],
                f"{c['value']:.4g}",
                f"[{c['ci'][0]:.4g}, {c['ci'][1]:.4g}]",
                expect,
                bs,
                "PASS" if c["passed"] else "FAIL",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [f"suite {report['suite']} ({report['suite_file']})"]
    for j, r in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)))
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    n_fail = sum(not c["passed"] for c in report["checks"])
    lines.append(f"{len(report['checks']) - n_fail} passed, {n_fail} failed")
    for c in report["checks"]:
        if not c["passed"]:
            lines.append("FAIL " + failure_message(c))
    return "\n".join(lines) + "\n"


def junit_xml(report: dict[str, Any]) -> bytes:
    checks = report["checks"]
    ts = ET.Element(
        "testsuite",
        name=report["suite"],
        tests=str(len(checks)),
        failures=str(sum(not c["passed"] for c in checks)),
        errors="0",
        skipped="0",
    )
    for c in checks:
        tc = ET.SubElement(ts, "testcase", classname=f"safety.{report['suite']}", name=c["name"])
        if not c["passed"]:
            f = ET.SubElement(tc, "failure", message=c["message"] or "check failed")
            f.text = failure_message(c)
    root = ET.Element("testsuites")
    root.append(ts)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def _json_default(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")


def report_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=1, default=_json_default, allow_nan=True) + "\n"


def markdown(report: dict[str, Any], plots: bool) -> str:
    lines = [
        f"# Safety suite `{report['suite']}`: {'PASS' if report['passed'] else 'FAIL'}",
        "",
        f"{report['episodes']} episodes x seeds {report['seeds']}; backend {report['backend']}; "
        f"{report['bootstrap']['confidence']:.0%} bootstrap intervals "
        f"({report['bootstrap']['n_resamples']} resamples, seed {report['bootstrap']['seed']}).",
        "",
        "| check | value | interval | expect | vs baseline | result |",
        "|---|---:|---:|---|---|---|",
    ]
    for c in report["checks"]:
        b = c["baseline"]
        bs = ""
        if b is not None:
            bs = b.get("skipped", "") or (
                f"{b['diff']:+.3g} [{b['ci'][0]:.3g}, {b['ci'][1]:.3g}] (tol {b['tolerance']:g})"
            )
        expect = f"{c['metric']} {c['op']} {c['threshold']:g}" if c["op"] else c["metric"]
        lines.append(
            f"| {c['name']} | {c['value']:.4g} | [{c['ci'][0]:.4g}, {c['ci'][1]:.4g}] | "
            f"{expect} | {bs} | {'PASS' if c['passed'] else '**FAIL**'} |"
        )
    if plots:
        lines += ["", "![checks](checks.png)", "", "![episodes](episodes.png)"]
    return "\n".join(lines) + "\n"


def html_summary(report: dict[str, Any], plots: bool) -> str:
    rows = []
    for c in report["checks"]:
        status = "PASS" if c["passed"] else "FAIL"
        color = "#2e7d32" if c["passed"] else "#c62828"
        expect = f"{c['metric']} {c['op']} {c['threshold']:g}" if c["op"] else c["metric"]
        rows.append(
            "<tr>"
            + "".join(
                f"<td>{html.escape(str(v))}</td>"
                for v in (
                    c["name"],
                    f"{c['value']:.4g}",
                    f"[{c['ci'][0]:.4g}, {c['ci'][1]:.4g}]",
                    expect,
                )
            )
            + f'<td style="color:{color}"><b>{status}</b></td>'
            + f"<td>{html.escape(c['message'])}</td></tr>"
        )
    imgs = '<img src="checks.png"><br><img src="episodes.png">' if plots else ""
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(report['suite'])}</title></head><body>"
        f"<h1>Safety suite {html.escape(report['suite'])}: "
        f"{'PASS' if report['passed'] else 'FAIL'}</h1>"
        "<table border='1' cellpadding='4'><tr><th>check</th><th>value</th><th>interval</th>"
        "<th>expect</th><th>result</th><th>message</th></tr>"
        + "".join(rows)
        + f"</table>{imgs}</body></html>\n"
    )


def plot_files(report: dict[str, Any], folder: Path) -> None:
    """``checks.png`` (per-check bars with intervals and thresholds) and ``episodes.png``."""
    # heavy: matplotlib, only when plots are asked for
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # after choosing the Agg backend

    checks = report["checks"]
    n = len(checks)
    fig, axes = plt.subplots(n, 1, figsize=(7, 1.2 + 1.1 * n), squeeze=False)
    for ax, c in zip(axes[:, 0], checks, strict=True):
        v, (lo, hi) = c["value"], c["ci"]
        color = "tab:green" if c["passed"] else "tab:red"
        if math.isfinite(v):
            err = [[max(v - lo, 0.0)], [max(hi - v, 0.0)]] if math.isfinite(lo) else None
            ax.barh([0], [v], color=color, xerr=err, capsize=4)
        if c["threshold"] is not None:
            ax.axvline(c["threshold"], color="k", ls="--", lw=1)
        b = c["baseline"]
        if b and "value" in b and math.isfinite(b["value"]):
            ax.axvline(b["value"], color="tab:blue", ls=":", lw=1)
        ax.set_yticks([0], [c["name"]], fontsize=7)
    axes[-1, 0].set_xlabel("mean (bars: bootstrap CI; dashed: threshold; dotted: baseline)")
    fig.tight_layout()
    fig.savefig(folder / "checks.png", dpi=80)
    plt.close(fig)

    fig, axes = plt.subplots(n, 1, figsize=(7, 1.2 + 1.1 * n), squeeze=False)
    for ax, c in zip(axes[:, 0], checks, strict=True):
        x = metric_values(report["runs"][f"{c['policy']}@{c['env']}"]["episodes"], c["metric"])
        x = x[np.isfinite(x)]
        if x.size:
            jitter = np.random.default_rng(0).uniform(-0.2, 0.2, x.size)
            ax.scatter(x, jitter, s=10, alpha=0.6)
            ax.plot([x.mean()], [0], marker="|", color="k", ms=20)
        if c["threshold"] is not None:
            ax.axvline(c["threshold"], color="k", ls="--", lw=1)
        ax.set_yticks([0], [c["name"]], fontsize=7)
    axes[-1, 0].set_xlabel("per-episode values")
    fig.tight_layout()
    fig.savefig(folder / "episodes.png", dpi=80)
    plt.close(fig)


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
    """Write ``report`` as the baseline JSON, atomically."""
    atomic_write_text(path, report_json(report))
