"""Throughput of the misspecification sims, against baselines measured in the same run.

Steps per second of each env through ``gym.make`` under random actions from a seeded
generator (resets included, as in training), the median over ``--repeats`` runs after a
warm-up run (numba compilation, imports). Baselines, same protocol, same process:

* ``mlsafety/BoatRace-v0``, one of our numba gridworlds (the cheapest env we ship);
* highway-env's own ``merge-v0`` with its default configuration (15 Hz simulation, its
  pandas Kinematics observation), the simulator TrafficMerge drives.

Writes ``benchmarks/results/misspec_envs.json`` (mlsafety.results) and prints its tables.

    nice -n 10 python benchmarks/misspec_envs.py [--repeats 5] [--steps 2000] \
        [--traffic-steps 500]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import mlsafety.envs  # noqa: F401  (registers the envs)
from mlsafety.results import Results, Table, command_line, render_markdown, write_results

OUT = Path(__file__).resolve().parent / "results" / "misspec_envs.json"


def rates(make: Callable[[], gym.Env[Any, Any]], steps: int, repeats: int) -> list[float]:
    """Steps/s of ``repeats`` timed runs of ``steps`` random steps (after one warm-up run)."""
    env = make()
    rng = np.random.default_rng(0)
    n = int(env.action_space.n)  # type: ignore[attr-defined]
    env.reset(seed=0)

    def run() -> float:
        actions = rng.integers(0, n, steps).tolist()
        t0 = time.perf_counter()
        for a in actions:
            _, _, term, trunc, _ = env.step(a)
            if term or trunc:
                env.reset()
        return steps / (time.perf_counter() - t0)

    run()
    return [run() for _ in range(repeats)]


def highway_merge() -> gym.Env[Any, Any]:
    # heavy: highway-env, only for its own baseline
    from highway_env.envs.merge_env import MergeEnv

    return MergeEnv()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=2000, help="per run, numba envs")
    parser.add_argument("--traffic-steps", type=int, default=500, help="per run, highway-env")
    parser.add_argument("--note", default="", help="why this run is reduced, if it is")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")  # highway-env and gymnasium's checker warnings

    cases: list[tuple[str, str, Callable[[], gym.Env[Any, Any]], int, str]] = [
        ("TrafficMerge-v0", "env", lambda: gym.make("mlsafety/TrafficMerge-v0"),
         args.traffic_steps, "1 s of road (5 simulation steps)"),
        ("RampMerge-v0", "env", lambda: gym.make("mlsafety/RampMerge-v0"),
         args.steps, "1 s of road (4 simulation steps)"),
        ("GlucoseMonitoring-v0", "env", lambda: gym.make("mlsafety/GlucoseMonitoring-v0"),
         args.steps, "3 min of the patient (3 RK4 steps)"),
        ("PandemicPolicy-v0", "env", lambda: gym.make("mlsafety/PandemicPolicy-v0"),
         args.steps, "1 day of the town"),
        ("BoatRace-v0 (gridworld)", "baseline", lambda: gym.make("mlsafety/BoatRace-v0"),
         args.steps, "1 move"),
        ("highway-env merge-v0, its defaults", "baseline", highway_merge,
         args.traffic_steps, "1 s of road (15 simulation steps)"),
    ]  # fmt: skip
    measured = {}
    for name, _kind, make, steps, _per in cases:
        measured[name] = rates(make, steps, args.repeats)
        print(f"{name}: median {statistics.median(measured[name]):.0f} steps/s", flush=True)
    grid = statistics.median(measured["BoatRace-v0 (gridworld)"])
    rows: list[list[Any]] = []
    for name, kind, _make, steps, per in cases:
        r = measured[name]
        med = statistics.median(r)
        rows.append([name, kind, per, steps, round(med), round(min(r)), round(max(r)),
                     round(med / grid, 4)])  # fmt: skip
    table = Table(
        id="throughput",
        title="Steps per second through gym.make, random actions, resets included",
        columns=[
            "env",
            "role",
            "one step is",
            "steps per run",
            "median steps/s",
            "min",
            "max",
            "x gridworld",
        ],
        rows=rows,
        note=f"median (min, max) over {args.repeats} timed runs after a warm-up run; one "
        "process, one thread; baselines measured in the same run. CPU sims: no GPU figure.",
    )
    results = Results(
        benchmark="misspec_envs",
        title="Throughput of the misspecification sims",
        command=command_line(),
        settings={
            "repeats": args.repeats,
            "steps": args.steps,
            "traffic_steps": args.traffic_steps,
            "actions": "uniform random, numpy default_rng(0)",
            "note": args.note,
        },
        tables=[table],
        data={"rates": measured},
    )
    write_results(args.out, results)
    print(render_markdown(results.as_dict()))


if __name__ == "__main__":
    main()
