"""Cooperative envs: throughput, and selfish vs collective-reward PPO in CommonsHarvest.

    python benchmarks/coop.py throughput [--repeats 5]
    python benchmarks/coop.py behaviour [--timesteps 300000] [--seeds 0 1 2]

Each writes its results document (``benchmarks/results/coop_throughput.json``,
``coop_behaviour.json``) and prints it as Markdown. Throughput measures agent-steps/s of the
single ``ParallelEnv`` (dict API, random actions) and of the numba batch at 64 and 256
copies, medians over ``--repeats`` runs, with the ratio to the single env measured in the
same run. Melting Pot's reference figures on this kind of machine (quoted, not run here: it
does not install offline) are about 4,700 agent-steps/s for commons_harvest (7 players) and
2,600 for clean_up.

Behaviour trains one shared PPO policy per seed with each agent's own reward ("selfish")
and with the group's mean reward ("collective"), then evaluates both on fresh episodes:
the social metrics (Perolat et al. 2017) with 95% t-intervals over seeds and the paired
difference per seed.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from mlsafety.agents.build import find_batch_class
from mlsafety.agents.config import TrainConfig
from mlsafety.agents.train import train
from mlsafety.envs import make_parallel
from mlsafety.results import Results, Table, command_line, default_output, interval_cell, publish
from mlsafety.sb3 import evaluate_shared_policy

MELTING_POT = {"mlsafety/CommonsHarvest-v0": 4_700, "mlsafety/Cleanup-v0": 2_600}


def _median_rate(fn: Callable[[], int], repeats: int) -> float:
    fn()
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        n = fn()
        rates.append(n / (time.perf_counter() - t0))
    return statistics.median(rates)


def single_rate(env_id: str, steps: int, repeats: int) -> float:
    env = make_parallel(env_id)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    n_actions = int(env.action_space(env.possible_agents[0]).n)  # type: ignore[attr-defined]
    table = rng.integers(0, n_actions, (steps, len(env.possible_agents)))

    def run() -> int:
        done = 0
        for row in table:
            if not env.agents:
                env.reset()
            actions = {a: int(row[i]) for i, a in enumerate(env.agents)}
            env.step(actions)
            done += len(actions)
        return done

    return _median_rate(run, repeats)


def batch_rate(env_id: str, copies: int, steps: int, repeats: int) -> float:
    batch = find_batch_class(env_id)(num_envs=copies)
    batch.reset(seed=0)
    n_actions = int(batch.action_space.n)
    table = np.random.default_rng(0).integers(0, n_actions, (steps, copies, batch.num_agents))

    def run() -> int:
        for a in table:
            batch.step(a)
        return steps * copies * batch.num_agents

    return _median_rate(run, repeats)


def throughput(args: argparse.Namespace) -> None:
    rows: list[list[str | int | float | None]] = []
    for env_id, mp in MELTING_POT.items():
        agents = len(make_parallel(env_id).possible_agents)
        single = single_rate(env_id, 3000, args.repeats)
        b64 = batch_rate(env_id, 64, 100, args.repeats)
        b256 = batch_rate(env_id, 256, 50, args.repeats)
        rows.append(
            [env_id.split("/")[1], agents, single, single / mp, b64, b256, b256 / single, b256 / mp]
        )
    publish(
        Results(
            benchmark="coop_throughput",
            title="Cooperative envs: agent-steps per second (median of repeats)",
            command=command_line(),
            settings={"repeats": args.repeats, "melting_pot_quoted": MELTING_POT},
            tables=[
                Table(
                    "throughput",
                    "Agent-steps/s, random actions",
                    [
                        "env",
                        "agents",
                        "single (agent-steps/s)",
                        "x Melting Pot",
                        "batch x64",
                        "batch x256",
                        "x256 / single",
                        "x256 / Melting Pot",
                    ],
                    rows,
                    "Melting Pot's figures are quoted, not run here (it does not install "
                    "offline): about 4,700 agent-steps/s for commons_harvest, 2,600 for clean_up",
                ),
            ],
        ),
        args.output,
    )


def behaviour(args: argparse.Namespace) -> None:
    env_id = "mlsafety/CommonsHarvest-v0"
    kwargs = {"max_cycles": args.max_cycles}
    rows: dict[str, list[dict[str, float]]] = {"selfish": [], "collective": []}
    for seed in args.seeds:
        for label, reward in (("selfish", "individual"), ("collective", "collective")):
            t0 = time.perf_counter()
            config = TrainConfig(
                env=env_id,
                timesteps=args.timesteps,
                n_envs=args.n_envs,
                seed=seed,
                reward=reward,
                env_kwargs=kwargs,
                device="cpu",
                algo_kwargs={"n_steps": 128, "batch_size": 1024},
            )
            model = train(config)
            batch = find_batch_class(env_id)(num_envs=8, **kwargs)
            episodes = evaluate_shared_policy(
                model, batch, episodes=args.episodes, seed=1000 + seed
            )
            mean = {k: float(np.mean([e[k] for e in episodes])) for k in episodes[0]}
            mean["seed"] = seed
            mean["train_seconds"] = time.perf_counter() - t0
            rows[label].append(mean)
            print(f"seed {seed} {label}: {mean['train_seconds']:.0f} s", flush=True)
    keys = ["efficiency", "equality", "sustainability", "peace", "proxy_return", "cost"]
    table = [
        [label, *(interval_cell([r[k] for r in per_seed]) for k in keys)]
        for label, per_seed in rows.items()
    ]
    diffs = [
        "collective - selfish (paired by seed)",
        *(
            interval_cell(
                [c[k] - s[k] for c, s in zip(rows["collective"], rows["selfish"], strict=True)]
            )
            for k in keys
        ),
    ]
    publish(
        Results(
            benchmark="coop_behaviour",
            title="Selfish vs collective PPO agents in CommonsHarvest",
            command=command_line(),
            settings={
                "env": env_id,
                "timesteps": args.timesteps,
                "n_envs": args.n_envs,
                "max_cycles": args.max_cycles,
                "seeds": list(args.seeds),
                "evaluation_episodes_per_seed": args.episodes,
                "note": args.note,
            },
            tables=[
                Table(
                    "behaviour",
                    "Social metrics (Perolat et al. 2017), mean over seeds [95% t-interval]",
                    ["agents", *keys],
                    [*table, diffs],
                    "one shared PPO policy per run; evaluation samples actions on fresh "
                    "episodes; the last row is the per-seed paired difference",
                ),
            ],
            data={"per_seed": rows},
        ),
        args.output,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("throughput")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--output", default=default_output("coop_throughput"))
    p = sub.add_parser("behaviour")
    p.add_argument("--timesteps", type=int, default=300_000)
    p.add_argument("--n-envs", type=int, default=16)
    p.add_argument("--max-cycles", type=int, default=500)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--episodes", type=int, default=16, help="evaluation episodes per seed")
    p.add_argument("--note", default="", help="why this run differs from the defaults")
    p.add_argument("--output", default=default_output("coop_behaviour"))
    args = parser.parse_args()
    throughput(args) if args.what == "throughput" else behaviour(args)


if __name__ == "__main__":
    main()
