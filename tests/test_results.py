"""The benchmark results format: written atomically, validated on read, rendered to Markdown."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mlsafety.io import FormatError
from mlsafety.results import Results, Table, load_results, render_markdown, write_results


def _doc() -> Results:
    return Results(
        benchmark="demo",
        title="Demo results",
        command="python benchmarks/demo.py --seeds 0 1",
        settings={"seeds": [0, 1]},
        tables=[Table("t", "Cost by layer", ["layer", "cost"], [["policy", 1.25], ["all", None]])],
        data={"per_seed": [1.0, float("nan")]},
    )


def test_round_trip_and_render(tmp_path):
    path = write_results(tmp_path / "r.json", _doc())
    doc = load_results(path)
    assert doc["data"]["per_seed"] == [1.0, None]  # strict JSON: NaN written as null
    assert doc["machine"]["cpus"] >= 1 and doc["date"]
    md = render_markdown(doc)
    assert "| policy | 1.25 |" in md and "| all | — |" in md
    assert "python benchmarks/demo.py --seeds 0 1" in md


def test_ragged_table_refused():
    with pytest.raises(ValueError, match="row 0 has 1 cells for 2 columns"):
        Table("t", "x", ["a", "b"], [["only one"]])


def test_foreign_and_newer_documents_refused(tmp_path):
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"format": "other"}))
    with pytest.raises(FormatError, match="expected 'mlsafety-results'"):
        load_results(path)
    doc = _doc().as_dict()
    doc["version"] = 99
    path.write_text(json.dumps(doc))
    with pytest.raises(FormatError, match="newer than this reader"):
        load_results(path)


def test_results_pages_are_rendered_from_the_json():
    """docs/results/*.md match what benchmarks/results/*.json render to (nothing pasted)."""
    script = Path(__file__).resolve().parent.parent / "scripts" / "render_results.py"
    done = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
