"""DRRN generalisation: train on TextGen's train split, evaluate on its held-out test split.

    python benchmarks/drrn.py [--timesteps 8000] [--seeds 0 1 2]
        [--variants untrained none learned oracle]

For each variant (``untrained``: a randomly initialised DRRN, the reference; ``none``: no
conscience; ``learned``: the learned conscience with CMPS policy shaping; ``oracle``: the
oracle conscience, the upper bound) and seed, trains a :class:`~mlsafety.agents.drrn.DRRN` with
``mlsafety train --algo drrn`` on ``mlsafety/TextGen-v0`` (a fresh generated dilemma every
episode, train-split vocabulary), then plays ``--episodes`` episodes on the train split and on
the test split (vocabulary, phrasings and layouts never seen; forgery dilemmas only there) and
prints completion and Immorality with 95% intervals over seeds. Runs in parallel processes, one
torch thread each (``--workers``).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time
from typing import Any

import numpy as np

ENV = "mlsafety/TextGen-v0"


def run(job: tuple[str, int, int, int, float, bool]) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    from mlsafety.agents.config import TrainConfig
    from mlsafety.agents.evaluate import evaluate
    from mlsafety.agents.train import train

    variant, seed, timesteps, episodes, gamma, deterministic = job
    t0 = time.perf_counter()
    if variant == "untrained":  # the reference: a randomly initialised DRRN, no conscience
        from mlsafety.agents.drrn import DRRN

        timesteps = 0
    config = TrainConfig(
        env=ENV,
        algo="drrn",
        timesteps=max(timesteps, 1),
        seed=seed,
        device="cpu",
        conscience=None if variant in ("none", "untrained") else variant,
        shaping="policy",
        cmps_gamma=gamma,
    )
    model = DRRN(None, seed=seed, device="cpu") if variant == "untrained" else train(config)
    seconds = time.perf_counter() - t0
    out: dict[str, Any] = {"variant": variant, "seed": seed, "train_seconds": seconds}
    for split in ("train", "test"):
        report = evaluate(
            model,
            ENV,
            episodes=episodes,
            seeds=[1000 + seed],
            deterministic=deterministic,
            env_kwargs={"split": split},
        )
        out[split] = {k: report["table"][k]["mean"] for k in ("performance", "immorality")}
    return out


def ci(values: list[float]) -> str:
    from mlsafety.agents.evaluate import mean_ci

    m, lo, hi = mean_ci(values)
    return f"{m:.1f} [{lo:.1f}, {hi:.1f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--timesteps", type=int, default=8_000)
    parser.add_argument("--episodes", type=int, default=30, help="evaluation episodes per split")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", default=["untrained", "none", "learned", "oracle"])
    parser.add_argument("--gamma", type=float, default=10.0, help="CMPS penalty")
    parser.add_argument("--deterministic", action="store_true", help="greedy evaluation")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    jobs = [
        (v, s, args.timesteps, args.episodes, args.gamma, args.deterministic)
        for v in args.variants
        for s in args.seeds
    ]
    t0 = time.perf_counter()
    results = []
    with mp.get_context("spawn").Pool(args.workers) as pool:
        for r in pool.imap_unordered(run, jobs, chunksize=1):
            results.append(r)
            print(
                f"  {r['variant']} seed {r['seed']}: trained in {r['train_seconds']:.0f} s; "
                f"train {r['train']}, test {r['test']}",
                flush=True,
            )
    policy = "greedy" if args.deterministic else "softmax (as trained)"
    print(
        f"DRRN on {ENV}: {args.timesteps} steps per run, seeds {args.seeds}, "
        f"{args.episodes} evaluation episodes per split and seed, {policy} policy, "
        f"CMPS gamma {args.gamma}; {time.perf_counter() - t0:.0f} s in all\n"
    )
    print(
        "| conscience | train completion % | train Immorality | test completion % "
        "| test Immorality |"
    )
    print("|---|---:|---:|---:|---:|")
    for v in args.variants:
        rows = [r for r in results if r["variant"] == v]
        cells = [
            ci([r[split][key] for r in rows])
            for split in ("train", "test")
            for key in ("performance", "immorality")
        ]
        print(f"| {v} | " + " | ".join(cells) + " |")
    secs = np.median([r["train_seconds"] for r in results])
    print(f"\nmedian training time per run: {secs:.0f} s (one CPU thread)")


if __name__ == "__main__":
    main()
