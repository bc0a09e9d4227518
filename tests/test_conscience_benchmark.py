"""The conscience benchmark's protocol: selection on train only, the paired bootstrap over
scenarios, and a scenario module from outside the package run end to end."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
THIRDPARTY = ROOT / "tests" / "thirdparty"
OUTSIDE = "outside_scenarios:SCENARIOS"


@pytest.fixture
def protocol(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.syspath_prepend(str(BENCH))
    monkeypatch.syspath_prepend(str(THIRDPARTY))
    import conscience_protocol.stats as stats

    yield stats


def row(set_: str, scenario: str, seed: int, variant: str, imm: float, comp: float, **kw: Any):
    return {
        "set": set_,
        "scenario": scenario,
        "seed": seed,
        "variant": variant,
        "setting": kw.get("setting", ""),
        "timesteps": kw.get("timesteps", 1000),
        "immorality": imm,
        "performance": comp,
    }


class HeldOutRow(dict):
    """A held-out row that fails the test if the selection reads anything but its set."""

    def __getitem__(self, key: str) -> Any:
        if key != "set":
            raise AssertionError(f"the selection rule read {key!r} of a held-out row")
        return super().__getitem__(key)


def train_grid() -> list[dict[str, Any]]:
    rows = []
    for sc in ("a", "b", "c"):
        for seed in (0, 1):
            rows.append(row("train", sc, seed, "baseline", 2.0, 100.0))
            # "gentle" keeps the task and halves harm; "harsh" removes harm and the task
            rows.append(row("train", sc, seed, "learned", 1.0, 95.0, setting="gentle"))
            rows.append(row("train", sc, seed, "learned", 0.0, 40.0, setting="harsh"))
    return rows


def test_selection_reads_train_rows_only(protocol: Any) -> None:
    stats = protocol
    rows = train_grid()
    key, table = stats.choose_setting(rows, "learned", 1000)
    assert key == "gentle"
    assert {r["setting"]: r["eligible"] for r in table} == {"gentle": True, "harsh": False}
    # held-out rows where "harsh" would win are never read, and change nothing
    held = [
        HeldOutRow(row("gen-test", "z", s, v, 5.0 if v == "baseline" else 0.0, 100.0, setting=k))
        for s in (0, 1)
        for v, k in (("baseline", ""), ("learned", "harsh"), ("learned", "gentle"))
    ]
    assert stats.choose_setting([*held, *rows], "learned", 1000)[0] == "gentle"
    length, _ = stats.choose_length([*held, *rows])
    assert length == 1000
    with pytest.raises(ValueError, match="no train rows"):
        stats.choose_setting(held, "learned", 1000)


def test_selection_falls_back_to_the_best_completion_and_the_shortest_length(
    protocol: Any,
) -> None:
    stats = protocol
    rows = [r for r in train_grid() if r["setting"] != "gentle"]
    assert stats.choose_setting(rows, "learned", 1000)[0] == "harsh"  # nothing keeps 90%
    rows = [
        row("train", "a", 0, "baseline", 1.0, 50.0, timesteps=100),
        row("train", "a", 0, "baseline", 1.0, 95.0, timesteps=300),
        row("train", "a", 0, "baseline", 1.0, 100.0, timesteps=900),
    ]
    assert stats.choose_length(rows)[0] == 300
    assert stats.choose_length(rows[:1])[0] == 100  # below the floor: the best there is
    choices = {
        "learned": {"cut": 0.8, "keep": 0.7},
        "context": {"cut": 0.55, "keep": 0.95},
        "oracle": {"cut": 1.0, "keep": 1.0},
    }
    assert stats.choose_best(choices) == "context"  # the oracle is a bound, never "best"


def test_paired_bootstrap_is_over_scenarios_and_pairs_seeds(protocol: Any) -> None:
    stats = protocol
    rng = np.random.default_rng(0)
    rows = []
    for i in range(12):  # every scenario: the conscience halves harm, keeps completion
        base = float(rng.uniform(1, 4))
        for seed in range(5):
            noise = float(rng.normal(0, 0.5))  # shared by the pair: cancels when paired
            rows.append(row("gen-test", f"s{i}", seed, "baseline", base + noise, 100.0))
            rows.append(row("gen-test", f"s{i}", seed, "ctx", 0.5 * (base + noise), 100.0))
    e = stats.paired_effects(rows, "ctx", n_resamples=999)
    assert e["scenarios"] == 12 and e["harm_fell"] == 12 and e["completion_fell"] == 0
    assert e["cut"] == pytest.approx(0.5)
    lo, hi = e["cut_ci"]
    assert 0.45 < lo <= 0.5 <= hi < 0.55
    assert e["keep"] == pytest.approx(1.0) and e["goal_met"] is True
    # two scenarios, many seeds: one helped, one harmed; the interval is over scenarios,
    # so it spans both effects however many seeds there are
    rows = []
    for seed in range(50):
        rows += [
            row("t", "up", seed, "baseline", 1.0, 100.0),
            row("t", "up", seed, "ctx", 2.0, 100.0),
            row("t", "down", seed, "baseline", 2.0, 100.0),
            row("t", "down", seed, "ctx", 1.0, 100.0),
        ]
    e = stats.paired_effects(rows, "ctx", n_resamples=999)
    lo, hi = e["d_imm_ci"]
    assert lo == pytest.approx(-1.0) and hi == pytest.approx(1.0)
    assert e["goal_met"] is False


def test_bootstrap_drops_undefined_resamples(protocol: Any) -> None:
    stats = protocol
    b = np.array([0.0, 0.0, 2.0, 4.0])
    c = np.array([0.0, 0.0, 1.0, 2.0])
    lo, hi = stats.bootstrap_ci(stats.ratio_cut, b, c, 999, 0)
    assert lo == pytest.approx(0.5) and hi == pytest.approx(0.5)
    assert stats.bootstrap_ci(stats.ratio_cut, b[:1], c[:1], 999, 0) == (None, None)


def test_an_outside_module_gives_held_out_scenarios_and_plays(protocol: Any) -> None:
    from conscience_protocol.jobs import run_job
    from conscience_protocol.scenarios import load_module_scenarios, scenario_sets

    sets = scenario_sets(2, 1, [OUTSIDE, "outside_scenarios:KITTEN_SHOW"], hand=False)
    assert set(sets) == {"train", "gen-test", OUTSIDE, "outside_scenarios:KITTEN_SHOW"}
    assert [s[2] for s in sets[OUTSIDE]] == ["OutsideKittenShow", "OutsideColdNight"]
    assert [s.name for s in load_module_scenarios("outside_scenarios")] == [
        "OutsideKittenShow",
        "OutsideColdNight",
    ]
    with pytest.raises(ValueError, match="has no NOPE"):
        load_module_scenarios("outside_scenarios:NOPE")
    with pytest.raises(ValueError, match="cannot import"):
        load_module_scenarios("no_such_module_anywhere")
    with pytest.raises(ValueError, match="expected a Scenario"):
        load_module_scenarios("outside_scenarios:__doc__")
    job = {
        "stage": "heldout",
        "set": OUTSIDE,
        "spec": list(sets[OUTSIDE][0]),
        "seed": 0,
        "episodes": 3,
        "algo": "-",
        "variant": "random",
        "setting": "",
        "timesteps": 0,
    }
    out = run_job(job)
    assert out["scenario"] == "OutsideKittenShow"
    assert 0.0 <= out["performance"] <= 100.0 and out["immorality"] >= 0.0


@pytest.mark.slow
def test_protocol_runs_an_outside_module_end_to_end(
    protocol: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = importlib.util.spec_from_file_location("conscience_bench", BENCH / "conscience.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "conscience.json"
    monkeypatch.setattr(sys, "argv", ["conscience.py"])
    argv = [
        "--workers",
        "1",
        "--n-train",
        "1",
        "--n-test",
        "1",
        "--no-hand",
        "--no-grid",
        "--lengths",
        "256",
        "--check-algos",
        "drrn",
        "--check-timesteps",
        "64",
        "--select-seeds",
        "0",
        "--seeds",
        "0",
        "1",
        "--episodes",
        "2",
        "--gammas",
        "10",
        "--thresholds",
        "0.5",
        "--shapings",
        "policy",
        "--variants",
        "learned",
        "--bootstrap",
        "99",
        "--scenarios",
        OUTSIDE,
        "--output",
        str(out),
    ]
    assert bench.main(argv) == 0
    doc = json.loads(out.read_text())
    ids = [t["id"] for t in doc["tables"]]
    assert ids == ["length", "grid", "heldout", "scenarios", "learning"]
    held = {(r[0], r[1]) for r in doc["tables"][2]["rows"]}
    assert held == {("gen-test", "learned (best)"), (OUTSIDE, "learned (best)")}
    names = {r["scenario"] for r in doc["data"]["rows"] if r["set"] == OUTSIDE}
    assert names == {"OutsideKittenShow", "OutsideColdNight"}
    selection = [r for r in doc["data"]["rows"] if r["stage"] == "select"]
    assert selection and all(r["set"] == "train" for r in selection)
    algos = {r[0] for r in doc["tables"][4]["rows"]}
    assert algos == {"maskable_ppo", "drrn"}


def test_render_puts_the_results_between_the_markers(protocol: Any, tmp_path: Path) -> None:
    from mlsafety.results import Results, Table, write_results

    spec = importlib.util.spec_from_file_location("conscience_bench", BENCH / "conscience.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    results = tmp_path / "r.json"
    table = Table("heldout", "Held out", ["set", "cut"], [["gen-test", 0.61]])
    write_results(results, Results("conscience", "Conscience", "python x", {}, [table]))
    page = tmp_path / "page.md"
    page.write_text(f"# Page\n{bench.MARKERS[0]}\nold\n{bench.MARKERS[1]}\ntail\n")
    assert bench.main(["--render", str(page), "--output", str(results)]) == 0
    text = page.read_text()
    assert "old" not in text and "| gen-test | 0.61 |" in text and text.endswith("tail\n")
    page.write_text("no markers")
    with pytest.raises(ValueError, match="no <!-- results:conscience -->"):
        bench.main(["--render", str(page), "--output", str(results)])
