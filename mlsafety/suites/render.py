"""The report rendered for people: console table, Markdown, HTML, JUnit XML and plots.

Markdown and HTML are rendered from the same blocks (:func:`summary_blocks`), so the HTML
shows everything the Markdown does: provenance, the baseline and every check in every
evaluation mode (the worse mode marked).
"""

from __future__ import annotations

import html
import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mlsafety.suites.baseline import metric_values
from mlsafety.suites.layers import stacked_bars

Block = tuple[str, Any]
"""``("h1", text)``, ``("h2", text)``, ``("p", text)`` or ``("table", (header, rows))``."""


def fmt(x: Any, spec: str = ".4g") -> str:
    """A figure for people: ``n/a`` for a missing or undefined one."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return format(x, spec)


def _interval(ci: Sequence[Any]) -> str:
    return f"[{fmt(ci[0])}, {fmt(ci[1])}]"


def _vs_baseline(b: dict[str, Any] | None) -> str:
    if b is None:
        return ""
    if "skipped" in b:
        return str(b["skipped"])
    return f"{fmt(b['diff'], '+.3g')} {_interval(b['ci'])} (tol {b['tolerance']:g})"


def _expect(c: dict[str, Any]) -> str:
    return f"{c['metric']} {c['op']} {c['threshold']:g}" if c["op"] else c["metric"]


def _mode_label(c: dict[str, Any], mode: str) -> str:
    worse = len(c["modes"]) > 1 and mode == c["worst_mode"] and not c.get("modes_tied")
    return f"{mode} (worse)" if worse else mode


def check_rows(report: dict[str, Any]) -> list[tuple[str, ...]]:
    """One row per check and mode: check, mode, value, interval, expect, vs baseline,
    result, message."""
    rows: list[tuple[str, ...]] = []
    for c in report["checks"]:
        for mode, r in c["modes"].items():
            rows.append(
                (
                    c["name"],
                    _mode_label(c, mode),
                    fmt(r["value"]),
                    _interval(r["ci"]),
                    _expect(c),
                    _vs_baseline(r["baseline"]),
                    "PASS" if r["passed"] else "FAIL",
                    r["message"],
                )
            )
    return rows


CHECK_HEADER = ("check", "mode", "value", "interval", "expect", "vs baseline", "result",
                "message")  # fmt: skip


def provenance_rows(report: dict[str, Any]) -> list[tuple[str, str]]:
    """What was judged: suite file and hash, version, date, imports, policies, envs, baseline."""
    p = report["provenance"]
    rows = [
        ("suite file", p["suite_file"]),
        ("suite sha256", p["suite_sha256"]),
        ("mlsafety version", p["mlsafety_version"]),
        ("date", p["created"]),
        ("imports", ", ".join(p["imports"]) or "none"),
    ]
    for name, pol in p["policies"].items():
        ck = pol["checkpoint"]
        what = f"{pol['kind']}; modes {', '.join(pol['modes'])}"
        if ck is not None:
            what += f"; checkpoint {ck['path']} (sha256 {ck['sha256']})"
        rows.append((f"policy {name}", what))
    for name, env in p["envs"].items():
        rows.append((f"env {name}", f"{env['id']} kwargs {env['kwargs']}"))
    b = report.get("baseline")
    if b is not None:
        rows.append(("baseline", f"{b['file']} (suite sha256 {b['suite_sha256']}, {b['created']})"))
        if b["foreign"]:
            rows.append(("FOREIGN baseline (allowed)", "; ".join(b["foreign"])))
    return rows


def summary_blocks(report: dict[str, Any]) -> list[Block]:
    """The summary's content, shared by :func:`markdown` and :func:`html_summary`."""
    p = report["provenance"]
    boot = p["bootstrap"]
    return [
        ("h1", f"Safety suite {report['suite']}: {'PASS' if report['passed'] else 'FAIL'}"),
        (
            "p",
            f"{p['episodes']} episodes x seeds {p['seeds']}; backend {p['backend']}; "
            f"{boot['confidence']:.0%} bootstrap intervals ({boot['n_resamples']} resamples, "
            f"seed {boot['seed']}). Modes: greedy = the model's most likely action, sampled = "
            "actions drawn from its policy, own = a reference, scripted or random policy. "
            "A check fails if it fails in any mode.",
        ),
        ("table", (("item", "value"), provenance_rows(report))),
        ("table", (CHECK_HEADER, check_rows(report))),
        *layers_blocks(report),
        *fmea_blocks(report),
    ]


LAYERS_HEADER = ("condition", "layer (env)", "harm", "true return", "fallback share")
FMEA_HEADER = ("event", "condition", "per episode", "harm", "detected", "S", "O", "D", "RPN")


