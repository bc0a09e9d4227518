"""Suite files: TOML parsed with :mod:`tomllib` into frozen dataclasses, validated up front.

Every problem is a :class:`SuiteError` naming the file, the key and the fix; the runner
turns it into exit code 2 before anything is written.
"""

from __future__ import annotations

import hashlib
import math
import operator
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym

from mlsafety.envs import CATALOGUE, UnknownEnvError, resolve_id
from mlsafety.suites.layers import CHECK_KINDS, LayersCheckSpec, parse_layers_check
from mlsafety.suites.validate import (
    SuiteError,
    check_kwargs,
    check_metric,
    import_modules,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

FORMAT_VERSION = 2
"""Version of the JSON report format (a baseline from another version is refused)."""
BACKENDS = ("process", "ray")
"""Where a suite's episodes run: local processes, or a Ray cluster."""

POLICY_KINDS = ("random", "exploit", "safe", "script", "model")
WRAPPER_TYPES = ("conscience", "fallback")
GREEDY, SAMPLED, OWN = "greedy", "sampled", "own"
"""Evaluation modes: a model's greedy (``deterministic=True``) or sampled play; ``own`` for
reference, scripted and random policies, whose play does not depend on the mode."""
LINEAGES = ("path", "sha256")
"""``[baseline] lineage``: what makes a baseline's model policy the same lineage as the
suite's: the same checkpoint path (relative to the suite: a retrained checkpoint replaces the
file), or the very same checkpoint bytes."""
OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
    "==": operator.eq,
}
_EXPECT_RE = re.compile(r"^\s*([A-Za-z_][\w:.\-]*)\s*(<=|>=|==|<|>)\s*(\S+)\s*$")
_NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]+$")


@dataclass(frozen=True)
class PolicySpec:
    name: str
    kind: str
    path: str | None = None
    """Model file (``kind = "model"``), resolved against the suite file's folder."""
    algo: str | None = None
    actions: tuple[Any, ...] = ()
    """``kind = "script"``: gridworld action ints, or text commands (strings)."""
    deterministic: bool | None = None
    """Model policies: greedy (True), sampled (False) or, when unset, judged on both."""

    @property
    def modes(self) -> tuple[str, ...]:
        """The evaluation modes this policy is played in (see :data:`GREEDY`)."""
        if self.kind != "model":
            return (OWN,)
        if self.deterministic is None:
            return (GREEDY, SAMPLED)
        return (GREEDY,) if self.deterministic else (SAMPLED,)


@dataclass(frozen=True)
class WrapperSpec:
    type: str
    options: tuple[tuple[str, Any], ...] = ()

    def get(self, key: str, default: Any = None) -> Any:
        return dict(self.options).get(key, default)


@dataclass(frozen=True)
class EnvSpec:
    name: str
    env_id: str
    family: str
    api: str
    kwargs: tuple[tuple[str, Any], ...] = ()
    wrappers: tuple[WrapperSpec, ...] = ()

    @property
    def kwargs_dict(self) -> dict[str, Any]:
        return dict(self.kwargs)

    def has_wrapper(self, kind: str) -> bool:
        return any(w.type == kind for w in self.wrappers)


@dataclass(frozen=True)
class CheckSpec:
    name: str
    policy: str
    env: str
    metric: str
    op: str | None = None
    threshold: float | None = None
    baseline: bool = False
    tolerance: float = 0.0
    better: str = "higher"
    """Direction for the baseline comparison: ``higher``, ``lower`` or ``equal``."""
    where: str = ""
    """The suite key of the metric (``checks[0].expect``), for error messages."""

    @property
    def run_key(self) -> str:
        return run_key(self.policy, self.env)

    @property
    def expectation(self) -> str:
        return f"{self.metric} {self.op} {self.threshold:g}" if self.op is not None else ""


@dataclass(frozen=True)
class BootstrapSpec:
    n_resamples: int = 2000
    seed: int = 0
    confidence: float = 0.95


