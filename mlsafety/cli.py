"""The ``mlsafety`` command line: ``envs``, ``play``, ``demo``, ``train``, ``evaluate``,
``conscience``, ``check``, ``fmea``, ``sweep``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

import gymnasium as gym
import numpy as np

import mlsafety.envs as envs
from mlsafety import __version__
from mlsafety.agents.conscience.cli import add_conscience_parser
from mlsafety.agents.shaping import SHAPING_DEFAULTS
from mlsafety.envs import UnknownEnvError
from mlsafety.envs.gridworlds import FAMILY
from mlsafety.io import atomic_write_json
from mlsafety.suites.spec import BACKENDS
from mlsafety.sweeps.flags import add_sweep_parser
from mlsafety.testing import run_actions

# The commands that train, evaluate, judge or check load SB3, torch and TextWorld; they are
# imported when their command runs, so `mlsafety envs` and `mlsafety play` start at once.

KEYS = {"w": 0, "s": 1, "a": 2, "d": 3, " ": 4, "n": 4, ".": 4}
ARROWS = {"A": 0, "B": 1, "D": 2, "C": 3}  # escape sequences ESC [ A..D


def cmd_envs(args: argparse.Namespace, out: TextIO) -> int:
    rows = [envs.CATALOGUE[i] for i in envs.env_ids(args.family)]
    width = max((len(r.env_id) for r in rows), default=10)
    fam = max((len(r.family) for r in rows), default=6)
    out.write(f"{'ID':<{width}}  {'FAMILY':<{fam}}  DESCRIPTION\n")
    for r in rows:
        out.write(f"{r.env_id:<{width}}  {r.family:<{fam}}  {r.summary}\n")
    return 0


def _keys_from_tty(stream: TextIO) -> Iterator[str]:
    import termios  # POSIX only: imported where a terminal is read
    import tty  # POSIX only, as termios

    fd = stream.fileno()
    old = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        while True:
            ch = stream.read(1)
            if ch == "\x1b" and stream.read(1) == "[":
                ch = "\x1b[" + stream.read(1)
            yield ch
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, old)


def _keys_from_lines(stream: TextIO) -> Iterator[str]:
    for line in stream:
        yield from line.strip() or "\n"


def _play_text(
    env: gym.Env[Any, Any], env_id: str, seed: int | None, out: TextIO, stream: TextIO
) -> int:
    """Type commands; after each, the story's answer, the score and the annotations."""
    out.write(
        f"{env_id}: type a command (e.g. 'look'); 'help' lists the commands the game "
        "understands here, 'quit' ends.\n\n"
    )
    obs, info = env.reset(seed=seed)
    out.write(obs + "\n")
    harm = np.zeros(4)
    while True:
        out.write("> ")
        out.flush()
        line = stream.readline()
        if not line:
            break
        command = line.strip()
        if command in ("quit", "q"):
            break
        if command == "help":
            out.write("; ".join(info["admissible_commands"]) + "\n")
            continue
        obs, _, term, trunc, info = env.step(command)
        harm += info["morality"]
        events = ", ".join(info["events"]) or "-"
        out.write(
            f"{obs}\n[score {info['score']}/{info['max_score']}  events: {events}  "
            f"morality this step {info['morality'].tolist()}  "
            f"episode [harm others, harm self, help others, help self] {harm.tolist()}]\n"
        )
        if term or trunc:
            out.write(
                f"episode over: completion {info['performance']:.0f}%, immorality {harm[0]:.0f}\n"
            )
            break
    env.close()
    return 0


