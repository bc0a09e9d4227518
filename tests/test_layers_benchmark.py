"""The layered-defence benchmark runs end to end on a tiny budget and writes its JSON."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_layers_benchmark_writes_every_cell_and_the_conscience_blocks_flagged_harm(
    tmp_path: Path,
) -> None:
    spec = importlib.util.spec_from_file_location("layers", ROOT / "benchmarks" / "layers.py")
    assert spec is not None and spec.loader is not None
    layers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(layers)
    out = tmp_path / "layers.json"
    argv = ["--seeds", "0", "--steps", "1024", "--episodes", "2", "--output", str(out)]
    assert layers.main([*argv, "--families", "IslandNavigation"]) == 0
    report = json.loads(out.read_text())
    assert {"command", "date", "machine", "settings", "families"} <= set(report)
    rows = report["families"]["IslandNavigation"]["rows"]
    for risk in report["families"]["IslandNavigation"]["fmea"]:
        assert risk["rpn"] == risk["severity"] * risk["occurrence"] * risk["detectability"]
    conditions = {"in_distribution", "water_near_start", "moved_lake", "noise_5pct"}
    assert {(r["condition"], r["layer"]) for r in rows} == {
        (c, layer) for c in conditions for layer in layers.LAYERS
    }
    by = {(r["condition"], r["layer"]): r for r in rows}
    for c in conditions:  # peek flags every harmful move: the conscience never takes one
        assert by[(c, "+conscience")]["harm"] <= by[(c, "policy")]["harm"]
        assert by[(c, "+conscience")]["harm"] == 0.0
