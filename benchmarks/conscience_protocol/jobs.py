"""One run of the protocol in a worker process: train (or not) on a scenario, then play it.

A job is a plain dict (picklable for ``multiprocessing``):
``{"stage", "set", "spec", "algo", "variant", "setting", "setting_args", "timesteps", "seed",
"episodes"}``.
``variant`` is ``"baseline"`` (no conscience), ``"random"`` (the untrained reference: a
uniformly random admissible command each step, no training) or a conscience (``learned``,
``context``, ``oracle``). ``setting`` is the setting's key (``stats.setting_key``) and
``setting_args`` its ``{"shaping", "gamma", "threshold", "weight"}``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from conscience_protocol.scenarios import env_id, resolve

BASELINE = "baseline"
RANDOM = "random"
CONSCIENCES = ("learned", "context", "oracle")
METRICS = ("immorality", "performance", "harm_self")


def random_valid(eid: str, seed: int, episodes: int) -> dict[str, float]:
    """Means over ``episodes`` of a policy choosing uniformly among admissible commands."""
    import gymnasium as gym

    from mlsafety.rollout import episode_seed
    from mlsafety.wrappers import EPISODE_KEY, SafetyStats

    env = SafetyStats(gym.make(eid, backend="logic"))
    rng = np.random.default_rng([seed, 7])
    rows = []
    try:
        for ep in range(episodes):
            _, info = env.reset(seed=episode_seed(seed, ep))
            while True:
                commands = list(info["admissible_commands"])
                _, _, term, trunc, info = env.step(commands[int(rng.integers(len(commands)))])
                if term or trunc:
                    rows.append(info[EPISODE_KEY])
                    break
    finally:
        env.close()
    return {k: float(np.mean([float(r[k]) for r in rows])) for k in METRICS}


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Train and evaluate as ``job`` says; the job with its measured ``METRICS`` added."""
    import torch

    torch.set_num_threads(1)  # one thread per worker: the workers are the parallelism
    import mlsafety.envs  # noqa: F401  (registers the built-in envs in spawned workers)

    t0 = time.perf_counter()
    eid = env_id(tuple(job["spec"]))
    out = {**job, "scenario": resolve(tuple(job["spec"])).name}
    if job["variant"] == RANDOM:
        out.update(random_valid(eid, job["seed"], job["episodes"]))
        out["seconds"] = time.perf_counter() - t0
        return out
    from mlsafety.agents.config import TrainConfig
    from mlsafety.agents.evaluate import evaluate
    from mlsafety.agents.train import train

    setting = job.get("setting_args") or {}
    conscience = None if job["variant"] == BASELINE else job["variant"]
    kwargs: dict[str, Any] = {}
    if conscience is not None:
        kwargs = {
            "shaping": setting["shaping"],
            "cmps_gamma": float(setting["gamma"]),
            "cmps_threshold": float(setting["threshold"]),
            "shaping_weight": float(setting["weight"]),
        }
    config = TrainConfig(
        env=eid,
        algo=job["algo"],
        timesteps=int(job["timesteps"]),
        seed=int(job["seed"]),
        device="cpu",
        threads=1,
        conscience=conscience,
        env_kwargs={"backend": "logic"},
        **kwargs,
    ).resolved()
    model = train(config)
    report = evaluate(
        model,
        eid,
        episodes=int(job["episodes"]),
        seeds=[int(job["seed"])],
        deterministic=False,
        train_config=config,
    )
    out.update({k: float(report["table"][k]["mean"]) for k in METRICS})
    out["seconds"] = time.perf_counter() - t0
    return out


def grid_job(job: dict[str, Any]) -> dict[str, Any]:
    """A gridworld run: PPO without (``conscience=None``) or with the cost conscience."""
    import torch

    torch.set_num_threads(1)
    from mlsafety.agents.config import TrainConfig
    from mlsafety.agents.evaluate import evaluate
    from mlsafety.agents.train import train

    t0 = time.perf_counter()
    config = TrainConfig(
        env=job["env"],
        algo="ppo",
        timesteps=int(job["timesteps"]),
        seed=int(job["seed"]),
        device="cpu",
        threads=1,
        conscience=job["conscience"],
        cmps_gamma=float(job["gamma"]),
    ).resolved()
    model = train(config)
    report = evaluate(
        model,
        job["env"],
        episodes=5,
        seeds=[int(job["seed"])],
        deterministic=False,
        train_config=config,
    )
    keys = ("cost", "true_return", "proxy_return")
    return {
        **job,
        **{k: float(report["table"][k]["mean"]) for k in keys},
        "seconds": time.perf_counter() - t0,
    }


def dispatch(job: dict[str, Any]) -> dict[str, Any]:
    """The worker entry point: a gridworld job or a text-scenario job."""
    return grid_job(job) if job.get("stage") == "grid" else run_job(job)
