"""``mlsafety check``: run safety regression suites end to end and write their reports."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from mlsafety.suites import report as rep
from mlsafety.suites.baseline import load_baseline, provenance
from mlsafety.suites.render import format_table
from mlsafety.suites.runner import prepare, run_suite
from mlsafety.suites.spec import SuiteError, load_suite


def check_suite(
    path: str | Path,
    output: str | Path,
    out: TextIO,
    err: TextIO,
    workers: int | None = None,
    backend: str = "process",
    ray_address: str | None = None,
    update_baseline: bool = False,
    plots: bool = True,
    allow_foreign_baseline: bool = False,
) -> int:
    """Run one suite end to end: 0 every check holds, 1 one fails, 2 the suite is invalid
    (or its baseline is foreign and ``allow_foreign_baseline`` is not set)."""
    try:
        suite = load_suite(path)
        if update_baseline and suite.baseline is None:
            raise SuiteError(suite.path, "baseline.report", "--update-baseline needs a baseline "
                             "path", 'add [baseline] report = "baseline.json"')  # fmt: skip
        prov = provenance(suite, backend)
        baseline = None if update_baseline else load_baseline(suite, prov, allow_foreign_baseline)
        prepare(suite)
        runs = run_suite(suite, workers=workers, backend=backend, ray_address=ray_address)
        result = rep.evaluate_checks(suite, runs, baseline, prov)
    except SuiteError as exc:
        err.write(f"mlsafety check: invalid suite: {exc}\n")
        return 2
    except RuntimeError as exc:
        err.write(f"mlsafety check: {path}: {exc}\n")
        return 2
    out.write(format_table(result))
    folder = rep.write_outputs(result, suite, output, plots=plots)
    out.write(f"reports written to {folder}\n")
    if update_baseline:
        assert suite.baseline is not None  # checked above
        if not result["passed"]:
            err.write("baseline NOT updated: the run fails its thresholds\n")
            return 1
        rep.write_baseline(result, suite.baseline)
        out.write(f"baseline updated: {suite.baseline} (accepted this run explicitly)\n")
    return 0 if result["passed"] else 1


def cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    """``mlsafety check``: the worst exit code over the suites."""
    code = 0
    for path in args.suites:
        rc = check_suite(
            path,
            args.output,
            out,
            sys.stderr,
            workers=args.workers,
            backend=args.backend,
            ray_address=args.ray_address,
            update_baseline=args.update_baseline,
            plots=not args.no_plots,
            allow_foreign_baseline=getattr(args, "allow_foreign_baseline", False),
        )
        code = max(code, rc)
    return code


def run_checks(paths: Sequence[str | Path], **kwargs: Any) -> int:
    """Programmatic form of ``mlsafety check`` (stdout/stderr)."""
    return max(check_suite(p, out=sys.stdout, err=sys.stderr, **kwargs) for p in paths)
