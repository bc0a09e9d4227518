"""Train SB3 agents on any mlsafety env: ``mlsafety train`` and :func:`train`.

- Gridworlds train on their numba batch (:class:`mlsafety.sb3.SB3VecEnv`).
- Text scenarios train on their SB3 form (:class:`mlsafety.envs.text.choice.CommandChoice`,
  logic backend by default; MaskablePPO uses its action masks).
- ``theory`` trains under a moral theory's reward (:mod:`mlsafety.agents.parliament`)
  instead of the env's, for the moral parliament's theory policies.
- Cooperative multi-agent envs train one shared policy over every (copy, agent) slot
  (:class:`mlsafety.sb3.ParallelBatchVecEnv`, parameter sharing), optionally with a
  collective reward or inequity aversion.

Every run writes to its output folder: ``config.json`` (the resolved config),
``model.zip``, ``checkpoint.zip`` (every ``checkpoint_freq`` steps and on interrupt; the
resume point) and TensorBoard logs (``tb/``) with the safety totals (``safety/*``) next to
SB3's own scalars. All files are written through a temporary file and a rename.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, TextIO

import gymnasium as gym
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import configure
from stable_baselines3.common.vec_env import VecEnv, VecMonitor, VecNormalize

from mlsafety.agents.build import (
    OBS_STATS_FILE,
    make_conscience,
    make_training_env,
    policy_spec,
    restore_obs_stats,
    save_obs_stats,
    set_threads,
)
from mlsafety.agents.callbacks import (
    AtomicCheckpoint,
    ProgressLog,
    SafetyLogCallback,
    VecSafetyStats,
    save_atomic,
)
from mlsafety.agents.config import DRRN_ALGO, TrainConfig, load_run_config
from mlsafety.agents.drrn import DRRN, DRRNConfig
from mlsafety.agents.zoo import env_settings, model_kwargs
from mlsafety.io import atomic_write_json


def train(
    config: TrainConfig,
    output: str | Path | None = None,
    resume: bool = False,
    hyperparams_file: str | Path | None = None,
    callbacks: Sequence[BaseCallback] = (),
    log: TextIO | None = None,
) -> BaseAlgorithm | DRRN:
    """Train as ``config`` says (resolved against the defaults and ``hyperparams_file``).

    With ``output``: writes ``config.json``, TensorBoard logs, periodic and on-interrupt
    ``checkpoint.zip`` and the final ``model.zip``. ``resume=True`` continues from
    ``output/checkpoint.zip`` with the config saved there (see :func:`resume_config`), up to
    ``config.timesteps`` steps in all. With ``log``, a progress line goes there every tenth of
    the run (for runs without a terminal). torch's threads are set first (``config.threads``).
    ``algo="drrn"`` trains :class:`~mlsafety.agents.drrn.DRRN` on the native text env
    instead (``model.pt`` and ``checkpoint.pt``; :func:`~mlsafety.agents.drrn.train_drrn`).
    """
    out = Path(output) if output is not None else None
    if config.algo == DRRN_ALGO:
        if not resume:
            config = config.resolved(hyperparams_file)
        return train_drrn(config, out, resume=resume)
    if resume:
        if out is None or not (out / "checkpoint.zip").exists():
            raise FileNotFoundError(f"nothing to resume: no checkpoint.zip in {output}")
        config = resume_config(out, config)
    else:
        config = config.resolved(hyperparams_file)
    set_threads(config)
    venv: VecEnv = VecMonitor(VecSafetyStats(make_training_env(config)))
    normalize = env_settings(config.algo_kwargs).normalize
    if normalize is not None:  # outermost, so the safety totals see the env's own reward
        venv = VecNormalize(venv, **normalize)
        stats_file = out / OBS_STATS_FILE if out is not None else None
        if resume and stats_file is not None and stats_file.exists():
            restore_obs_stats(venv, stats_file)
    policy, policy_kwargs, algo = policy_spec(config)
    tb = str(out / "tb") if out is not None else None
    if resume:
        assert out is not None  # for the type checker: checked above
        model = algo.load(out / "checkpoint.zip", env=venv, device=config.device)
        model.tensorboard_log = tb
    else:
        kwargs = model_kwargs(config.algo_kwargs)
        if policy_kwargs:
            kwargs["policy_kwargs"] = {**kwargs.get("policy_kwargs", {}), **policy_kwargs}
        model = algo(
            policy,
            venv,
            seed=config.seed,
            device=config.device,
            verbose=0,
            tensorboard_log=tb,
            **kwargs,
        )
    run_callbacks: list[BaseCallback] = [SafetyLogCallback(), *callbacks]
    if log is not None:
        run_callbacks.append(ProgressLog(config.timesteps, log))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_json(out / "config.json", asdict(config))
        run_callbacks.append(AtomicCheckpoint(out, config.checkpoint_freq))
    remaining = config.timesteps - model.num_timesteps
    try:
        if remaining > 0:
            model.learn(
                total_timesteps=remaining,
                callback=run_callbacks,
                reset_num_timesteps=not resume,
                progress_bar=config.progress_bar,
                tb_log_name="run",
            )
    except KeyboardInterrupt:
        if out is not None:
            _save_stats(venv, out)
            save_atomic(model, out / "checkpoint.zip")
        raise
    if out is not None:
        _save_stats(venv, out)
        save_atomic(model, out / "checkpoint.zip")
        save_atomic(model, out / "model.zip")
    return model


def _save_stats(venv: VecEnv, out: Path) -> None:
    if isinstance(venv, VecNormalize):
        save_obs_stats(venv, out / OBS_STATS_FILE)


def resume_config(output: str | Path, config: TrainConfig) -> TrainConfig:
    """The config a resumed run continues with: the one saved in ``output/config.json``,
    with ``config``'s total ``timesteps``, ``progress_bar`` and ``threads`` (the settings
    that do not change what is learned so far)."""
    saved = load_run_config(Path(output) / "config.json")
    if saved is None:
        raise FileNotFoundError(f"nothing to resume: no config.json in {output}")
    return replace(
        saved,
        timesteps=config.timesteps,
        progress_bar=config.progress_bar,
        threads=config.threads,
    )


def _env_factory(env_id: str, env_kwargs: dict[str, Any]) -> Callable[[], gym.Env[Any, Any]]:
    def make() -> gym.Env[Any, Any]:
        return gym.make(env_id, **env_kwargs)

    return make


def train_drrn(config: TrainConfig, output: str | Path | None, resume: bool = False) -> DRRN:
    """``mlsafety train --algo drrn``: train a :class:`DRRN` as a resolved
    :class:`~mlsafety.agents.config.TrainConfig` says (``algo_kwargs`` are
    :class:`DRRNConfig` keys), writing the same output folder as the SB3 algorithms:
    ``config.json``, TensorBoard ``tb/``, ``checkpoint.pt`` (every ``checkpoint_freq`` steps
    and on interrupt, with the replay buffer: the resume point) and ``model.pt``."""
    out = Path(output) if output is not None else None
    if resume:
        if out is None or not (out / "checkpoint.pt").exists():
            raise FileNotFoundError(f"nothing to resume: no checkpoint.pt in {output}")
        config = resume_config(out, config)
    set_threads(config)
    envs = [_env_factory(config.env, dict(config.env_kwargs))] * int(config.n_envs or 1)
    conscience = make_conscience(config.conscience) if config.conscience else None
    if resume:
        assert out is not None  # for the type checker: checked above
        agent = DRRN.load(out / "checkpoint.pt", envs, device=config.device, conscience=conscience)
    else:
        agent = DRRN(
            envs,
            DRRNConfig.from_kwargs(dict(config.algo_kwargs)),
            seed=config.seed,
            device=config.device,
            conscience=conscience,
            shaping=config.shaping,
            shaping_weight=config.shaping_weight,
            cmps_gamma=config.cmps_gamma,
            cmps_threshold=config.threshold,
        )
    checkpoint: Callable[[DRRN], None] | None = None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_json(out / "config.json", asdict(config))
        agent.logger = configure(str(out / "tb" / "run_1"), ["tensorboard"])

        def checkpoint(a: DRRN) -> None:
            a.save(out / "checkpoint.pt", include_training_state=True)

    agent.learn(
        config.timesteps,
        checkpoint=checkpoint,
        checkpoint_freq=config.checkpoint_freq,
        progress_bar=config.progress_bar,
    )
    if out is not None:
        agent.save(out / "checkpoint.pt", include_training_state=True)
        agent.save(out / "model.pt")
    return agent
