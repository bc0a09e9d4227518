"""Conformance checks any mlsafety env (or a third party's) must pass, and rollout helpers.

>>> from mlsafety.testing import check_safety_env
>>> check_safety_env("mlsafety/BoatRace-v0")  # doctest: +SKIP
"""

from __future__ import annotations

import pickle
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from types import ModuleType
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
from gymnasium.utils.env_checker import check_env as gym_check_env
from pettingzoo import ParallelEnv
from pettingzoo.test import api_test, parallel_api_test
from pettingzoo.test.seed_test import parallel_seed_test

from mlsafety.contract import ContractError, validate_safety_info

EnvFactory = Callable[[], gym.Env[Any, Any]]


class ConformanceError(AssertionError):
    """An environment failed one of :func:`check_safety_env`'s checks."""


class Trace(NamedTuple):
    """What happened over a scripted rollout (one episode or a fixed action list)."""

    proxy_return: float
    true_return: float
    cost: float
    morality: np.ndarray
    events: Counter[str]
    steps: int
    terminated: bool
    truncated: bool


def run_actions(
    env: gym.Env[Any, Any], actions: Iterable[Any], seed: int | None = 0, reset: bool = True
) -> Trace:
    """Play ``actions`` from a reset (seeded with ``seed``), stopping early at episode end."""
    if reset:
        env.reset(seed=seed)
    proxy = true = cost = 0.0
    morality = np.zeros(4)
    events: Counter[str] = Counter()
    steps = 0
    terminated = truncated = False
    for a in actions:
        _, r, terminated, truncated, info = env.step(a)
        proxy += float(r)
        true += info["true_reward"]
        cost += info["cost"]
        morality += info["morality"]
        events.update(info["events"])
        steps += 1
        if terminated or truncated:
            break
    return Trace(proxy, true, cost, morality, events, steps, terminated, truncated)


def _factory(env: str | EnvFactory, kwargs: dict[str, Any]) -> EnvFactory:
    if isinstance(env, str):
        env_id = env
        return lambda: gym.make(env_id, **kwargs)
    return env


def _rollout_record(env: gym.Env[Any, Any], seed: int, steps: int) -> list[tuple[Any, ...]]:
    """Random actions from a seeded action space; a record of everything the env returned."""
    env.action_space.seed(seed)
    obs, info = env.reset(seed=seed)
    record: list[tuple[Any, ...]] = [(np.asarray(obs).tobytes(),)]
    for _ in range(steps):
        obs, r, term, trunc, info = env.step(env.action_space.sample())
        record.append(
            (
                np.asarray(obs).tobytes(),
                float(r),
                bool(term),
                bool(trunc),
                info["true_reward"],
                info["cost"],
                info["morality"].tobytes(),
                info["events"],
            )
        )
        if term or trunc:
            obs, info = env.reset()
            record.append((np.asarray(obs).tobytes(),))
    return record


def check_contract(env: gym.Env[Any, Any], steps: int = 200, seed: int = 0) -> None:
    """Every step's ``info`` follows the safety contract (random actions, across resets)."""
    env.action_space.seed(seed)
    env.reset(seed=seed)
    for t in range(steps):
        _, reward, term, trunc, info = env.step(env.action_space.sample())
        try:
            validate_safety_info(info, where=f"info at step {t}")
        except ContractError as exc:
            raise ConformanceError(str(exc)) from exc
        if not np.isfinite(float(reward)):
            raise ConformanceError(f"reward at step {t} is not finite: {reward}")
        if term or trunc:
            env.reset()


def check_determinism(make_env: EnvFactory, steps: int = 150, seed: int = 0) -> None:
    """Two fresh envs with the same seed and actions give the same trajectory."""
    a = _rollout_record(make_env(), seed, steps)
    b = _rollout_record(make_env(), seed, steps)
    for t, (x, y) in enumerate(zip(a, b, strict=True)):
        if x != y:
            raise ConformanceError(f"same seed, same actions, different result at record {t}")


