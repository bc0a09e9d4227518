"""Capability sweeps: axes and their errors, the CLI on a tiny axis with resume after an
interruption, the transition rule, the TrueReward wrapper and continuous actions."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import mlsafety.sweeps.runner as runner
from mlsafety.cli import main
from mlsafety.results import load_results
from mlsafety.rollout import run_episodes
from mlsafety.runs import load_run
from mlsafety.sweeps import (
    Axis,
    SweepSpec,
    detection_table,
    detection_task,
    divergence_trend,
    find_transition,
    hacking_point,
    point_stats,
    run_all,
    transition_detection,
    transition_detection_table,
)
from mlsafety.wrappers import SafetyStats, TrueReward

# PPO small enough for a test: 2 copies x 32 steps per update
TINY = {"n_steps": 32, "batch_size": 64, "n_epochs": 1}


def tiny_args(output: Path, hyperparams: Path, *extra: str) -> list[str]:
    hyperparams.write_text(json.dumps({**TINY, "n_envs": 2}))  # JSON is YAML
    return [
        "sweep",
        "BoatRace",
        "--axis",
        "steps=64,128",
        "--seeds",
        "0",
        "--net-arch",
        "8x1",
        "--hyperparams",
        str(hyperparams),
        "--eval-episodes",
        "1",
        "--output",
        str(output),
        "--no-progress",
        *extra,
    ]


def run_cli(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    return main(argv, out=out), out.getvalue()


def results_of(output: Path) -> dict[str, dict[str, Any]]:
    return {
        p.parent.name: json.loads(p.read_text()) for p in (output / "runs").glob("*/result.json")
    }


def test_sweep_cli_tiny_axis_then_resume_after_interrupt(tmp_path, monkeypatch):
    out = tmp_path / "sweep"
    args = tiny_args(out, tmp_path / "ppo.yml")
    calls = []
    real = runner.execute_run

    interrupt = [True]

    def interrupted(run):  # the sweep's second run is interrupted (Ctrl-C) while it trains
        calls.append(run.key)
        if len(calls) == 2 and interrupt:
            interrupt.clear()
            raise KeyboardInterrupt
        return real(run)

    monkeypatch.setattr(runner, "execute_run", interrupted)
    code, _ = run_cli(args)
    assert code == 130
    first = results_of(out)
    assert list(first) == ["steps=64__reward=proxy__seed=0"]
    assert not (out / "runs" / "steps=128__reward=proxy__seed=0").exists()
    mtime = (out / "runs" / calls[0] / "result.json").stat().st_mtime_ns

    calls.clear()
    code, text = run_cli([*args, "--detect", "--trusted-seeds", "100", "101"])
    assert code == 0
    assert calls[0] == "steps=128__reward=proxy__seed=0"  # the finished run was skipped
    assert sorted(calls[1:]) == [  # the detection task's trusted policies, at one point
        f"steps={calls[1].split('__')[0].split('=')[1]}__reward=true__seed={s}" for s in (100, 101)
    ]
    detection = json.loads((out / "detection.json").read_text())
    assert set(detection["auroc"]) == {"js", "hellinger"}
    assert "detecting reward-hacking policies" in text
    assert (
        out / "runs" / "steps=64__reward=proxy__seed=0" / "result.json"
    ).stat().st_mtime_ns == mtime
    assert "greedy returns per capability point" in text and "2 runs" in text
    doc = load_results(out / "summary.json")
    assert [r[0] for r in doc["tables"][0]["rows"]] == ["64", "128"]
    assert (out / "sweep.png").stat().st_size > 1000
    for key, result in results_of(out).items():
        if "reward=true" in key:
            continue
        assert result["run"]["net_arch"] == "8x1" and result["run"]["steps"] in (64, 128)
        assert len(result["episodes"]) == 1
        assert np.isfinite([result["proxy_return"], result["true_return"], result["cost"]]).all()
        run = load_run(out / "runs" / key / "model.zip", device="cpu")
        assert run.config is not None and run.config.timesteps == result["run"]["steps"]
        assert run.config.n_envs == 2  # from the hyperparameter file
        assert run.model.policy.net_arch == [8]


SMALL = SweepSpec(
    "BoatRace",
    (Axis.parse("net_arch=4x1,8x1"),),
    seeds=(3,),
    steps=64,
    n_envs=2,
    algo_kwargs=TINY,
    eval_episodes=1,
)


def measured(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The results without their timings (which differ from run to run)."""
    return [{k: v for k, v in r.items() if not k.endswith("_seconds")} for r in results]


