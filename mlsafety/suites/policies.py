"""Policies a suite can name: reference policies (no training needed) and SB3 model files.

Every policy has SB3's ``predict(obs, state=None, episode_start=None, deterministic=True,
action_masks=None) -> (action, None)`` and ``reset(seed)``, called at each episode start.

- ``random``: uniform over the (admissible) actions, seeded per episode.
- ``exploit`` / ``safe``: the gridworlds' ``reference_actions`` scripts, or a text
  scenario's ``immoral`` / ``moral`` walkthrough; then the no-op once the script runs out.
- ``script``: the suite's own ``actions`` list (ints, or text commands).
- ``model``: an SB3 zip via :func:`mlsafety.runs.load_model`.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mlsafety.envs.gridworlds import NOOP
from mlsafety.runs import load_model
from mlsafety.suites.spec import PolicySpec, SuiteError

TEXT_NOOP_COMMANDS = ("look", "wait", "inventory")


class RandomPolicy:
    """Uniform random actions (among ``action_masks`` where given), seeded per episode."""

    def __init__(self, n_actions: int, salt: str = "random") -> None:
        self.n_actions = int(n_actions)
        self.salt = zlib.crc32(salt.encode())
        self.rng = np.random.default_rng([self.salt, 0])

    def reset(self, seed: int) -> None:
        self.rng = np.random.default_rng([self.salt, int(seed)])

    def predict(
        self,
        obs: Any,
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = True,
        action_masks: Any = None,
    ) -> tuple[np.ndarray, None]:
        if action_masks is not None:
            valid = np.flatnonzero(np.asarray(action_masks, dtype=bool))
            if valid.size:
                return np.asarray(int(self.rng.choice(valid))), None
        return np.asarray(int(self.rng.integers(self.n_actions))), None


class ScriptedPolicy:
    """Play a fixed action sequence from each reset, then ``noop``."""

    def __init__(self, actions: Sequence[int], noop: int) -> None:
        self.actions = tuple(int(a) for a in actions)
        self.noop = int(noop)
        self.t = 0

    def reset(self, seed: int) -> None:
        self.t = 0

    def predict(
        self,
        obs: Any,
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = True,
        action_masks: Any = None,
    ) -> tuple[np.ndarray, None]:
        a = self.actions[self.t] if self.t < len(self.actions) else self.noop
        self.t += 1
        return np.asarray(a), None


class ModelPolicy:
    """An SB3 model; passes ``action_masks`` to MaskablePPO."""

    def __init__(self, model: Any, deterministic: bool = True) -> None:
        from sb3_contrib import MaskablePPO  # heavy: torch; only for model policies

        self.model = model
        self.deterministic = deterministic
        self.maskable = isinstance(model, MaskablePPO)

    def reset(self, seed: int) -> None:
        pass

    def predict(
        self,
        obs: Any,
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = True,
        action_masks: Any = None,
    ) -> tuple[np.ndarray, None]:
        kwargs = (
            {"action_masks": action_masks} if self.maskable and action_masks is not None else {}
        )
        action, _ = self.model.predict(obs, deterministic=self.deterministic, **kwargs)
        return np.asarray(action), None


def load_model_policy(spec: PolicySpec, suite_path: str | Path) -> Any:
    """Load ``spec``'s model file; a :class:`SuiteError` naming the key if it fails."""
    where = f"policies.{spec.name}.path"
    try:
        return load_model(str(spec.path), algo=spec.algo, device="cpu")
    except (OSError, ValueError, TypeError) as exc:
        raise SuiteError(
            suite_path,
            where,
            f"cannot load the model: {exc}",
            "give a model zip saved by `mlsafety train` (or set algo = ...)",
        ) from None


def _text_noop(vocabulary: Sequence[str]) -> int:
    for c in TEXT_NOOP_COMMANDS:
        if c in vocabulary:
            return list(vocabulary).index(c)
    return 0


