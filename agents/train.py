"""Train SB3 agents on any mlsafety env: ``mlsafety train`` and :func:`train`.

- Gridworlds train on their numba batch (:class:`mlsafety.sb3.SB3VecEnv`).
- Text scenarios train on their SB3 form (:class:`mlsafety.envs.text.choice.CommandChoice`,
  logic backend by default; MaskablePPO uses its action masks).
- ``theory`` trains under a moral theory's reward (:mod:`mlsafety.agents.parliament`)
  instead of the env's, for the moral parliament's theory policies.
- Cooperative multi-agent envs train one shared policy over every (copy, agent) slot
  (:class:`mlsafety.multiagent.ParallelBatchVecEnv`, parameter sharing), optionally with a
  collective reward or inequity aversion.

Every run writes to its output folder: ``config.json`` (the resolved config),
``model.zip``, ``checkpoint.zip`` (every ``checkpoint_freq`` steps and on interrupt; the
resume point) and TensorBoard logs (``tb/``) with the safety totals (``safety/*``) next to
SB3's own scalars. All files are written through a temporary file and a rename.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from sb3_contrib import MaskablePPO
from stable_baselines3 import A2C, DQN, PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecMonitor

from mlsafety.agents.callbacks import (
    AtomicCheckpoint,
    SafetyLogCallback,
    VecSafetyStats,
    save_atomic,
)
from mlsafety.agents.shaping import SHAPING_DEFAULTS
from mlsafety.envs.registration import CATALOGUE, resolve_id

if TYPE_CHECKING:
    from mlsafety.agents.drrn import DRRN

ALGOS: dict[str, type[BaseAlgorithm]] = {
    "ppo": PPO,
    "a2c": A2C,
    "dqn": DQN,
    "maskable_ppo": MaskablePPO,
}
DRRN_ALGO = "drrn"  # mlsafety.agents.drrn: not an SB3 algorithm
REWARD_MODES = ("individual", "collective")
RUN_KEYS = {"n_envs", "n_timesteps", "policy"}
CONSCIENCES = ("oracle", "learned", "context", "cost")
# CMPS flag threshold on p_wrong when none is given: the context conscience's scores are
# calibrated on generated dilemmas, and flagging only confident verdicts (0.9) keeps the
# moral paths open (see the README's conscience table)
DEFAULT_CMPS_THRESHOLD = {"context": 0.9}


def default_hyperparams(algo: str, env_id: str) -> dict[str, Any]:
    """The shipped defaults (``agents/defaults/<algo>.yml``) for ``env_id``'s family."""
    text = resources.files("mlsafety.agents").joinpath(f"defaults/{algo}.yml").read_text()
    table = yaml.safe_load(text) or {}
    family = CATALOGUE[env_id].family
    return {**table.get(family, {}), **table.get(env_id, {})}