def test_same_seed_same_result():
    run = SMALL.runs()[0]
    a, b = runner.execute_run(run), runner.execute_run(run)
    assert measured([a.result]) == measured([b.result])


@pytest.mark.slow
def test_worker_processes_give_the_results_of_one_process(tmp_path):
    here = run_all(SMALL.runs(), tmp_path / "a", workers=1)
    pool = run_all(SMALL.runs(), tmp_path / "b", workers=2)
    assert measured(here) == measured(pool)


@pytest.mark.slow
def test_ray_backend_gives_the_results_of_the_local_backend(tmp_path):
    ray = pytest.importorskip("ray")
    here = run_all(SMALL.runs(), tmp_path / "local", workers=1)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote = run_all(SMALL.runs(), tmp_path / "ray", backend="ray", workers=2)
    finally:
        ray.shutdown()
    assert measured(here) == measured(remote)
    assert sorted(p.name for p in (tmp_path / "ray" / "runs").iterdir()) == sorted(
        r["key"] for r in here
    )


@pytest.mark.parametrize(
    ("axis", "message"),
    [
        ("bogus=1,2", "unknown axis 'bogus'"),
        ("steps", "write NAME=V1,V2"),
        ("steps=10,abc", "axis steps: 'abc' is not a whole number"),
        ("net_arch=64", "is not WIDTHxDEPTH"),
        ("env.nonsense=1", "has no option 'nonsense'"),
        ("env.max_steps=-5", "env.max_steps=-5 is refused by mlsafety/BoatRace-v0"),
        ("algo.learning_rat=0.1", "Did you mean 'learning_rate'"),
    ],
)
def test_bad_axis_exits_2_naming_it(tmp_path, capsys, axis, message):
    code, _ = run_cli(["sweep", "BoatRace", "--axis", axis, "--output", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not any(tmp_path.iterdir())  # nothing written before the sweep is valid


def test_bad_env_exits_2_naming_it(tmp_path, capsys):
    code, _ = run_cli(["sweep", "BoatRase", "--axis", "steps=10", "--output", str(tmp_path)])
    assert code == 2
    assert "Did you mean 'mlsafety/BoatRace-v0'" in capsys.readouterr().err
    code, _ = run_cli(["sweep", "Cleanup", "--axis", "steps=10", "--output", str(tmp_path)])
    assert code == 2
    assert "multi-agent" in capsys.readouterr().err


def test_output_of_another_env_is_refused(tmp_path, capsys):
    (tmp_path / "sweep.json").write_text(json.dumps({"env": "mlsafety/TomatoWatering-v0"}))
    code, _ = run_cli(["sweep", "BoatRace", "--axis", "steps=10", "--output", str(tmp_path)])
    assert code == 2
    assert "holds a sweep of mlsafety/TomatoWatering-v0" in capsys.readouterr().err


def test_run_settings_in_algo_kwargs_are_refused_up_front():
    with pytest.raises(ValueError, match="are run settings"):
        SweepSpec("BoatRace", (Axis.parse("steps=10"),), algo_kwargs={"n_envs": 2})


def test_axis_values_and_run_grid():
    spec = SweepSpec(
        "BoatRace",
        (Axis.parse("steps=100,200"), Axis.parse("env.max_steps=20,40")),
        seeds=(0, 1),
        net_arch="16x2",
    )
    runs = spec.runs()
    assert len(runs) == 8 and len({r.key for r in runs}) == 8
    last = runs[-1]
    assert (last.steps, last.env_kwargs, last.seed) == (200, {"max_steps": 40}, 1)
    config = last.train_config()
    assert config.algo_kwargs["policy_kwargs"]["net_arch"] == [16, 16]
    trusted = spec.run(last.point, 5, reward="true").train_config()
    assert trusted.algo_kwargs["env_wrapper"] == "mlsafety.wrappers.TrueReward"
    with pytest.raises(ValueError, match="reward must be one of"):
        spec.run(last.point, 0, reward="hacked")


def fake(point: str, seed: int, proxy: float, true: float) -> dict[str, Any]:
    return {
        "run": {"point": [["steps", point]], "seed": seed, "reward": "proxy"},
        "key": f"{point}-{seed}",
        "proxy_return": proxy,
        "true_return": true,
        "cost": 0.0,
    }


def test_transition_rule_needs_non_overlapping_intervals():
    spec = SweepSpec("BoatRace", (Axis.parse("steps=1,2,3"),), seeds=(0, 1, 2, 3))
    # true return holds, then falls sharply at 3 while proxy rises: a transition
    sharp = [fake("1", s, 1 + s * 0.1, 10 + s * 0.1) for s in range(4)]
    sharp += [fake("2", s, 5 + s * 0.1, 9 + s * 0.1) for s in range(4)]
    sharp += [fake("3", s, 20 + s * 0.1, 1 + s * 0.1) for s in range(4)]
    t = find_transition(spec, sharp)
    assert t is not None and t.detected
    assert (t.before.label(), t.after.label()) == ("steps=2", "steps=3")
    assert t.drop == pytest.approx(8.0) and t.drop_ci[0] > 0
    trend = divergence_trend(spec, sharp)[0]
    assert trend["rho_gap"] > 0.8 and trend["rho_true"] < -0.5
    # the same mean drop with seeds scattered across it: intervals overlap, no transition
    noisy = [fake("1", s, 0, v) for s, v in enumerate([0, 20, 5, 15])]
    noisy += [fake("2", s, 0, v) for s, v in enumerate([-8, 12, -3, 7])]
    noisy += [fake("3", s, 0, v) for s, v in enumerate([-8, 12, -3, 7])]
    t = find_transition(spec, noisy)
    assert t is not None and t.drop == pytest.approx(8.0) and not t.detected
    # true return falls sharply but the proxy falls with it (a crash, say): not a transition
    failing = [fake("1", s, 10 + s * 0.1, 10 + s * 0.1) for s in range(4)]
    failing += [fake("2", s, 9 + s * 0.1, 9 + s * 0.1) for s in range(4)]
    failing += [fake("3", s, 1 + s * 0.1, 1 + s * 0.1) for s in range(4)]
    t = find_transition(spec, failing)
    assert t is None


def test_true_reward_wrapper_trains_on_the_true_objective():
    env = TrueReward(gym.make("mlsafety/BoatRace-v0"))
    env.reset(seed=0)
    for action in (3, 3, 2, 3):  # right, right (checkpoint), left, right: gaming
        _, reward, _, _, info = env.step(action)
        assert reward == info["true_reward"]
        assert "proxy_reward" in info


class ContinuousStub(gym.Env[np.ndarray, np.ndarray]):
    """A one-step env with a Box action: reward = the action, true reward = its negation."""

    observation_space = gym.spaces.Box(-1, 1, (2,), np.float32)
    action_space = gym.spaces.Box(-1, 1, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(2, np.float32), {}

    def step(self, action):
        a = float(np.asarray(action).reshape(-1)[0])
        info = {"true_reward": -a, "cost": 0.0, "morality": np.zeros(4, np.float32), "events": ()}
        return np.zeros(2, np.float32), a, True, False, info


def test_detection_across_a_transition_uses_proxy_trained_runs_only(tmp_path):
    spec = SweepSpec(
        "BoatRace",
        (Axis.parse("steps=64,128"),),
        seeds=(0, 1, 2, 3),
        net_arch="8x1",
        n_envs=2,
        algo_kwargs=TINY,
        eval_episodes=1,
    )
    results = run_all(spec.runs(), tmp_path)
    # the same policies with returns set so that three of the four lose their true return
    # past the transition and one keeps it
    true = {("64", 0): 10.0, ("64", 1): 10.1, ("64", 2): 10.2, ("64", 3): 10.3}
    true |= {("128", 0): 10.15, ("128", 1): 1.0, ("128", 2): 1.1, ("128", 3): 1.2}
    staged = []
    for r in results:
        key = (str(r["run"]["steps"]), int(r["run"]["seed"]))
        staged.append({**r, "true_return": true[key], "proxy_return": 20.0 - true[key]})
    flat = [{**r, "true_return": 5.0, "proxy_return": 5.0} for r in results]
    assert transition_detection(spec, flat, tmp_path) is None  # no transition, no task
    report = transition_detection(spec, staged, tmp_path, episodes=2)
    assert report is not None
    assert report["before"] == [["steps", "64"]] and report["after"] == [["steps", "128"]]
    assert report["reference"] == "steps=64__reward=proxy__seed=0"
    assert 10.0 <= report["true_floor"] <= 10.15  # the before point's lower bound
    labels = {p["key"]: p["label"] for p in report["policies"]}
    assert labels == {
        "steps=64__reward=proxy__seed=1": 0,
        "steps=64__reward=proxy__seed=2": 0,
        "steps=64__reward=proxy__seed=3": 0,
        "steps=128__reward=proxy__seed=0": 0,  # kept its true return: trustworthy
        "steps=128__reward=proxy__seed=1": 1,
        "steps=128__reward=proxy__seed=2": 1,
        "steps=128__reward=proxy__seed=3": 1,
    }
    for kind in ("js", "hellinger"):
        assert 0.0 <= report["auroc"][kind] <= 1.0
    table = transition_detection_table(spec.env_id, report)
    assert [row[3:5] for row in table.rows] == [[3, 4], [3, 4]]  # hacking, trusted
    assert "steps=64" in table.note and "across" in table.title
    # nothing was trained on the true reward
    assert not [r for r in results_of(tmp_path).values() if r["run"]["reward"] == "true"]


class Constant:
    def predict(self, obs, deterministic=True, **_):
        return np.array([0.5], np.float32), None


def test_run_episodes_steps_box_actions_as_arrays():
    rows = run_episodes(SafetyStats(ContinuousStub()), Constant(), [0], 2)
    assert [r["proxy_return"] for r in rows] == [0.5, 0.5]
    assert [r["true_return"] for r in rows] == [-0.5, -0.5]


def test_detection_task_on_a_gridworld(tmp_path):
    spec = SweepSpec(
        "BoatRace",
        (Axis.parse("steps=64,128"),),
        seeds=(0, 1),
        net_arch="8x1",
        n_envs=2,
        algo_kwargs=TINY,
        eval_episodes=1,
    )
    results = run_all(spec.runs(), tmp_path)
    point = hacking_point(results)
    gaps = {p.point: p.gap for p in point_stats(results)}
    assert gaps[point] == max(gaps.values())
    report = detection_task(spec, results, tmp_path, trusted_seeds=(100, 101, 102), episodes=2)
    assert report["point"] == [list(p) for p in point]
    assert report["reference"] == "steps=" + point[0][1] + "__reward=true__seed=100"
    labels = [p["label"] for p in report["policies"]]
    assert sorted(labels) == [0, 0, 1, 1]  # two held-out trusted, two proxy-trained
    for kind in ("js", "hellinger"):
        assert 0.0 <= report["auroc"][kind] <= 1.0
        assert all(np.isfinite(p[kind]) and p[kind] >= 0 for p in report["policies"])
    trusted = [r for r in results_of(tmp_path).values() if r["run"]["reward"] == "true"]
    assert sorted(r["run"]["seed"] for r in trusted) == [100, 101, 102]
    table = detection_table(spec.env_id, report)
    assert [row[1] for row in table.rows] == ["divergence_js", "divergence_hellinger"]
    with pytest.raises(ValueError, match="overlap the sweep's seeds"):
        detection_task(spec, results, tmp_path, trusted_seeds=(0, 100))
