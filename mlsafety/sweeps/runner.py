"""Running a sweep: one function per run, a local process pool or Ray tasks, and resume.

:func:`execute_run` trains one :class:`~mlsafety.sweeps.spec.RunSpec` (SB3 PPO through
:func:`mlsafety.agents.train.train`, one torch thread) and evaluates it greedily on held-out
episode seeds. It returns the result and the run's files as bytes, so a Ray worker on
another machine needs no shared disk: the driver writes them. Each run gets a folder
``DIR/runs/<key>/`` holding ``config.json``, ``model.zip`` (and the observation statistics
of runs trained with ``normalize``), a folder ``mlsafety evaluate`` and
:func:`mlsafety.runs.load_run` read, and ``result.json``, written last: a run whose
``result.json`` exists is finished, and a rerun of the sweep skips it. Every file is written
atomically, so an interrupt loses at most the runs in progress.
"""

from __future__ import annotations

import concurrent.futures as cf
import io
import json
import multiprocessing
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from stable_baselines3.common.vec_env import VecNormalize

from mlsafety.agents.build import OBS_STATS_FILE, load_obs_stats, make_eval_env, save_obs_stats
from mlsafety.agents.train import train
from mlsafety.io import atomic_write_bytes, atomic_write_json, dumps_strict
from mlsafety.rollout import run_episodes
from mlsafety.sweeps.spec import EVAL_SEED_OFFSET, RunSpec, SweepSpec

BACKENDS = ("local", "ray")
RESULT_FILE = "result.json"
SWEEP_FILE = "sweep.json"
RUNS_FOLDER = "runs"


class RunOutcome(NamedTuple):
    """What a run returns: its result (JSON-ready) and its files (name -> bytes)."""

    result: dict[str, Any]
    files: dict[str, bytes]


def execute_run(run: RunSpec) -> RunOutcome:
    """Train ``run`` and evaluate it greedily on ``run.eval_episodes`` held-out episodes.

    The result holds the run's spec, the mean proxy return, true return and cost over the
    evaluation episodes, the per-episode numbers, the training and evaluation seconds, and
    when the run started and finished (Unix seconds).
    """
    started = time.time()
    start = time.perf_counter()
    config = run.train_config().resolved()
    model: Any = train(config)
    trained = time.perf_counter()
    files: dict[str, bytes] = {
        "config.json": (dumps_strict(asdict(config), indent=2) + "\n").encode()
    }
    buffer = io.BytesIO()
    model.save(buffer)
    files["model.zip"] = buffer.getvalue()
    obs_stats = None
    venv = model.get_env()
    if isinstance(venv, VecNormalize):
        with tempfile.TemporaryDirectory() as tmp:
            path = save_obs_stats(venv, Path(tmp) / OBS_STATS_FILE)
            files[OBS_STATS_FILE] = path.read_bytes()
            obs_stats = load_obs_stats(path)[0]
    env, _ = make_eval_env(config.env, config.env_kwargs, config, obs_stats)
    try:
        rows = run_episodes(
            env, model, [EVAL_SEED_OFFSET + run.seed], run.eval_episodes, deterministic=True
        )
    finally:
        env.close()
    episodes = [
        {"proxy_return": r["proxy_return"], "true_return": r["true_return"], "cost": r["cost"]}
        for r in rows
    ]
    result = {
        "run": run.as_dict(),
        "key": run.key,
        "proxy_return": float(np.mean([e["proxy_return"] for e in episodes])),
        "true_return": float(np.mean([e["true_return"] for e in episodes])),
        "cost": float(np.mean([e["cost"] for e in episodes])),
        "episodes": episodes,
        "train_seconds": trained - start,
        "eval_seconds": time.perf_counter() - trained,
        "started_unix_seconds": started,
        "finished_unix_seconds": time.time(),
    }
    return RunOutcome(result, files)


def run_folder(output: str | Path, run: RunSpec) -> Path:
    """The folder of ``run`` under the sweep's output folder."""
    return Path(output) / RUNS_FOLDER / run.key


