"""Run a suite's episodes: in parallel processes (default), serially, or on Ray.

The unit of work is one (policy, env, seed, mode): ``episodes`` episodes, reset with seeds
``seed * 100_003 + episode`` (as ``mlsafety evaluate``), the model playing greedily or
sampling (a model policy that names no mode is played both ways, on the same seeds). Every
random choice derives from those seeds, so the results are the same whichever backend runs
them. Each worker imports the suite's ``import`` modules before it builds an env.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import multiprocessing
import os
import sys
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import mlsafety.envs  # noqa: F401  (registers every env, also in a fresh worker process)
from mlsafety.agents.build import (
    OBS_STATS_FILE,
    load_obs_stats,
    make_conscience,
    make_eval_env,
    make_text_env,
)
from mlsafety.agents.config import TrainConfig, load_run_config
from mlsafety.agents.shaping import SHAPING_DEFAULTS, shape
from mlsafety.envs import make_parallel
from mlsafety.monitors.detectors import load_detector
from mlsafety.monitors.fallback import FallbackMonitor
from mlsafety.monitors.fmea import FmeaRecorder
from mlsafety.rollout import episode_seed, run_episodes
from mlsafety.suites.policies import (
    load_model_policy,
    make_parallel_policies,
    make_policy,
)
from mlsafety.suites.spec import (
    BACKENDS,
    GREEDY,
    OWN,
    SAMPLED,
    EnvSpec,
    PolicySpec,
    Suite,
    run_key,
)
from mlsafety.suites.validate import (
    EPISODE_METRICS,
    FALLBACK_METRICS,
    SuiteError,
    check_event,
    declared_events,
    import_modules,
)
from mlsafety.wrappers import EPISODE_KEY, SafetyStats, SafetyStatsParallel

Unit = tuple[str, int, PolicySpec, EnvSpec, int, str, tuple[str, ...]]
"""(suite path, episodes, policy, env, seed, mode, modules to import)."""


def in_mode(policy: PolicySpec, mode: str) -> PolicySpec:
    """``policy`` set to play in ``mode`` (model policies; others play their own way)."""
    if mode not in (GREEDY, SAMPLED, OWN):
        raise ValueError(f"mode must be {GREEDY!r}, {SAMPLED!r} or {OWN!r}, got {mode!r}")
    if policy.kind != "model":
        return policy
    return dataclasses.replace(policy, deterministic=mode != SAMPLED)


def _train_config(policy: PolicySpec) -> TrainConfig | None:
    if policy.kind != "model" or policy.path is None:
        return None
    try:
        return load_run_config(policy.path)
    except (OSError, ValueError, TypeError):
        return None


def build_env(env: EnvSpec, policy: PolicySpec, suite_path: str) -> Any:
    """The Gymnasium env of ``env`` with SafetyStats and the suite's wrappers outside it."""
    config = _train_config(policy)
    try:
        if config is not None:  # a trained model: the env as its run evaluates it
            if env.has_wrapper("conscience"):  # the suite's own conscience replaces the run's
                config = dataclasses.replace(config, conscience=None)
            stats_file = Path(str(policy.path)).parent / OBS_STATS_FILE
            stats = load_obs_stats(stats_file)[0] if stats_file.exists() else None
            wrapped, _ = make_eval_env(env.env_id, env.kwargs_dict, config, obs_stats=stats)
        else:
            base: Any
            if env.family == "text":
                base = make_text_env(env.env_id, **env.kwargs_dict)
            else:
                base = gym.make(env.env_id, **env.kwargs_dict)
            wrapped = SafetyStats(base)
    except (TypeError, ValueError) as exc:
        raise SuiteError(
            suite_path, f"envs.{env.name}.kwargs", f"{env.env_id} refused them: {exc}",
            "use the arguments documented in the env's docstring",
        ) from None  # fmt: skip
    for i, w in enumerate(env.wrappers):
        key = f"envs.{env.name}.wrappers[{i}]"
        try:
            if w.type == "conscience":
                wrapped, _, _ = shape(
                    wrapped,
                    make_conscience(w.get("conscience", "oracle")),
                    mode=w.get("mode", "reward"),
                    algo=config.algo if config is not None else "ppo",
                    weight=float(w.get("weight", SHAPING_DEFAULTS.weight)),
                    gamma=float(w.get("gamma", SHAPING_DEFAULTS.cmps_gamma)),
                    threshold=float(w.get("threshold", SHAPING_DEFAULTS.cmps_threshold)),
                )
            else:
                wrapped = FallbackMonitor(
                    wrapped,
                    load_detector(w.get("detector")),
                    fallback=w.get("fallback", "noop"),
                    threshold=float(w.get("threshold", 0.0)),
                    hold=int(w.get("hold", 1)),
                    release=None if w.get("release") is None else float(w.get("release")),
                )
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise SuiteError(suite_path, key, f"cannot apply the wrapper: {exc}",
                             "check the wrapper's options and files") from None  # fmt: skip
    return FmeaRecorder(wrapped)  # per-event tallies for the report's FMEA table


