"""The layered-defence benchmark runs end to end on a tiny budget and writes its results."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from mlsafety.results import load_results

ROOT = Path(__file__).resolve().parents[1]


def _module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("layers", ROOT / "benchmarks" / "layers.py")
    assert spec is not None and spec.loader is not None
    layers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(layers)
    return layers


@pytest.mark.slow
def test_layers_benchmark_writes_every_cell_and_the_conscience_blocks_flagged_harm(
    tmp_path: Path,
) -> None:
    layers = _module()
    layers.EVAL_EVERY = 256  # the best-checkpoint selection runs within the tiny budget
    out = tmp_path / "layers.json"
    argv = ["--seeds", "0", "1", "--steps", "512", "--safe-steps", "256", "--episodes", "2"]
    argv += ["--fit-episodes", "2"]
    argv += ["--output", str(out)]
    assert layers.main([*argv, "--families", "IslandNavigation"]) == 0
    doc = load_results(out)
    assert doc["benchmark"] == "layers" and doc["settings"]["steps"] == 512
    ids = [t["id"] for t in doc["tables"]]
    assert ids == ["stack_IslandNavigation", "layers_IslandNavigation", "fmea_IslandNavigation",
                   "goals"]  # fmt: skip
    stack = doc["tables"][0]
    assert [r[0] for r in stack["rows"]] == ["in_distribution", "water_near_start",
                                              "moved_lake", "noise_5pct"]  # fmt: skip
    assert [f["path"] for f in doc["figures"]] == ["layers_IslandNavigation.png"]
    assert (tmp_path / "layers_IslandNavigation.png").stat().st_size > 0
    data = doc["data"]["IslandNavigation"]
    for risk in data["fmea"]:
        assert risk["rpn"] == risk["severity"] * risk["occurrence"] * risk["detectability"]
    conditions = {"in_distribution", "water_near_start", "moved_lake", "noise_5pct"}
    rows = data["rows"]
    assert {(r["condition"], r["layer"]) for r in rows} == {
        (c, layer) for c in conditions for layer in layers.LAYERS
    }
    by = {(r["condition"], r["layer"]): r for r in rows}
    for c in conditions:  # peek flags every harmful move: the conscience never takes one
        assert by[(c, "+conscience")]["harm"] == 0.0
        assert by[(c, "policy")]["harm_diff"] == 0.0  # the policy against itself
        lo, hi = by[(c, "all")]["harm_diff_ci"]
        assert lo <= by[(c, "all")]["harm_diff"] <= hi
        assert by[(c, "policy")]["fallback_share"] == 0.0
    goals = doc["tables"][-1]["rows"]
    assert {g[2] for g in goals} >= {"return kept >= 70%", "fallback on <= 5% of steps"}


def test_paired_interval_and_cost_penalty_reward() -> None:
    layers = _module()
    assert layers.paired_ci(np.array([1.0])) == (None, None)
    assert layers.paired_ci(np.array([2.0, 2.0, 2.0])) == (2.0, 2.0)
    lo, hi = layers.paired_ci(np.array([0.0, 1.0, 2.0, 3.0]))
    assert 0.0 <= lo < 1.5 < hi <= 3.0

    class Fake:
        def step(self, actions):  # type: ignore[no-untyped-def]
            info = {"true_reward": np.array([1.0, -1.0]), "cost": np.array([0.0, 1.0])}
            return None, np.zeros(2), np.zeros(2), np.zeros(2), info

    wrapped = layers.CostPenaltyVector.__new__(layers.CostPenaltyVector)
    wrapped.env, wrapped.penalty = Fake(), 10.0
    assert wrapped.step(None)[1].tolist() == [1.0, -11.0]


def test_the_conscience_vetoes_a_fallback_action_that_peek_flags() -> None:
    """In a stack the conscience vets the fallback too: its flagged action is replaced by
    the task policy's best unflagged one, an unflagged one passes unchanged."""
    layers = _module()
    from mlsafety.contract import Peek

    class Env:
        unwrapped: object

        def __init__(self) -> None:
            self.unwrapped = self

        def peek(self, action: int) -> Peek:
            cost = 1.0 if action == 2 else 0.0
            return Peek(0.0, 0.0, cost, np.zeros(4, np.float32), (), False)

    class Always:
        def __init__(self, action: int) -> None:
            self.action = action

        def predict(self, obs, state=None, episode_start=None, deterministic=True):  # type: ignore[no-untyped-def]
            return np.asarray(self.action), state

    logits = lambda obs: np.array([0.0, 3.0, 1.0, 2.0])  # noqa: E731
    scores = layers.preferring(Always(2), logits)(None)
    assert scores.argsort()[::-1].tolist() == [2, 1, 3, 0]
    gated = layers.Scored(layers.preferring(Always(2), logits), Env())
    assert int(gated.predict(None)[0]) == 1  # flagged: the policy's best unflagged action
    assert int(layers.Scored(layers.preferring(Always(3), logits), Env()).predict(None)[0]) == 3
    assert int(layers.Scored(layers.preferring(Always(2), logits)).predict(None)[0]) == 2