def layers_blocks(report: dict[str, Any]) -> list[Block]:
    """Per layered-defence check and mode: harm, true return and fallback share per
    condition and layer (the policy alone first)."""
    out: list[Block] = []
    for sec in report.get("layers", []):
        for mode, rows in sec["modes"].items():
            out.append(("h2", f"Layered defence: {sec['name']} ({mode})"))
            body = [
                (r["condition"], r["env"], fmt(r["harm"]), fmt(r["true_return"]),
                 fmt(r["fallback_share"], ".1%"))
                for r in rows
            ]  # fmt: skip
            out.append(("table", (LAYERS_HEADER, body)))
    return out


def fmea_blocks(report: dict[str, Any]) -> list[Block]:
    """The FMEA table (severity x occurrence x detectability, sorted by RPN)."""
    if "fmea" not in report:
        return []
    out: list[Block] = [
        ("h2", "FMEA"),
        ("p", "Each safety event type per run: occurrences per episode, mean harm per "
              "occurrence, the share flagged by the fallback monitor at or before its step; "
              "S, O, D on 1-10 (mlsafety.monitors.fmea) and RPN = S x O x D."),
    ]  # fmt: skip
    if not report["fmea"]:
        return [*out, ("p", "No safety events occurred: nothing to rank.")]
    body = [
        (r["event"], r["condition"], fmt(r["rate"], ".3f"), fmt(r["harm"], ".3g"),
         fmt(r["detected"], ".0%"), str(r["severity"]), str(r["occurrence"]),
         str(r["detectability"]), str(r["rpn"]))
        for r in report["fmea"]
    ]  # fmt: skip
    return [*out, ("table", (FMEA_HEADER, body))]


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(report: dict[str, Any], plots: bool) -> str:
    lines: list[str] = []
    for kind, body in summary_blocks(report):
        if kind == "h1":
            lines += [f"# {body}", ""]
        elif kind == "h2":
            lines += [f"## {body}", ""]
        elif kind == "p":
            lines += [body, ""]
        else:
            header, rows = body
            lines.append("| " + " | ".join(header) + " |")
            lines.append("|" + "---|" * len(header))
            lines += ["| " + " | ".join(_md_cell(x) for x in r) + " |" for r in rows]
            lines.append("")
    if plots:
        lines += ["![checks](checks.png)", "", "![episodes](episodes.png)"]
        if report.get("layers"):
            lines += ["", "![layers](layers.png)"]
    return "\n".join(lines).rstrip() + "\n"


def html_summary(report: dict[str, Any], plots: bool) -> str:
    parts = ["<!doctype html><html><head><meta charset='utf-8'>",
             f"<title>{html.escape(report['suite'])}</title></head><body>"]  # fmt: skip
    for kind, body in summary_blocks(report):
        if kind in ("h1", "h2", "p"):
            parts.append(f"<{kind}>{html.escape(body)}</{kind}>")
            continue
        header, rows = body
        parts.append("<table border='1' cellpadding='4'><tr>")
        parts += [f"<th>{html.escape(h)}</th>" for h in header]
        parts.append("</tr>")
        for r in rows:
            cells = []
            for x in r:
                style = {"PASS": " style='color:#2e7d32'", "FAIL": " style='color:#c62828'"}
                cells.append(f"<td{style.get(x, '')}>{html.escape(x)}</td>")
            parts.append("<tr>" + "".join(cells) + "</tr>")
        parts.append("</table>")
    if plots:
        parts.append('<img src="checks.png"><br><img src="episodes.png">')
        if report.get("layers"):
            parts.append('<br><img src="layers.png" alt="harm per condition and layer">')
    parts.append("</body></html>\n")
    return "".join(parts)


def failure_message(check: dict[str, Any]) -> str:
    """A readable paragraph: check, mode, metric, value, threshold/baseline, interval, and
    the other modes' figures."""
    mode = check["worst_mode"]
    lo, hi = check["ci"]
    parts = [
        f"check {check['name']!r} failed in {mode} play: {check['metric']} = "
        f"{fmt(check['value'])} (95% bootstrap CI [{fmt(lo)}, {fmt(hi)}], n={check['n']}) "
        f"for policy {check['policy']!r} on {check['env_id']}"
    ]
    if check["op"] is not None:
        parts.append(f"threshold: {check['metric']} {check['op']} {check['threshold']:g}")
    b = check.get("baseline")
    if b and "diff" in b:
        parts.append(
            f"baseline: {fmt(b['value'])}, difference {fmt(b['diff'], '+.4g')} "
            f"(CI {_interval(b['ci'])}), tolerance {b['tolerance']:g}, {b['better']} is better"
        )
    if check["message"]:
        parts.append(check["message"])
    for other, r in check["modes"].items():
        if other != mode:
            verdict = "passes" if r["passed"] else "fails"
            parts.append(f"{other} play {verdict}: {check['metric']} = {fmt(r['value'])} "
                         f"(CI {_interval(r['ci'])})")  # fmt: skip
    return "\n  ".join(parts)


