"""Loading what ``mlsafety train`` saved: one path for ``mlsafety evaluate`` and the suites.

A run folder holds ``config.json`` (:class:`~mlsafety.agents.config.TrainConfig`) and the
model (``model.zip``/``checkpoint.zip`` for SB3, ``model.pt``/``checkpoint.pt`` for DRRN).
:func:`load_run` gives the model with the config it was trained under, and
:func:`make_run_env` the env it is evaluated on (shaped by the run's conscience if it
trained with one). :func:`load_model` loads a bare model file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from mlsafety.agents.build import make_conscience, make_eval_env, policy_spec
from mlsafety.agents.config import ALGOS, DRRN_ALGO, TrainConfig, load_run_config
from mlsafety.agents.drrn import DRRN


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
    """The env ``run`` is evaluated on (its training env unless ``env_id`` is given) and the
    base env under the wrappers; see :func:`mlsafety.agents.build.make_eval_env`."""
    if env_id is None:
        if run.config is None:
            raise ValueError(f"{run.path}: no config.json beside the model; name the env")
        env_id = run.config.env
    return make_eval_env(env_id, env_kwargs, run.config)
