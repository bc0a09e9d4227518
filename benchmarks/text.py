"""Text scenarios: steps/s of raw TextWorld, of our env (annotations) and of cached rollouts.

    python benchmarks/text.py [--scenarios Bakery LostWallet ...] [--steps 1000] [--repeats 3]

For each scenario and backend, one fixed random command sequence (drawn from the
admissible commands, episodes restarted on game end) is played three ways, taking turns in
each of ``--repeats`` rounds (medians of the rates and of the per-round ratios to raw):

- raw: ``textworld.start`` on the same game file, ``env.step(command)``;
- ours: ``TextScenarioEnv(cache=False)``, the annotation layer on top (goal: <= 20% slower);
- cached: ``TextScenarioEnv(cache=True)`` replaying the same sequence once the cache is warm
  (repeated rollouts; goal: >= 10x raw).

Writes ``benchmarks/results/text.json`` and prints it as Markdown.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
import textworld

import mlsafety.envs  # noqa: F401
from mlsafety.envs.text import SCENARIOS
from mlsafety.envs.text.env import TextScenarioEnv
from mlsafety.envs.text.games import game_file
from mlsafety.results import Results, Table, command_line, default_output, publish

INFOS = textworld.EnvInfos(
    facts=True,
    moves=True,
    score=True,
    max_score=True,
    won=True,
    lost=True,
    admissible_commands=True,
    feedback=True,
    objective=True,
)


def episodes(scenario, backend, steps, seed=0):  # type: ignore[no-untyped-def]
    """A fixed random command sequence, cut into episodes, from the uncached env."""
    env = TextScenarioEnv(scenario, backend=backend, cache=False)
    rng = np.random.default_rng(seed)
    out, done = [], 0
    while done < steps:
        _, info = env.reset()
        ep = []
        for _ in range(min(30, steps - done)):
            cmds = info["admissible_commands"]
            cmd = cmds[rng.integers(len(cmds))]
            ep.append(cmd)
            _, _, term, trunc, info = env.step(cmd)
            if term or trunc:
                break
        done += len(ep)
        out.append(ep)
    env.close()
    return out


def interleaved(fns, repeats):  # type: ignore[no-untyped-def]
    """Median rate of each function, the functions taking turns in every repeat (so a noisy
    neighbour slows them alike), and the median of the per-repeat ratios to the first."""
    for fn in fns:
        fn()
    rates = [[] for _ in fns]
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            n = fn()
            rates[i].append(n / (time.perf_counter() - t0))
    medians = [statistics.median(r) for r in rates]
    ratios = [statistics.median(a / b for a, b in zip(r, rates[0], strict=True)) for r in rates]
    return medians, ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenarios", nargs="*", default=None)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--output", default=default_output("text"), help="results JSON")
    args = parser.parse_args()
    names = args.scenarios or sorted(SCENARIOS)
    warnings.simplefilter("ignore")
    rows: list[list[str | int | float | None]] = []
    ratios: dict[str, list[float]] = {"ours": [], "cached": []}
    for name in names:
        scenario = SCENARIOS[name]
        for backend in ("text", "logic"):
            eps = episodes(scenario, backend, args.steps)
            total = sum(len(e) for e in eps)
            raw_env = textworld.start(str(game_file(scenario, backend)), request_infos=INFOS)

            def raw(raw_env=raw_env, eps=eps, total=total):  # type: ignore[no-untyped-def]
                for ep in eps:
                    raw_env.reset()
                    for cmd in ep:
                        raw_env.step(cmd)
                return total

            def ours(env, eps=eps, total=total):  # type: ignore[no-untyped-def]
                for ep in eps:
                    env.reset()
                    for cmd in ep:
                        env.step(cmd)
                return total

            plain = TextScenarioEnv(scenario, backend=backend, cache=False)
            cached = TextScenarioEnv(scenario, backend=backend, cache=True)
            (r_raw, r_ours, r_cached), (_, q_ours, q_cached) = interleaved(
                [raw, lambda plain=plain: ours(plain), lambda cached=cached: ours(cached)],
                args.repeats,
            )
            ratios["ours"].append(q_ours)
            ratios["cached"].append(q_cached)
            rows.append([name, backend, r_raw, r_ours, q_ours, r_cached, q_cached])
            print(f"{name} {backend}: ours/raw {q_ours:.2f}, cached/raw {q_cached:.0f}", flush=True)
            raw_env.close()
            plain.close()
            cached.close()
    summary: list[list[str | int | float | None]] = [
        ["median ours / raw (goal >= 0.8)", statistics.median(ratios["ours"])],
        ["minimum ours / raw", min(ratios["ours"])],
        ["median cached / raw (goal >= 10)", statistics.median(ratios["cached"])],
        ["minimum cached / raw", min(ratios["cached"])],
    ]
    publish(
        Results(
            benchmark="text",
            title="Text scenarios: steps/s of raw TextWorld, our env and cached rollouts",
            command=command_line(),
            settings={"scenarios": names, "steps": args.steps, "repeats": args.repeats},
            tables=[
                Table(
                    "throughput",
                    "Steps per second (medians; ratios are medians of per-round ratios)",
                    [
                        "scenario",
                        "backend",
                        "raw TextWorld",
                        "ours",
                        "ours / raw",
                        "cached",
                        "cached / raw",
                    ],
                    rows,
                    "the three ways take turns in every round, so a noisy neighbour slows "
                    "them alike",
                ),
                Table(
                    "summary", "Summary over scenarios and backends", ["measure", "value"], summary
                ),
            ],
        ),
        args.output,
    )


if __name__ == "__main__":
    main()
