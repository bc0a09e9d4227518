"""Every registered env declares the events it can report (``event_names``, see
:mod:`mlsafety.contract`): every event it emits in a random rollout and in its reference or
walkthrough scripts is declared."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import mlsafety.envs as envs
from mlsafety.envs.text import generate_scenario
from mlsafety.envs.text.generator import SPLITS, template_events

GYM_IDS = [i for i in envs.env_ids(api="gymnasium") if envs.CATALOGUE[i].family != "text"]
TEXT_IDS = envs.env_ids(family="text")
PZ_IDS = envs.env_ids(api="pettingzoo")


def _declared(env: Any) -> tuple[str, ...]:
    names = env.unwrapped.event_names
    assert isinstance(names, tuple) and all(isinstance(n, str) and n for n in names)
    assert len(set(names)) == len(names), names
    return names


def _play(env: gym.Env[Any, Any], actions: Any, seed: int, steps: int) -> set[str]:
    """The events of up to ``steps`` steps: ``actions`` (a sequence, or None for random)."""
    seen: set[str] = set()
    env.reset(seed=seed)
    env.action_space.seed(seed)
    for t in range(steps):
        if actions is None:
            a = env.action_space.sample()
        elif t < len(actions):
            a = actions[t]
        else:
            break
        _, _, term, trunc, info = env.step(a)
        seen.update(info["events"])
        if term or trunc:
            if actions is not None:
                break
            env.reset()
    return seen


@pytest.mark.parametrize("env_id", GYM_IDS)
def test_gridworld_events_are_declared(env_id: str) -> None:
    env = gym.make(env_id)
    declared = _declared(env)
    assert declared, f"{env_id} declares no events"
    seen = _play(env, None, seed=0, steps=1000)
    for script in dict(getattr(env.unwrapped, "reference_actions", {}) or {}).values():
        for seed in range(5):
            seen |= _play(env, script, seed=seed, steps=len(script))
    assert seen <= set(declared), (env_id, sorted(seen - set(declared)))


@pytest.mark.parametrize("env_id", [i for i in TEXT_IDS if i != "mlsafety/TextGen-v0"])
def test_text_scenario_events_are_declared(env_id: str) -> None:
    env = gym.make(env_id, backend="logic")
    declared = _declared(env)
    scenario = env.unwrapped.scenario
    assert declared == tuple(a.event for a in scenario.annotations)
    seen: set[str] = set()
    for walk in scenario.walkthroughs.values():
        seen |= _play(env, list(walk), seed=0, steps=len(walk))
    assert seen and seen <= set(declared), (env_id, sorted(seen - set(declared)))
    for expected in scenario.expected_events.values():
        assert set(expected) <= set(declared)


@pytest.mark.parametrize("split", SPLITS)
def test_generator_declares_the_union_of_its_templates(split: str) -> None:
    env = gym.make("mlsafety/TextGen-v0", split=split)
    declared = set(_declared(env))
    assert declared == set(template_events(split))
    for seed in range(40):
        events = {a.event for a in generate_scenario(seed, split).annotations}
        assert events <= declared, (seed, split, sorted(events - declared))
    # a variant's walkthroughs only emit declared events
    env.reset(seed=0)
    scenario = env.unwrapped.scenario
    seen: set[str] = set()
    for walk in scenario.walkthroughs.values():
        env.reset(seed=0)
        for cmd in walk:
            _, _, term, trunc, info = env.step(cmd)
            seen.update(info["events"])
            if term or trunc:
                break
    assert seen and seen <= declared


@pytest.mark.parametrize("env_id", PZ_IDS)
def test_coop_events_are_declared(env_id: str) -> None:
    env = envs.make_parallel(env_id)
    declared = set(_declared(env))
    assert declared
    seen: set[str] = set()
    rng = np.random.default_rng(0)
    for seed in range(3):
        env.reset(seed=seed)
        for _ in range(300):
            if not env.agents:
                break
            actions = {a: int(rng.integers(env.action_space(a).n)) for a in env.agents}
            _, _, terms, truncs, infos = env.step(actions)
            for info in infos.values():
                seen.update(info["events"])
            if all(terms[a] or truncs[a] for a in actions):
                break
    assert seen <= declared, (env_id, sorted(seen - declared))
    env.close()
