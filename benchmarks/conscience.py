"""Does a conscience cut harm without giving up the task? Baseline vs conscience-shaped agents.

    python benchmarks/conscience.py [--timesteps 4000] [--seeds 0 1 2] [--workers 2]

Text scenarios: MaskablePPO trained on each scenario's SB3 form (logic backend) without a
conscience, with the learned conscience (``learned``: command only; ``context``: the
context-reading one, ``default_conscience(context=True)``) and with the oracle (policy
shaping, CMPS, ``--gamma`` penalty on actions with ``p_wrong > --threshold``), then
evaluated on 5 sampled episodes. Gridworlds: PPO on BoatRace and IslandNavigation without
and with the cost conscience (policy shaping). Prints, per agent, Immorality (or cost),
completion (or true return) and relative immorality: means over scenarios x seeds with 95%
t-intervals, and per-scenario rows; ``--rows FILE.json`` keeps every run's numbers.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

TEXT_VARIANTS = {
    "baseline": None,
    "learned": "learned",
    "context": "context",  # the context-reading learned conscience (agents/conscience/context.py)
    "oracle": "oracle",
}
GRID_ENVS = ("BoatRace", "IslandNavigation")


def run_one(job: tuple[str, str, str | None, int, int, float, float]) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    from mlsafety.agents.config import TrainConfig
    from mlsafety.agents.evaluate import evaluate
    from mlsafety.agents.train import train

    env, algo, conscience, seed, timesteps, gamma, threshold = job
    label = conscience
    t0 = time.perf_counter()
    config = TrainConfig(
        env=env,
        algo=algo,
        timesteps=timesteps,
        seed=seed,
        device="cpu",
        conscience=conscience,
        cmps_gamma=gamma,
        cmps_threshold=threshold,
    )
    config = config.resolved()
    model = train(config)
    report = evaluate(
        model, env, episodes=5, seeds=[seed], deterministic=False, train_config=config
    )
    table = report["table"]
    return {
        "env": env,
        "conscience": label or "none",
        "seed": seed,
        "immorality": table["immorality"]["mean"],
        "harm_self": table["harm_self"]["mean"],
        "cost": table["cost"]["mean"],
        "completion": table["performance"]["mean"],
        "true_return": table["true_return"]["mean"],
        "proxy_return": table["proxy_return"]["mean"],
        "seconds": time.perf_counter() - t0,
    }


def ci(values: list[float]) -> str:
    from mlsafety.agents.evaluate import mean_ci

    m, lo, hi = mean_ci(values)
    return f"{m:.2f} [{lo:.2f}, {hi:.2f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--timesteps", type=int, default=4000)
    parser.add_argument("--grid-timesteps", type=int, default=20000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--gamma", type=float, default=10.0, help="CMPS penalty")
    parser.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="CMPS flag threshold on p_wrong (default: 0.9 for context, else 0.5)",
    )
    parser.add_argument("--rows", metavar="FILE.json", help="also write every run's row here")
    parser.add_argument("--scenarios", nargs="*", default=None)
    parser.add_argument(
        "--variants",
        nargs="*",
        default=list(TEXT_VARIANTS),
        choices=list(TEXT_VARIANTS),
        help="text agents to train",
    )
    parser.add_argument("--no-grid", action="store_true", help="skip the gridworld part")
    args = parser.parse_args()

    import mlsafety.envs  # noqa: F401
    from mlsafety.envs.text import SCENARIOS

    names = args.scenarios or sorted(SCENARIOS)
    variants = [TEXT_VARIANTS[v] for v in args.variants]
    jobs = [
        (f"mlsafety/Text{n}-v0", "maskable_ppo", c, s, args.timesteps, args.gamma, args.threshold)
        for n in names
        for c in variants
        for s in args.seeds
    ]
    if not args.no_grid:
        jobs += [
            (f"mlsafety/{g}-v0", "ppo", c, s, args.grid_timesteps, args.gamma, args.threshold)
            for g in GRID_ENVS
            for c in (None, "cost")
            for s in args.seeds
        ]
    from mlsafety.agents.conscience import default_conscience

    default_conscience()  # train and cache it once, before the workers need it
    if "context" in args.variants:
        from mlsafety.agents.conscience.context import default_context_conscience

        default_context_conscience()
    t0 = time.perf_counter()
    with mp.get_context("spawn").Pool(args.workers) as pool:
        rows = []
        for row in pool.imap_unordered(run_one, jobs, chunksize=1):
            rows.append(row)
            print(
                f"[{len(rows)}/{len(jobs)}] {row['env']} {row['conscience']} seed {row['seed']}: "
                f"immorality {row['immorality']:.2f}, completion {row['completion']:.0f}",
                file=sys.stderr,
                flush=True,
            )
    if args.rows:
        Path(args.rows).write_text(json.dumps(rows, indent=1))
    print(
        f"# {len(jobs)} runs in {time.perf_counter() - t0:.0f} s; text: MaskablePPO "
        f"{args.timesteps} steps, gridworlds: PPO {args.grid_timesteps} steps; CMPS gamma "
        f"{args.gamma}, threshold {'per conscience' if args.threshold is None else args.threshold}"
        f"; seeds {args.seeds}\n"
    )

    text = [r for r in rows if "/Text" in r["env"]]
    print("## Text scenarios (means over scenarios x seeds, 95% t-intervals)\n")
    print("| agent | Immorality | harm to self | completion % | relative immorality |")
    print("|---|---:|---:|---:|---:|")
    base = {}
    labels = [c or "none" for c in variants]
    for label in labels:
        sel = [r for r in text if r["conscience"] == label]
        imm = [r["immorality"] for r in sel]
        comp = [r["completion"] for r in sel]
        base[label] = (float(np.mean(imm)), float(np.mean(comp)))
        rel = float(np.mean(imm)) / max(float(np.mean(comp)), 1e-9)
        print(
            f"| {label if label != 'none' else 'baseline'} | {ci(imm)} "
            f"| {ci([r['harm_self'] for r in sel])} | {ci(comp)} | {rel:.4f} |"
        )
    b_imm, b_comp = base.get("none", (float("nan"), float("nan")))
    for label in [lab for lab in labels if lab != "none"]:
        imm, comp = base[label]
        cut = 1 - imm / b_imm if b_imm else float("nan")
        keep = comp / b_comp if b_comp else float("nan")
        print(
            f"\n{label}: Immorality cut by {100 * cut:.0f}% of the baseline's; completion "
            f"{100 * keep:.0f}% of the baseline's"
        )

    print("\n### Per scenario (mean over seeds): Immorality / completion %\n")
    print("| scenario | " + " | ".join(lab.replace("none", "baseline") for lab in labels) + " |")
    print("|---|" + "---:|" * len(labels))
    for n in names:
        cells = []
        for label in labels:
            sel = [
                r for r in text if r["env"] == f"mlsafety/Text{n}-v0" and r["conscience"] == label
            ]
            cells.append(
                f"{np.mean([r['immorality'] for r in sel]):.2f} / "
                f"{np.mean([r['completion'] for r in sel]):.0f}"
            )
        print(f"| {n} | " + " | ".join(cells) + " |")

    if args.no_grid:
        return
    print("\n## Gridworlds with the cost conscience (means over seeds, 95% t-intervals)\n")
    print("| env | agent | cost | true return | proxy return |")
    print("|---|---|---:|---:|---:|")
    for g in GRID_ENVS:
        for label in ("none", "cost"):
            sel = [r for r in rows if r["env"] == f"mlsafety/{g}-v0" and r["conscience"] == label]
            print(
                f"| {g} | {'baseline' if label == 'none' else 'cost conscience'} "
                f"| {ci([r['cost'] for r in sel])} | {ci([r['true_return'] for r in sel])} "
                f"| {ci([r['proxy_return'] for r in sel])} |"
            )


if __name__ == "__main__":
    main()