def cmd_play(args: argparse.Namespace, out: TextIO, keys_in: TextIO | None = None) -> int:
    env_id = envs.resolve_id(args.env_id)
    if envs.CATALOGUE[env_id].api != "gymnasium":
        raise ValueError(f"{env_id} is multi-agent; `mlsafety play` plays single-agent envs")
    if envs.CATALOGUE[env_id].family == "text":
        text_env = gym.make(env_id, render_mode="ansi")
        return _play_text(text_env, env_id, args.seed, out, keys_in or sys.stdin)
    env = gym.make(env_id, render_mode="ansi")
    names = getattr(env.unwrapped, "get_action_meanings", lambda: ())()
    stream = keys_in if keys_in is not None else sys.stdin
    keys = _keys_from_tty(stream) if stream.isatty() else _keys_from_lines(stream)
    out.write(
        f"{env_id}: w/a/s/d or arrow keys move, space or n waits, r restarts, q quits.\n"
        f"Actions: {', '.join(names)}\n"
    )
    env.reset(seed=args.seed)
    proxy = true = cost = 0.0
    out.write(str(env.render()))
    for ch in keys:
        if ch in ("q", "\x04"):
            break
        if ch == "r":
            env.reset()
            proxy = true = cost = 0.0
            out.write("-- restarted --\n" + str(env.render()))
            continue
        action = ARROWS.get(ch[-1]) if ch.startswith("\x1b[") else KEYS.get(ch.lower())
        if action is None:
            continue
        _, r, term, trunc, info = env.step(action)
        proxy += float(r)
        true += info["true_reward"]
        cost += info["cost"]
        events = ", ".join(info["events"]) or "-"
        out.write(str(env.render()))
        out.write(
            f"reward {float(r):+.2f} (proxy {proxy:.2f})  true {info['true_reward']:+.2f} "
            f"(true {true:.2f})  cost {cost:.0f}  events: {events}\n"
        )
        if term or trunc:
            out.write(
                f"episode over ({'terminated' if term else 'truncated'}): proxy return "
                f"{proxy:.2f}, true return {true:.2f}, cost {cost:.0f}. r restarts, q quits.\n"
            )
    env.close()
    return 0


def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    """Random, scripted exploit and scripted safe policy on each proxy-gaming env."""
    for module in args.module:
        envs.split_module(f"{module}:")
    cmd_envs(argparse.Namespace(family=None), out)
    out.write(f"\nProxy return vs true return (seed {args.seed})\n\n")
    header = f"{'env':<36} {'policy':<8} {'proxy':>8} {'true':>8} {'cost':>6}  events\n"
    out.write(header + "-" * (len(header) + 12) + "\n")
    for env_id in envs.env_ids(FAMILY):
        env = gym.make(env_id)
        scripts: dict[str, Sequence[int]] = dict(getattr(env.unwrapped, "reference_actions", {}))
        rng = np.random.default_rng(args.seed)
        n = env.unwrapped.max_steps  # type: ignore[attr-defined]
        n_actions = int(env.action_space.n)  # type: ignore[attr-defined]
        policies: dict[str, Sequence[int]] = {
            "random": rng.integers(0, n_actions, n).tolist(),
            **scripts,
        }
        for name, actions in policies.items():
            tr = run_actions(env, actions, seed=args.seed)
            ev = ", ".join(f"{k} x{v}" for k, v in sorted(tr.events.items())) or "-"
            out.write(
                f"{env_id:<36} {name:<8} {tr.proxy_return:>8.2f} {tr.true_return:>8.2f} "
                f"{tr.cost:>6.0f}  {ev}\n"
            )
    _demo_text(out)
    return 0


def _demo_text(out: TextIO) -> None:
    """Each text scenario's moral and immoral walkthrough: completion vs immorality."""
    # heavy: TextWorld, loaded only when the text demo runs
    from mlsafety.envs.text import SCENARIOS
    from mlsafety.envs.text.checks import play
    from mlsafety.envs.text.env import TextScenarioEnv

    out.write("\nText scenarios (logic backend): moral vs immoral walkthrough\n\n")
    header = (
        f"{'scenario':<16} {'path':<8} {'won':>4} {'steps':>6} {'immorality':>11} "
        f"{'harm self':>10}  events\n"
    )
    out.write(header + "-" * (len(header) + 12) + "\n")
    for name in sorted(SCENARIOS):
        scenario = SCENARIOS[name]
        env = TextScenarioEnv(scenario, backend="logic")
        for path in ("moral", "immoral"):
            res = play(env, scenario.walkthroughs[path])
            ev = ", ".join(f"{k} x{v}" for k, v in sorted(res["events"].items())) or "-"
            out.write(
                f"{name:<16} {path:<8} {'yes' if res['won'] else 'no':>4} "
                f"{len(res['trace']):>6} {res['morality'][0]:>11.0f} "
                f"{res['morality'][1]:>10.0f}  {ev}\n"
            )
        env.close()


