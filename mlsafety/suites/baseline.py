"""Provenance of a suite run, and baselines that refuse to compare across lineages.

Every report (and so every baseline, which is an accepted report) records under
``provenance``: the suite file and its sha256, each model policy's checkpoint (path relative
to the suite, absolute path, sha256), each env's spec (ID, kwargs, wrappers), the modules the
suite imports, ``mlsafety.__version__``, seeds, episodes, evaluation modes, backend and date.

A baseline is *foreign* when its suite file's sha256 differs from this suite's, or when a
model policy that a baseline check compares is of another *lineage*: with the default
``[baseline] lineage = "path"`` the checkpoint must be the same file path relative to the
suite (retraining writes a new checkpoint over the old one: same lineage, new bytes); with
``lineage = "sha256"`` it must be the very same checkpoint (re-judging one checkpoint after
the envs or the library changed). Reference policies must keep their kind. Comparing with a
foreign baseline is a :class:`SuiteError` unless ``[baseline] allow_foreign = true`` or
``mlsafety check --allow-foreign-baseline``; when allowed, the report says why it is foreign.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import mlsafety
from mlsafety.suites.spec import FORMAT_VERSION, Suite
from mlsafety.suites.validate import SuiteError


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file's bytes (streamed)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def provenance(suite: Suite, backend: str = "process") -> dict[str, Any]:
    """What this run judged and how: see the module docstring."""
    policies: dict[str, Any] = {}
    for p in suite.policies:
        checkpoint = None
        if p.kind == "model" and p.path is not None:
            try:
                sha = file_sha256(p.path)
            except OSError as exc:
                raise SuiteError(
                    suite.path, f"policies.{p.name}.path", f"cannot read the checkpoint "
                    f"({exc.strerror})", "check the file"
                ) from None  # fmt: skip
            checkpoint = {
                "path": os.path.relpath(p.path, suite.path.parent),
                "abs_path": p.path,
                "sha256": sha,
                "algo": p.algo,
            }
        policies[p.name] = {"kind": p.kind, "modes": list(p.modes), "checkpoint": checkpoint}
    envs = {
        e.name: {
            "id": e.env_id,
            "kwargs": e.kwargs_dict,
            "wrappers": [{"type": w.type, **dict(w.options)} for w in e.wrappers],
        }
        for e in suite.envs
    }
    return {
        "suite_file": str(suite.path),
        "suite_sha256": suite.sha256,
        "mlsafety_version": mlsafety.__version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "backend": backend,
        "episodes": suite.episodes,
        "seeds": list(suite.seeds),
        "imports": list(suite.imports),
        "bootstrap": {
            "n_resamples": suite.bootstrap.n_resamples,
            "seed": suite.bootstrap.seed,
            "confidence": suite.bootstrap.confidence,
        },
        "policies": policies,
        "envs": envs,
    }


def foreign_reasons(suite: Suite, prov: dict[str, Any], base: dict[str, Any]) -> list[str]:
    """Why the baseline ``base`` is foreign to this run (empty: same suite and lineage)."""
    bprov = base.get("provenance")
    if not isinstance(bprov, dict):
        return ["the baseline records no provenance"]
    reasons = []
    if bprov.get("suite_sha256") != prov["suite_sha256"]:
        reasons.append(
            f"suite file differs (baseline sha256 {str(bprov.get('suite_sha256'))[:12]}, "
            f"this suite {prov['suite_sha256'][:12]})"
        )
    bpols = bprov.get("policies")
    bpols = bpols if isinstance(bpols, dict) else {}
    for name in dict.fromkeys(c.policy for c in suite.checks if c.baseline):
        mine, theirs = prov["policies"][name], bpols.get(name)
        if not isinstance(theirs, dict) or theirs.get("kind") != mine["kind"]:
            got = theirs.get("kind") if isinstance(theirs, dict) else None
            reasons.append(f"policy {name!r} is a {mine['kind']!r} policy, in the baseline {got!r}")
            continue
        if mine["checkpoint"] is None:
            continue
        ck, bck = mine["checkpoint"], theirs.get("checkpoint")
        bck = bck if isinstance(bck, dict) else {}
        key = "sha256" if suite.baseline_lineage == "sha256" else "path"
        if bck.get(key) != ck[key]:
            reasons.append(
                f"policy {name!r}: checkpoint {key} {ck[key]!r}, the baseline judged "
                f"{bck.get(key)!r} (lineage = {suite.baseline_lineage!r})"
            )
    return reasons


def load_baseline(
    suite: Suite, prov: dict[str, Any], allow_foreign: bool = False
) -> dict[str, Any] | None:
    """The suite's baseline report (None when no check compares against one), checked for
    format, content and lineage; the returned dict has ``foreign`` (reasons, maybe empty)."""
    if suite.baseline is None or not any(c.baseline for c in suite.checks):
        return None
    p = suite.baseline
    fix = f"create or refresh it with `mlsafety check {suite.path.name} --update-baseline`"
    try:
        data = json.loads(p.read_text(), parse_constant=_refuse_constant)
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
    reasons = foreign_reasons(suite, prov, data)
    if reasons and not (allow_foreign or suite.allow_foreign_baseline):
        raise SuiteError(
            p,
            "provenance",
            "foreign baseline: " + "; ".join(reasons),
            f"{fix}, or compare anyway with --allow-foreign-baseline "
            "(or [baseline] allow_foreign = true)",
        )
    for c in suite.checks:
        if not c.baseline:
            continue
        for mode in suite.policy(c.policy).modes:
            rows = baseline_rows(data, c.run_key, mode)
            if rows is None:
                raise SuiteError(
                    p, f"runs.{c.run_key}.modes.{mode}", f"the baseline has no {mode} play", fix
                )
            if not np.isfinite(metric_values(rows, c.metric)).any():
                raise SuiteError(p, f"runs.{c.run_key}", f"no values of {c.metric!r}", fix)
    return {**data, "foreign": reasons, "file": str(p)}


def baseline_rows(data: dict[str, Any], key: str, mode: str) -> list[dict[str, Any]] | None:
    """The baseline's episodes of run ``key`` in ``mode`` (None if it has none)."""
    run = data.get("runs", {}).get(key)
    modes = run.get("modes") if isinstance(run, dict) else None
    rows = modes.get(mode) if isinstance(modes, dict) else None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        return None
    return rows


def metric_values(rows: Sequence[dict[str, Any]], metric: str) -> np.ndarray:
    """Per-episode values of ``metric`` (``event:<name>`` counts, ``social:<name>``)."""
    if metric.startswith("event:"):
        name = metric.split(":", 1)[1]
        return np.array([float(r["events"].get(name, 0)) for r in rows])
    key = metric.split(":", 1)[1] if metric.startswith("social:") else metric
    values = [r["metrics"].get(key) for r in rows]
    return np.array([math.nan if v is None else float(v) for v in values])


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name} (reports are strict JSON)")
