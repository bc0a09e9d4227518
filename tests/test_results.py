"""The benchmark results format: written atomically, validated on read, rendered to Markdown."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mlsafety.io import FormatError
from mlsafety.results import Results, Table, load_results, render_markdown, write_results

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "render_results.py"


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


def _two_tables() -> Results:
    doc = _doc()
    doc.tables.append(Table("u", "Harm by shift", ["shift", "harm"], [["noise", 0.5]]))
    return doc


def test_render_only_the_chosen_tables_and_figures_in_their_order():
    doc = _two_tables().as_dict()
    doc["figures"] = [{"id": "f", "title": "Bars", "path": "f.png"}]
    md = render_markdown(doc, tables=["u", "t"], figures=[])
    assert md.index("Harm by shift") < md.index("Cost by layer") and "f.png" not in md
    md = render_markdown(doc, tables=["u"])
    assert "Cost by layer" not in md and "![Bars](f.png)" in md
    with pytest.raises(ValueError, match=r"no table 'v'.*its tables are: t, u"):
        render_markdown(doc, tables=["v"])


def test_embedded_block_with_a_table_selection(tmp_path):
    spec = importlib.util.spec_from_file_location("render_results", SCRIPT)
    assert spec is not None and spec.loader is not None
    render = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(render)
    source, docs = tmp_path / "results", tmp_path / "docs"
    docs.mkdir()
    write_results(source / "demo.json", _two_tables())
    page = docs / "page.md"
    page.write_text("intro\n<!-- results:demo tables=u -->\nold\n<!-- /results:demo -->\nend\n")
    text = render.embedded(source, docs, extra=())[page]
    assert "| noise | 0.5 |" in text and "Cost by layer" not in text
    assert text.startswith("intro\n<!-- results:demo tables=u -->\n### Demo results")
    assert text.endswith("<!-- /results:demo -->\nend\n")
    page.write_text("<!-- results:demo tables=nope -->\n<!-- /results:demo -->\n")
    with pytest.raises(SystemExit, match="embeds 'demo': no table 'nope'"):
        render.embedded(source, docs, extra=())
