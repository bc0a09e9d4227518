"""Train SB3 agents on any mlsafety env: ``mlsafety train`` and :func:`train`.

Gridworlds train on their numba batch through :class:`mlsafety.sb3.SB3VecEnv`; cooperative
multi-agent envs train one shared policy over every (copy, agent) slot through
:class:`mlsafety.multiagent.ParallelBatchVecEnv` (parameter sharing), optionally with a
collective reward or inequity aversion.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from stable_baselines3 import A2C, DQN, PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecEnv, VecMonitor

from mlsafety.envs.registration import CATALOGUE, resolve_id

ALGOS: dict[str, type[BaseAlgorithm]] = {"ppo": PPO, "a2c": A2C, "dqn": DQN}
REWARD_MODES = ("individual", "collective")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run (saved next to the model as JSON)."""

    env: str
    algo: str = "ppo"
    timesteps: int = 100_000
    n_envs: int = 8
    seed: int = 0
    device: str = "auto"
    reward: str = "individual"
    inequity_aversion: tuple[float, float] | None = None
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    algo_kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "env", resolve_id(self.env))
        if self.algo not in ALGOS:
            raise ValueError(f"algo must be one of {sorted(ALGOS)}, got {self.algo!r}")
        if self.timesteps < 1 or self.n_envs < 1:
            raise ValueError("timesteps and n_envs must be positive")
        if self.reward not in REWARD_MODES:
            raise ValueError(f"reward must be one of {REWARD_MODES}, got {self.reward!r}")
        multi = CATALOGUE[self.env].api == "pettingzoo"
        if not multi and (self.reward != "individual" or self.inequity_aversion is not None):
            raise ValueError(
                f"{self.env} is single-agent: reward sharing and inequity aversion need a "
                "multi-agent env"
            )
        if self.reward == "collective" and self.inequity_aversion is not None:
            raise ValueError("choose collective reward or inequity aversion, not both")

    @property
    def multi_agent(self) -> bool:
        return CATALOGUE[self.env].api == "pettingzoo"


def find_batch_class(env_id: str) -> Any:
    """The ``<Name>Batch`` class of a cooperative env (in the module of its ``raw_env``)."""
    import importlib

    from mlsafety.multiagent import load_coop_module

    raw = load_coop_module(env_id).raw_env
    module = importlib.import_module(raw.__module__)
    name = raw.__name__.removesuffix("Env") + "Batch"
    batch = getattr(module, name, None)
    if batch is None:
        candidates = [v for k, v in vars(module).items() if k.endswith("Batch")]
        if len(candidates) != 1:
            raise LookupError(f"{env_id}: no batched class found in {module.__name__}")
        batch = candidates[0]
    return batch


def make_training_env(config: TrainConfig) -> VecEnv:
    """The SB3 ``VecEnv`` a run trains on (before monitoring)."""
    if config.multi_agent:
        from mlsafety.agents.social import CollectiveReward, InequityAversion
        from mlsafety.multiagent import ParallelBatchVecEnv

        transform: Any = None
        if config.reward == "collective":
            transform = CollectiveReward()
        elif config.inequity_aversion is not None:
            alpha, beta = config.inequity_aversion
            transform = InequityAversion(alpha=alpha, beta=beta)
        batch = find_batch_class(config.env)(num_envs=config.n_envs, **config.env_kwargs)
        return ParallelBatchVecEnv(batch, reward_transform=transform)
    from mlsafety.sb3 import make_sb3_vec_env
    from mlsafety.wrappers import SafetyStatsVector

    return make_sb3_vec_env(
        config.env, config.n_envs, wrappers=[SafetyStatsVector], **config.env_kwargs
    )


def _atomic_write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def save_model_atomic(model: BaseAlgorithm, path: Path) -> None:
    """Save ``model`` to ``path`` (a ``.zip``) through a temporary file and a rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem + ".", suffix=".tmp.zip")
    os.close(fd)
    try:
        model.save(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def train(config: TrainConfig, output: str | Path | None = None) -> BaseAlgorithm:
    """Train a model as ``config`` says; save ``model.zip`` and ``config.json`` in ``output``."""
    venv = VecMonitor(make_training_env(config))
    algo = ALGOS[config.algo]
    kwargs = dict(config.algo_kwargs)
    model = algo("MlpPolicy", venv, seed=config.seed, device=config.device, verbose=0, **kwargs)
    model.learn(total_timesteps=config.timesteps)
    if output is not None:
        out = Path(output)
        out.mkdir(parents=True, exist_ok=True)
        save_model_atomic(model, out / "model.zip")
        _atomic_write_text(out / "config.json", json.dumps(asdict(config), indent=2) + "\n")
    return model
