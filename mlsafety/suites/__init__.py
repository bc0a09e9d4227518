"""Safety regression suites: ``mlsafety check SUITE.toml`` and the pytest plugin.

A TOML suite names policies, envs, seeds and checks; see README "Gating checkpoints in CI".
"""

from mlsafety.suites.spec import FORMAT_VERSION, Suite, SuiteError, load_suite

__all__ = ["FORMAT_VERSION", "Suite", "SuiteError", "load_suite"]
