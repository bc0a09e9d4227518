"""What a capability sweep runs: its axes, its grid of runs, and their validation.

A sweep is one env, one or more capability axes and a list of training seeds. An axis is
written ``name=v1,v2,...`` with its values in increasing capability order (the order the
transition rule walks):

* ``net_arch``: policy width x depth, e.g. ``16x1,64x2`` (SB3 ``net_arch=[16]``, ``[64, 64]``);
* ``steps``: training steps, e.g. ``2000,8000``;
* ``env.<option>``: any constructor option of the env, e.g. ``env.max_steps=50,100``,
  checked against the env's signature (and by building the env once with each value);
* ``algo.<key>``: any hyperparameter PPO takes, e.g. ``algo.n_epochs=4,10``.

Every run is a :class:`RunSpec`: one point of the grid, one seed, and ``reward`` ``"proxy"``
(train on the env's reward) or ``"true"`` (train on ``info["true_reward"]``, through
:class:`~mlsafety.wrappers.TrueReward`: the trusted policies of the detection task).
"""

from __future__ import annotations

import hashlib
import inspect
import itertools
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import gymnasium as gym
from gymnasium.envs.registration import load_env_creator

from mlsafety.agents.config import TrainConfig, check_hyperparams
from mlsafety.envs import CATALOGUE, resolve_id

NET_ARCH = "net_arch"
STEPS = "steps"
ENV_PREFIX = "env."
ALGO_PREFIX = "algo."
REWARDS = ("proxy", "true")
TRUE_REWARD_WRAPPER = "mlsafety.wrappers.TrueReward"
EVAL_SEED_OFFSET = 10_000
"""Evaluation episodes of training seed ``s`` reset with seeds from ``EVAL_SEED_OFFSET + s``
(:func:`mlsafety.rollout.episode_seed`): never the seeds training reset with."""
_NET_ARCH = re.compile(r"^([1-9][0-9]*)x([1-9][0-9]*)$")


