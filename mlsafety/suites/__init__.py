"""Safety regression suites: ``mlsafety check SUITE.toml`` and the pytest plugin.

A TOML suite names policies, envs, seeds and checks; see docs/guide/suites.md and
docs/tutorials/ci-gate.md.
"""

from mlsafety.suites.spec import FORMAT_VERSION, Suite, SuiteError, load_suite

__all__ = ["FORMAT_VERSION", "Suite", "SuiteError", "load_suite"]
