"""One home for writing files safely and for the project's versioned ``.npz`` format.

* :func:`atomic_write` and its forms (:func:`atomic_write_bytes`, :func:`atomic_write_text`,
  :func:`atomic_write_json`): write to a temporary file in the target's folder, then
  ``os.replace`` it in, so a reader (or an interrupt) never sees a half-written file. The
  result has the permissions a plain ``open(path, "w")`` would give (``0666`` less the
  umask), not ``mkstemp``'s ``0600``.
* :func:`atomic_folder`: fill a temporary folder, then rename it in (caches).
* :func:`save_npz` / :func:`load_npz`: arrays plus a JSON header naming the file's
  ``format`` and ``version`` (no pickle). Readers accept every version up to their own and
  refuse newer files with a message naming both.
* :func:`dumps_strict`: JSON without the non-standard ``NaN``/``Infinity`` tokens.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

PathLike = str | os.PathLike[str]

HEADER_KEY = "header"
"""The ``.npz`` entry holding the JSON header (files written before the common format used
``__header__``; :func:`load_npz` reads both)."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: PathLike, write: Callable[[IO[bytes]], object]) -> Path:
    """Create ``path`` by calling ``write(fh)`` on a temporary file, then renaming it in.

    On any exception (including ``KeyboardInterrupt``) the temporary file is removed and an
    existing ``path`` is left as it was. Missing parent folders are created.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def atomic_write_bytes(path: PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return atomic_write(path, lambda fh: fh.write(data))


def atomic_write_text(path: PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode(encoding))


def _finite(obj: Any) -> Any:
    """``obj`` with every non-finite float replaced by ``None`` (JSON ``null``)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, np.floating):
        return _finite(float(obj))
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.ndarray):
        return _finite(obj.tolist())
    if isinstance(obj, Mapping):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def dumps_strict(obj: Any, **kwargs: Any) -> str:
    """``json.dumps`` that writes standard JSON: ``NaN`` and infinities become ``null``."""
    return json.dumps(_finite(obj), allow_nan=False, **kwargs)


def atomic_write_json(path: PathLike, obj: Any, *, indent: int | None = 2) -> Path:
    """Write ``obj`` as strict JSON (see :func:`dumps_strict`) to ``path`` atomically."""
    return atomic_write_text(path, dumps_strict(obj, indent=indent) + "\n")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process: alive
        return True
    return True


def remove_orphans(target: Path) -> list[Path]:
    """Remove the temporary folders that killed processes left beside ``target``.

    :func:`atomic_folder` names its temporary folder ``.<name>.<pid>.<random>``; one whose
    process no longer runs on this machine was left by a kill (SIGKILL/SIGTERM skip the
    clean-up). Returns what was removed."""
    removed = []
    for tmp in target.parent.glob(f".{target.name}.*"):
        pid = tmp.name.removeprefix(f".{target.name}.").split(".", 1)[0]
        if tmp.is_dir() and pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(tmp, ignore_errors=True)
            removed.append(tmp)
    return removed


def atomic_folder(final: PathLike, fill: Callable[[Path], None]) -> Path:
    """Create the folder ``final`` by ``fill(tmp_folder)`` and a rename; return it.

    An existing ``final`` is returned as it is (another process won the race, or it was
    filled before). On an exception nothing is left behind; what a killed process left
    is removed by the next call for the same folder (:func:`remove_orphans`).
    """
    target = Path(final)
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_orphans(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.{os.getpid()}.", dir=target.parent))
    try:
        fill(tmp)
        try:
            os.rename(tmp, target)
        except OSError:
            if not target.is_dir():  # a real failure, not a lost race
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


class FormatError(ValueError):
    """A file that is not of the expected kind, or of a version this code cannot read."""


def save_npz(
    path: PathLike,
    arrays: Mapping[str, Any],
    *,
    fmt: str,
    version: int,
    header: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``arrays`` and a JSON header (``format``, ``version`` and ``header``) atomically.

    Object arrays are refused (they would need pickle).
    """
    head = {"format": fmt, "version": int(version), **(header or {})}
    payload: dict[str, np.ndarray] = {HEADER_KEY: np.array(json.dumps(head, sort_keys=True))}
    for key, value in arrays.items():
        if key in (HEADER_KEY, "__header__"):
            raise ValueError(f"array name {key!r} is reserved for the header")
        arr = np.asarray(value)
        if arr.dtype == object:
            raise TypeError(f"array {key!r} has dtype object; refusing to pickle")
        payload[key] = arr
    return atomic_write(path, lambda fh: np.savez(fh, **payload))  # type: ignore[arg-type]


def check_header(
    header: Any, path: PathLike, *, fmt: str, version: int, what: str | None = None
) -> dict[str, Any]:
    """``header`` if it names ``fmt`` at ``version`` or older; else :class:`FormatError`
    naming the file (for every versioned format: npz here, safetensors in the consciences)."""
    kind = what or fmt
    p = os.fspath(path)
    if not isinstance(header, dict) or header.get("format") != fmt:
        found = header.get("format") if isinstance(header, dict) else None
        raise FormatError(f"{p}: not a {kind} file (format {found!r}, expected {fmt!r})")
    found_version = header.get("version")
    if not isinstance(found_version, int) or found_version > version:
        raise FormatError(
            f"{p}: {kind} format version {found_version!r} is newer than this code reads "
            f"({version}); upgrade mlsafety-gym"
        )
    return header


def load_npz(
    path: PathLike, *, fmt: str, version: int, what: str | None = None
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The header and arrays of a file written by :func:`save_npz` (or the older layout).

    Raises :class:`FormatError` naming the file when it is unreadable, has no header, is of
    another ``fmt``, or is newer than ``version``. Older versions are returned as they are;
    the caller upgrades them.
    """
    p = os.fspath(path)
    kind = what or fmt
    try:
        with np.load(p, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError) as exc:
        raise FormatError(f"{p}: not a readable {kind} file ({exc})") from exc
    raw = arrays.pop(HEADER_KEY, None)
    if raw is None:
        raw = arrays.pop("__header__", None)
    if raw is None:
        raise FormatError(f"{p}: not a {kind} file (no header)")
    try:
        header = json.loads(str(raw))
    except json.JSONDecodeError as exc:
        raise FormatError(f"{p}: not a {kind} file (header is not JSON: {exc})") from exc
    return check_header(header, p, fmt=fmt, version=version, what=kind), arrays