def load_hyperparams(path: str | Path, env_id: str) -> dict[str, Any]:
    """Read an rl-zoo style YAML file: a flat mapping, or keyed by env ID or family."""
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text())
    except OSError as exc:
        raise ValueError(f"cannot read hyperparameter file {p}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ValueError(f"{p} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{p}: expected a mapping of hyperparameters, got {type(data).__name__}")
    for key in (env_id, env_id.split("/")[-1], CATALOGUE[env_id].family):
        if isinstance(data.get(key), dict):
            return dict(data[key])
    return dict(data)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run (saved next to the model as JSON)."""

    env: str
    algo: str = "ppo"
    timesteps: int = 100_000
    n_envs: int | None = None
    seed: int = 0
    device: str = "auto"
    reward: str = "individual"
    inequity_aversion: tuple[float, float] | None = None
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    algo_kwargs: dict[str, Any] = field(default_factory=dict)
    checkpoint_freq: int = 10_000
    progress_bar: bool = False
    conscience: str | None = None
    shaping: str = SHAPING_DEFAULTS.mode
    shaping_weight: float = SHAPING_DEFAULTS.weight
    cmps_gamma: float = SHAPING_DEFAULTS.cmps_gamma
    cmps_threshold: float | None = None  # None: DEFAULT_CMPS_THRESHOLD or the shaping default
    theory: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "env", resolve_id(self.env))
        if self.cmps_threshold is None:
            default = DEFAULT_CMPS_THRESHOLD.get(
                self.conscience or "", SHAPING_DEFAULTS.cmps_threshold
            )
            object.__setattr__(self, "cmps_threshold", default)
        if self.algo not in ALGOS and self.algo != DRRN_ALGO:
            raise ValueError(
                f"algo must be one of {sorted([*ALGOS, DRRN_ALGO])}, got {self.algo!r}"
            )
        if self.timesteps < 1 or (self.n_envs is not None and self.n_envs < 1):
            raise ValueError("timesteps and n_envs must be positive")
        if self.reward not in REWARD_MODES:
            raise ValueError(f"reward must be one of {REWARD_MODES}, got {self.reward!r}")
        if not self.multi_agent and (self.reward != "individual" or self.inequity_aversion):
            raise ValueError(
                f"{self.env} is single-agent: reward sharing and inequity aversion need a "
                "multi-agent env"
            )
        if self.reward == "collective" and self.inequity_aversion is not None:
            raise ValueError("choose collective reward or inequity aversion, not both")
        if self.algo == "maskable_ppo" and self.family != "text":
            raise ValueError("maskable_ppo needs action masks: use it with a text scenario")
        if self.algo == DRRN_ALGO and self.family != "text":
            raise ValueError("drrn scores text commands: use it with a text env (mlsafety/Text*)")
        if self.algo == DRRN_ALGO and self.theory is not None:
            raise ValueError("theory rewards train SB3 algorithms; drrn does not take --theory")
        if self.conscience is not None:
            if self.conscience not in CONSCIENCES:
                raise ValueError(
                    f"conscience must be one of {sorted(CONSCIENCES)}, got {self.conscience!r}"
                )
            if self.multi_agent:
                raise ValueError("a conscience shapes single-agent training only")
            if self.conscience in ("learned", "context") and self.family != "text":
                raise ValueError(
                    f"the {self.conscience} conscience reads commands: use it on text scenarios"
                )
            if self.shaping not in ("reward", "policy", "both"):
                raise ValueError(f"shaping must be reward, policy or both, got {self.shaping!r}")
        if self.theory is not None:
            from mlsafety.agents.parliament import THEORIES

            if self.theory not in THEORIES:
                raise ValueError(f"theory must be one of {sorted(THEORIES)}, got {self.theory!r}")
            if self.multi_agent:
                raise ValueError("theory rewards train single-agent envs only")
        unknown = set(self.algo_kwargs) & RUN_KEYS
        if unknown:
            raise ValueError(f"{sorted(unknown)} are run settings, not algorithm arguments")

    @property
    def threshold(self) -> float:
        """The CMPS flag threshold in effect (``cmps_threshold`` or the conscience's default)."""
        assert self.cmps_threshold is not None  # filled in by __post_init__
        return self.cmps_threshold

    @property
    def family(self) -> str:
        return CATALOGUE[self.env].family

    @property
    def multi_agent(self) -> bool:
        return CATALOGUE[self.env].api == "pettingzoo"

    def resolved(self, hyperparams_file: str | Path | None = None) -> TrainConfig:
        """This config with the shipped defaults and a hyperparameter file filled in.

        Precedence: explicit fields > the file > the shipped defaults for the env's family.
        """
        merged = default_hyperparams(self.algo, self.env)
        if hyperparams_file is not None:
            merged.update(load_hyperparams(hyperparams_file, self.env))
        n_envs = self.n_envs if self.n_envs is not None else int(merged.pop("n_envs", 8))
        merged.pop("n_envs", None)
        merged.pop("n_timesteps", None)
        merged.pop("policy", None)
        return TrainConfig(
            **{**asdict(self), "n_envs": n_envs, "algo_kwargs": {**merged, **self.algo_kwargs}}
        )


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


def make_text_env(env_id: str, **env_kwargs: Any) -> Any:
    """A text scenario's SB3 form (logic backend unless ``backend`` is given)."""
    import gymnasium as gym

    from mlsafety.envs.text.choice import CommandChoice

    env_kwargs = {"backend": "logic", **env_kwargs}
    return CommandChoice(gym.make(env_id, **env_kwargs))


def make_conscience(name: str) -> Any:
    """``oracle`` (the env's own annotations), ``learned`` (the default command classifier),
    ``context`` (the classifier that also reads the observation; trained on first use, some
    minutes, then cached) or ``cost`` (the env as its own model, for non-text envs)."""
    from mlsafety.agents import conscience as c

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
    from mlsafety.agents.shaping import CMPS_POLICIES, algorithm_class

    algo: Any = config.algo
    return (
        CMPS_POLICIES[algo],
        {"cmps_gamma": config.cmps_gamma},
        algorithm_class(algo, config.shaping),
    )


def _shaped(config: TrainConfig, env: Any) -> Any:
    from mlsafety.agents.shaping import shape

    assert config.conscience is not None  # for the type checker: only called when set
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
        from mlsafety.agents.social import CollectiveReward, InequityAversion
        from mlsafety.multiagent import ParallelBatchVecEnv

        transform: Any = None
        if config.reward == "collective":
            transform = CollectiveReward()
        elif config.inequity_aversion is not None:
            alpha, beta = config.inequity_aversion
            transform = InequityAversion(alpha=alpha, beta=beta)
        batch = find_batch_class(config.env)(num_envs=n_envs, **config.env_kwargs)
        return ParallelBatchVecEnv(batch, reward_transform=transform)
    if config.family == "text" or config.conscience is not None or config.theory is not None:
        import gymnasium as gym

        kwargs = dict(config.env_kwargs)

        def one() -> Any:
            if config.family == "text":
                env = make_text_env(config.env, **kwargs)
            else:
                env = gym.make(config.env, **kwargs)
            if config.theory is not None:
                from mlsafety.agents.parliament import THEORIES, TheoryReward

                env = TheoryReward(env, THEORIES[config.theory])
            return _shaped(config, env) if config.conscience is not None else env

        venv = DummyVecEnv([one] * n_envs)
        venv.seed(config.seed)
        return venv
    from mlsafety.sb3 import make_sb3_vec_env

    return make_sb3_vec_env(config.env, n_envs, **config.env_kwargs)


def _atomic_write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def train(
    config: TrainConfig,
    output: str | Path | None = None,
    resume: bool = False,
    hyperparams_file: str | Path | None = None,
    callbacks: Sequence[BaseCallback] = (),
) -> BaseAlgorithm | DRRN:
    """Train as ``config`` says (resolved against the defaults and ``hyperparams_file``).

    With ``output``: writes ``config.json``, TensorBoard logs, periodic and on-interrupt
    ``checkpoint.zip`` and the final ``model.zip``. ``resume=True`` continues from
    ``output/checkpoint.zip`` with the config saved there, up to the same total steps.
    ``algo="drrn"`` trains :class:`~mlsafety.agents.drrn.DRRN` on the native text env
    instead (``model.pt`` and ``checkpoint.pt``; :func:`~mlsafety.agents.drrn.train_drrn`).
    """
    out = Path(output) if output is not None else None
    if config.algo == DRRN_ALGO:
        from mlsafety.agents.drrn import train_drrn

        if not resume:
            config = config.resolved(hyperparams_file)
        return train_drrn(config, out, resume=resume)
    if resume:
        if out is None or not (out / "checkpoint.zip").exists():
            raise FileNotFoundError(f"nothing to resume: no checkpoint.zip in {output}")
        saved = json.loads((out / "config.json").read_text())
        saved["inequity_aversion"] = (
            tuple(saved["inequity_aversion"]) if saved.get("inequity_aversion") else None
        )
        config = TrainConfig(**saved)
    else:
        config = config.resolved(hyperparams_file)
    venv = VecMonitor(VecSafetyStats(make_training_env(config)))
    policy, policy_kwargs, algo = policy_spec(config)
    tb = str(out / "tb") if out is not None else None
    if resume:
        assert out is not None  # for the type checker: checked above
        model = algo.load(out / "checkpoint.zip", env=venv, device=config.device)
        model.tensorboard_log = tb
    else:
        kwargs = dict(config.algo_kwargs)
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
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        _atomic_write_text(out / "config.json", json.dumps(asdict(config), indent=2) + "\n")
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
            save_atomic(model, out / "checkpoint.zip")
        raise
    if out is not None:
        save_atomic(model, out / "checkpoint.zip")
        save_atomic(model, out / "model.zip")
    return model