@dataclass(frozen=True)
class Suite:
    path: Path
    name: str
    episodes: int
    seeds: tuple[int, ...]
    policies: tuple[PolicySpec, ...]
    envs: tuple[EnvSpec, ...]
    checks: tuple[CheckSpec, ...]
    bootstrap: BootstrapSpec = field(default_factory=BootstrapSpec)
    baseline: Path | None = None
    sha256: str = ""
    """The suite file's sha256 (its bytes as read)."""
    imports: tuple[str, ...] = ()
    """Modules imported before env IDs resolve, here and in every worker."""
    baseline_lineage: str = "path"
    allow_foreign_baseline: bool = False
    layer_checks: tuple[LayersCheckSpec, ...] = ()

    @property
    def stem(self) -> str:
        return self.path.stem

    def policy(self, name: str) -> PolicySpec:
        return next(p for p in self.policies if p.name == name)

    def env(self, name: str) -> EnvSpec:
        return next(e for e in self.envs if e.name == name)

    def runs(self) -> list[tuple[str, str]]:
        """The (policy, env) pairs the checks need, in first-use order."""
        seen: dict[tuple[str, str], None] = {}
        for c in self.checks:
            seen.setdefault((c.policy, c.env), None)
        for lc in self.layer_checks:
            for env in lc.envs():
                seen.setdefault((lc.policy, env), None)
        return list(seen)


def run_key(policy: str, env: str) -> str:
    return f"{policy}@{env}"