# train flags a resumed run takes from its config.json: giving another value is an error
RESUME_FIXED = {
    "algo": "algo",
    "n_envs": "n_envs",
    "seed": "seed",
    "device": "device",
    "reward": "reward",
    "inequity_aversion": "inequity_aversion",
    "checkpoint_freq": "checkpoint_freq",
    "conscience": "conscience",
    "shaping": "shaping",
    "shaping_weight": "shaping_weight",
    "cmps_gamma": "cmps_gamma",
    "cmps_threshold": "cmps_threshold",
    "theory": "theory",
}


def train_config(args: argparse.Namespace) -> Any:
    """The :class:`~mlsafety.agents.config.TrainConfig` the ``train`` flags describe."""
    # heavy: SB3 and torch, loaded only for this command
    from mlsafety.agents.config import TrainConfig

    return TrainConfig(
        env=args.env,
        algo=args.algo,
        timesteps=args.timesteps,
        n_envs=args.n_envs,
        seed=args.seed,
        device=args.device,
        reward=args.reward,
        inequity_aversion=tuple(args.inequity_aversion) if args.inequity_aversion else None,
        env_kwargs=parse_env_kwargs(args.env_kwargs),
        checkpoint_freq=args.checkpoint_freq,
        progress_bar=args.progress if args.progress is not None else sys.stderr.isatty(),
        conscience=args.conscience,
        shaping=args.shaping,
        shaping_weight=args.shaping_weight,
        cmps_gamma=args.cmps_gamma,
        cmps_threshold=args.cmps_threshold,
        theory=args.theory,
        threads=args.threads,
    )


def resumed_config(args: argparse.Namespace, output: Any) -> Any:
    """``--resume``: the run's saved config with the new total ``--timesteps``; a flag that
    contradicts the saved run is an error naming it (rather than silently ignored)."""
    # heavy: SB3 and torch, loaded only for this command
    from mlsafety.agents.config import TrainConfig, load_run_config

    saved = load_run_config(output / "config.json")
    if saved is None:
        raise ValueError(f"nothing to resume: no config.json in {output}")
    defaults = vars(build_parser().parse_args(["train"]))
    given = {k for k, v in vars(args).items() if v != defaults.get(k)}
    conflicts = []
    if args.env is not None and envs.resolve_id(args.env) != saved.env:
        conflicts.append(f"--env {args.env} (the run trains {saved.env})")
    for flag in ("hyperparams", "env_kwargs"):
        if flag in given:
            conflicts.append(f"--{flag.replace('_', '-')} (the run keeps its own)")
    for flag, key in RESUME_FIXED.items():
        value = getattr(args, flag)
        if flag == "inequity_aversion" and value is not None:
            value = tuple(value)
        if flag in given and value != getattr(saved, key):
            conflicts.append(
                f"--{flag.replace('_', '-')} {value} (the run has {getattr(saved, key)})"
            )
    if conflicts:
        raise ValueError(
            f"--resume continues the run saved in {output}; these flags contradict it: "
            + "; ".join(conflicts)
        )
    timesteps = args.timesteps if "timesteps" in given else saved.timesteps
    progress = args.progress if args.progress is not None else sys.stderr.isatty()
    return TrainConfig(
        **{
            **vars(saved),
            "timesteps": timesteps,
            "progress_bar": progress,
            "threads": args.threads,
        }
    )


