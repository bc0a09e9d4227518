"""`mlsafety train` / `mlsafety evaluate`: configs, logs, checkpoints, resume, reports."""

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from stable_baselines3.common.callbacks import BaseCallback

from mlsafety.agents.config import TrainConfig, default_hyperparams, load_hyperparams
from mlsafety.agents.evaluate import evaluate, mean_ci
from mlsafety.agents.train import train
from mlsafety.cli import main
from mlsafety.runs import load_model

ROOT = Path(__file__).resolve().parents[1]


def test_hyperparameter_precedence(tmp_path):
    assert default_hyperparams("ppo", "mlsafety/BoatRace-v0")["n_steps"] == 128
    flat = tmp_path / "flat.yml"
    flat.write_text("n_envs: 3\nn_steps: 32\nlearning_rate: 0.001\n")
    keyed = tmp_path / "keyed.yml"
    keyed.write_text("mlsafety/BoatRace-v0:\n  n_steps: 64\ntext:\n  n_steps: 16\n")
    assert load_hyperparams(keyed, "mlsafety/BoatRace-v0") == {"n_steps": 64}
    assert load_hyperparams(keyed, "mlsafety/TextBakery-v0") == {"n_steps": 16}
    config = TrainConfig(env="BoatRace", algo_kwargs={"learning_rate": 0.01}).resolved(flat)
    assert config.n_envs == 3
    assert config.algo_kwargs["n_steps"] == 32  # the file beats the defaults
    assert config.algo_kwargs["learning_rate"] == 0.01  # explicit beats the file
    assert config.algo_kwargs["batch_size"] == 256  # defaults fill the rest


def test_bad_hyperparameter_files_are_named(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("n_steps: [1, 2\n")
    with pytest.raises(ValueError, match=r"bad\.yml is not valid YAML"):
        load_hyperparams(bad, "mlsafety/BoatRace-v0")
    with pytest.raises(ValueError, match="cannot read"):
        load_hyperparams(tmp_path / "missing.yml", "mlsafety/BoatRace-v0")
    with pytest.raises(ValueError, match="maskable_ppo needs action masks"):
        TrainConfig(env="BoatRace", algo="maskable_ppo")


class _Interrupt(BaseCallback):
    def __init__(self, at):
        super().__init__()
        self.at = at

    def _on_step(self):
        if self.num_timesteps >= self.at:
            raise KeyboardInterrupt
        return True


def test_output_folder_logs_checkpoints_and_resume(tmp_path):
    config = TrainConfig(
        env="BoatRace",
        timesteps=4096,
        n_envs=4,
        checkpoint_freq=512,
        algo_kwargs={"n_steps": 64, "batch_size": 128},
    )
    with pytest.raises(KeyboardInterrupt):
        train(config, output=tmp_path, callbacks=[_Interrupt(1500)])
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["timesteps"] == 4096 and saved["algo_kwargs"]["n_steps"] == 64
    checkpoint = load_model(tmp_path / "checkpoint.zip", algo="ppo")
    assert checkpoint.num_timesteps >= 1500  # the interrupt was saved, not lost
    assert not (tmp_path / "model.zip").exists()
    model = train(config, output=tmp_path, resume=True)
    assert model.num_timesteps >= 4096
    assert model.num_timesteps < 4096 + 64 * 4  # it continued rather than starting over
    assert (tmp_path / "model.zip").exists()
    assert not list(tmp_path.glob("*.tmp*"))
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tags = set()
    for events in tmp_path.glob("tb/*/events*"):
        acc = EventAccumulator(str(events))
        acc.Reload()
        tags |= set(acc.Tags()["scalars"])
    assert {
        "safety/true_return",
        "safety/proxy_return",
        "safety/cost",
        "safety/events/reward_gaming",
        "rollout/ep_rew_mean",
    } <= tags


def test_resume_without_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing to resume"):
        train(TrainConfig(env="BoatRace"), output=tmp_path, resume=True)


@pytest.mark.parametrize(
    ("env", "algo"),
    [
        ("BoatRace", "ppo"),
        ("BoatRace", "a2c"),
        ("BoatRace", "dqn"),
        ("TextBakery", "maskable_ppo"),
        ("TextBakery", "dqn"),
        ("StagHunt", "a2c"),
    ],
)
def test_each_algorithm_trains_and_evaluates(env, algo, tmp_path):
    small = {
        "ppo": {"n_steps": 32, "batch_size": 64},
        "maskable_ppo": {"n_steps": 32, "batch_size": 64},
        "dqn": {"learning_starts": 50},
        "a2c": {},
    }[algo]
    config = TrainConfig(env=env, algo=algo, timesteps=300, n_envs=2, algo_kwargs=small)
    train(config, output=tmp_path)
    out = io.StringIO()
    code = main(
        [
            "evaluate",
            str(tmp_path / "model.zip"),
            "--env",
            env,
            "--episodes",
            "2",
            "--seeds",
            "0",
            "1",
            "--output",
            str(tmp_path / "report.json"),
        ],
        out=out,
    )
    assert code == 0 and "| metric | mean |" in out.getvalue()
    report = json.loads((tmp_path / "report.json").read_text())
    assert len(report["episodes"]) == 4


def test_evaluate_reports_the_immoral_path_of_a_text_policy(tmp_path):
    config = TrainConfig(env="TextBakery", algo="maskable_ppo", timesteps=2048, seed=0)
    model = train(config)
    report = evaluate(model, "TextBakery", episodes=2, seeds=[0, 1])
    table = report["table"]
    assert table["performance"]["mean"] == 100.0  # it finishes the task...
    # ...and every number in the table comes from the episodes it played
    immorality = [e["immorality"] for e in report["episodes"]]
    assert table["immorality"]["mean"] == pytest.approx(sum(immorality) / len(immorality))


def test_mean_ci():
    m, lo, hi = mean_ci([1.0, 2.0, 3.0])
    assert m == 2.0 and lo < 2.0 < hi
    assert mean_ci([5.0]) == (5.0, 5.0, 5.0)


def test_evaluate_rejects_missing_and_corrupt_models(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "nope.zip")
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a loadable SB3 model"):
        load_model(junk)


def test_example_script_runs():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "train_boat_race.py"), "20000"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    proxy, true = (float(x.split()[-1]) for x in proc.stdout.splitlines()[0].split(","))
    assert proxy > 2 * max(true, 1.0)  # PPO found the reward-gaming loop


def test_gpu_smoke_script_runs_on_cpu():
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "gpu_smoke.py"),
            *("--timesteps", "512", "--drrn-timesteps", "48", "--backend", "logic"),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    ppo, drrn = proc.stdout.split("DRRN (native text form")
    assert "cpu:" in ppo and "steps/s" in ppo
    assert "cpu:" in drrn and "updates of batch 64" in drrn


def test_cmps_threshold_defaults_per_conscience():
    assert TrainConfig(env="TextBakery", conscience="context").threshold == 0.9
    assert TrainConfig(env="TextBakery", conscience="learned").threshold == 0.5
    assert TrainConfig(env="TextBakery", conscience="context", cmps_threshold=0.3).threshold == 0.3
    resolved = TrainConfig(env="TextBakery", algo="maskable_ppo", conscience="context").resolved()
    assert resolved.cmps_threshold == 0.9  # recorded in config.json as used
    with pytest.raises(ValueError, match="context conscience reads commands"):
        TrainConfig(env="BoatRace", conscience="context")
