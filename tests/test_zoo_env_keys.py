"""rl-zoo's env keys (env_wrapper, frame_stack, normalize): applied in training and rebuilt
the same way when the run is evaluated, by `mlsafety evaluate` and by the suites."""

from __future__ import annotations

import numpy as np
import pytest

from mlsafety.agents.build import OBS_STATS_FILE, NormalizedObservation, load_obs_stats
from mlsafety.agents.config import TrainConfig
from mlsafety.agents.evaluate import evaluate
from mlsafety.agents.train import train
from mlsafety.rollout import run_episodes
from mlsafety.runs import load_run, make_run_env


def _run(tmp_path, text: str):  # type: ignore[no-untyped-def]
    hyper = tmp_path / "h.yml"
    hyper.write_text("n_steps: 32\nbatch_size: 64\nn_epochs: 1\n" + text)
    out = tmp_path / "run"
    config = TrainConfig(env="BoatRace", timesteps=128, n_envs=2, env_kwargs={"max_steps": 20})
    train(config, output=out, hyperparams_file=hyper)
    return load_run(out / "model.zip")


def test_wrappers_and_frame_stack_are_rebuilt_at_evaluation(tmp_path) -> None:  # type: ignore[no-untyped-def]
    run = _run(tmp_path, "env_wrapper: gymnasium.wrappers.FlattenObservation\nframe_stack: 3\n")
    assert run.config is not None and run.config.algo_kwargs["frame_stack"] == 3
    env, _ = make_run_env(run)
    assert env.observation_space == run.model.observation_space
    assert env.observation_space.shape == (3, 25)  # three stacked flattened 5 x 5 boards
    report = evaluate(run.model, "BoatRace", episodes=1, train_config=run.config)
    assert report["table"]["length"]["mean"] == 20


def test_normalize_saves_its_statistics_and_evaluation_applies_them(tmp_path) -> None:  # type: ignore[no-untyped-def]
    run = _run(tmp_path, "normalize: {norm_reward: false, clip_obs: 5.0}\n")
    stats, count = load_obs_stats(run.path.parent / OBS_STATS_FILE)
    assert count > 100 and stats.clip == 5.0 and stats.mean.shape == (5, 5)
    env, _ = make_run_env(run)
    assert isinstance(env, NormalizedObservation)
    obs, _ = env.reset(seed=0)
    assert np.all(np.abs(obs) <= 5.0) and obs.dtype == np.float32
    rows = run_episodes(env, run.model, [0], 1)
    assert rows[0]["length"] == 20
    # without the statistics the run cannot be evaluated as it trained: a clear error
    (run.path.parent / OBS_STATS_FILE).unlink()
    with pytest.raises(ValueError, match=OBS_STATS_FILE):
        make_run_env(run)