def load_finished(output: str | Path, run: RunSpec) -> dict[str, Any] | None:
    """The saved result of ``run``, or None when it has not finished. A result saved for
    other settings under the same key is a ValueError (the folder holds another sweep)."""
    path = run_folder(output, run) / RESULT_FILE
    if not path.is_file():
        return None
    result: dict[str, Any] = json.loads(path.read_text())
    if result.get("run") != run.as_dict():
        raise ValueError(
            f"{path} holds a run with other settings ({result.get('run')}); "
            "use a new --output folder for a sweep with other fixed settings"
        )
    return result


def save_outcome(output: str | Path, outcome: RunOutcome) -> dict[str, Any]:
    """Write a run's files, then its ``result.json`` (the mark that it finished)."""
    folder = Path(output) / RUNS_FOLDER / outcome.result["key"]
    for name, data in outcome.files.items():
        atomic_write_bytes(folder / name, data)
    atomic_write_json(folder / RESULT_FILE, outcome.result)
    return outcome.result


def check_output(output: str | Path, spec: SweepSpec) -> None:
    """Record the sweep in ``DIR/sweep.json``; a folder of a sweep on another env is refused."""
    path = Path(output) / SWEEP_FILE
    if path.is_file():
        saved = json.loads(path.read_text())
        if saved.get("env") != spec.env_id:
            raise ValueError(
                f"{output} holds a sweep of {saved.get('env')}, not {spec.env_id}; "
                "name another --output folder"
            )
    atomic_write_json(
        path,
        {
            "env": spec.env_id,
            "axes": {a.name: list(a.values) for a in spec.axes},
            "seeds": list(spec.seeds),
        },
    )


def run_sweep(
    spec: SweepSpec,
    output: str | Path,
    backend: str = "local",
    workers: int = 1,
    ray_address: str | None = None,
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """Run (or resume) every run of ``spec`` into ``output``; their results in grid order."""
    check_output(output, spec)
    return run_all(spec.runs(), output, backend, workers, ray_address, progress)


Progress = Callable[[dict[str, Any], bool], None]
"""Called once per run as it completes: ``(result, resumed)``."""


def run_all(
    runs: Sequence[RunSpec],
    output: str | Path,
    backend: str = "local",
    workers: int = 1,
    ray_address: str | None = None,
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """Every run's result, in the order of ``runs``: finished ones read back from
    ``output``, the others executed (``workers`` processes, or Ray tasks) and saved as each
    completes. Worker processes are spawned and import the calling script again: call this
    from under ``if __name__ == "__main__":`` when ``workers > 1``."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if workers < 1:
        raise ValueError(f"workers must be positive, got {workers}")
    results: dict[str, dict[str, Any]] = {}
    todo: list[RunSpec] = []
    for run in runs:
        done = load_finished(output, run)
        if done is not None:
            results[run.key] = done
            if progress is not None:
                progress(done, True)
        elif run.key not in {r.key for r in todo}:
            todo.append(run)

    def finish(outcome: RunOutcome) -> None:
        results[outcome.result["key"]] = save_outcome(output, outcome)
        if progress is not None:
            progress(outcome.result, False)

    if todo:
        if backend == "ray":
            _run_ray(todo, finish, workers, ray_address)
        elif workers == 1:
            for run in todo:
                finish(execute_run(run))
        else:
            _run_pool(todo, finish, workers)
    return [results[r.key] for r in runs]


def _run_pool(todo: Iterable[RunSpec], finish: Callable[[RunOutcome], None], workers: int) -> None:
    context = multiprocessing.get_context("spawn")  # fresh interpreters: no forked torch state
    pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=context)
    try:
        futures = [pool.submit(execute_run, run) for run in todo]
        for future in cf.as_completed(futures):
            finish(future.result())
    except BaseException:  # Ctrl-C or a failed run: drop the queued runs, do not wait
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _run_ray(
    todo: Sequence[RunSpec],
    finish: Callable[[RunOutcome], None],
    workers: int,
    address: str | None,
) -> None:
    # heavy: ray, the optional [ray] extra, imported only for --backend ray
    import ray

    if not ray.is_initialized():
        if address is None:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    task = ray.remote(num_cpus=1)(execute_run)
    pending = [task.remote(run) for run in todo]
    try:
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            for ref in ready:
                finish(RunOutcome(*ray.get(ref)))
    except BaseException:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
