"""rl-zoo style hyperparameters: checking their keys and turning their values into objects.

A :class:`~mlsafety.agents.config.TrainConfig` keeps the raw, JSON-serialisable values of a
hyperparameter file (``"lin_3e-4"``, the ``policy_kwargs`` string); :func:`model_kwargs`
converts them when the model is built. ``policy_kwargs`` strings are read with :mod:`ast`,
never ``eval``: literals, ``dict(...)`` and the activations of :data:`ACTIVATIONS`.
"""

from __future__ import annotations

import ast
import difflib
import importlib
import inspect
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from torch import nn

# the torch.nn activations a policy_kwargs string may name (nn.ReLU, th.nn.Tanh, ...)
ACTIVATIONS: dict[str, type[nn.Module]] = {
    name: getattr(nn, name)
    for name in ("ReLU", "Tanh", "ELU", "LeakyReLU", "GELU", "SiLU", "Sigmoid", "Softplus")
}
RUN_KEYS = frozenset({"n_envs", "n_timesteps", "policy"})
"""rl-zoo keys that set up the run rather than the algorithm (``policy`` is MlpPolicy here)."""
ENV_KEYS = frozenset({"normalize", "frame_stack", "env_wrapper"})
"""rl-zoo keys that wrap the env: applied in training and rebuilt at evaluation
(:func:`env_settings`)."""
NORMALIZE_KEYS = frozenset(
    {"norm_obs", "norm_reward", "clip_obs", "clip_reward", "gamma", "epsilon"}
)
LINEAR_PREFIX = "lin_"


class EnvSettings(NamedTuple):
    """The env side of an rl-zoo hyperparameter file, checked and resolved."""

    wrappers: tuple[tuple[type[Any], dict[str, Any]], ...]  # env_wrapper, in order
    frame_stack: int  # 0: none
    normalize: dict[str, Any] | None  # VecNormalize keyword arguments, None: off

    @property
    def wraps(self) -> bool:
        """Whether each env is wrapped (env_wrapper, frame_stack) before batching."""
        return bool(self.wrappers) or self.frame_stack > 0


def _wrapper_class(path: Any) -> type[Any]:
    if not isinstance(path, str) or "." not in path:
        raise ValueError(
            f"env_wrapper entries are 'module.Class' strings, got {path!r} "
            "(e.g. 'gymnasium.wrappers.TimeAwareObservation')"
        )
    module, _, name = path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"env_wrapper {path!r} cannot be imported: {exc}") from None
    if not isinstance(cls, type):
        raise ValueError(f"env_wrapper {path!r} is not a class")
    return cls


def env_settings(hyperparams: dict[str, Any]) -> EnvSettings:
    """``env_wrapper`` (a ``"module.Class"``, a ``{"module.Class": kwargs}`` or a list of
    them), ``frame_stack`` (frames, an int >= 1) and ``normalize`` (``true`` or
    VecNormalize's keyword arguments), as rl-zoo writes them; a ValueError naming the key."""
    raw = hyperparams.get("env_wrapper") or []
    items = raw if isinstance(raw, list) else [raw]
    wrappers: list[tuple[type[Any], dict[str, Any]]] = []
    for item in items:
        if isinstance(item, dict):
            if len(item) != 1:
                raise ValueError(f"env_wrapper entry {item!r}: one 'module.Class': kwargs each")
            ((path, kwargs),) = item.items()
            if kwargs is not None and not isinstance(kwargs, dict):
                raise ValueError(f"env_wrapper {path!r}: its arguments must be a mapping")
            wrappers.append((_wrapper_class(path), dict(kwargs or {})))
        else:
            wrappers.append((_wrapper_class(item), {}))
    stack = hyperparams.get("frame_stack") or 0
    if isinstance(stack, bool) or not isinstance(stack, int) or stack < 0:
        raise ValueError(f"frame_stack must be an int >= 1 (frames), got {stack!r}")
    norm = hyperparams.get("normalize", False)
    normalize: dict[str, Any] | None
    if norm is True:
        normalize = {}
    elif norm is False or norm is None:
        normalize = None
    elif isinstance(norm, dict):
        check_keys(norm, set(NORMALIZE_KEYS), "normalize")
        normalize = dict(norm)
    else:
        raise ValueError(f"normalize must be true, false or VecNormalize's arguments, got {norm!r}")
    return EnvSettings(tuple(wrappers), int(stack), normalize)


