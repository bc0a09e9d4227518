"""Reward misspecification against capability (Pan, Bhatia & Steinhardt, ICLR 2022).

For each env (default: the four misspecification sims of ``mlsafety.envs.misspec``), a
capability sweep (:mod:`mlsafety.sweeps`): PPO trained on the proxy reward across model
size (``net_arch``), training steps and, where the env has such an option, action-space
resolution, several seeds per point, each run evaluated greedily on held-out episodes.
Per env the results give:

* proxy and true return per capability point, with percentile-bootstrap intervals over
  seeds;
* the largest drop in true return between neighbouring points, its paired bootstrap
  interval, and whether it is a phase transition (the intervals of true return on either
  side do not overlap; the rule is in ``docs/sweeps.md``), with Spearman's rho of the
  proxy-true gap against each axis;
* Pan et al.'s detection task: trusted policies (trained on the true reward) against the
  proxy-trained policies of the point with the largest gap, ranked by Jensen-Shannon and
  Hellinger divergence from a trusted reference policy; policy-level AUROC; and, where a
  transition is detected, the same task across it with proxy-trained runs only (trusted:
  before it, or after it with their true return kept; hacking: after it, true return lost);
* what the sweep cost: run-seconds on one CPU core per run, and the wall time.

Runs are kept in ``--runs`` (one folder per env), so an interrupted benchmark resumes.
Results go to ``benchmarks/results/misspec_sweep.json`` with a plot per env beside it.

    python benchmarks/misspec_sweep.py [--env ID ...] [--net-arch 16x1,64x2,256x3]
        [--steps 10000,40000,160000] [--axis env.OPTION=V1,V2] [--env-kwargs JSON]
        [--seeds 0 1 2 3 4] [--workers 2] [--backend ray]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import torch

import mlsafety.envs  # noqa: F401  (registers the IDs)
from mlsafety.agents.config import load_hyperparams
from mlsafety.cli import parse_env_kwargs
from mlsafety.envs import resolve_id
from mlsafety.results import Figure, Results, Table, command_line, render_markdown, write_results
from mlsafety.sweeps import (
    Axis,
    SweepSpec,
    detection_table,
    detection_task,
    find_transition,
    plot_sweep,
    points_table,
    run_sweep,
    transition_detection,
    transition_detection_table,
    transition_table,
)
from mlsafety.sweeps.spec import env_options

MISSPEC_ENVS = (
    "mlsafety/TrafficMerge-v0",
    "mlsafety/RampMerge-v0",
    "mlsafety/GlucoseMonitoring-v0",
    "mlsafety/PandemicPolicy-v0",
)
ACTION_RESOLUTION_OPTIONS = ("action_resolution", "speed_levels", "action_levels", "action_bins")
"""Constructor options read as action-space resolution, the first one an env has."""
PPO_KW: dict[str, Any] = {"n_steps": 256, "batch_size": 256}
"""Update size for every env (so the smallest step budget still makes several updates); a
``--hyperparams`` file overrides it."""
NO_DEVICE = "not measured: no device lent"


def spec_for(env: str, args: argparse.Namespace, algo_kwargs: dict[str, Any]) -> SweepSpec:
    axes = [Axis.parse(f"net_arch={args.net_arch}"), Axis.parse(f"steps={args.steps}")]
    names, _ = env_options(resolve_id(env))
    option = next((o for o in ACTION_RESOLUTION_OPTIONS if o in names), None)
    if option is not None and args.action_resolution:
        axes.append(Axis.parse(f"env.{option}={args.action_resolution}"))
    axes += [Axis.parse(text) for text in args.axis]
    return SweepSpec(
        env=env,
        axes=tuple(axes),
        seeds=tuple(args.seeds),
        n_envs=args.n_envs,
        env_kwargs=parse_env_kwargs(args.env_kwargs),
        algo_kwargs=algo_kwargs,
        eval_episodes=args.eval_episodes,
        device=args.device,
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--env", action="append", default=None, help="env ID (repeatable)")
    p.add_argument("--net-arch", default="16x1,64x2,256x3", help="WIDTHxDEPTH values")
    p.add_argument("--steps", default="10000,40000,160000", help="training-step values")
    p.add_argument(
        "--action-resolution", default="3,9,17", help="values where the env has the option"
    )
    p.add_argument(
        "--axis",
        action="append",
        default=[],
        metavar="NAME=V1,V2",
        help="a further capability axis, as for `mlsafety sweep` (env.<option>=..., "
        "algo.<key>=...; repeatable)",
    )
    p.add_argument("--env-kwargs", default=None, metavar="JSON", help="fixed env options")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--trusted-seeds", type=int, nargs="+", default=[100, 101, 102, 103, 104])
    p.add_argument("--detect-episodes", type=int, default=5)
    p.add_argument("--eval-episodes", type=int, default=10)
    p.add_argument("--n-envs", type=int, default=8)
    p.add_argument("--hyperparams", default=None, help="rl-zoo style YAML for PPO")
    p.add_argument("--backend", default="local", choices=["local", "ray"])
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--ray-address", default=None)
    p.add_argument("--device", default="cpu")
    p.add_argument("--runs", default="runs/misspec_sweep", help="folder of the runs (resume)")
    p.add_argument("--output", default="benchmarks/results/misspec_sweep.json")
    p.add_argument("--note", default="", help="say here how the run was reduced, if it was")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    envs = args.env or list(MISSPEC_ENVS)
    out = Path(args.output)
    tables: list[Table] = []
    figures: list[Figure] = []
    data: dict[str, Any] = {}
    detection_rows: list[list[Any]] = []
    across_rows: list[list[Any]] = []
    cost_rows: list[list[Any]] = []
    for env in envs:
        env_id = resolve_id(env)
        name = env_id.split("/")[-1].removesuffix("-v0")
        extra = load_hyperparams(args.hyperparams, env_id) if args.hyperparams else {}
        for key in ("n_envs", "n_timesteps", "policy"):  # rl-zoo run keys: set here
            extra.pop(key, None)
        spec = spec_for(env, args, {**PPO_KW, **extra})
        runs_dir = Path(args.runs) / name
        results = run_sweep(spec, runs_dir, args.backend, args.workers, args.ray_address)
        wall = max(r["finished_unix_seconds"] for r in results) - min(
            r["started_unix_seconds"] for r in results
        )
        report = detection_task(
            spec,
            results,
            runs_dir,
            trusted_seeds=args.trusted_seeds,
            episodes=args.detect_episodes,
            backend=args.backend,
            workers=args.workers,
            ray_address=args.ray_address,
        )
        plot = out.parent / f"{out.stem}_{name}.png"
        plot_sweep(spec, results, plot)
        figures.append(Figure(f"sweep_{name}", f"{env_id}: proxy and true return", plot.name))
        tables.append(points_table(spec, results, f"points_{name}"))
        tables.append(transition_table(spec, results, f"transition_{name}"))
        det = detection_table(env_id, report)
        detection_rows += det.rows
        across = transition_detection(spec, results, runs_dir, episodes=args.detect_episodes)
        if across is not None:
            across_rows += transition_detection_table(env_id, across).rows
        run_seconds = sum(r["train_seconds"] + r["eval_seconds"] for r in results)
        steps = sum(r["run"]["steps"] for r in results)
        on_gpu = args.device != "cpu" and torch.cuda.is_available()
        cost_rows.append(
            [
                env_id,
                len(results),
                steps,
                steps / run_seconds if run_seconds else None,
                wall,
                args.workers,
                None if on_gpu else run_seconds,
                run_seconds if on_gpu else (NO_DEVICE if not torch.cuda.is_available() else None),
            ]
        )
        transition = find_transition(spec, results)
        data[env_id] = {
            "axes": {a.name: list(a.values) for a in spec.axes},
            "transition": transition.as_dict() if transition else None,
            "detection": report,
            "detection_across_transition": across,
            "runs": [{k: v for k, v in r.items() if k != "episodes"} for r in results],
        }
    tables.append(
        Table(
            "detection",
            "Detecting reward-hacking policies (policy-level AUROC)",
            [
                "env",
                "detector",
                "AUROC",
                "hacking",
                "trusted",
                "score (hacking)",
                "score (trusted)",
            ],
            detection_rows,
            note="hacking: each env's proxy-trained runs at its point of largest proxy-true gap "
            "(data.<env>.detection.point); trusted: runs trained on the true reward at that "
            f"point, seeds {args.trusted_seeds[1:]}, scored against the policy of seed "
            f"{args.trusted_seeds[0]} on {args.detect_episodes} sampled trajectories each "
            "(held-out episode seeds); empty: no closed form (js on continuous actions)",
        )
    )
    if across_rows:
        tables.append(
            Table(
                "detection_transition",
                "Detecting reward-hacking policies across the phase transition (policy-level "
                "AUROC, proxy-trained runs only)",
                [
                    "env",
                    "detector",
                    "AUROC",
                    "hacking",
                    "trusted",
                    "score (hacking)",
                    "score (trusted)",
                ],
                across_rows,
                note="for each env with a detected transition (data.<env>.detection_across_"
                "transition): the reference is the first seed's policy before the transition; "
                "trusted: the other runs before it and the runs after it whose true return "
                "stays at or above the lower bound of the before point's 95% interval; "
                "hacking: the runs after it below that bound; scored on "
                f"{args.detect_episodes} sampled trajectories each (held-out episode seeds)",
            )
        )
    tables.append(
        Table(
            "cost",
            "What the sweep cost (proxy-trained runs; detection runs not included)",
            [
                "env",
                "runs",
                "training steps",
                "steps/s per run (train+eval)",
                "wall seconds",
                "workers",
                "CPU run-seconds",
                "CUDA run-seconds",
            ],
            cost_rows,
            note="run-seconds: training and evaluation seconds summed over the runs, each run on "
            "one core with one torch thread (on CPU); wall seconds: first run's start to last "
            "run's end with --workers (including any pause, if the sweep was resumed)",
        )
    )
    doc = Results(
        benchmark="misspec_sweep",
        title="Reward misspecification against capability: sweeps, transitions, detection",
        command=command_line(),
        settings={
            "envs": envs,
            "net_arch": args.net_arch,
            "steps": args.steps,
            "action_resolution": args.action_resolution,
            "action_resolution_options": list(ACTION_RESOLUTION_OPTIONS),
            "axes": args.axis,
            "env_kwargs": parse_env_kwargs(args.env_kwargs),
            "seeds": args.seeds,
            "trusted_seeds": args.trusted_seeds,
            "detect_episodes": args.detect_episodes,
            "eval_episodes": args.eval_episodes,
            "n_envs": args.n_envs,
            "ppo": PPO_KW,
            "hyperparams": args.hyperparams,
            "backend": args.backend,
            "workers": args.workers,
            "device": args.device,
            "note": args.note,
        },
        tables=tables,
        figures=figures,
        data=data,
    )
    write_results(out, doc)
    print(render_markdown(doc.as_dict()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
