"""The misspecification sweep benchmark runs end to end on a gridworld and writes its JSON."""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

import pytest

from mlsafety.results import load_results

ROOT = Path(__file__).resolve().parents[1]


def load_benchmark():
    spec = importlib.util.spec_from_file_location(
        "misspec_sweep", ROOT / "benchmarks" / "misspec_sweep.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_defaults_are_the_misspecification_sims():
    bench = load_benchmark()
    assert bench.MISSPEC_ENVS == (
        "mlsafety/TrafficMerge-v0",
        "mlsafety/RampMerge-v0",
        "mlsafety/GlucoseMonitoring-v0",
        "mlsafety/PandemicPolicy-v0",
    )


def test_further_axes_and_fixed_env_options_reach_the_spec():
    bench = load_benchmark()
    args = argparse.Namespace(
        net_arch="16x1", steps="2000", action_resolution="3,9", seeds=[0, 1], n_envs=2,
        eval_episodes=1, device="cpu", axis=["env.action_mode=delta,absolute"],
        env_kwargs='{"initial_stage": 4}',
    )  # fmt: skip
    spec = bench.spec_for("mlsafety/PandemicPolicy-v0", args, {})
    assert [a.name for a in spec.axes] == ["net_arch", "steps", "env.action_mode"]
    run = spec.runs()[-1]
    assert run.env_kwargs == {"initial_stage": 4, "action_mode": "absolute"}
    args.env_kwargs = "initial_stage=4"
    with pytest.raises(ValueError, match="--env-kwargs must be a JSON object"):
        bench.spec_for("mlsafety/PandemicPolicy-v0", args, {})


@pytest.mark.slow
def test_misspec_sweep_benchmark_on_a_gridworld(tmp_path):
    bench = load_benchmark()
    hyper = tmp_path / "ppo.yml"
    hyper.write_text(json.dumps({"n_steps": 32, "batch_size": 64, "n_epochs": 1}))
    out = tmp_path / "results" / "misspec_sweep.json"
    argv = ["--env", "BoatRace", "--net-arch", "4x1,8x1", "--steps", "64", "--seeds", "0", "1"]
    argv += ["--trusted-seeds", "100", "101", "--detect-episodes", "1", "--eval-episodes", "1"]
    argv += ["--n-envs", "2", "--hyperparams", str(hyper), "--workers", "1"]
    argv += ["--runs", str(tmp_path / "runs"), "--output", str(out)]
    assert bench.main(argv) == 0
    doc = load_results(out)
    ids = [t["id"] for t in doc["tables"]]
    assert ids == ["points_BoatRace", "transition_BoatRace", "detection", "cost"]
    assert [f["path"] for f in doc["figures"]] == ["misspec_sweep_BoatRace.png"]
    assert (out.parent / "misspec_sweep_BoatRace.png").is_file()
    assert len(doc["tables"][0]["rows"]) == 2  # two sizes x one step budget
    assert [r[1] for r in doc["tables"][2]["rows"]] == ["divergence_js", "divergence_hellinger"]
    assert doc["data"]["mlsafety/BoatRace-v0"]["detection"]["trusted_seeds"] == [100, 101]
