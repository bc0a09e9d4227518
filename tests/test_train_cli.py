"""`mlsafety train` never loses work (issue 14): output folders, resume, hyperparameter
files, threads, progress lines, file modes, and `evaluate` on the run's own env."""

import io
import json
import os
from pathlib import Path

import pytest
import torch

from mlsafety.agents.build import train_threads
from mlsafety.agents.config import TrainConfig, load_hyperparams
from mlsafety.agents.zoo import model_kwargs, parse_policy_kwargs
from mlsafety.cli import main
from mlsafety.runs import next_run_folder, prepare_output

TINY = "n_steps: 32\nbatch_size: 32\nn_epochs: 1\n"


BASE = ["train", "--env", "BoatRace", "--n-envs", "2"]


def run(argv):
    out = io.StringIO()
    code = main(argv, out=out)
    return code, out.getvalue()


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.yml"
    path.write_text(TINY)
    return str(path)


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.startswith("mlsafety-gym 0.")


def test_non_empty_output_is_refused_unless_overwrite(tmp_path, tiny, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "model.zip").write_bytes(b"precious")
    (out / "notes.txt").write_text("mine")
    argv = ["train", "--env", "BoatRace", "--timesteps", "64", "--n-envs", "2"]
    code, _ = run([*argv, "--hyperparams", tiny, "--output", str(out)])
    assert code == 2 and "is not empty" in capsys.readouterr().err
    assert (out / "model.zip").read_bytes() == b"precious"  # nothing was lost
    code, text = run([*argv, "--hyperparams", tiny, "--output", str(out), "--overwrite"])
    assert code == 0 and f"saved to {out}" in text
    assert (out / "model.zip").read_bytes() != b"precious"
    assert (out / "notes.txt").read_text() == "mine"  # only the run's own files are replaced
    with pytest.raises(ValueError, match="pick one"):
        prepare_output(out, resume=True, overwrite=True)


