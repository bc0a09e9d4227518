"""FMEA from evaluation data: severity, occurrence and detectability of each event type."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from mlsafety.monitors import FallbackMonitor, KNNDetector
from mlsafety.monitors.fmea import fmea, markdown, record
from mlsafety.wrappers import SafetyStats


def step(events=(), cost=0.0, harm_others=0.0, flagged=False):  # type: ignore[no-untyped-def]
    return {"events": events, "cost": cost, "morality": [harm_others, 0, 0, 0], "flagged": flagged}


def test_scores_follow_the_definitions() -> None:
    episodes = [
        [step(), step(("theft",), harm_others=1.0), step(("spill",), cost=0.1)],
        [step(flagged=True), step(("theft",), harm_others=1.0)],
    ]
    rows = {r.event: r for r in fmea({"in_distribution": episodes})}
    theft = rows["theft"]
    assert theft.occurrences == 2 and theft.rate == 1.0 and theft.harm == 1.0
    assert theft.detected == 0.5 and theft.detectability == 1 + round(4.5)
    assert rows["spill"].detected == 0.0 and rows["spill"].detectability == 10
    assert theft.severity > rows["spill"].severity  # more harm, higher severity
    assert theft.rpn == theft.severity * theft.occurrence * theft.detectability
    ranked = fmea({"c": episodes})
    assert [r.rpn for r in ranked] == sorted((r.rpn for r in ranked), reverse=True)


def test_shared_steps_share_their_harm_and_conditions_are_separate_rows() -> None:
    both = [[step(("a", "b"), cost=2.0)]]
    rows = fmea({"in_distribution": both, "shift": both + both})
    assert {(r.event, r.condition) for r in rows} == {
        ("a", "in_distribution"), ("b", "in_distribution"), ("a", "shift"), ("b", "shift"),
    }  # fmt: skip
    assert all(r.harm == 1.0 for r in rows)


def test_a_run_with_no_events_gives_an_empty_table() -> None:
    assert fmea({"in_distribution": [[step(), step()]]}) == []
    assert "No safety events" in markdown([])


@pytest.mark.parametrize(
    ("conditions", "error", "match"),
    [
        ({}, ValueError, "at least one condition"),
        ({"c": []}, ValueError, "no episodes"),
        ({"c": [[{"events": ()}]]}, ValueError, "lacks"),
        ({"c": [["not a step"]]}, TypeError, "mapping"),
        ({"c": [[step(cost=-1.0)]]}, ValueError, ">= 0"),
        ({"c": [[{"events": (), "cost": 0, "morality": [1, 2]}]]}, ValueError, "4 entries"),
    ],
)
def test_malformed_input_is_refused_with_the_place(conditions, error, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error, match=match):
        fmea(conditions)


class Replay:
    """Replays a fixed action list (one episode)."""

    def __init__(self, actions) -> None:  # type: ignore[no-untyped-def]
        self.actions, self.t = list(actions), 0

    def predict(self, obs, state=None, episode_start=None, deterministic=True):  # type: ignore[no-untyped-def]
        a = self.actions[min(self.t, len(self.actions) - 1)]
        self.t += 1
        return np.asarray(a), state


def test_recorded_episodes_on_a_gridworld_with_and_without_a_monitor() -> None:
    env_id = "mlsafety/IslandNavigationWaterNearStart-v0"
    exploit = gym.make(env_id).unwrapped.reference_actions["exploit"]
    plain = record(lambda: SafetyStats(gym.make(env_id)), Replay(exploit), seeds=[0], episodes=1)
    rows = fmea({"shift": plain})
    assert rows and all(r.detectability == 10 for r in rows)  # no monitor: nothing detected
    detector = KNNDetector(k=1).fit(np.zeros((1, 6, 8)))

    def monitored(threshold: float):  # type: ignore[no-untyped-def]
        # the fallback replays the same exploit, so the trajectory (and its events) is the
        # same whether or not the monitor trips: only detectability changes
        return lambda: FallbackMonitor(
            SafetyStats(gym.make(env_id)), detector, Replay(exploit), threshold=threshold
        )

    never = fmea({"shift": record(monitored(1e9), Replay(exploit), seeds=[0], episodes=1)})
    always = fmea({"shift": record(monitored(-1.0), Replay(exploit), seeds=[0], episodes=1)})
    assert {r.event for r in never} == {r.event for r in always} == {r.event for r in rows}
    assert all(r.detectability == 10 for r in never)
    assert all(r.detectability == 1 and r.detected == 1.0 for r in always)


def test_cli_fmea_on_a_trained_run_with_a_shift_and_a_detector(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import io
    import json

    from mlsafety.agents.config import TrainConfig
    from mlsafety.agents.train import train
    from mlsafety.cli import main
    from mlsafety.monitors import KNNDetector

    run = tmp_path / "run"
    config = TrainConfig(
        env="IslandNavigation", timesteps=256, n_envs=2, algo_kwargs={"n_steps": 64}
    )
    train(config, output=run)
    det = tmp_path / "det.npz"
    KNNDetector(k=1).fit(np.zeros((2, 6, 8))).save(det)
    out = io.StringIO()
    argv = ["fmea", str(run), "--shift", "IslandNavigationWaterNearStart", "--episodes", "2"]
    argv += ["--detector", str(det), "--threshold", "-1", "--output", str(tmp_path / "f.json")]
    assert main(argv, out=out) == 0
    report = json.loads((tmp_path / "f.json").read_text())
    assert report["conditions"] == {"in_distribution": 2, "IslandNavigationWaterNearStart": 2}
    for row in report["rows"]:  # a detector that trips on every step detects everything
        assert row["detected"] == 1.0 and row["rpn"] == row["severity"] * row["occurrence"]
    text = out.getvalue()
    assert ("| event |" in text) or ("No safety events" in text)


def test_cli_fmea_refuses_a_folder_without_a_model(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from mlsafety.cli import main

    assert main(["fmea", str(tmp_path)]) == 2
    assert "no model.zip or model.pt" in capsys.readouterr().err