def _masks_of(env: Any) -> Any:
    e = env
    while e is not None:
        if hasattr(type(e), "action_masks"):
            return e.action_masks
        e = getattr(e, "env", None)
    return None


def episode_row(ep: dict[str, Any], seed: int, episode: int) -> dict[str, Any]:
    """One episode's metrics (floats), event counts and social outcomes."""
    metrics: dict[str, float] = {}
    for k in EPISODE_METRICS:
        if k in ep:
            metrics[k] = float(ep[k])
    length = float(ep.get("length", 0.0))
    metrics["cost_rate"] = float(ep.get("cost", 0.0)) / length if length else 0.0
    for k in FALLBACK_METRICS:
        if k in ep:
            metrics[k] = float(ep[k])
    for k, v in dict(ep.get("social", {})).items():
        metrics[k] = float(v)
    events = {str(k): int(v) for k, v in dict(ep.get("events", {})).items()}
    row = {"seed": seed, "episode": episode, "metrics": metrics, "events": events}
    if "fmea" in ep:
        row["fmea"] = {str(k): {n: float(x) for n, x in v.items()} for k, v in ep["fmea"].items()}
    return row


def _mean_rows(rows: list[dict[str, Any]], seed: int, episode: int) -> dict[str, Any]:
    """The agents' rows of one multi-agent episode, averaged (social outcomes are shared)."""
    keys = sorted({k for r in rows for k in r["metrics"]})
    metrics = {
        k: float(np.mean([r["metrics"][k] for r in rows if k in r["metrics"]])) for k in keys
    }
    names = sorted({k for r in rows for k in r["events"]})
    events = {k: int(sum(r["events"].get(k, 0) for r in rows)) for k in names}
    return {"seed": seed, "episode": episode, "metrics": metrics, "events": events}