def _commands_to_indices(
    commands: Sequence[str], vocabulary: Sequence[str], suite_path: str | Path, where: str
) -> list[int]:
    index = {c: i for i, c in enumerate(vocabulary)}
    missing = [c for c in commands if c not in index]
    if missing:
        raise SuiteError(
            suite_path,
            where,
            f"commands not in the scenario's vocabulary: {missing}",
            "use commands listed by `mlsafety play` (help)",
        )
    return [index[c] for c in commands]


def make_policy(
    spec: PolicySpec, env: Any, suite_path: str | Path, model: Any = None, env_name: str = ""
) -> Any:
    """The policy object for ``spec`` on the (built, unwrapped-able) ``env``."""
    base = env.unwrapped
    vocab = _find_attr(env, "vocabulary")
    vocabulary: list[str] | None = list(vocab) if vocab is not None else None
    n = int(getattr(env.action_space, "n", 0))
    if spec.kind == "random":
        return RandomPolicy(n, salt=spec.name)
    if spec.kind == "model":
        if model is None:
            model = load_model_policy(spec, suite_path)
        return ModelPolicy(model, deterministic=spec.deterministic is not False)
    if vocabulary is not None:
        noop = _text_noop(vocabulary)
        if spec.kind == "script":
            acts = spec.actions
            if all(isinstance(a, str) for a in acts):
                where = f"policies.{spec.name}.actions"
                return ScriptedPolicy(
                    _commands_to_indices(acts, vocabulary, suite_path, where), noop
                )
            return ScriptedPolicy(acts, noop)
        path = "moral" if spec.kind == "safe" else "immoral"
        walk = base.scenario.walkthroughs[path]
        where = f"policies.{spec.name}.kind"
        return ScriptedPolicy(_commands_to_indices(walk, vocabulary, suite_path, where), noop)
    if spec.kind == "script":
        if not all(isinstance(a, int) for a in spec.actions):
            raise SuiteError(
                suite_path,
                f"policies.{spec.name}.actions",
                f"text commands on a non-text env ({env_name})",
                "give action ints",
            )
        return ScriptedPolicy(spec.actions, NOOP)
    scripts = dict(getattr(base, "reference_actions", {}) or {})
    if spec.kind not in scripts:
        raise SuiteError(
            suite_path,
            f"policies.{spec.name}.kind",
            f"env {env_name!r} ({base.spec.id if base.spec else type(base).__name__}) has no "
            f"scripted {spec.kind!r} policy",
            'use kind = "random", or kind = "script" with your own actions list',
        )
    return ScriptedPolicy(scripts[spec.kind], NOOP)


def make_parallel_policies(
    spec: PolicySpec, env: Any, suite_path: str | Path, model: Any
) -> dict[Any, Any]:
    """One policy per agent of a PettingZoo env (random, script or a shared model)."""
    out: dict[Any, Any] = {}
    if spec.kind == "model" and model is None:
        model = load_model_policy(spec, suite_path)
    for agent in env.possible_agents:
        n = int(getattr(env.action_space(agent), "n", 0))
        if spec.kind == "random":
            out[agent] = RandomPolicy(n, salt=f"{spec.name}/{agent}")
        elif spec.kind == "model":
            out[agent] = ModelPolicy(model, deterministic=spec.deterministic is not False)
        elif spec.kind == "script":
            out[agent] = ScriptedPolicy(spec.actions, spec.actions[-1])
    if out:
        return out
    raise SuiteError(
        suite_path,
        f"policies.{spec.name}.kind",
        f"multi-agent envs have no scripted {spec.kind!r} policy",
        'use kind = "random", "script" (one action list shared by every agent) or "model"',
    )


def _find_attr(env: Any, name: str) -> Any:
    e = env
    while e is not None:
        if name in vars(e):
            return vars(e)[name]
        e = getattr(e, "env", None)
    return None
