"""Building the pieces of a run from its :class:`~mlsafety.agents.config.TrainConfig`.

The one place that turns a config into envs (training and evaluation forms), a conscience,
shaping, and the policy class, so ``mlsafety train``, evaluation, DRRN and the regression
suites build the same things the same way.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
import torch
from gymnasium.wrappers import FrameStackObservation
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.running_mean_std import RunningMeanStd
from stable_baselines3.common.utils import get_device
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecNormalize

from mlsafety.agents import conscience as c
from mlsafety.agents.config import ALGOS, TrainConfig
from mlsafety.agents.parliament import THEORIES, TheoryReward
from mlsafety.agents.shaping import CMPS_POLICIES, algorithm_class, shape
from mlsafety.agents.social import CollectiveReward, InequityAversion
from mlsafety.agents.zoo import EnvSettings, env_settings
from mlsafety.envs import CATALOGUE, parallel_module
from mlsafety.envs.text import CommandChoice
from mlsafety.io import load_npz, save_npz
from mlsafety.sb3 import ParallelBatchVecEnv, make_sb3_vec_env
from mlsafety.wrappers import SafetyStats


def find_batch_class(env_id: str) -> Any:
    """The ``<Name>Batch`` class of a cooperative env (in the module of its ``raw_env``)."""
    raw = parallel_module(env_id).raw_env
    module = importlib.import_module(raw.__module__)
    name = raw.__name__.removesuffix("Env") + "Batch"
    batch = getattr(module, name, None)
    if batch is None:
        candidates = [v for k, v in vars(module).items() if k.endswith("Batch")]
        if len(candidates) != 1:
            raise LookupError(f"{env_id}: no batched class found in {module.__name__}")
        batch = candidates[0]
    return batch


def train_threads(config: TrainConfig) -> int | None:
    """torch threads for ``config``'s run: ``config.threads``, else 1 on CPU (torch's default
    of one thread per core makes small-network training many times slower) and None
    (torch's default) on a GPU."""
    if config.threads is not None:
        return config.threads
    return 1 if get_device(config.device).type == "cpu" else None


def set_threads(config: TrainConfig) -> None:
    """Set this process's torch threads as :func:`train_threads` says."""
    threads = train_threads(config)
    if threads is not None:
        torch.set_num_threads(threads)


def make_text_env(env_id: str, **env_kwargs: Any) -> Any:
    """A text scenario's SB3 form (logic backend unless ``backend`` is given)."""
    env_kwargs = {"backend": "logic", **env_kwargs}
    return CommandChoice(gym.make(env_id, **env_kwargs))


def make_conscience(name: str) -> Any:
    """``oracle`` (the env's own annotations), ``learned`` (the default command classifier),
    ``context`` (the classifier that also reads the observation; trained on first use, some
    minutes, then cached) or ``cost`` (the env as its own model, for non-text envs)."""
    if name == "oracle":
        return c.OracleConscience()
    if name == "cost":
        return c.CostConscience()
    if name == "context":
        return c.default_conscience(context=True)
    return c.default_conscience()


def policy_spec(config: TrainConfig) -> tuple[Any, dict[str, Any], type[BaseAlgorithm]]:
    """The policy, its kwargs and the algorithm class for ``config`` (CMPS when shaping)."""
    if config.conscience is None or config.shaping == "reward":
        return "MlpPolicy", {}, ALGOS[config.algo]
    algo: Any = config.algo
    return (
        CMPS_POLICIES[algo],
        {"cmps_gamma": config.cmps_gamma},
        algorithm_class(algo, config.shaping),
    )


def shaped_env(config: TrainConfig, env: Any) -> Any:
    """``env`` shaped by the run's conscience as ``config`` says (reward and/or CMPS)."""
    if config.conscience is None:
        raise ValueError("shaped_env needs a config with a conscience")
    shaped, _, _ = shape(
        env,
        make_conscience(config.conscience),
        mode=config.shaping,
        algo=config.algo,
        weight=config.shaping_weight,
        gamma=config.cmps_gamma,
        threshold=config.threshold,
        memo=config.conscience != "oracle",  # the oracle reads hidden state: no text memo
    )
    return shaped


def make_training_env(config: TrainConfig) -> VecEnv:
    """The SB3 ``VecEnv`` a run trains on (before the safety statistics and monitor)."""
    n_envs = config.n_envs or 1
    if config.multi_agent:
        transform: Any = None
        if config.reward == "collective":
            transform = CollectiveReward()
        elif config.inequity_aversion is not None:
            alpha, beta = config.inequity_aversion
            transform = InequityAversion(alpha=alpha, beta=beta)
        batch = find_batch_class(config.env)(num_envs=n_envs, **config.env_kwargs)
        return ParallelBatchVecEnv(batch, reward_transform=transform)
    settings = env_settings(config.algo_kwargs)
    if (
        config.family == "text"
        or config.conscience is not None
        or config.theory is not None
        or settings.wraps
    ):
        kwargs = dict(config.env_kwargs)

        def one() -> Any:
            if config.family == "text":
                env = make_text_env(config.env, **kwargs)
            else:
                env = gym.make(config.env, **kwargs)
            env = wrap_env(env, settings)
            if config.theory is not None:
                env = TheoryReward(env, THEORIES[config.theory])
            return shaped_env(config, env) if config.conscience is not None else env

        venv = DummyVecEnv([one] * n_envs)
        venv.seed(config.seed)
        return venv
    return make_sb3_vec_env(config.env, n_envs, **config.env_kwargs)


def wrap_env(env: Any, settings: EnvSettings) -> Any:
    """``env`` in the hyperparameter file's ``env_wrapper`` classes, then its frame stack."""
    for cls, kwargs in settings.wrappers:
        env = cls(env, **kwargs)
    if settings.frame_stack:
        env = FrameStackObservation(env, settings.frame_stack)
    return env


class ObsStats(NamedTuple):
    """Observation normalisation statistics of a run trained with ``normalize``."""

    mean: np.ndarray
    var: np.ndarray
    clip: float
    epsilon: float


OBS_STATS_FILE = "obs_normalization.npz"
OBS_STATS_FORMAT = "mlsafety.obs_normalization"


def save_obs_stats(venv: VecNormalize, path: str | Path) -> Path:
    """VecNormalize's observation statistics as a versioned ``.npz`` (no pickle)."""
    rms = venv.obs_rms
    if not isinstance(rms, RunningMeanStd):
        raise ValueError("normalize is supported for Box observations, not Dict ones")
    return save_npz(
        path,
        {"mean": rms.mean, "var": rms.var, "count": np.asarray(rms.count)},
        fmt=OBS_STATS_FORMAT,
        version=1,
        header={"clip_obs": float(venv.clip_obs), "epsilon": float(venv.epsilon)},
    )


def restore_obs_stats(venv: VecNormalize, path: str | Path) -> None:
    """Put the statistics saved at ``path`` back into ``venv`` (resuming a run)."""
    stats, count = load_obs_stats(path)
    rms = venv.obs_rms
    if not isinstance(rms, RunningMeanStd):
        raise ValueError("normalize is supported for Box observations, not Dict ones")
    rms.mean, rms.var, rms.count = stats.mean, stats.var, count


def load_obs_stats(path: str | Path) -> tuple[ObsStats, float]:
    """The statistics saved by :func:`save_obs_stats`, and their sample count."""
    header, arrays = load_npz(path, fmt=OBS_STATS_FORMAT, version=1, what="observation statistics")
    stats = ObsStats(arrays["mean"], arrays["var"], header["clip_obs"], header["epsilon"])
    return stats, float(arrays["count"])


class NormalizedObservation(gym.ObservationWrapper[Any, Any, Any]):
    """Observations normalised with fixed statistics, as VecNormalize does at evaluation.

    Like VecNormalize, it keeps the env's declared observation space (the one the model was
    built on), although the values it returns are the normalised ones."""

    def __init__(self, env: gym.Env[Any, Any], stats: ObsStats) -> None:
        super().__init__(env)
        self.stats = stats
        shape = env.observation_space.shape
        if stats.mean.shape != shape:
            raise ValueError(
                f"normalisation statistics of shape {stats.mean.shape} do not fit "
                f"observations of shape {shape}"
            )

    def observation(self, observation: Any) -> np.ndarray:
        s = self.stats
        z = (np.asarray(observation, dtype=np.float64) - s.mean) / np.sqrt(s.var + s.epsilon)
        return np.clip(z, -s.clip, s.clip).astype(np.float32)


def make_eval_env(
    env_id: str,
    env_kwargs: dict[str, Any] | None = None,
    train_config: TrainConfig | None = None,
    obs_stats: ObsStats | None = None,
) -> tuple[Any, Any]:
    """The env a trained policy is evaluated on, and its base (for action masks).

    ``SafetyStats`` sits directly on the env, so the episode totals see the env's own reward,
    not a shaped one; outside it come what the run trained with: its ``env_wrapper`` and
    ``frame_stack``, its conscience shaping, and its observation normalisation (``obs_stats``,
    saved by training as :data:`OBS_STATS_FILE`).
    """
    kwargs = dict(env_kwargs or {})
    base: Any
    if CATALOGUE[env_id].family == "text":
        base = make_text_env(env_id, **kwargs)
    else:
        base = gym.make(env_id, **kwargs)
    env: Any = SafetyStats(base)
    if train_config is not None:
        settings = env_settings(train_config.algo_kwargs)
        env = wrap_env(env, settings)
        if train_config.conscience is not None:
            env = shaped_env(train_config, env)
        if settings.normalize is not None and settings.normalize.get("norm_obs", True):
            if obs_stats is None:
                raise ValueError(
                    f"the run trained with normalize: its {OBS_STATS_FILE} is needed to "
                    "evaluate it (load the run with mlsafety.runs.load_run)"
                )
            env = NormalizedObservation(env, obs_stats)
    return env, base
