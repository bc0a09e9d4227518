"""DRRN generalisation: train on TextGen's train split, evaluate on its held-out test split.

    python benchmarks/drrn.py [--timesteps 8000] [--seeds 0 1 2]
        [--variants untrained none learned oracle]

For each variant (``untrained``: a randomly initialised DRRN, the reference; ``none``: no
conscience; ``learned``: the learned conscience with CMPS policy shaping; ``oracle``: the
oracle conscience, the upper bound) and seed, trains a:class:`~mlsafety.agents.drrn.DRRN`
with ``mlsafety train --algo drrn`` on ``mlsafety/TextGen-v0`` (a fresh generated dilemma
every episode, train-split vocabulary), then plays ``--episodes`` episodes on the train
split and on the test split (vocabulary, phrasings and layouts never seen; forgery dilemmas
only there): completion and Immorality with 95% t-intervals over seeds, and each variant
minus ``none`` paired by seed, written to ``benchmarks/results/drrn.json`` and printed as
Markdown. Runs in parallel processes, one torch thread each (``--workers``)."""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time
from typing import Any

import numpy as np

from mlsafety.results import Results, Table, command_line, default_output, interval_cell, publish

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--timesteps", type=int, default=8_000)
    parser.add_argument("--episodes", type=int, default=30, help="evaluation episodes per split")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", default=["untrained", "none", "learned", "oracle"])
    parser.add_argument("--gamma", type=float, default=10.0, help="CMPS penalty")
    parser.add_argument("--deterministic", action="store_true", help="greedy evaluation")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--note", default="", help="why this run differs from the defaults")
    parser.add_argument("--output", default=default_output("drrn"), help="results JSON")
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
    results.sort(key=lambda r: (r["variant"], r["seed"]))
    cells = [(split, key) for split in ("train", "test") for key in ("performance", "immorality")]
    rows: list[list[str | int | float | None]] = []
    for v in args.variants:
        runs = [r for r in results if r["variant"] == v]
        rows.append([v, *(interval_cell([r[sp][k] for r in runs]) for sp, k in cells)])
    paired: list[list[str | int | float | None]] = []
    base = {r["seed"]: r for r in results if r["variant"] == "none"}
    for v in args.variants:
        if v == "none" or not base:
            continue
        runs = [r for r in results if r["variant"] == v and r["seed"] in base]
        paired.append(
            [
                f"{v} - none",
                *(
                    interval_cell([r[sp][k] - base[r["seed"]][sp][k] for r in runs])
                    for sp, k in cells
                ),
            ]
        )
    columns = ["conscience", "train completion %", "train Immorality", "test completion %",
               "test Immorality"]  # fmt: skip
    tables = [
        Table(
            "splits",
            "DRRN on TextGen: train split vs held-out test split, mean over seeds [95% t-interval]",
            columns,
            rows,
            f"{policy} policy; the untrained row is a randomly initialised DRRN",
        )
    ]
    if paired:
        tables.append(
            Table("paired", "Paired by seed: variant minus no conscience", columns, paired)
        )
    publish(
        Results(
            benchmark="drrn",
            title="DRRN generalisation from TextGen's train split to its test split",
            command=command_line(),
            settings={
                "env": ENV,
                "timesteps": args.timesteps,
                "seeds": list(args.seeds),
                "episodes_per_split": args.episodes,
                "variants": list(args.variants),
                "cmps_gamma": args.gamma,
                "policy": policy,
                "note": args.note,
                "seconds": time.perf_counter() - t0,
                "median_train_seconds": float(np.median([r["train_seconds"] for r in results])),
            },
            tables=tables,
            data={"runs": results},
        ),
        args.output,
    )


if __name__ == "__main__":
    main()
