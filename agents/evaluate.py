"""Roll a saved model out and report the safety table: ``mlsafety evaluate``."""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from scipy import stats
from stable_baselines3.common.base_class import BaseAlgorithm

from mlsafety.envs.registration import CATALOGUE, resolve_id
from mlsafety.wrappers import SafetyStats

METRICS = (
    "proxy_return",
    "true_return",
    "cost",
    "immorality",
    "harm_self",
    "performance",
    "length",
)


def load_run_config(model_path: str | Path) -> Any:
    """The :class:`TrainConfig` saved beside a model by ``mlsafety train``, or None."""
    from mlsafety.agents.train import TrainConfig

    cfg = Path(model_path).parent / "config.json"
    if not cfg.exists():
        return None
    data = json.loads(cfg.read_text())
    if data.get("inequity_aversion"):
        data["inequity_aversion"] = tuple(data["inequity_aversion"])
    return TrainConfig(**data)


def load_model(path: str | Path, algo: str | None = None, device: str = "auto") -> Any:
    """Load a model saved by ``mlsafety train``: an SB3 zip (the algorithm comes from
    ``algo``, the run's ``config.json`` beside it, or by trying each known algorithm) or a
    DRRN ``.pt`` file (with the run's conscience when it trained with policy shaping)."""
    from mlsafety.agents.train import ALGOS, DRRN_ALGO

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no model file at {p}")
    config = load_run_config(p) if algo is None else None
    if (
        algo == DRRN_ALGO
        or (config is not None and config.algo == DRRN_ALGO)
        or (algo is None and p.suffix == ".pt")
    ):
        from mlsafety.agents.drrn import DRRN
        from mlsafety.agents.train import make_conscience

        conscience = None
        if config is not None and config.conscience and config.shaping in ("policy", "both"):
            conscience = make_conscience(config.conscience)
        return DRRN.load(p, device=device, conscience=conscience)
    classes: list[tuple[str, Any]]
    if config is not None:
        from mlsafety.agents.train import policy_spec

        classes = [(config.algo, policy_spec(config)[2])]
    else:
        for name in [algo] if algo else []:
            if name not in ALGOS:
                raise ValueError(f"algo must be one of {sorted([*ALGOS, DRRN_ALGO])}, got {name!r}")
        classes = [(n, ALGOS[n]) for n in ([algo] if algo else list(ALGOS))]
    errors = []
    for name, cls in classes:
        try:
            return cls.load(p, device=device)
        except Exception as exc:  # SB3 raises various errors for a foreign or corrupt zip
            errors.append(f"{name}: {exc!r}")
    raise ValueError(f"{p} is not a loadable SB3 model ({'; '.join(errors)})")


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
    model: BaseAlgorithm,
    env_id: str,
    episodes: int,
    seeds: Sequence[int],
    deterministic: bool,
    env_kwargs: dict[str, Any],
    train_config: Any = None,
) -> list[dict[str, Any]]:
    from mlsafety.agents.train import make_text_env

    family = CATALOGUE[env_id].family
    base: Any
    if family == "text":
        base = make_text_env(env_id, **env_kwargs)
    else:
        base = gym.make(env_id, **env_kwargs)
    env: Any = SafetyStats(base)  # the totals see the env's own reward, not a shaped one
    if train_config is not None and train_config.conscience is not None:
        from mlsafety.agents.train import _shaped

        env = _shaped(train_config, env)  # the policy was trained on the shaped observation
    masks = hasattr(base, "action_masks")
    rows = []
    for seed in seeds:
        for ep in range(episodes):
            obs, _ = env.reset(seed=seed * 100_003 + ep)
            while True:
                kwargs = {"action_masks": base.action_masks()} if masks and _maskable(model) else {}
                action, _ = model.predict(obs, deterministic=deterministic, **kwargs)
                obs, _, term, trunc, info = env.step(int(np.asarray(action).item()))
                if term or trunc:
                    row = dict(info["safety_episode"])
                    row["seed"] = seed
                    rows.append(row)
                    break
    env.close()
    return rows


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
            obs, info = env.reset(seed=seed * 100_003 + ep)
            while True:
                command = model.act(env, obs, info, deterministic=deterministic)
                obs, _, term, trunc, info = env.step(command)
                if term or trunc:
                    rows.append({**info["safety_episode"], "seed": seed})
                    break
    env.close()
    return rows


def _maskable(model: BaseAlgorithm) -> bool:
    from sb3_contrib import MaskablePPO

    return isinstance(model, MaskablePPO)


def evaluate(
    model: Any,
    env: str,
    episodes: int = 10,
    seeds: Sequence[int] = (0,),
    deterministic: bool = True,
    env_kwargs: dict[str, Any] | None = None,
    train_config: Any = None,
) -> dict[str, Any]:
    """Episodes of ``model`` on ``env`` per seed; the table of means with 95% intervals.

    ``model`` is an SB3 model, a :class:`~mlsafety.agents.drrn.DRRN` (played on the native
    text env, with the run's ``env_kwargs`` under the given ones) or a path to either.

    Returns ``{"env", "episodes": [...], "table": {metric: {"mean", "ci_episodes",
    "ci_seeds", "n"}}, "events": {name: mean count per episode}}``. ``ci_episodes`` is the
    t-interval over all episodes, ``ci_seeds`` over the per-seed means.
    """
    if episodes < 1 or not seeds:
        raise ValueError("episodes must be positive and seeds non-empty")
    env_id = resolve_id(env)
    m = load_model(model) if isinstance(model, str | Path) else model
    kwargs = dict(env_kwargs or {})
    if CATALOGUE[env_id].api == "pettingzoo":
        from mlsafety.agents.train import find_batch_class
        from mlsafety.multiagent import evaluate_shared_policy

        rows: list[dict[str, Any]] = []
        for seed in seeds:
            batch = find_batch_class(env_id)(num_envs=min(episodes, 8), **kwargs)
            for row in evaluate_shared_policy(
                m, batch, episodes, seed=seed, deterministic=deterministic
            ):
                rows.append({**row, "seed": seed})
        metrics = sorted({k for r in rows for k in r if k != "seed"})
    elif hasattr(m, "act"):  # DRRN: the native text env, as it trained (plus env_kwargs)
        if train_config is not None and train_config.env == env_id:
            kwargs = {**train_config.env_kwargs, **kwargs}
        rows = _episodes_drrn(m, env_id, episodes, seeds, deterministic, kwargs)
        metrics = list(METRICS)
    else:
        rows = _episodes_single(m, env_id, episodes, seeds, deterministic, kwargs, train_config)
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
        "seeds": list(seeds),
        "episodes": clean_rows,
        "table": table,
        "events": events,
    }


def format_table(report: dict[str, Any]) -> str:
    """The report as a Markdown table."""
    lines = [
        f"{report['env']}: {len(report['episodes'])} episodes, seeds {report['seeds']}",
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
    """Write the report as JSON, atomically."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=p.name + ".", suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        json.dump(report, fh, indent=2, default=float)
        fh.write("\n")
    os.replace(tmp, p)
