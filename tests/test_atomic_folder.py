"""Cache folders are created whole or not at all, and what a killed process left is cleared."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlsafety.io import atomic_folder, remove_orphans


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_folder_is_filled_then_renamed_in_and_reused(tmp_path: Path) -> None:
    calls = []

    def fill(folder: Path) -> None:
        calls.append(folder)
        (folder / "model.txt").write_text("weights")

    out = atomic_folder(tmp_path / "key", fill)
    assert (out / "model.txt").read_text() == "weights"
    assert atomic_folder(tmp_path / "key", fill) == out and len(calls) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["key"]  # no temporary folder left


def test_an_exception_leaves_nothing(tmp_path: Path) -> None:
    def fail(folder: Path) -> None:
        (folder / "half.txt").write_text("half")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        atomic_folder(tmp_path / "key", fail)
    assert list(tmp_path.iterdir()) == []


def test_a_killed_process_leftover_is_removed_and_a_live_one_kept(tmp_path: Path) -> None:
    dead = tmp_path / f".key.{_dead_pid()}.abc"
    live = tmp_path / f".key.{os.getpid()}.def"
    other = tmp_path / ".otherkey.1.ghi"
    for folder in (dead, live, other):
        folder.mkdir()
        (folder / "half.txt").write_text("half")
    assert remove_orphans(tmp_path / "key") == [dead]
    assert not dead.exists() and live.exists() and other.exists()
    atomic_folder(tmp_path / "key", lambda folder: (folder / "m").write_text("x"))
    assert (tmp_path / "key" / "m").exists() and live.exists()
