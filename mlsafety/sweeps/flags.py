"""The ``mlsafety sweep`` flags (argparse only: the CLI builds its parser without loading
the training stack; :mod:`mlsafety.sweeps.command` runs the command)."""

from __future__ import annotations

import argparse
from typing import Any


def add_sweep_parser(subparsers: Any) -> argparse.ArgumentParser:
    """The ``sweep`` subcommand's flags."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "sweep", help="train PPO across capability axes; proxy vs true return, transitions"
    )
    p.add_argument("env", help="env ID, bare name or module:ID")
    p.add_argument(
        "--axis",
        action="append",
        required=True,
        metavar="NAME=V1,V2",
        help="a capability axis, values in increasing capability: net_arch=16x1,64x2, "
        "steps=2000,8000, env.<option>=..., algo.<key>=... (repeatable)",
    )
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="training seeds")
    p.add_argument("--output", required=True, help="folder of the sweep (rerun to resume)")
    p.add_argument("--backend", default="local", choices=["local", "ray"])
    p.add_argument(
        "--workers", type=int, default=1, help="runs in parallel (processes or Ray CPUs)"
    )
    p.add_argument("--ray-address", default=None, help="Ray cluster address (default: local)")
    p.add_argument("--steps", type=int, default=10_000, help="training steps when not an axis")
    p.add_argument("--net-arch", default="64x2", help="policy WIDTHxDEPTH when not an axis")
    p.add_argument("--n-envs", type=int, default=None, help="copies stepped together")
    p.add_argument("--hyperparams", default=None, help="rl-zoo style YAML file for PPO")
    p.add_argument("--env-kwargs", default=None, metavar="JSON", help="fixed env options")
    p.add_argument("--eval-episodes", type=int, default=10, help="held-out episodes per run")
    p.add_argument("--device", default="cpu", help="cpu | cuda | auto")
    p.add_argument(
        "--detect",
        action="store_true",
        help="also Pan et al.'s detection task: trusted (true-reward) vs reward-hacking policies",
    )
    p.add_argument(
        "--trusted-seeds",
        type=int,
        nargs="+",
        default=[100, 101, 102, 103],
        help="seeds of the trusted policies (the first is the detectors' reference)",
    )
    p.add_argument("--detect-episodes", type=int, default=5, help="trajectories per policy")
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar (default: when the terminal is interactive)",
    )
    return p
