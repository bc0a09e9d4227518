"""Roll a saved model out and report the safety table: ``mlsafety evaluate``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from sb3_contrib import MaskablePPO
from scipy import stats

from mlsafety.agents.build import ObsStats, find_batch_class, make_eval_env
from mlsafety.agents.config import TrainConfig
from mlsafety.envs import CATALOGUE, resolve_id
from mlsafety.io import atomic_write_json
from mlsafety.rollout import episode_seed, run_episodes
from mlsafety.sb3 import evaluate_shared_policy
from mlsafety.wrappers import SCALAR_TOTALS, SafetyStats

METRICS = SCALAR_TOTALS
"""The episode totals the table reports (the safety contract's, from ``SafetyStats``)."""


def mean_ci(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t confidence interval (the interval collapses for one value)."""
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return (math.nan, math.nan, math.nan)
    m = float(x.mean())
    if x.size < 2 or float(x.std()) == 0.0:
        return (m, m, m)
    half = float(stats.t.ppf(0.5 + level / 2, x.size - 1) * stats.sem(x))
    return (m, m - half, m + half)


def _episodes_single(
    model: Any,
    env_id: str,
    episodes: int,
    seeds: Sequence[int],
    deterministic: bool,
    env_kwargs: dict[str, Any],
    train_config: TrainConfig | None = None,
    obs_stats: ObsStats | None = None,
) -> list[dict[str, Any]]:
    env, base = make_eval_env(env_id, env_kwargs, train_config, obs_stats)
    try:
        check_spaces(model, env_id, env.observation_space, env.action_space)
    except ValueError:
        env.close()
        raise
    masks = base.action_masks if hasattr(base, "action_masks") and _maskable(model) else None
    try:
        return run_episodes(env, model, seeds, episodes, deterministic, masks)
    finally:
        env.close()


def _episodes_drrn(
    model: Any,
    env_id: str,
    episodes: int,
    seeds: Sequence[int],
    deterministic: bool,
    env_kwargs: dict[str, Any],
) -> list[dict[str, Any]]:
    env = SafetyStats(gym.make(env_id, **env_kwargs))
    rows = []
    for seed in seeds:
        for ep in range(episodes):
            obs, info = env.reset(seed=episode_seed(seed, ep))
            while True:
                command = model.act(env, obs, info, deterministic=deterministic)
                obs, _, term, trunc, info = env.step(command)
                if term or trunc:
                    rows.append({**info["safety_episode"], "seed": seed})
                    break
    env.close()
    return rows


def check_spaces(model: Any, env_id: str, observation_space: Any, action_space: Any) -> None:
    """A ValueError naming both spaces when ``model`` was trained on other spaces than
    ``env_id`` has (an SB3 model on the wrong env fails deep inside torch otherwise)."""
    for what, mine, theirs in (
        ("observation", getattr(model, "observation_space", None), observation_space),
        ("action", getattr(model, "action_space", None), action_space),
    ):
        if mine is not None and mine != theirs:
            raise ValueError(
                f"the model does not fit {env_id}: it was trained on the {what} space {mine}, "
                f"the env has {theirs}"
            )


def _maskable(model: Any) -> bool:
    return isinstance(model, MaskablePPO)


def evaluate(
    model: Any,
    env: str,
    episodes: int = 10,
    seeds: Sequence[int] = (0,),
    deterministic: bool = True,
    env_kwargs: dict[str, Any] | None = None,
    train_config: Any = None,
    obs_stats: ObsStats | None = None,
) -> dict[str, Any]:
    """Episodes of ``model`` on ``env`` per seed; the table of means with 95% intervals.

    ``model`` is an SB3 model or a :class:`~mlsafety.agents.drrn.DRRN` (played on the native
    text env). With the run's ``train_config``, the env is built as the run trained on it:
    its ``env_kwargs`` under the given ones (when ``env`` is the run's env), its wrappers,
    conscience shaping and (with ``obs_stats``, see :func:`mlsafety.runs.load_run`) its
    observation normalisation.

    Returns ``{"env", "episodes": [...], "table": {metric: {"mean", "ci_episodes",
    "ci_seeds", "n"}}, "events": {name: mean count per episode}}``. ``ci_episodes`` is the
    t-interval over all episodes, ``ci_seeds`` over the per-seed means.
    """
    if episodes < 1 or not seeds:
        raise ValueError("episodes must be positive and seeds non-empty")
    env_id = resolve_id(env)
    if isinstance(model, str | Path):
        raise TypeError(
            "evaluate() takes a loaded model; load a saved one with mlsafety.runs.load_run(path)"
        )
    m = model
    kwargs = dict(env_kwargs or {})
    if train_config is not None and train_config.env == env_id:  # the env as the run trained
        kwargs = {**train_config.env_kwargs, **kwargs}
    if CATALOGUE[env_id].api == "pettingzoo":
        rows: list[dict[str, Any]] = []
        for seed in seeds:
            batch = find_batch_class(env_id)(num_envs=min(episodes, 8), **kwargs)
            check_spaces(m, env_id, batch.observation_space, batch.action_space)
            for row in evaluate_shared_policy(
                m, batch, episodes, seed=seed, deterministic=deterministic
            ):
                rows.append({**row, "seed": seed})
        metrics = sorted({k for r in rows for k in r if k != "seed"})
    elif hasattr(m, "act"):  # DRRN: the native text env
        rows = _episodes_drrn(m, env_id, episodes, seeds, deterministic, kwargs)
        metrics = list(METRICS)
    else:
        rows = _episodes_single(
            m, env_id, episodes, seeds, deterministic, kwargs, train_config, obs_stats
        )
        metrics = list(METRICS)
    table: dict[str, Any] = {}
    for key in metrics:
        vals = [float(r[key]) for r in rows if key in r]
        per_seed = [
            float(np.mean([float(r[key]) for r in rows if r["seed"] == s and key in r]))
            for s in seeds
        ]
        mean, lo, hi = mean_ci(vals)
        _, slo, shi = mean_ci(per_seed)
        table[key] = {"mean": mean, "ci_episodes": [lo, hi], "ci_seeds": [slo, shi], "n": len(vals)}
    names = sorted({n for r in rows for n in r.get("events", {})})
    events = {n: float(np.mean([r.get("events", {}).get(n, 0) for r in rows])) for n in names}
    clean_rows = [
        {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in r.items()} for r in rows
    ]
    return {
        "env": env_id,
        "mode": "greedy" if deterministic else "sampled",
        "seeds": list(seeds),
        "episodes": clean_rows,
        "table": table,
        "events": events,
    }


def format_table(report: dict[str, Any]) -> str:
    """The report as a Markdown table."""
    lines = [
        f"{report['env']}: {len(report['episodes'])} episodes, seeds {report['seeds']}, "
        f"{report.get('mode', 'greedy')} actions",
        "",
        "| metric | mean | 95% CI (episodes) | 95% CI (seeds) |",
        "|---|---:|---:|---:|",
    ]
    for key, row in report["table"].items():
        lo, hi = row["ci_episodes"]
        slo, shi = row["ci_seeds"]
        lines.append(
            f"| {key} | {row['mean']:.3f} | [{lo:.3f}, {hi:.3f}] | [{slo:.3f}, {shi:.3f}] |"
        )
    for name, count in report["events"].items():
        lines.append(f"| events/{name} | {count:.3f} | | |")
    return "\n".join(lines) + "\n"


def write_report(report: dict[str, Any], path: str | Path) -> None:
    """Write the report as strict JSON (no ``NaN``), atomically."""
    atomic_write_json(path, report)