class _Reader:
    """Typed access to the TOML tables, raising :class:`SuiteError` with the key path."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, problem: str, fix: str) -> SuiteError:
        return SuiteError(self.path, key, problem, fix)

    def table(self, data: Mapping[str, Any], key: str, where: str, required: bool = False) -> Any:
        if key not in data:
            if required:
                raise self.fail(where, "missing table", f"add a [{where}] table")
            return {}
        value = data[key]
        if not isinstance(value, dict):
            raise self.fail(
                where, f"expected a table, got {type(value).__name__}", "make it a table"
            )
        return value

    def get(
        self,
        data: Mapping[str, Any],
        key: str,
        where: str,
        types: type | tuple[type, ...],
        default: Any = ...,
        fix: str = "",
    ) -> Any:
        if key not in data:
            if default is ...:
                raise self.fail(where, "missing key", fix or f"add `{key.split('.')[-1]} = ...`")
            return default
        value = data[key]
        bad_bool = isinstance(value, bool) and bool not in (
            types if isinstance(types, tuple) else (types,)
        )
        if not isinstance(value, types) or bad_bool:
            names = (
                " or ".join(t.__name__ for t in types)
                if isinstance(types, tuple)
                else types.__name__
            )
            raise self.fail(
                where, f"expected {names}, got {value!r}", fix or f"give {where} a {names} value"
            )
        return value

    def unknown(self, data: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
        extra = sorted(set(data) - set(allowed))
        if extra:
            raise self.fail(
                f"{where}.{extra[0]}" if where else extra[0],
                "unknown key",
                f"remove it; the keys allowed here are {', '.join(allowed)}",
            )


def load_suite(path: str | Path) -> Suite:
    """Parse and validate a suite file; raise :class:`SuiteError` on any problem."""
    p = Path(path)
    r = _Reader(p)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise SuiteError(
            p, "-", f"cannot read the suite file ({exc.strerror})", "check the path"
        ) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SuiteError(p, "-", f"not valid TOML ({exc})", "fix the TOML syntax there") from None
    r.unknown(
        data, ("import", "suite", "run", "bootstrap", "baseline", "policies", "envs", "checks"), ""
    )
    imports = r.get(data, "import", "import", list, default=[])
    if not all(isinstance(m, str) and m for m in imports):
        raise r.fail("import", f"must be a list of module names, got {imports!r}", "e.g. ['pkg']")
    import_modules(imports, p)
    suite_t = r.table(data, "suite", "suite")
    r.unknown(suite_t, ("name", "description"), "suite")
    name = r.get(suite_t, "name", "suite.name", str, default=p.stem)

    run_t = r.table(data, "run", "run", required=True)
    r.unknown(run_t, ("episodes", "seeds"), "run")
    episodes = r.get(run_t, "episodes", "run.episodes", int, fix="add `episodes = 5` to [run]")
    if episodes < 1:
        raise r.fail("run.episodes", f"must be at least 1, got {episodes}", "set episodes >= 1")
    seeds = r.get(run_t, "seeds", "run.seeds", list, fix="add `seeds = [0, 1, 2]` to [run]")
    if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise r.fail("run.seeds", f"must be a non-empty list of ints, got {seeds!r}", "e.g. [0, 1]")
    if len(set(seeds)) != len(seeds):
        raise r.fail("run.seeds", "has duplicates", "list each seed once")

    boot_t = r.table(data, "bootstrap", "bootstrap")
    r.unknown(boot_t, ("n_resamples", "seed", "confidence"), "bootstrap")
    boot = BootstrapSpec(
        n_resamples=r.get(boot_t, "n_resamples", "bootstrap.n_resamples", int, default=2000),
        seed=r.get(boot_t, "seed", "bootstrap.seed", int, default=0),
        confidence=float(
            r.get(boot_t, "confidence", "bootstrap.confidence", (int, float), default=0.95)
        ),
    )
    if boot.n_resamples < 100:
        raise r.fail("bootstrap.n_resamples", "must be at least 100", "use e.g. 2000")
    if not 0.5 <= boot.confidence < 1.0:
        raise r.fail("bootstrap.confidence", "must be in [0.5, 1)", "use e.g. 0.95")

    base_t = r.table(data, "baseline", "baseline")
    r.unknown(base_t, ("report", "lineage", "allow_foreign"), "baseline")
    baseline = None
    if base_t:
        rel = r.get(base_t, "report", "baseline.report", str)
        baseline = (p.parent / rel).resolve()
    lineage = r.get(base_t, "lineage", "baseline.lineage", str, default="path")
    if lineage not in LINEAGES:
        raise r.fail("baseline.lineage", f"unknown lineage {lineage!r}", f"use one of {LINEAGES}")
    allow_foreign = r.get(base_t, "allow_foreign", "baseline.allow_foreign", bool, default=False)

    policies = _policies(r, r.table(data, "policies", "policies", required=True))
    envs = _envs(r, r.table(data, "envs", "envs", required=True))
    checks, layer_checks = _checks(
        r, data.get("checks"), {q.name for q in policies}, envs, baseline
    )
    return Suite(
        path=p.resolve(),
        name=name,
        episodes=episodes,
        seeds=tuple(seeds),
        policies=policies,
        envs=envs,
        checks=checks,
        bootstrap=boot,
        baseline=baseline,
        sha256=hashlib.sha256(raw).hexdigest(),
        imports=tuple(imports),
        baseline_lineage=lineage,
        allow_foreign_baseline=allow_foreign,
        layer_checks=layer_checks,
    )


def _policies(r: _Reader, table: Mapping[str, Any]) -> tuple[PolicySpec, ...]:
    if not table:
        raise r.fail("policies", "no policies", 'add e.g. [policies.safe] with kind = "safe"')
    out = []
    for name, t in table.items():
        where = f"policies.{name}"
        if not isinstance(t, dict):
            raise r.fail(where, "expected a table", f"write [policies.{name}] with kind = ...")
        r.unknown(t, ("kind", "path", "algo", "actions", "deterministic"), where)
        kind = r.get(t, "kind", f"{where}.kind", str, fix=f"kind = one of {POLICY_KINDS}")
        if kind not in POLICY_KINDS:
            raise r.fail(f"{where}.kind", f"unknown kind {kind!r}", f"use one of {POLICY_KINDS}")
        path = None
        if kind == "model":
            rel = r.get(t, "path", f"{where}.path", str, fix="path = 'runs/x/model.zip'")
            path = str((r.path.parent / rel).resolve())
            if not Path(path).is_file():
                raise r.fail(
                    f"{where}.path",
                    f"no model file at {path}",
                    "point path at a model zip saved by `mlsafety train` (relative to the suite)",
                )
        deterministic = r.get(t, "deterministic", f"{where}.deterministic", bool, None)
        if deterministic is not None and kind != "model":
            raise r.fail(
                f"{where}.deterministic",
                f"a {kind!r} policy plays the same whatever the mode",
                "drop deterministic (it applies to kind = 'model')",
            )
        actions: tuple[Any, ...] = ()
        if kind == "script":
            acts = r.get(t, "actions", f"{where}.actions", list, fix="actions = [3, 3, 4]")
            ok = acts and (
                all(isinstance(a, int) and not isinstance(a, bool) for a in acts)
                or all(isinstance(a, str) for a in acts)
            )
            if not ok:
                raise r.fail(
                    f"{where}.actions",
                    "must be a non-empty list of action ints or of text commands",
                    "e.g. actions = [3, 4] or actions = ['go north']",
                )
            actions = tuple(acts)
        out.append(
            PolicySpec(
                name=name,
                kind=kind,
                path=path,
                algo=r.get(t, "algo", f"{where}.algo", str, default=None),
                actions=actions,
                deterministic=deterministic,
            )
        )
    return tuple(out)


def _envs(r: _Reader, table: Mapping[str, Any]) -> tuple[EnvSpec, ...]:
    if not table:
        raise r.fail("envs", "no environments", 'add e.g. [envs.boat] id = "mlsafety/BoatRace-v0"')
    out = []
    for name, t in table.items():
        where = f"envs.{name}"
        if not isinstance(t, dict):
            raise r.fail(where, "expected a table", f'write [envs.{name}] with id = "..."')
        r.unknown(t, ("id", "kwargs", "wrappers"), where)
        raw_id = r.get(t, "id", f"{where}.id", str, fix='id = "mlsafety/BoatRace-v0"')
        try:
            env_id = resolve_id(raw_id)
        except UnknownEnvError as exc:
            if raw_id not in gym.registry:
                raise r.fail(
                    f"{where}.id", str(exc), "use an ID listed by `mlsafety envs`"
                ) from None
            env_id = raw_id  # a Gymnasium env registered by an imported module
        entry = CATALOGUE.get(env_id)
        family, api = (entry.family, entry.api) if entry else ("external", "gymnasium")
        kwargs = r.get(t, "kwargs", f"{where}.kwargs", dict, default={})
        check_kwargs(r.path, f"{where}.kwargs", env_id, kwargs)
        wrappers = []
        for i, w in enumerate(r.get(t, "wrappers", f"{where}.wrappers", list, default=[])):
            ww = f"{where}.wrappers[{i}]"
            if not isinstance(w, dict):
                raise r.fail(ww, "expected an inline table", '{ type = "fallback", ... }')
            kind = r.get(w, "type", f"{ww}.type", str, fix=f"type = one of {WRAPPER_TYPES}")
            if kind not in WRAPPER_TYPES:
                raise r.fail(f"{ww}.type", f"unknown wrapper {kind!r}", f"use {WRAPPER_TYPES}")
            if api != "gymnasium":
                raise r.fail(ww, f"{env_id} is multi-agent", "wrappers apply to Gymnasium envs")
            opts = {k: v for k, v in w.items() if k != "type"}
            if kind == "fallback":
                r.unknown(opts, ("detector", "threshold", "hold", "fallback", "release"), ww)
                det = r.get(opts, "detector", f"{ww}.detector", str, fix="detector = 'det.npz'")
                det_path = (r.path.parent / det).resolve()
                if not det_path.is_file():
                    raise r.fail(
                        f"{ww}.detector",
                        f"no detector file at {det_path}",
                        "save one with Detector.save() and give its path relative to the suite",
                    )
                opts["detector"] = str(det_path)
                r.get(opts, "threshold", f"{ww}.threshold", (int, float), default=0.0)
                r.get(opts, "hold", f"{ww}.hold", int, default=1)
                rel = r.get(opts, "release", f"{ww}.release", (int, float), default=None)
                thr = float(opts.get("threshold", 0.0))
                if rel is not None and not float(rel) <= thr:
                    raise r.fail(f"{ww}.release", f"{rel} is above the threshold {thr:g}",
                                 "give release <= threshold (the hysteresis level)")  # fmt: skip
            else:
                r.unknown(opts, ("conscience", "mode", "weight", "threshold", "gamma"), ww)
                c = r.get(opts, "conscience", f"{ww}.conscience", str, default="oracle")
                if c not in ("oracle", "cost", "learned"):
                    raise r.fail(f"{ww}.conscience", f"unknown {c!r}", "oracle, cost or learned")
                m = r.get(opts, "mode", f"{ww}.mode", str, default="reward")
                if m not in ("reward", "policy", "both"):
                    raise r.fail(f"{ww}.mode", f"unknown {m!r}", "reward, policy or both")
            wrappers.append(WrapperSpec(kind, tuple(sorted(opts.items()))))
        out.append(
            EnvSpec(
                name=name,
                env_id=env_id,
                family=family,
                api=api,
                kwargs=tuple(sorted(kwargs.items())),
                wrappers=tuple(wrappers),
            )
        )
    return tuple(out)


def _checks(
    r: _Reader,
    raw: Any,
    policies: set[str],
    envs: tuple[EnvSpec, ...],
    baseline: Path | None,
) -> tuple[tuple[CheckSpec, ...], tuple[LayersCheckSpec, ...]]:
    if not raw or not isinstance(raw, list):
        raise r.fail("checks", "no checks", "add [[checks]] tables with policy, env and expect")
    env_by_name = {e.name: e for e in envs}
    out: list[CheckSpec] = []
    layered: list[LayersCheckSpec] = []
    names: set[str] = set()
    for i, t in enumerate(raw):
        where = f"checks[{i}]"
        if not isinstance(t, dict):
            raise r.fail(where, "expected a table", "write [[checks]] tables")
        kind = r.get(t, "kind", f"{where}.kind", str, default="threshold")
        if kind not in CHECK_KINDS:
            raise r.fail(f"{where}.kind", f"unknown check kind {kind!r}", f"use {CHECK_KINDS}")
        if kind == "layers":
            lc = parse_layers_check(r, t, where, policies, env_by_name)
            if lc.name in names:
                raise r.fail(f"{where}.name", f"duplicate check name {lc.name!r}",
                             "give each check a name")  # fmt: skip
            names.add(lc.name)
            layered.append(lc)
            continue
        r.unknown(t, ("kind", "name", "policy", "env", "expect", "metric", "baseline",
                      "tolerance", "better"), where)  # fmt: skip
        policy = r.get(t, "policy", f"{where}.policy", str)
        if policy not in policies:
            raise r.fail(
                f"{where}.policy", f"no policy {policy!r}", f"use one of {sorted(policies)}"
            )
        env_name = r.get(t, "env", f"{where}.env", str)
        if env_name not in env_by_name:
            raise r.fail(
                f"{where}.env", f"no env {env_name!r}", f"use one of {sorted(env_by_name)}"
            )
        env = env_by_name[env_name]
        op = threshold = None
        metric = r.get(t, "metric", f"{where}.metric", str, default=None)
        expect = r.get(t, "expect", f"{where}.expect", str, default=None)
        if expect is not None:
            m = _EXPECT_RE.match(expect)
            value = math.nan
            if m:
                try:
                    value = float(m.group(3))
                except ValueError:
                    m = None
            if not m or not math.isfinite(value):
                raise r.fail(
                    f"{where}.expect",
                    f"cannot read {expect!r}",
                    "write 'METRIC OP NUMBER', e.g. 'immorality <= 2.0' (OP: <= < >= > ==)",
                )
            if metric is not None and metric != m.group(1):
                raise r.fail(f"{where}.metric", "differs from the metric in expect", "drop one")
            metric, op, threshold = m.group(1), m.group(2), value
        if metric is None:
            raise r.fail(where, "no metric", "add expect = 'true_return >= 40' (or metric = ...)")
        metric_key = f"{where}.{'expect' if expect else 'metric'}"
        check_metric(r.path, metric_key, metric, env.api, env.has_wrapper("fallback"), env.name)
        use_baseline = r.get(t, "baseline", f"{where}.baseline", bool, default=False)
        if use_baseline and baseline is None:
            raise r.fail(
                f"{where}.baseline",
                "compares with a baseline but the suite names none",
                'add [baseline] report = "baseline.json" (create it with --update-baseline)',
            )
        if not use_baseline and op is None:
            raise r.fail(
                where, "neither expect nor baseline", "add expect = ... or baseline = true"
            )
        default_better = "lower" if op in ("<=", "<") else "equal" if op == "==" else "higher"
        better = r.get(t, "better", f"{where}.better", str, default=default_better)
        if better not in ("higher", "lower", "equal"):
            raise r.fail(f"{where}.better", f"unknown {better!r}", "higher, lower or equal")
        tol = float(r.get(t, "tolerance", f"{where}.tolerance", (int, float), default=0.0))
        if tol < 0 or not math.isfinite(tol):
            raise r.fail(f"{where}.tolerance", "must be a finite number >= 0", "e.g. 0.5")
        default_name = f"{policy}@{env_name}: " + (
            f"{metric} {op} {threshold:g}" if op else f"{metric} vs baseline"
        )
        name = r.get(t, "name", f"{where}.name", str, default=default_name)
        if name in names:
            raise r.fail(
                f"{where}.name", f"duplicate check name {name!r}", "give each check a name"
            )
        names.add(name)
        out.append(
            CheckSpec(
                name, policy, env_name, metric, op, threshold, use_baseline, tol, better, metric_key
            )
        )
    return tuple(out), tuple(layered)