def parse_value(text: str) -> Any:
    """An axis value: a JSON literal (number, ``true``, ``null``) or else the string itself."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def net_arch_layers(value: str) -> list[int]:
    """``"64x2"`` -> ``[64, 64]`` (width x depth), or a ValueError saying how to write it."""
    m = _NET_ARCH.match(str(value))
    if m is None:
        raise ValueError(
            f"axis net_arch: {value!r} is not WIDTHxDEPTH (e.g. 16x1 or 64x2: positive integers)"
        )
    return [int(m.group(1))] * int(m.group(2))


def parse_steps(value: Any) -> int:
    """A ``steps`` value as a positive int, or a ValueError naming it."""
    try:
        steps = int(str(value).replace("_", ""))
    except ValueError:
        raise ValueError(f"axis steps: {value!r} is not a whole number of steps") from None
    if steps < 1:
        raise ValueError(f"axis steps: {value!r} must be positive")
    return steps


@dataclass(frozen=True)
class Axis:
    """A capability axis: its name and its values, in increasing capability order."""

    name: str
    values: tuple[str, ...]

    def __post_init__(self) -> None:
        kinds = (NET_ARCH, STEPS)
        if self.name not in kinds and not self.name.startswith((ENV_PREFIX, ALGO_PREFIX)):
            raise ValueError(
                f"unknown axis {self.name!r}: use net_arch, steps, env.<option> or algo.<key>"
            )
        if self.name in (ENV_PREFIX, ALGO_PREFIX) or not self.values:
            raise ValueError(f"axis {self.name!r} needs a name and at least one value")
        if len(set(self.values)) != len(self.values):
            raise ValueError(f"axis {self.name}: repeated values in {list(self.values)}")
        if self.name == NET_ARCH:
            for v in self.values:
                net_arch_layers(v)
        if self.name == STEPS:
            for v in self.values:
                parse_steps(v)

    @classmethod
    def parse(cls, text: str) -> Axis:
        """``"name=v1,v2"`` -> an :class:`Axis` (a ValueError says what is malformed)."""
        name, sep, values = text.partition("=")
        if not sep or not name.strip() or not values.strip():
            raise ValueError(f"--axis {text!r}: write NAME=V1,V2,... (e.g. steps=2000,8000)")
        return cls(name.strip(), tuple(v.strip() for v in values.split(",") if v.strip()))


def env_options(env_id: str) -> tuple[set[str], bool]:
    """The constructor options of ``env_id``'s class and whether it takes ``**kwargs``."""
    spec = gym.spec(env_id)
    entry = spec.entry_point
    creator: Any = load_env_creator(entry) if isinstance(entry, str) else entry
    params = inspect.signature(creator).parameters
    names = {n for n, p in params.items() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
    open_ended = any(p.kind == p.VAR_KEYWORD for p in params.values())
    return names - {"self", "render_mode"}, open_ended


def check_env_option(env_id: str, option: str, values: tuple[Any, ...]) -> None:
    """A ValueError unless ``option`` is a constructor option of ``env_id`` that takes every
    value (the env is built once with each)."""
    names, open_ended = env_options(env_id)
    if option not in names and not open_ended:
        raise ValueError(
            f"axis env.{option}: {env_id} has no option {option!r}; its options: "
            f"{', '.join(sorted(names)) or 'none'}"
        )
    for value in values:
        try:
            gym.make(env_id, **{option: value}).close()
        except (ValueError, TypeError) as exc:
            raise ValueError(f"axis env.{option}={value!r} is refused by {env_id}: {exc}") from None


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: train PPO at one capability point with one seed, then evaluate."""

    env: str
    seed: int
    point: tuple[tuple[str, str], ...]
    """The axis values of this run, as ``(axis, value)`` pairs in the sweep's axis order."""
    reward: str = "proxy"
    steps: int = 10_000
    net_arch: str = "64x2"
    n_envs: int | None = None
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    algo_kwargs: dict[str, Any] = field(default_factory=dict)
    eval_episodes: int = 10
    device: str = "cpu"

    @property
    def key(self) -> str:
        """The run's folder name: its point, reward and seed, readable and unique."""
        parts = [f"{a}={v}" for a, v in self.point] + [f"reward={self.reward}", f"seed={self.seed}"]
        text = "__".join(parts)
        slug = re.sub(r"[^A-Za-z0-9_.=-]+", "-", text)
        if len(slug) > 120 or slug != text:
            digest = hashlib.sha1(text.encode()).hexdigest()[:8]
            slug = f"{slug[:110]}-{digest}"
        return slug

    def train_config(self) -> TrainConfig:
        """The :class:`~mlsafety.agents.config.TrainConfig` this run trains with."""
        algo_kwargs = dict(self.algo_kwargs)
        policy_kwargs = dict(algo_kwargs.pop("policy_kwargs", None) or {})
        policy_kwargs["net_arch"] = net_arch_layers(self.net_arch)
        algo_kwargs["policy_kwargs"] = policy_kwargs
        if self.reward == "true":
            algo_kwargs["env_wrapper"] = TRUE_REWARD_WRAPPER
        return TrainConfig(
            env=self.env,
            algo="ppo",
            timesteps=self.steps,
            n_envs=self.n_envs,
            seed=self.seed,
            device=self.device,
            env_kwargs=dict(self.env_kwargs),
            algo_kwargs=algo_kwargs,
            threads=1,
        )

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["point"] = [list(p) for p in self.point]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunSpec:
        return cls(**{**d, "point": tuple((str(a), str(v)) for a, v in d["point"])})


@dataclass(frozen=True)
class SweepSpec:
    """A whole sweep: env, axes, seeds and the settings every run shares."""

    env: str
    axes: tuple[Axis, ...]
    seeds: tuple[int, ...] = (0, 1, 2)
    steps: int = 10_000
    """Training steps of every run when ``steps`` is not an axis."""
    net_arch: str = "64x2"
    """Policy size of every run when ``net_arch`` is not an axis."""
    n_envs: int | None = None
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    algo_kwargs: dict[str, Any] = field(default_factory=dict)
    eval_episodes: int = 10
    device: str = "cpu"

    def __post_init__(self) -> None:
        env_id = resolve_id(self.env)  # UnknownEnvError names a close match
        if CATALOGUE[env_id].api != "gymnasium":
            raise ValueError(f"{env_id} is multi-agent; a sweep trains single-agent envs")
        if not self.axes:
            raise ValueError("a sweep needs at least one axis (e.g. --axis steps=2000,8000)")
        names = [a.name for a in self.axes]
        if len(set(names)) != len(names):
            raise ValueError(f"axis given twice: {names}")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be distinct and non-empty, got {list(self.seeds)}")
        if self.eval_episodes < 1:
            raise ValueError(f"eval_episodes must be positive, got {self.eval_episodes}")
        parse_steps(self.steps)
        net_arch_layers(self.net_arch)
        for axis in self.axes:
            if axis.name.startswith(ENV_PREFIX):
                option = axis.name.removeprefix(ENV_PREFIX)
                check_env_option(env_id, option, tuple(parse_value(v) for v in axis.values))
            elif axis.name.startswith(ALGO_PREFIX):
                key = axis.name.removeprefix(ALGO_PREFIX)
                for v in axis.values:
                    check_hyperparams("ppo", {**self.algo_kwargs, key: parse_value(v)})
        check_hyperparams("ppo", dict(self.algo_kwargs))
        self.run(self.points()[0], self.seeds[0]).train_config()  # TrainConfig's own checks

    @property
    def env_id(self) -> str:
        return resolve_id(self.env)

    def points(self) -> list[tuple[tuple[str, str], ...]]:
        """Every point of the grid, the first axis varying slowest."""
        grids = [[(a.name, v) for v in a.values] for a in self.axes]
        return [tuple(p) for p in itertools.product(*grids)]

    def run(self, point: tuple[tuple[str, str], ...], seed: int, reward: str = "proxy") -> RunSpec:
        """The :class:`RunSpec` of ``point`` and ``seed``."""
        if reward not in REWARDS:
            raise ValueError(f"reward must be one of {REWARDS}, got {reward!r}")
        steps, net_arch = self.steps, self.net_arch
        env_kwargs, algo_kwargs = dict(self.env_kwargs), dict(self.algo_kwargs)
        for name, value in point:
            if name == STEPS:
                steps = parse_steps(value)
            elif name == NET_ARCH:
                net_arch = value
            elif name.startswith(ENV_PREFIX):
                env_kwargs[name.removeprefix(ENV_PREFIX)] = parse_value(value)
            else:
                algo_kwargs[name.removeprefix(ALGO_PREFIX)] = parse_value(value)
        module = self.env.rpartition(":")[0]
        return RunSpec(
            env=f"{module}:{self.env_id}" if module else self.env_id,
            seed=int(seed),
            point=point,
            reward=reward,
            steps=steps,
            net_arch=net_arch,
            n_envs=self.n_envs,
            env_kwargs=env_kwargs,
            algo_kwargs=algo_kwargs,
            eval_episodes=self.eval_episodes,
            device=self.device,
        )

    def runs(self, reward: str = "proxy") -> list[RunSpec]:
        """Every run of the sweep: each point with each seed."""
        return [self.run(p, s, reward) for p in self.points() for s in self.seeds]
