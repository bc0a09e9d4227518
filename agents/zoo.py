"""rl-zoo style hyperparameters: checking their keys and turning their values into objects.

A :class:`~mlsafety.agents.config.TrainConfig` keeps the raw, JSON-serialisable values of a
hyperparameter file (``"lin_3e-4"``, the ``policy_kwargs`` string); :func:`model_kwargs`
converts them when the model is built. ``policy_kwargs`` strings are read with :mod:`ast`,
never ``eval``: literals, ``dict(...)`` and the activations of :data:`ACTIVATIONS`.
"""

from __future__ import annotations

import ast
import difflib
import inspect
from collections.abc import Callable, Iterable
from typing import Any

from torch import nn

# the torch.nn activations a policy_kwargs string may name (nn.ReLU, th.nn.Tanh, ...)
ACTIVATIONS: dict[str, type[nn.Module]] = {
    name: getattr(nn, name)
    for name in ("ReLU", "Tanh", "ELU", "LeakyReLU", "GELU", "SiLU", "Sigmoid", "Softplus")
}
RUN_KEYS = frozenset({"n_envs", "n_timesteps", "policy"})
"""rl-zoo keys that set up the run rather than the algorithm (``policy`` is MlpPolicy here)."""
UNSUPPORTED_KEYS = {
    "normalize": "VecNormalize statistics are not saved and applied at evaluation yet",
    "frame_stack": "stacked observations are not rebuilt at evaluation yet",
    "env_wrapper": "wrappers named in the file are not applied at evaluation yet",
}
"""rl-zoo keys that are understood but not supported yet, with the reason."""
LINEAR_PREFIX = "lin_"


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
    return own | RUN_KEYS | set(UNSUPPORTED_KEYS)


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
    """Reject unsupported rl-zoo keys and malformed values early, before any training."""
    for key, reason in UNSUPPORTED_KEYS.items():
        if hyperparams.get(key):
            raise ValueError(f"hyperparameter {key!r} is not supported yet: {reason}")
    model_kwargs(hyperparams)


def model_kwargs(algo_kwargs: dict[str, Any]) -> dict[str, Any]:
    """``algo_kwargs`` as the algorithm takes them: ``lin_`` schedules as functions,
    ``policy_kwargs`` strings as dicts; unsupported keys left out when falsy."""
    out: dict[str, Any] = {}
    for key, value in algo_kwargs.items():
        if key in UNSUPPORTED_KEYS:
            continue
        if isinstance(value, str) and value.startswith(LINEAR_PREFIX):
            out[key] = linear_schedule(parse_linear(key, value))
        elif key == "policy_kwargs":
            out[key] = parse_policy_kwargs(value)
        else:
            out[key] = value
    return out
