"""Throughput of the gridworlds: single env through ``gym.make`` and the numba batch.

Writes ``benchmarks/results/gridworlds.json`` (printed as Markdown): median steps/s over
``--repeats`` runs, with two baselines measured in the same run: Gymnasium's own
FrozenLake-v1 (a pure-Python gridworld) through ``gym.make``, and Gymnasium's
``SyncVectorEnv`` over our single env (the generic way to batch an env) at 64 copies.

    python benchmarks/gridworlds.py [--repeats 5] [--envs BoatRace TomatoWatering ...]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np

import mlsafety.envs as envs
from mlsafety.results import Results, Table, command_line, default_output, publish


def _median_rate(fn: Callable[[], int], repeats: int) -> float:
    fn()  # warm-up: numba compilation, caches
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        n = fn()
        rates.append(n / (time.perf_counter() - t0))
    return statistics.median(rates)


def single_rate(env_id: str, steps: int, repeats: int) -> float:
    env = gym.make(env_id)
    actions = np.random.default_rng(0).integers(0, env.action_space.n, steps).tolist()  # type: ignore[attr-defined]

    env.reset(seed=0)

    def run() -> int:
        for a in actions:
            _, _, term, trunc, _ = env.step(a)
            if term or trunc:
                env.reset()
        return steps

    return _median_rate(run, repeats)


def batched_rate(env_id: str, num_envs: int, steps: int, repeats: int, sync: bool = False) -> float:
    mode = "sync" if sync else "vector_entry_point"
    venv = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode=mode)
    actions = np.random.default_rng(0).integers(0, 5, (steps, num_envs))

    venv.reset(seed=0)  # seeding N generators is set-up, not stepping: outside the clock

    def run() -> int:
        for a in actions:
            venv.step(a)
        return steps * num_envs

    return _median_rate(run, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20_000, help="single-env steps per run")
    parser.add_argument("--envs", nargs="*", default=None, help="gridworld names (default all)")
    parser.add_argument("--output", default=default_output("gridworlds"), help="results JSON")
    args = parser.parse_args()
    ids = envs.env_ids("gridworld")
    if args.envs:
        ids = [envs.resolve_id(n) for n in args.envs]

    lake = single_rate("FrozenLake-v1", args.steps, args.repeats)
    rows: list[list[str | int | float | None]] = []
    singles, b1024 = [], []
    for env_id in ids:
        single = single_rate(env_id, args.steps, args.repeats)
        sync = batched_rate(env_id, 64, 100, args.repeats, sync=True)
        b1 = batched_rate(env_id, 1, 2000, args.repeats)
        b64 = batched_rate(env_id, 64, 500, args.repeats)
        big = batched_rate(env_id, 1024, 200, args.repeats)
        singles.append(single)
        b1024.append(big)
        rows.append([env_id.split("/")[1], single, single / lake, sync, b1, b64, big, big / sync])
    summary: list[list[str | int | float | None]] = [
        ["Gymnasium FrozenLake-v1 via gym.make (baseline)", lake],
        ["median single env (gym.make)", statistics.median(singles)],
        ["minimum single env", min(singles)],
        ["median batch x1024", statistics.median(b1024)],
        ["minimum batch x1024", min(b1024)],
    ]
    publish(
        Results(
            benchmark="gridworlds",
            title="Gridworld throughput (steps/s, median of repeats)",
            command=command_line(),
            settings={"repeats": args.repeats, "steps": args.steps, "envs": ids},
            tables=[
                Table(
                    "throughput",
                    "Steps per second by env",
                    [
                        "env",
                        "single (gym.make)",
                        "x FrozenLake",
                        "SyncVectorEnv x64",
                        "batch x1",
                        "batch x64",
                        "batch x1024",
                        "x1024 / Sync",
                    ],
                    rows,
                    "batch columns count env-steps/s; FrozenLake-v1 and SyncVectorEnv are "
                    "baselines measured in the same run",
                ),
                Table("summary", "Summary over envs", ["measure", "steps/s"], summary),
            ],
        ),
        args.output,
    )


if __name__ == "__main__":
    main()