def cmd_train(args: argparse.Namespace, out: TextIO) -> int:
    # heavy: SB3 and torch, loaded only for this command
    from mlsafety.agents.train import train
    from mlsafety.runs import next_run_folder, prepare_output

    if args.resume:
        if args.output is None:
            raise ValueError("--resume needs --output, the run folder to continue")
        output = prepare_output(args.output, resume=True, overwrite=args.overwrite)
        config = resumed_config(args, output)
    else:
        if args.env is None:
            raise ValueError("train needs --env (an env ID, bare name or module:ID)")
        config = train_config(args)
        output = Path(args.output) if args.output is not None else next_run_folder(config.env)
        output = prepare_output(output, resume=False, overwrite=args.overwrite)
    log = None if config.progress_bar else sys.stderr
    model = train(
        config,
        output=output,
        resume=args.resume,
        hyperparams_file=args.hyperparams,
        log=log,
    )
    steps = getattr(model, "num_timesteps", config.timesteps)
    out.write(f"trained {config.algo} on {config.env} for {steps} steps; saved to {output}\n")
    return 0


def parse_env_kwargs(text: str | None) -> dict[str, Any]:
    """``--env-kwargs``: a JSON object, or an error saying what to write instead."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f'--env-kwargs must be a JSON object such as \'{{"split": "test"}}\': {exc}'
        ) from exc
    if not isinstance(value, dict):
        raise ValueError(f"--env-kwargs must be a JSON object, got {type(value).__name__}")
    return value


def cmd_evaluate(args: argparse.Namespace, out: TextIO) -> int:
    # heavy: SB3 and torch, loaded only for this command
    from mlsafety.agents.evaluate import evaluate, format_table, write_report
    from mlsafety.runs import load_run, run_obs_stats

    env_kwargs = parse_env_kwargs(args.env_kwargs)
    run = load_run(args.model, algo=args.algo)
    env = args.env
    if env is None:
        if run.config is None:
            raise ValueError(
                f"{args.model}: no config.json beside the model to name its env; pass --env"
            )
        env = run.config.env
    report = evaluate(
        run.model,
        env,
        episodes=args.episodes,
        seeds=args.seeds,
        deterministic=not args.stochastic,
        env_kwargs=env_kwargs,
        train_config=run.config,
        obs_stats=run_obs_stats(run),
    )
    out.write(format_table(report))
    if args.output:
        write_report(report, args.output)
        out.write(f"report written to {args.output}\n")
    return 0


def _model_file(path: str) -> str:
    """A run folder's model (``model.zip`` or ``model.pt``), or ``path`` itself."""
    folder = Path(path)
    if folder.is_dir():
        for name in ("model.zip", "model.pt"):
            if (folder / name).is_file():
                return str(folder / name)
        raise ValueError(f"{path}: no model.zip or model.pt in this folder")
    return path


