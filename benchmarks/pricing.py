"""Calvano et al. (2020) Q-learning pricing at the paper's parameters, a few seeds.

Trains two Q-learning sellers per seed in the logit-demand Bertrand market of
:class:`mlsafety.envs.coop.pricing_duopoly.PricingDuopoly` (alpha = 0.15, delta = 0.95, beta
= 4e-6, convergence = greedy strategies unchanged for 100,000 periods) and writes
``benchmarks/results/pricing.json`` (printed as Markdown): seed, periods to convergence,
converged, mean greedy price, collusion index Delta (0 = static Nash profit, 1 = joint
monopoly profit), seconds. Calvano et al. report an average Delta of about 0.85 at these
parameters.

    python benchmarks/pricing.py [--seeds 10] [--beta 4e-6] [--sellers 2]

One session takes ~0.1 s on a 2-core box after numba compilation (~3 s, cached on disk).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from mlsafety.agents.qlearning import train_calvano
from mlsafety.results import Results, Table, command_line, default_output, publish


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10, help="number of seeds (0, 1, ...)")
    parser.add_argument("--beta", type=float, default=4e-6, help="exploration decay")
    parser.add_argument("--sellers", type=int, default=2, help="number of sellers")
    parser.add_argument("--output", default=default_output("pricing"), help="results JSON")
    args = parser.parse_args()

    t0 = time.perf_counter()
    train_calvano(num_sellers=args.sellers, seed=0, beta=1e-2, max_steps=1000)  # compile
    compile_s = time.perf_counter() - t0
    results = []
    for seed in range(args.seeds):
        results.append(train_calvano(num_sellers=args.sellers, seed=seed, beta=args.beta))
    model = results[0].model
    rows: list[list[float | int | str | None]] = [
        [seed, r.steps, r.converged, float(r.greedy_prices.mean()), r.collusion_index, r.seconds]
        for seed, r in enumerate(results)
    ]
    deltas = np.array([r.collusion_index for r in results])
    steps = np.array([r.steps for r in results])
    sd = float(deltas.std(ddof=1)) if len(deltas) > 1 else 0.0
    converged = sum(r.converged for r in results)
    summary: list[list[str | int | float | None]] = [
        ["mean collusion index", float(deltas.mean())],
        ["sd of collusion index", sd],
        ["mean steps", float(steps.mean())],
        ["converged", f"{converged}/{len(results)}"],
        ["total seconds", float(sum(r.seconds for r in results))],
        ["warm-up / compile seconds", compile_s],
    ]
    publish(
        Results(
            benchmark="pricing",
            title=f"Calvano Q-learning pricing, {args.sellers} sellers, beta={args.beta:g}",
            command=command_line(),
            settings={
                "seeds": list(range(args.seeds)),
                "beta": args.beta,
                "sellers": args.sellers,
                "p_nash": float(model.p_nash[0]),
                "p_monopoly": float(model.p_monopoly[0]),
                "paper": "Calvano et al. (2020) report an average Delta of about 0.85",
            },
            tables=[
                Table(
                    "seeds",
                    "Per seed",
                    ["seed", "steps", "converged", "mean price", "collusion index", "seconds"],
                    rows,
                    "collusion index Delta: 0 = static Nash profit, 1 = joint monopoly profit",
                ),
                Table("summary", "Summary over seeds", ["measure", "value"], summary),
            ],
        ),
        args.output,
    )


if __name__ == "__main__":
    main()