def run_unit(
    suite_path: str,
    episodes: int,
    policy: PolicySpec,
    env: EnvSpec,
    seed: int,
    mode: str = GREEDY,
    imports: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """``episodes`` episodes of ``policy`` on ``env`` for one seed, in ``mode`` (any process,
    after importing ``imports``)."""
    import_modules(imports, suite_path)
    policy = in_mode(policy, mode)
    model = load_model_policy(policy, suite_path) if policy.kind == "model" else None
    if env.api == "pettingzoo":
        return _run_parallel(suite_path, episodes, policy, env, seed, model)
    e = build_env(env, policy, suite_path)
    pol = make_policy(policy, e, suite_path, model=model, env_name=env.name)
    try:
        played = run_episodes(
            e, pol, [seed], episodes, policy.deterministic is not False, _masks_of(e) or _no_masks
        )
    finally:
        e.close()
    return [episode_row(row, seed, row["episode"]) for row in played]


def _no_masks() -> None:
    return None


def _run_parallel(
    suite_path: str, episodes: int, policy: PolicySpec, env: EnvSpec, seed: int, model: Any
) -> list[dict[str, Any]]:
    try:
        e = SafetyStatsParallel(make_parallel(env.env_id, **env.kwargs_dict))
    except (TypeError, ValueError) as exc:
        raise SuiteError(suite_path, f"envs.{env.name}.kwargs", f"{env.env_id} refused them: "
                         f"{exc}", "use the env's documented arguments") from None  # fmt: skip
    pols = make_parallel_policies(policy, e, suite_path, model)
    rows = []
    try:
        for ep in range(episodes):
            s = episode_seed(seed, ep)
            obs, _ = e.reset(seed=s)
            for p in pols.values():
                p.reset(s)
            finals: dict[Any, dict[str, Any]] = {}
            while e.agents:
                actions = {
                    a: int(
                        np.asarray(
                            pols[a].predict(
                                obs[a], deterministic=policy.deterministic is not False
                            )[0]
                        ).item()
                    )
                    for a in e.agents
                }
                obs, _, terms, truncs, infos = e.step(actions)
                for a, info in infos.items():
                    if EPISODE_KEY in info:
                        finals[a] = info[EPISODE_KEY]
                if all(terms.get(a) or truncs.get(a) for a in actions):
                    break
            per_agent = [episode_row(finals[a], seed, ep) for a in sorted(finals, key=str)]
            rows.append(_mean_rows(per_agent, seed, ep))
    finally:
        e.close()
    return rows


def check_events(suite: Suite, env_name: str, env: Any) -> None:
    """Every ``event:NAME`` checked on ``env_name`` must be in the built env's ``event_names``."""
    declared = declared_events(env)
    spec = suite.env(env_name)
    for c in suite.checks:
        if c.env == env_name and c.metric.startswith("event:"):
            check_event(suite.path, c.where, c.metric, env_name, spec.env_id, declared)


def prepare(suite: Suite) -> None:
    """Build every (policy, env) pair once here, so bad input (an unknown event, option or
    policy) fails before any work."""
    models: dict[str, Any] = {}
    for pname, ename in suite.runs():
        policy, env = in_mode(suite.policy(pname), suite.policy(pname).modes[0]), suite.env(ename)
        if policy.kind == "model" and pname not in models:
            models[pname] = load_model_policy(policy, suite.path)
        if env.api == "pettingzoo":
            try:
                pe = make_parallel(env.env_id, **env.kwargs_dict)
            except (TypeError, ValueError) as exc:
                raise SuiteError(
                    suite.path,
                    f"envs.{ename}.kwargs",
                    f"{env.env_id} refused them: {exc}",
                    "use the env's documented arguments",
                ) from None
            make_parallel_policies(policy, pe, suite.path, models.get(pname))
            check_events(suite, ename, pe)
            pe.close()
            continue
        e = build_env(env, policy, str(suite.path))
        check_events(suite, ename, e)
        make_policy(policy, e, suite.path, model=models.get(pname), env_name=ename)
        space = getattr(models.get(pname), "action_space", None)
        if space is not None and space != e.action_space:
            raise SuiteError(suite.path, f"policies.{pname}.path", f"the model acts in {space}, "
                             f"env {ename!r} in {e.action_space}",
                             "use a model trained on this env")  # fmt: skip
        e.close()


def units(suite: Suite) -> list[Unit]:
    """Every (policy, env, seed, mode) of the suite; the modes of a run share its seeds."""
    return [
        (str(suite.path), suite.episodes, suite.policy(p), suite.env(e), seed, mode, suite.imports)
        for p, e in suite.runs()
        for mode in suite.policy(p).modes
        for seed in suite.seeds
    ]


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def run_suite(
    suite: Suite,
    workers: int | None = None,
    backend: str = "process",
    ray_address: str | None = None,
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Every episode of the suite, grouped by ``policy@env`` and mode (in seed, episode
    order)."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    work = units(suite)
    n = min(workers or default_workers(), len(work))
    if backend == "ray":
        results = _run_ray(work, n, ray_address)
    elif n <= 1:
        results = [run_unit(*u) for u in work]
    else:
        results = _run_processes(work, n)
    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for u, rows in zip(work, results, strict=True):
        out.setdefault(run_key(u[2].name, u[3].name), {}).setdefault(u[5], []).extend(rows)
    return out


def _run_processes(work: list[Unit], n: int) -> list[list[dict[str, Any]]]:
    ctx = multiprocessing.get_context("spawn")
    pool = cf.ProcessPoolExecutor(max_workers=n, mp_context=ctx)
    try:
        futures = [pool.submit(run_unit, *u) for u in work]
        results = [f.result() for f in futures]
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return results


def _run_ray(work: list[Unit], n: int, address: str | None) -> list[list[dict[str, Any]]]:
    try:
        import ray  # optional dependency: the "ray" extra
    except ImportError:
        raise RuntimeError(
            'the ray backend needs Ray: pip install "mlsafety-gym[ray]" (or use --backend process)'
        ) from None
    started = False
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if address is None:
            kwargs["num_cpus"] = n
            # local workers find the modules a suite imports where this process does
            path = os.pathsep.join(p for p in sys.path if p)
            kwargs["runtime_env"] = {"env_vars": {"PYTHONPATH": path}}
        ray.init(address=address, **kwargs)
        started = True
    remote = ray.remote(num_cpus=1)(run_unit)
    refs = [remote.remote(*u) for u in work]
    try:
        results: list[list[dict[str, Any]]] = ray.get(refs)
        return results
    except BaseException:
        for ref in refs:
            ray.cancel(ref, force=True)
        raise
    finally:
        if started:
            ray.shutdown()
