"""``mlsafety sweep ENV --axis NAME=V1,V2 ... --output DIR``: the command behind the CLI."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from tqdm import tqdm

from mlsafety.agents.config import load_hyperparams
from mlsafety.envs import resolve_id
from mlsafety.io import atomic_write_json
from mlsafety.results import command_line, table_markdown
from mlsafety.sweeps.analysis import PLOT_FILE, SUMMARY_FILE, write_report
from mlsafety.sweeps.detection import (
    detection_table,
    detection_task,
    transition_detection,
    transition_detection_table,
)
from mlsafety.sweeps.runner import run_sweep
from mlsafety.sweeps.spec import Axis, SweepSpec

DETECTION_FILE = "detection.json"


def sweep_spec(args: argparse.Namespace, env_kwargs: dict[str, Any]) -> SweepSpec:
    """The :class:`SweepSpec` the command's flags describe."""
    algo_kwargs = (
        load_hyperparams(args.hyperparams, resolve_id(args.env)) if args.hyperparams else {}
    )
    file_n_envs = algo_kwargs.pop("n_envs", None)  # rl-zoo run keys: set by the sweep
    algo_kwargs.pop("n_timesteps", None)
    algo_kwargs.pop("policy", None)
    return SweepSpec(
        env=args.env,
        axes=tuple(Axis.parse(a) for a in args.axis),
        seeds=tuple(args.seeds),
        steps=args.steps,
        net_arch=args.net_arch,
        n_envs=args.n_envs if args.n_envs is not None else file_n_envs,
        env_kwargs=env_kwargs,
        algo_kwargs=algo_kwargs,
        eval_episodes=args.eval_episodes,
        device=args.device,
    )


def cmd_sweep(args: argparse.Namespace, env_kwargs: dict[str, Any], out: TextIO) -> int:
    """Run or resume the sweep, print its tables, write ``summary.json`` and ``sweep.png``
    (and with ``--detect``, the detection task's ``detection.json``) into ``--output``."""
    spec = sweep_spec(args, env_kwargs)
    show = args.progress if args.progress is not None else sys.stderr.isatty()
    runs = len(spec.runs()) + (len(args.trusted_seeds) if args.detect else 0)
    with tqdm(total=runs, desc="sweep", unit="run", disable=not show) as bar:

        def progress(result: dict[str, Any], resumed: bool) -> None:
            bar.update(1)
            bar.set_postfix_str(("resumed " if resumed else "") + result["key"])

        results = run_sweep(
            spec, args.output, args.backend, args.workers, args.ray_address, progress
        )
        doc = write_report(spec, results, args.output, command_line())
        detection = across = None
        if args.detect:
            detection = detection_task(
                spec,
                results,
                args.output,
                trusted_seeds=args.trusted_seeds,
                episodes=args.detect_episodes,
                backend=args.backend,
                workers=args.workers,
                ray_address=args.ray_address,
                progress=progress,
            )
            across = transition_detection(spec, results, args.output, args.detect_episodes)
            detection["across_transition"] = across
    for table in doc.tables:
        out.write(table_markdown(table.as_dict()) + "\n\n")
    if detection is not None:
        atomic_write_json(f"{args.output}/{DETECTION_FILE}", detection)
        out.write(table_markdown(detection_table(spec.env_id, detection).as_dict()) + "\n\n")
        if across is not None:  # the same task across the detected transition
            table = transition_detection_table(spec.env_id, across)
            out.write(table_markdown(table.as_dict()) + "\n\n")
    done = f"{SUMMARY_FILE}, {PLOT_FILE}" + (f", {DETECTION_FILE}" if detection else "")
    out.write(f"{len(results)} runs; {done} written to {args.output}\n")
    return 0
