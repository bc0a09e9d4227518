"""On-disk cache of built and compiled TextWorld games, and of the extended knowledge base.

Everything lives under :func:`cache_dir` (``$MLSAFETY_CACHE_DIR``, else the user cache
directory ``~/.cache/mlsafety-gym``), one folder per content hash. Folders are written in a
temporary sibling and renamed into place, so a reader never sees a half-written game and two
processes compiling the same scenario at once both end up with one complete copy
(:func:`mlsafety.io.atomic_folder`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from mlsafety.io import atomic_folder

ENV_VAR = "MLSAFETY_CACHE_DIR"


def cache_dir() -> Path:
    """The root of mlsafety-gym's cache (created if missing)."""
    root = os.environ.get(ENV_VAR)
    if root:
        path = Path(root).expanduser()
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
        path = Path(base) / "mlsafety-gym"
    path.mkdir(parents=True, exist_ok=True)
    return path


def digest(*parts: str | bytes) -> str:
    """A short, process-independent content hash of ``parts``."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()[:20]


def cached_folder(kind: str, key: str, fill: Callable[[Path], None]) -> Path:
    """``<cache>/<kind>/<key>``, filled by ``fill(tmp_folder)`` and renamed in atomically.

    If the folder already exists it is returned as it is. ``fill`` must write everything
    the folder will hold; on an exception nothing is left behind (the mechanism is
    :func:`mlsafety.io.atomic_folder`).
    """
    return atomic_folder(cache_dir() / kind / key, fill)