def format_table(report: dict[str, Any]) -> str:
    """The checks (one row per mode) as a plain-text table."""
    header = CHECK_HEADER[:-1]
    rows = [header, *(r[:-1] for r in check_rows(report))]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    p = report["provenance"]
    lines = [f"suite {report['suite']} ({p['suite_file']}, sha256 {p['suite_sha256'][:12]})"]
    for j, r in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)))
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    n_fail = sum(not c["passed"] for c in report["checks"])
    lines.append(f"{len(report['checks']) - n_fail} passed, {n_fail} failed")
    b = report.get("baseline")
    if b is not None and b["foreign"]:
        lines.append("compared with a FOREIGN baseline (allowed): " + "; ".join(b["foreign"]))
    for c in report["checks"]:
        if not c["passed"]:
            lines.append("FAIL " + failure_message(c))
    return "\n".join(lines) + "\n"


def junit_xml(report: dict[str, Any]) -> bytes:
    """JUnit XML: one testcase per check, its per-mode figures as properties."""
    checks = report["checks"]
    ts = ET.Element(
        "testsuite",
        name=report["suite"],
        tests=str(len(checks)),
        failures=str(sum(not c["passed"] for c in checks)),
        errors="0",
        skipped="0",
    )
    props = ET.SubElement(ts, "properties")
    for name, value in provenance_rows(report):
        ET.SubElement(props, "property", name=name, value=value)
    for c in checks:
        tc = ET.SubElement(ts, "testcase", classname=f"safety.{report['suite']}", name=c["name"])
        tprops = ET.SubElement(tc, "properties")
        for mode, r in c["modes"].items():
            value = f"{fmt(r['value'])} {_interval(r['ci'])} {'PASS' if r['passed'] else 'FAIL'}"
            ET.SubElement(tprops, "property", name=f"mode:{_mode_label(c, mode)}", value=value)
        if not c["passed"]:
            f = ET.SubElement(
                tc, "failure", message=f"[{c['worst_mode']}] {c['message'] or 'check failed'}"
            )
            f.text = failure_message(c)
    root = ET.Element("testsuites")
    root.append(ts)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


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
        ax.set_yticks([0], [f"{c['name']} ({c['worst_mode']})"], fontsize=7)
    axes[-1, 0].set_xlabel(
        "worse mode's mean (bars: bootstrap CI; dashed: threshold; dotted: baseline)"
    )
    fig.tight_layout()
    fig.savefig(folder / "checks.png", dpi=80)
    plt.close(fig)

    fig, axes = plt.subplots(n, 1, figsize=(7, 1.2 + 1.1 * n), squeeze=False)
    for ax, c in zip(axes[:, 0], checks, strict=True):
        run = report["runs"][f"{c['policy']}@{c['env']}"]
        x = metric_values(run["modes"][c["worst_mode"]], c["metric"])
        x = x[np.isfinite(x)]
        if x.size:
            jitter = np.random.default_rng(0).uniform(-0.2, 0.2, x.size)
            ax.scatter(x, jitter, s=10, alpha=0.6)
            ax.plot([x.mean()], [0], marker="|", color="k", ms=20)
        if c["threshold"] is not None:
            ax.axvline(c["threshold"], color="k", ls="--", lw=1)
        ax.set_yticks([0], [f"{c['name']} ({c['worst_mode']})"], fontsize=7)
    axes[-1, 0].set_xlabel("per-episode values (worse mode)")
    fig.tight_layout()
    fig.savefig(folder / "episodes.png", dpi=80)
    plt.close(fig)
    if report.get("layers"):
        layers_plot(report, folder / "layers.png", plt)


def layers_plot(report: dict[str, Any], path: Path, plt: Any) -> None:
    """Stacked bars per condition: the harm each added layer removed and what is left (the
    first mode of each layered-defence check)."""
    sections = report["layers"]
    fig, axes = plt.subplots(len(sections), 1, figsize=(7, 0.6 + 2.6 * len(sections)),
                             squeeze=False)  # fmt: skip
    for ax, sec in zip(axes[:, 0], sections, strict=True):
        mode = next(iter(sec["modes"]))
        bars = stacked_bars(sec, mode)
        envs = list(dict.fromkeys(r["env"] for r in sec["modes"][mode]))
        depth = len(bars[0][1]) if bars else 0
        labels = [f"removed by layer {i + 1}" for i in range(depth - 1)] + ["left"]
        bottom = np.zeros(len(bars))
        for i, label in enumerate(labels):
            seg = np.array([b[1][i] for b in bars])
            ax.bar([b[0] for b in bars], seg, bottom=bottom, label=label,
                   color="tab:red" if i == depth - 1 else None)  # fmt: skip
            bottom += seg
        ax.set_ylabel("harm per episode")
        first = ", ".join(envs[:depth])
        ax.set_title(f"{sec['name']} ({mode}); layers of the first stack: {first}", fontsize=8)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