def check_pickle(make_env: EnvFactory, steps: int = 50, seed: int = 0) -> None:
    """A pickled copy taken mid-episode continues exactly like the original."""
    env = make_env()
    env.action_space.seed(seed)
    env.reset(seed=seed)
    for _ in range(steps // 2):
        _, _, term, trunc, _ = env.step(env.action_space.sample())
        if term or trunc:
            env.reset()
    try:
        twin = pickle.loads(pickle.dumps(env))
    except Exception as exc:
        raise ConformanceError(f"env cannot be pickled: {exc!r}") from exc
    actions = [env.action_space.sample() for _ in range(steps)]
    for env_ in (env, twin):
        env_.action_space.seed(seed)
    ra: list[tuple[Any, ...]] = []
    rb: list[tuple[Any, ...]] = []
    for env_, rec in ((env, ra), (twin, rb)):
        for act in actions:
            obs, r, term, trunc, info = env_.step(act)
            rec.append((np.asarray(obs).tobytes(), float(r), term, trunc, info["true_reward"]))
            if term or trunc:
                env_.reset(seed=seed)
    if ra != rb:
        raise ConformanceError("a pickled copy diverged from the original env")


def check_safety_env(
    env: str | EnvFactory,
    steps: int = 200,
    seed: int = 0,
    skip: Sequence[str] = (),
    **kwargs: Any,
) -> None:
    """Run every conformance check on an env ID (with ``kwargs``) or an env factory.

    Checks: Gymnasium's ``check_env`` (render modes included), SB3's ``check_env``, the
    safety contract at every step, same-seed determinism over ``steps`` steps, pickling.
    ``skip`` may name checks to leave out: ``"gymnasium"``, ``"sb3"``, ``"contract"``,
    ``"determinism"``, ``"pickle"``. Raises :class:`ConformanceError` on failure.
    """
    # heavy: SB3 loads torch; the core imports it only when this check runs
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    make_env = _factory(env, kwargs)
    probe = make_env()
    if isinstance(probe, ParallelEnv):
        raise ConformanceError(
            f"{type(probe).__name__} is a PettingZoo ParallelEnv: check it with "
            "mlsafety.testing.check_safety_parallel_env (or mlsafety.envs.check_env(ID))"
        )
    if "sb3" not in skip and isinstance(probe.observation_space, gym.spaces.Text):
        raise ConformanceError(
            f"{probe.spec.id if probe.spec else type(probe.unwrapped).__name__} observes text, "
            "which SB3 cannot take: check a text scenario with "
            "mlsafety.envs.text.check_text_scenario (or mlsafety.envs.check_env(ID)), or "
            "pass skip=('sb3',)"
        )
    probe.close()
    if "gymnasium" not in skip:
        for mode in make_env().metadata.get("render_modes", []) or [None]:
            if isinstance(env, str):
                e = gym.make(env, render_mode=mode, **kwargs)
            else:
                e = make_env()
            gym_check_env(e.unwrapped, skip_render_check=mode is None or not isinstance(env, str))
    if "sb3" not in skip:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sb3_check_env(make_env(), warn=False)
    if "contract" not in skip:
        check_contract(make_env(), steps=steps, seed=seed)
    if "determinism" not in skip:
        check_determinism(make_env, steps=max(steps, 100), seed=seed)
    if "pickle" not in skip:
        check_pickle(make_env, seed=seed)


def check_safety_parallel_env(
    module: ModuleType | Callable[..., ParallelEnv[Any, Any, Any]],
    num_cycles: int = 200,
    **kwargs: Any,
) -> None:
    """Conformance of a multi-agent env: PettingZoo's own tests plus the safety contract.

    ``module`` is the env's PettingZoo-style module (``parallel_env()``, and ``env()`` for the
    AEC test) or a factory returning a ``ParallelEnv``. Runs ``parallel_api_test``,
    ``parallel_seed_test``, the AEC ``api_test`` on ``env()`` when the module has one,
    checks that spaces are cached, and validates every agent's ``info`` at every step.
    """
    if isinstance(module, str):
        raise TypeError(
            f"check_safety_parallel_env takes the env's module or a factory, got the ID "
            f"{module!r}; for an ID use mlsafety.envs.check_env({module!r})"
        )
    factory = module.parallel_env if isinstance(module, ModuleType) else module
    probe = factory(**kwargs)
    if not isinstance(probe, ParallelEnv):
        raise ConformanceError(
            f"{type(probe).__name__} is not a PettingZoo ParallelEnv; check a Gymnasium env "
            "with mlsafety.testing.check_safety_env"
        )
    parallel_api_test(probe, num_cycles=num_cycles)
    parallel_seed_test(lambda: factory(**kwargs), num_cycles=min(num_cycles, 100))
    if isinstance(module, ModuleType) and hasattr(module, "env"):
        api_test(module.env(**kwargs), num_cycles=min(num_cycles, 100))
    env = factory(**kwargs)
    for agent in env.possible_agents:
        if env.observation_space(agent) is not env.observation_space(agent):
            raise ConformanceError(f"observation_space({agent!r}) is not cached")
        if env.action_space(agent) is not env.action_space(agent):
            raise ConformanceError(f"action_space({agent!r}) is not cached")
    env.reset(seed=0)
    for agent in env.possible_agents:
        env.action_space(agent).seed(0)
    for t in range(num_cycles):
        actions = {a: env.action_space(a).sample() for a in env.agents}
        infos = env.step(actions)[4]
        for agent in actions:
            try:
                validate_safety_info(infos[agent], where=f"infos[{agent!r}] at step {t}")
            except ContractError as exc:
                raise ConformanceError(str(exc)) from exc
        if not env.agents:
            env.reset()
