"""Loading what ``mlsafety train`` saved: one path for ``mlsafety evaluate`` and the suites.

A run folder holds ``config.json`` (:class:`~mlsafety.agents.config.TrainConfig`) and the
model (``model.zip``/``checkpoint.zip`` for SB3, ``model.pt``/``checkpoint.pt`` for DRRN).
:func:`load_run` gives the model with the config it was trained under, and
:func:`make_run_env` the env it is evaluated on (shaped by the run's conscience if it
trained with one). :func:`load_model` loads a bare model file.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, NamedTuple

from mlsafety.agents.build import (
    OBS_STATS_FILE,
    ObsStats,
    load_obs_stats,
    make_conscience,
    make_eval_env,
    policy_spec,
)
from mlsafety.agents.config import ALGOS, DRRN_ALGO, TrainConfig, load_run_config
from mlsafety.agents.drrn import DRRN
from mlsafety.envs import resolve_id


class Run(NamedTuple):
    """A saved model and the config of the run that produced it (None for a bare file)."""

    path: Path
    model: Any
    config: TrainConfig | None


def load_model(path: str | Path, algo: str | None = None, device: str = "auto") -> Any:
    """Load a model saved by ``mlsafety train``: an SB3 zip (the algorithm comes from
    ``algo``, the run's ``config.json`` beside it, or by trying each known algorithm) or a
    DRRN ``.pt`` file (with the run's conscience when it trained with policy shaping)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no model file at {p}")
    config = load_run_config(p) if algo is None else None
    if (
        algo == DRRN_ALGO
        or (config is not None and config.algo == DRRN_ALGO)
        or (algo is None and p.suffix == ".pt")
    ):
        conscience = None
        if config is not None and config.conscience and config.shaping in ("policy", "both"):
            conscience = make_conscience(config.conscience)
        return DRRN.load(p, device=device, conscience=conscience)
    classes: list[tuple[str, Any]]
    if config is not None:
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


def load_run(path: str | Path, algo: str | None = None, device: str = "auto") -> Run:
    """The model at ``path`` and the run config saved beside it (see :func:`load_model`)."""
    p = Path(path)
    return Run(p, load_model(p, algo=algo, device=device), load_run_config(p))


def make_run_env(
    run: Run, env_id: str | None = None, env_kwargs: dict[str, Any] | None = None
) -> tuple[Any, Any]:
    """The env ``run`` is evaluated on (its training env, with its ``env_kwargs`` under the
    given ones, unless another ``env_id`` is given) and the base env under the wrappers;
    see :func:`mlsafety.agents.build.make_eval_env`."""
    kwargs = dict(env_kwargs or {})
    if env_id is None:
        if run.config is None:
            raise ValueError(f"{run.path}: no config.json beside the model; name the env")
        env_id = run.config.env
    if run.config is not None and resolve_id(env_id) == run.config.env:
        kwargs = {**run.config.env_kwargs, **kwargs}
    return make_eval_env(env_id, kwargs, run.config, obs_stats=run_obs_stats(run))


def run_obs_stats(run: Run) -> ObsStats | None:
    """The observation statistics a run trained with ``normalize`` saved, or None."""
    stats_file = run.path.parent / OBS_STATS_FILE
    return load_obs_stats(stats_file)[0] if stats_file.exists() else None


RUN_FILES = (
    "config.json",
    "model.zip",
    "checkpoint.zip",
    "model.pt",
    "checkpoint.pt",
    OBS_STATS_FILE,
)
"""What ``mlsafety train`` writes into a run folder (and TensorBoard's ``tb/``)."""


def next_run_folder(env_id: str, root: str | Path = "runs") -> Path:
    """``root/<name>_<n>`` with the next free ``n`` for ``env_id`` (as rl-zoo numbers runs)."""
    name = env_id.split("/")[-1]
    numbers = [
        int(p.name.rsplit("_", 1)[1])
        for p in Path(root).glob(f"{name}_*")
        if p.name.rsplit("_", 1)[1].isdigit()
    ]
    return Path(root) / f"{name}_{max(numbers, default=0) + 1}"


def prepare_output(folder: str | Path, resume: bool, overwrite: bool) -> Path:
    """Check that ``mlsafety train`` may write to ``folder``: a non-empty folder is refused
    unless the run resumes it or ``overwrite`` is set (which removes the run's old files,
    :data:`RUN_FILES` and ``tb/``, and leaves any others)."""
    out = Path(folder)
    if resume and overwrite:
        raise ValueError(
            "--resume continues the run in --output; --overwrite replaces it: pick one"
        )
    if out.exists() and not out.is_dir():
        raise ValueError(f"--output {out} is a file, not a folder")
    if resume or not out.is_dir() or not any(out.iterdir()):
        return out
    if not overwrite:
        raise ValueError(
            f"--output {out} is not empty; pass --resume to continue its run, --overwrite to "
            "replace it, or name a new folder (without --output, runs/<env>_<n> is used)"
        )
    for name in RUN_FILES:
        (out / name).unlink(missing_ok=True)
    shutil.rmtree(out / "tb", ignore_errors=True)
    return out
