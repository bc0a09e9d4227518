"""Calvano et al. (2020) Q-learning pricing at the paper's parameters, a few seeds.

Trains two Q-learning sellers per seed in the logit-demand Bertrand market of
:class:`mlsafety.envs.coop.pricing_duopoly.PricingDuopoly` (alpha = 0.15, delta = 0.95,
beta = 4e-6, convergence = greedy strategies unchanged for 100,000 periods) and prints a
Markdown table: seed, periods to convergence, converged, mean greedy price, collusion
index Delta (0 = static Nash profit, 1 = joint monopoly profit), seconds. Calvano et al.
report an average Delta of about 0.85 at these parameters.

    python benchmarks/pricing.py [--seeds 10] [--beta 4e-6] [--sellers 2]

One session takes ~0.1 s on a 2-core box after numba compilation (~3 s, cached on disk).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from mlsafety.agents.qlearning import train_calvano


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10, help="number of seeds (0, 1, ...)")
    parser.add_argument("--beta", type=float, default=4e-6, help="exploration decay")
    parser.add_argument("--sellers", type=int, default=2, help="number of sellers")
    args = parser.parse_args()

    t0 = time.perf_counter()
    train_calvano(num_sellers=args.sellers, seed=0, beta=1e-2, max_steps=1000)  # compile
    compile_s = time.perf_counter() - t0
    results = []
    for seed in range(args.seeds):
        results.append(train_calvano(num_sellers=args.sellers, seed=seed, beta=args.beta))
    model = results[0].model
    print(
        f"# Calvano Q-learning, {args.sellers} sellers, beta={args.beta:g} "
        f"(p_N={model.p_nash[0]:.4f}, p_M={model.p_monopoly[0]:.4f}; "
        f"warm-up/compile {compile_s:.1f} s)\n"
    )
    print("| seed | steps | converged | mean price | collusion index | seconds |")
    print("| ---: | ---: | :---: | ---: | ---: | ---: |")
    for seed, r in enumerate(results):
        print(
            f"| {seed} | {r.steps:,} | {'yes' if r.converged else 'no'} | "
            f"{r.greedy_prices.mean():.3f} | {r.collusion_index:.3f} | {r.seconds:.2f} |"
        )
    deltas = np.array([r.collusion_index for r in results])
    steps = np.array([r.steps for r in results])
    sd = deltas.std(ddof=1) if len(deltas) > 1 else 0.0
    converged = sum(r.converged for r in results)
    print(
        f"\nmean collusion index {deltas.mean():.3f} (sd {sd:.3f}), "
        f"mean steps {steps.mean():,.0f}, converged {converged}/{len(results)}, "
        f"total {sum(r.seconds for r in results):.1f} s"
    )


if __name__ == "__main__":
    main()
