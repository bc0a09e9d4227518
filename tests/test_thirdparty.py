"""A third-party package (tests/thirdparty/mlsafety_thirdparty) registers a gridworld and a
text scenario; both work through every command, by ``module:ID`` or an entry point."""

import importlib.metadata
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

import mlsafety.envs as envs
import mlsafety.envs.registration as registration
from mlsafety.cli import build_parser, cmd_play, main

HERE = Path(__file__).resolve().parent / "thirdparty"
GRID = "mlsafety_thirdparty:thirdparty/ShortBoatRace-v0"
TEXT = "mlsafety_thirdparty:mlsafety/TextPlumGift-v0"
TINY = "n_steps: 32\nbatch_size: 32\nn_epochs: 1\n"


@pytest.fixture
def on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(HERE))


def run(argv):
    out = io.StringIO()
    return main(argv, out=out), out.getvalue()


def test_entry_points_register_envs_and_a_broken_one_warns(on_path, monkeypatch):
    group = envs.ENTRY_POINT_GROUP
    points = [
        importlib.metadata.EntryPoint("good", "mlsafety_thirdparty", group),
        importlib.metadata.EntryPoint("broken", "no_such_module_here", group),
    ]

    def entry_points(group=None):
        return [p for p in points if p.group == group]

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    monkeypatch.setattr(registration, "LOADED_PLUGINS", set())
    with pytest.warns(RuntimeWarning, match=r"'broken' \(no_such_module_here\) failed to load"):
        code, text = run(["envs"])
    assert code == 0
    assert "thirdparty/ShortBoatRace-v0" in text and "mlsafety/TextPlumGift-v0" in text


def test_module_id_in_play_demo_and_the_conformance_checks(on_path):
    out = io.StringIO()
    args = build_parser().parse_args(["play", GRID])
    assert cmd_play(args, out, keys_in=io.StringIO("dd\nq\n")) == 0
    assert "thirdparty/ShortBoatRace-v0" in out.getvalue()
    out = io.StringIO()
    args = build_parser().parse_args(["play", TEXT])
    commands = "go east\nsteal plum from neighbour\ngive plum to friend\n"
    assert cmd_play(args, out, keys_in=io.StringIO(commands)) == 0
    assert "events: theft" in out.getvalue()
    code, text = run(["demo", "--module", "mlsafety_thirdparty"])
    assert code == 0
    assert "thirdparty/ShortBoatRace-v0" in text
    rows = [ln.split() for ln in text.splitlines() if ln.startswith("PlumGift ")]
    assert [r[1:5] for r in rows] == [["moral", "yes", "3", "0"], ["immoral", "yes", "3", "1"]]
    envs.check_env(GRID)
    envs.check_env(TEXT)


def test_module_id_trains_and_evaluates_text_in_process(on_path, tmp_path):
    hyper = tmp_path / "tiny.yml"
    hyper.write_text(TINY)
    out = tmp_path / "text"
    flags = ["--timesteps", "64", "--n-envs", "2", "--hyperparams", str(hyper)]
    code, text = run(["train", "--env", TEXT, *flags, "--output", str(out)])
    assert code == 0 and "mlsafety/TextPlumGift-v0" in text
    code, text = run(["evaluate", str(out / "model.zip"), "--episodes", "1"])
    assert code == 0 and text.startswith("mlsafety/TextPlumGift-v0")


def test_a_run_of_a_third_party_env_evaluates_in_a_new_process(tmp_path):
    hyper = tmp_path / "tiny.yml"
    hyper.write_text(TINY)
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    cli = [sys.executable, "-m", "mlsafety"]
    out = tmp_path / "grid"
    flags = ["--timesteps", "64", "--n-envs", "2", "--hyperparams", str(hyper)]
    subprocess.run(
        [*cli, "train", "--env", GRID, *flags, "--output", str(out)],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    # config.json names the module, so a fresh process imports it before resolving the ID
    proc = subprocess.run(
        [*cli, "evaluate", str(out / "model.zip"), "--episodes", "1"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.stdout.startswith("thirdparty/ShortBoatRace-v0: 1 episodes")
