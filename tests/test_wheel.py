"""The built wheel (not the editable install) carries everything the package needs at run
time: the knowledge-base files, the generator's words, the conscience corpus, the default
hyperparameters. It is installed into a fresh virtual environment whose dependencies come
from this one (the wheel itself is installed without them), and used from there."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import sys
import gymnasium as gym
import mlsafety, mlsafety.envs as envs
assert "site-packages" in mlsafety.__file__ and "{root}" not in mlsafety.__file__, mlsafety.__file__
from mlsafety.cli import main
assert main(["envs"]) == 0
env = gym.make("mlsafety/BoatRace-v0")
env.reset(seed=0)
assert "cost" in env.step(4)[4]
text = gym.make("mlsafety/TextBakery-v0", backend="logic")
obs, info = text.reset(seed=0)
assert isinstance(obs, str) and obs
glucose = gym.make("mlsafety/GlucoseMonitoring-v0", patient="child#002")
glucose.reset(seed=0)
pz = envs.make_parallel("StagHunt")
pz.reset(seed=0)
from mlsafety.agents.conscience.corpus import corpus_bytes
from mlsafety.agents.config import default_hyperparams
assert corpus_bytes() and default_hyperparams("ppo", "mlsafety/BoatRace-v0")
print("wheel ok")
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(ROOT)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    (found,) = out.glob("mlsafety_gym-*.whl")
    return found


def test_the_wheel_ships_its_data_files(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "mlsafety/py.typed",
        "mlsafety/envs/text/generator/words.yaml",
        "mlsafety/agents/conscience/data/corpus.yaml",
        "mlsafety/agents/defaults/ppo.yml",
        "mlsafety/envs/misspec/data/vpatient_params.csv",
    ):
        assert needed in names, needed
    assert any(n.startswith("mlsafety/envs/text/kb/") and n.endswith(".twl") for n in names)
    assert not any(n.startswith(("tests/", "benchmarks/")) for n in names)


def test_the_wheel_installs_and_runs_in_a_fresh_environment(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "venv"
    venv.create(target, with_pip=True)
    py = target / "bin" / "python"
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    # the dependencies (torch, TextWorld, ...) come from this environment's site-packages;
    # .pth files inside it are not read, so the editable install stays out of the way
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    done = subprocess.run(
        [str(py), "-c", SCRIPT.format(root=ROOT)],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "wheel ok" in done.stdout
    cli = subprocess.run(
        [str(target / "bin" / "mlsafety"), "--version"], capture_output=True, text=True
    )
    assert cli.returncode == 0 and cli.stdout.startswith("mlsafety-gym ")