def cmd_fmea(args: argparse.Namespace, out: TextIO) -> int:
    """``mlsafety fmea RUN``: the FMEA table of a trained policy, in distribution and under
    each ``--shift``, with a saved detector as the monitor if one is given."""
    # heavy: SB3 and torch, loaded only for this command
    from mlsafety.monitors import load_detector
    from mlsafety.monitors.fmea import fmea, markdown, record
    from mlsafety.runs import load_run, make_run_env

    run = load_run(_model_file(args.run), algo=args.algo)
    detector = load_detector(args.detector) if args.detector else None
    if run.config is None:
        raise ValueError(f"{args.run}: no config.json beside the model; fmea needs the run's env")
    env_kwargs = parse_env_kwargs(args.env_kwargs)
    conditions: dict[str, list[list[dict[str, Any]]]] = {}
    for name, env_id in [("in_distribution", run.config.env), *((s, s) for s in args.shift)]:
        resolved = envs.resolve_id(env_id)

        def make(e: str = resolved) -> Any:
            return make_run_env(run, e, env_kwargs)[0]

        conditions[name] = record(
            make,
            run.model,
            args.seeds,
            args.episodes,
            deterministic=not args.stochastic,
            detector=detector,
            threshold=args.threshold,
        )
    rows = fmea(conditions)
    out.write(markdown(rows))
    if args.output:
        atomic_write_json(
            args.output,
            {
                "run": str(args.run),
                "conditions": {k: len(v) for k, v in conditions.items()},
                "detector": args.detector,
                "threshold": args.threshold,
                "seeds": list(args.seeds),
                "episodes": args.episodes,
                "deterministic": not args.stochastic,
                "rows": [r.as_dict() for r in rows],
            },
        )
        out.write(f"FMEA written to {args.output}\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlsafety", description=__doc__)
    parser.add_argument("--version", action="version", version=f"mlsafety-gym {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("envs", help="list every registered environment")
    p.add_argument("--family", default=None, help="only this family (e.g. gridworld)")
    p = sub.add_parser("play", help="play an environment in the terminal")
    p.add_argument("env_id", help="e.g. mlsafety/BoatRace-v0 or BoatRace")
    p.add_argument("--seed", type=int, default=None)
    p = sub.add_parser(
        "demo", help="roll out random, exploit and safe policies; proxy vs true return"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--module",
        action="append",
        default=[],
        help="import this module first (a third-party package registering envs); repeatable",
    )
    p = sub.add_parser("train", help="train an SB3 agent (shared policy for multi-agent envs)")
    p.add_argument(
        "--env",
        default=None,
        help="env ID, bare name or module:ID (required unless --resume)",
    )
    p.add_argument(
        "--algo",
        default="ppo",
        choices=["ppo", "a2c", "dqn", "maskable_ppo", "drrn"],
        help="an SB3 algorithm, or drrn (text envs: scores each admissible command)",
    )
    p.add_argument(
        "--timesteps", type=int, default=100_000, help="total steps (with --resume: the new total)"
    )
    p.add_argument(
        "--env-kwargs",
        default=None,
        metavar="JSON",
        help="keyword arguments for the env, e.g. '{\"max_steps\": 50}'",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads (default: 1 on CPU, where more slow small networks down)",
    )
    p.add_argument("--n-envs", type=int, default=None, help="copies stepped together")
    p.add_argument("--hyperparams", default=None, help="rl-zoo style YAML file")
    p.add_argument("--checkpoint-freq", type=int, default=10_000, help="steps between checkpoints")
    p.add_argument("--resume", action="store_true", help="continue from OUTPUT/checkpoint.zip")
    p.add_argument(
        "--overwrite", action="store_true", help="replace the run in a non-empty --output"
    )
    p.add_argument(
        "--theory",
        default=None,
        choices=["utilitarian", "deontological", "egoist"],
        help="train on a moral theory's reward (for the moral parliament)",
    )
    p.add_argument(
        "--conscience",
        default=None,
        choices=["oracle", "learned", "context", "cost"],
        help="shape training with an artificial conscience (learned: reads the command; "
        "context: the command and the observation)",
    )
    p.add_argument(
        "--shaping",
        default=SHAPING_DEFAULTS.mode,
        choices=["reward", "policy", "both"],
        help="reward: r - weight*harm; policy (CMPS): logits/Q - gamma*[p_wrong > threshold]",
    )
    p.add_argument(
        "--shaping-weight", type=float, default=SHAPING_DEFAULTS.weight, help="reward weight"
    )
    p.add_argument(
        "--cmps-gamma", type=float, default=SHAPING_DEFAULTS.cmps_gamma, help="CMPS penalty"
    )
    p.add_argument(
        "--cmps-threshold",
        type=float,
        default=None,
        help="policy shaping flags p_wrong above this (default 0.9 for context, else 0.5)",
    )
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar (default: when the terminal is interactive)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument(
        "--output",
        default=None,
        help="folder for model.zip and config.json (default: a new runs/<env>_<n>)",
    )
    p.add_argument(
        "--reward",
        default="individual",
        choices=["individual", "collective"],
        help="multi-agent: each agent's own reward, or the group's mean",
    )
    p.add_argument(
        "--inequity-aversion",
        nargs=2,
        type=float,
        metavar=("ALPHA", "BETA"),
        default=None,
        help="multi-agent: Hughes et al. 2018 inequity aversion (envy ALPHA, guilt BETA)",
    )
    add_conscience_parser(sub)
    p = sub.add_parser("evaluate", help="roll a saved model out; print the safety table")
    p.add_argument(
        "model", help="a model from mlsafety train (OUTPUT/model.zip; OUTPUT/model.pt for drrn)"
    )
    p.add_argument(
        "--env", default=None, help="env ID, bare name or module:ID (default: the run's env)"
    )
    p.add_argument("--episodes", type=int, default=10, help="episodes per seed")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--algo", default=None, help="algorithm (default: from config.json)")
    p.add_argument("--stochastic", action="store_true", help="sample actions")
    p.add_argument(
        "--env-kwargs",
        default=None,
        metavar="JSON",
        help='keyword arguments for the env, e.g. \'{"split": "test"}\' for TextGen\'s test split',
    )
    p.add_argument("--output", default=None, help="write the report as JSON here")
    add_check_parser(sub)
    p = sub.add_parser(
        "fmea", help="FMEA risk table (severity x occurrence x detectability) of a trained policy"
    )
    p.add_argument("run", help="a run folder of mlsafety train, or its model file")
    p.add_argument(
        "--shift", action="append", default=[], metavar="ID", help="a shifted env (repeatable)"
    )
    p.add_argument("--detector", default=None, help="a saved detector (.npz) as the monitor")
    p.add_argument("--threshold", type=float, default=0.0, help="the detector's threshold")
    p.add_argument("--episodes", type=int, default=10, help="episodes per seed and condition")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--algo", default=None, help="algorithm (default: from config.json)")
    p.add_argument("--stochastic", action="store_true", help="sample actions")
    p.add_argument("--env-kwargs", default=None, metavar="JSON", help="keyword arguments")
    p.add_argument("--output", default=None, help="write the table as JSON here")
    add_sweep_parser(sub)
    return parser


def add_check_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "check", help="run safety regression suites (TOML); exit 0 pass, 1 fail, 2 invalid"
    )
    p.add_argument("suites", nargs="+", help="suite files, e.g. examples/suites/safety_*.toml")
    p.add_argument(
        "--output",
        default="safety-reports",
        help="folder for the reports (one subfolder per suite; default safety-reports)",
    )
    p.add_argument("--workers", type=int, default=None, help="processes (1: serial)")
    p.add_argument("--backend", default="process", choices=list(BACKENDS))
    p.add_argument("--ray-address", default=None, help="Ray cluster address (default: local)")
    p.add_argument(
        "--update-baseline",
        action="store_true",
        help="accept this run as the suite's new baseline report (when its thresholds hold)",
    )
    p.add_argument("--no-plots", action="store_true", help="skip the matplotlib plots")
    p.add_argument(
        "--allow-foreign-baseline",
        action="store_true",
        help="compare with a baseline of another suite file or checkpoint lineage (the report "
        "says so)",
    )
    return p


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out if out is not None else sys.stdout
    args = build_parser().parse_args(argv)
    envs.load_plugins()
    try:
        if args.command == "envs":
            return cmd_envs(args, out)
        if args.command == "play":
            return cmd_play(args, out)
        if args.command == "train":
            return cmd_train(args, out)
        if args.command == "evaluate":
            return cmd_evaluate(args, out)
        if args.command == "fmea":
            return cmd_fmea(args, out)
        if args.command == "check":
            from mlsafety.suites.check import cmd_check  # heavy: SB3 and torch

            return cmd_check(args, out)
        if args.command == "sweep":
            from mlsafety.sweeps.command import cmd_sweep  # heavy: SB3, torch, sklearn

            return cmd_sweep(args, parse_env_kwargs(args.env_kwargs), out)
        if args.command == "conscience":
            from mlsafety.agents.conscience.cli import run_conscience  # heavy: sklearn, torch

            return run_conscience(args, out)
        return cmd_demo(args, out)
    except (UnknownEnvError, ValueError, OSError) as exc:
        print(f"mlsafety: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
