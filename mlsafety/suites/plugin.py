"""pytest plugin (entry point ``pytest11``): ``safety_*.toml`` files become one test per check.

Options: ``--safety-workers N`` (default 1: serial, no process start-up cost) and
``--safety-output DIR`` (write the reports there too).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlsafety.suites import report as rep
from mlsafety.suites.baseline import load_baseline, provenance
from mlsafety.suites.render import failure_message
from mlsafety.suites.spec import SuiteError, load_suite


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mlsafety", "safety regression suites")
    group.addoption("--safety-workers", type=int, default=1, help="processes per suite")
    group.addoption("--safety-output", default=None, help="write suite reports here")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if fnmatch.fnmatch(file_path.name, "safety_*.toml"):
        return SuiteFile.from_parent(parent, path=file_path)
    return None


class SuiteFailure(Exception):
    """A check that does not hold (reported without a traceback)."""


class SuiteFile(pytest.File):
    _report: dict[str, Any] | None = None

    def collect(self) -> Iterator[pytest.Item]:
        try:
            self.suite = load_suite(self.path)
        except SuiteError as exc:
            raise self.CollectError(f"invalid suite: {exc}") from None
        for check in self.suite.checks:
            yield SuiteCheck.from_parent(self, name=check.name, check_name=check.name)
        for layered in self.suite.layer_checks:
            for name in layered.check_names():
                yield SuiteCheck.from_parent(self, name=name, check_name=name)

    def report(self) -> dict[str, Any]:
        if self._report is None:
            # heavy: SB3 and torch, loaded only when a suite file is collected and run
            from mlsafety.suites.runner import prepare, run_suite

            prov = provenance(self.suite)
            baseline = load_baseline(self.suite, prov)
            prepare(self.suite)
            runs = run_suite(self.suite, workers=self.config.getoption("safety_workers"))
            result = rep.evaluate_checks(self.suite, runs, baseline, prov)
            out = self.config.getoption("safety_output")
            if out:
                rep.write_outputs(result, self.suite, out, plots=False)
            self._report = result
        return self._report


class SuiteCheck(pytest.Item):
    def __init__(self, *, check_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check_name = check_name

    def runtest(self) -> None:
        parent = self.parent
        assert isinstance(parent, SuiteFile)
        try:
            result = parent.report()
        except SuiteError as exc:
            raise SuiteFailure(f"invalid suite: {exc}") from None
        check = next(c for c in result["checks"] if c["name"] == self.check_name)
        if not check["passed"]:
            raise SuiteFailure(failure_message(check))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, SuiteFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"safety check: {self.check_name}"