def linear_schedule(initial: float) -> Callable[[float], float]:
    """rl-zoo's ``lin_<value>``: ``value`` at the start, falling linearly to 0 at the end."""

    def schedule(progress_remaining: float) -> float:
        return progress_remaining * initial

    return schedule


def parse_linear(key: str, value: str) -> float:
    """The start value of ``"lin_<value>"``, or a ValueError naming ``key``."""
    try:
        return float(value.removeprefix(LINEAR_PREFIX))
    except ValueError:
        raise ValueError(
            f"hyperparameter {key!r}: {value!r} is not a schedule; write e.g. 'lin_3e-4'"
        ) from None


def _value(node: ast.expr, text: str) -> Any:
    if isinstance(node, ast.Call):
        if not (isinstance(node.func, ast.Name) and node.func.id == "dict") or node.args:
            raise ValueError(f"policy_kwargs {text!r}: only dict(key=value, ...) calls allowed")
        return {kw.arg: _value(kw.value, text) for kw in node.keywords if kw.arg is not None}
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise ValueError(f"policy_kwargs {text!r}: ** is not allowed")
        return {
            _value(k, text): _value(v, text)  # type: ignore[arg-type]  # None keys refused above
            for k, v in zip(node.keys, node.values, strict=True)
        }
    if isinstance(node, ast.List | ast.Tuple):
        return [_value(v, text) for v in node.elts]
    if isinstance(node, ast.Attribute | ast.Name):
        name = node.attr if isinstance(node, ast.Attribute) else node.id
        if name in ACTIVATIONS:
            return ACTIVATIONS[name]
        raise ValueError(
            f"policy_kwargs {text!r}: {ast.unparse(node)} is not allowed; "
            f"activations: {', '.join(f'nn.{a}' for a in ACTIVATIONS)}"
        )
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise ValueError(f"policy_kwargs {text!r}: {ast.unparse(node)} is not a literal") from None


def parse_policy_kwargs(value: str | dict[str, Any]) -> dict[str, Any]:
    """``"dict(net_arch=[64, 64], activation_fn=nn.ReLU)"`` -> the dict (read with ``ast``)."""
    if isinstance(value, dict):
        return dict(value)
    try:
        tree = ast.parse(str(value).strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"policy_kwargs {value!r} is not a Python expression: {exc}") from None
    result = _value(tree.body, str(value))
    if not isinstance(result, dict):
        raise ValueError(f"policy_kwargs {value!r} must be a dict")
    return result


def valid_keys(algo_class: type[Any]) -> set[str]:
    """The keys a hyperparameter file may set for ``algo_class``: its constructor's
    arguments (less policy and env) and the rl-zoo run keys."""
    params = inspect.signature(algo_class.__init__).parameters
    set_by_the_run = {"self", "policy", "env", "seed", "device", "verbose", "tensorboard_log"}
    own = {p for p in params if p not in set_by_the_run and not p.startswith("_")}
    return own | RUN_KEYS | ENV_KEYS


def check_keys(keys: Iterable[str], valid: set[str], what: str) -> None:
    """A ValueError naming each key not in ``valid``, a close match and the valid keys."""
    for key in keys:
        if key in valid:
            continue
        close = difflib.get_close_matches(key, sorted(valid), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"unknown {what} hyperparameter {key!r}.{hint} Valid keys: {', '.join(sorted(valid))}"
        )


def check_values(hyperparams: dict[str, Any]) -> None:
    """Reject malformed values early, before any training."""
    env_settings(hyperparams)
    model_kwargs(hyperparams)


def model_kwargs(algo_kwargs: dict[str, Any]) -> dict[str, Any]:
    """``algo_kwargs`` as the algorithm takes them: ``lin_`` schedules as functions,
    ``policy_kwargs`` strings as dicts; the env keys (:data:`ENV_KEYS`) left out."""
    out: dict[str, Any] = {}
    for key, value in algo_kwargs.items():
        if key in ENV_KEYS:
            continue
        if isinstance(value, str) and value.startswith(LINEAR_PREFIX):
            out[key] = linear_schedule(parse_linear(key, value))
        elif key == "policy_kwargs":
            out[key] = parse_policy_kwargs(value)
        else:
            out[key] = value
    return out
