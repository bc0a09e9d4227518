"""The run configuration: :class:`TrainConfig`, hyperparameter files and ``config.json``.

One frozen dataclass determines a training run; ``mlsafety train`` saves it beside the model
as ``config.json`` and every reader (evaluation, resume, suites) loads it back with
:func:`load_run_config`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from sb3_contrib import MaskablePPO
from stable_baselines3 import A2C, DQN, PPO
from stable_baselines3.common.base_class import BaseAlgorithm

from mlsafety.agents.parliament import THEORIES
from mlsafety.agents.shaping import SHAPING_DEFAULTS
from mlsafety.agents.zoo import RUN_KEYS, check_keys, check_values, valid_keys
from mlsafety.envs import CATALOGUE, resolve_id

ALGOS: dict[str, type[BaseAlgorithm]] = {
    "ppo": PPO,
    "a2c": A2C,
    "dqn": DQN,
    "maskable_ppo": MaskablePPO,
}
DRRN_ALGO = "drrn"  # mlsafety.agents.drrn: not an SB3 algorithm
REWARD_MODES = ("individual", "collective")
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


DICT_VALUED_KEYS = frozenset({"policy_kwargs", "normalize", "env_wrapper", "env_kwargs"})
"""Hyperparameters whose value may be a mapping in a flat file (not an env's entry)."""


def load_hyperparams(path: str | Path, env_id: str) -> dict[str, Any]:
    """Read an rl-zoo style YAML file: a flat mapping, or keyed by env ID (full, bare with
    version as rl-zoo writes it, or bare) or by family."""
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
    bare = env_id.split("/")[-1]
    for key in (env_id, bare, bare.rsplit("-v", 1)[0], CATALOGUE[env_id].family):
        if isinstance(data.get(key), dict):
            return dict(data[key])
    values = [v for k, v in data.items() if k not in DICT_VALUED_KEYS]
    if values and all(isinstance(v, dict) for v in values):
        raise ValueError(
            f"{p} has no entry for {env_id} (nor {bare!r} or its family "
            f"{CATALOGUE[env_id].family!r}); its entries: {', '.join(map(str, data))}"
        )
    return dict(data)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run (saved next to the model as JSON)."""

    env: str
    """The registered ID (``module:ID`` is split: the module goes to ``env_module``)."""
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
    env_module: str | None = None
    """A module to import before resolving ``env`` (a third-party package registering it)."""
    threads: int | None = None
    """torch threads for training (None: 1 on CPU, torch's default on a GPU)."""

    def __post_init__(self) -> None:
        module, _, bare = self.env.rpartition(":")
        if module:
            if self.env_module not in (None, module):
                raise ValueError(f"env {self.env!r} names a module other than {self.env_module!r}")
            object.__setattr__(self, "env_module", module)
        prefix = f"{self.env_module}:" if self.env_module else ""
        object.__setattr__(self, "env", resolve_id(prefix + bare))
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be positive, got {self.threads}")
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
        merged.update(self.algo_kwargs)
        check_hyperparams(self.algo, merged)
        n_envs = self.n_envs if self.n_envs is not None else int(merged.pop("n_envs", 8))
        merged.pop("n_envs", None)
        merged.pop("n_timesteps", None)
        merged.pop("policy", None)
        return TrainConfig(**{**asdict(self), "n_envs": n_envs, "algo_kwargs": merged})


def check_hyperparams(algo: str, hyperparams: dict[str, Any]) -> None:
    """A ValueError for a key ``algo`` does not take (naming a close match and the valid
    keys), an unsupported rl-zoo key or a malformed value (``lin_``, ``policy_kwargs``)."""
    if algo == DRRN_ALGO:
        return  # DRRNConfig.from_kwargs names unknown keys itself
    check_keys(hyperparams, valid_keys(ALGOS[algo]), algo)
    check_values(hyperparams)


def load_run_config(model_path: str | Path) -> Any:
    """The :class:`TrainConfig` saved beside a model by ``mlsafety train``, or None."""
    cfg = Path(model_path).parent / "config.json"
    if not cfg.exists():
        return None
    data = json.loads(cfg.read_text())
    if data.get("inequity_aversion"):
        data["inequity_aversion"] = tuple(data["inequity_aversion"])
    return TrainConfig(**data)