def test_without_output_the_run_gets_a_numbered_folder(tmp_path, tiny, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert next_run_folder("mlsafety/BoatRace-v0") == Path("runs/BoatRace-v0_1")
    (tmp_path / "runs" / "BoatRace-v0_7").mkdir(parents=True)
    (tmp_path / "runs" / "BoatRace-v0_x").mkdir()
    assert next_run_folder("mlsafety/BoatRace-v0") == Path("runs/BoatRace-v0_8")
    code, text = run([*BASE, "--timesteps", "64", "--hyperparams", tiny])
    assert code == 0 and "saved to runs/BoatRace-v0_8" in text
    assert (tmp_path / "runs" / "BoatRace-v0_8" / "model.zip").is_file()


def test_resume_rejects_conflicts_and_takes_the_new_total(tmp_path, tiny, capsys):
    out = str(tmp_path / "run")
    code, _ = run(
        [
            "train",
            "--env",
            "BoatRace",
            "--timesteps",
            "64",
            "--n-envs",
            "2",
            "--hyperparams",
            tiny,
            "--output",
            out,
            "--env-kwargs",
            '{"max_steps": 20}',
        ]
    )
    assert code == 0
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["env_kwargs"] == {"max_steps": 20}
    for flags, named in (
        (["--env", "TomatoWatering"], "--env TomatoWatering"),
        (["--seed", "3"], "--seed 3"),
        (["--algo", "a2c"], "--algo a2c"),
        (["--hyperparams", tiny], "--hyperparams"),
    ):
        code, _ = run(["train", "--resume", "--output", out, *flags])
        assert code == 2
        assert named in capsys.readouterr().err
    # the same env by another name is no conflict; --timesteps is the new total
    code, text = run(
        ["train", "--resume", "--output", out, "--env", "BoatRace", "--timesteps", "192"]
    )
    assert code == 0
    assert "trained ppo on mlsafety/BoatRace-v0 for 192 steps" in text
    assert json.loads((tmp_path / "run" / "config.json").read_text())["timesteps"] == 192


def test_rl_zoo_hyperparameter_files(tmp_path):
    zoo = tmp_path / "zoo.yml"
    zoo.write_text(
        "BoatRace-v0:\n"
        "  n_envs: 2\n"
        "  learning_rate: lin_3e-4\n"
        "  clip_range: lin_0.2\n"
        "  policy_kwargs: 'dict(net_arch=[16, 16], activation_fn=nn.ReLU)'\n"
    )
    assert load_hyperparams(zoo, "mlsafety/BoatRace-v0")["learning_rate"] == "lin_3e-4"
    bare = tmp_path / "bare.yml"
    bare.write_text("BoatRace:\n  n_steps: 16\n")
    assert load_hyperparams(bare, "mlsafety/BoatRace-v0") == {"n_steps": 16}
    with pytest.raises(ValueError, match=r"no entry for mlsafety/TomatoWatering-v0"):
        load_hyperparams(bare, "mlsafety/TomatoWatering-v0")
    config = TrainConfig(env="BoatRace").resolved(zoo)
    assert config.n_envs == 2
    json.dumps(config.algo_kwargs)  # raw values stay serialisable for config.json
    kwargs = model_kwargs(config.algo_kwargs)
    assert kwargs["learning_rate"](1.0) == pytest.approx(3e-4)
    assert kwargs["learning_rate"](0.5) == pytest.approx(1.5e-4)
    assert kwargs["policy_kwargs"] == {"net_arch": [16, 16], "activation_fn": torch.nn.ReLU}


def test_hyperparameter_typos_and_unsafe_values_are_named(tmp_path):
    def resolve(text):
        path = tmp_path / "h.yml"
        path.write_text(text)
        return TrainConfig(env="BoatRace").resolved(path)

    with pytest.raises(ValueError, match=r"'n_step'\. Did you mean 'n_steps'\?.*batch_size"):
        resolve("n_step: 64\n")
    with pytest.raises(ValueError, match="not a schedule"):
        resolve("learning_rate: lin_fast\n")
    with pytest.raises(ValueError, match=r"'clip_ob'\. Did you mean 'clip_obs'"):
        resolve("normalize: {clip_ob: 5}\n")
    with pytest.raises(ValueError, match="frame_stack must be an int"):
        resolve("frame_stack: -2\n")
    with pytest.raises(ValueError, match="cannot be imported"):
        resolve("env_wrapper: no_such_module_xyz.Wrapper\n")
    with pytest.raises(ValueError, match="not allowed"):
        parse_policy_kwargs("dict(activation_fn=__import__('os').system)")
    with pytest.raises(ValueError, match=r"os\.system is not allowed"):
        parse_policy_kwargs("dict(activation_fn=os.system)")
    assert parse_policy_kwargs("{'net_arch': dict(pi=[8], vf=[8])}") == {
        "net_arch": {"pi": [8], "vf": [8]}
    }


def test_threads_default_to_one_on_cpu(tmp_path, tiny):
    assert train_threads(TrainConfig(env="BoatRace", device="cpu")) == 1
    assert train_threads(TrainConfig(env="BoatRace", device="cpu", threads=3)) == 3
    before = torch.get_num_threads()
    try:
        code, _ = run(
            [
                "train",
                "--env",
                "BoatRace",
                "--timesteps",
                "64",
                "--n-envs",
                "2",
                "--device",
                "cpu",
                "--hyperparams",
                tiny,
                "--output",
                str(tmp_path / "run"),
            ]
        )
        assert code == 0 and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_progress_lines_without_a_terminal_and_file_modes(tmp_path, tiny, capsys):
    old = os.umask(0o022)
    try:
        code, _ = run(
            [
                "train",
                "--env",
                "BoatRace",
                "--timesteps",
                "640",
                "--n-envs",
                "2",
                "--hyperparams",
                tiny,
                "--output",
                str(tmp_path / "run"),
            ]
        )
    finally:
        os.umask(old)
    assert code == 0
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("step ")]
    assert 8 <= len(lines) <= 12
    assert "steps/s" in lines[-1] and "proxy" in lines[-1] and "true" in lines[-1]
    for name in ("config.json", "model.zip", "checkpoint.zip"):
        assert (tmp_path / "run" / name).stat().st_mode & 0o777 == 0o644


def test_evaluate_takes_the_runs_env_and_names_a_misfit(tmp_path, tiny, capsys):
    out = tmp_path / "run"
    code, _ = run(
        [
            "train",
            "--env",
            "BoatRace",
            "--timesteps",
            "64",
            "--n-envs",
            "2",
            "--hyperparams",
            tiny,
            "--output",
            str(out),
        ]
    )
    code, text = run(["evaluate", str(out / "model.zip"), "--episodes", "1"])
    assert code == 0 and text.startswith("mlsafety/BoatRace-v0: 1 episodes")
    code, _ = run(["evaluate", str(out / "model.zip"), "--env", "IslandNavigation"])
    assert code == 2
    err = capsys.readouterr().err
    assert "does not fit mlsafety/IslandNavigation-v0" in err
    assert "(5, 5)" in err and "(6, 8)" in err
