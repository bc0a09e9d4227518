"""One format for benchmark results: JSON documents that tables and plots are rendered from.

Every script in ``benchmarks/`` writes one results document with :func:`write_results`.
The README and the documentation site never hold pasted numbers: their tables are rendered
from these files by :func:`render_markdown` (``python scripts/render_results.py``).

A document (``format: mlsafety-results``, ``version: 1``) holds:

* ``benchmark`` (short name, e.g. ``"layers"``), ``title``, ``command`` (how to rerun it),
  ``date`` (UTC, ISO 8601), ``machine`` (from :func:`machine_info`), ``settings`` (every
  knob of the run);
* ``tables``: a list of :class:`Table` (``id``, ``title``, ``columns``, ``rows``, ``note``);
  cells are strings, numbers or ``None`` (rendered as an em dash);
* ``figures``: a list of ``{"id", "title", "path"}`` with ``path`` relative to the JSON
  file's folder;
* ``data``: anything else the run measured (per-seed numbers, raw arrays as lists), free
  form but strict JSON.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlsafety.io import FormatError, PathLike, atomic_write_text, dumps_strict

FORMAT = "mlsafety-results"
VERSION = 1

Cell = str | int | float | None


@dataclass
class Table:
    """One results table: ``rows`` are lists of cells, one per column."""

    id: str
    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[Cell]]
    note: str = ""

    def __post_init__(self) -> None:
        for i, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise ValueError(
                    f"table {self.id!r}: row {i} has {len(row)} cells for "
                    f"{len(self.columns)} columns {self.columns}"
                )

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "columns": list(self.columns),
            "rows": [list(r) for r in self.rows],
            "note": self.note,
        }


@dataclass
class Figure:
    """A picture written beside the JSON file (``path`` relative to its folder)."""

    id: str
    title: str
    path: str


@dataclass
class Results:
    """A whole results document; see the module docstring for the fields."""

    benchmark: str
    title: str
    command: str
    settings: dict[str, Any]
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    date: str = ""
    machine: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "benchmark": self.benchmark,
            "title": self.title,
            "command": self.command,
            "date": self.date or now(),
            "machine": self.machine or machine_info(),
            "settings": self.settings,
            "tables": [t.as_dict() for t in self.tables],
            "figures": [vars(f) for f in self.figures],
            "data": self.data,
        }


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def command_line(argv: Sequence[str] | None = None) -> str:
    """The command that reproduces this run: ``python <script> <args>``, shell-quoted."""
    args = list(sys.argv if argv is None else argv)
    if args:
        script = Path(args[0])
        try:
            args[0] = str(script.resolve().relative_to(Path.cwd()))
        except ValueError:
            args[0] = script.name
    return shlex.join(["python", *args])


def machine_info() -> dict[str, Any]:
    """Platform, CPU count, Python and (when installed) torch and its device."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    if hasattr(os, "getloadavg"):  # other work sharing the machine makes timings noisy
        info["load_average_15min"] = round(os.getloadavg()[2], 2)
    torch = sys.modules.get("torch")  # only when the benchmark already imported it
    if torch is not None:
        info["torch"] = str(torch.__version__)
        info["torch_threads"] = int(torch.get_num_threads())
        info["cuda"] = (
            str(torch.cuda.get_device_name(0)) if torch.cuda.is_available() else "not available"
        )
    return info


def write_results(path: PathLike, results: Results | Mapping[str, Any]) -> Path:
    """Validate and write a results document atomically (strict JSON); returns the path."""
    doc = results.as_dict() if isinstance(results, Results) else dict(results)
    validate(doc, str(path))
    return atomic_write_text(path, dumps_strict(doc, indent=1) + "\n")


def load_results(path: PathLike) -> dict[str, Any]:
    """Read and validate a results document; :class:`FormatError` names what is wrong."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise FormatError(f"{path}: not JSON ({exc})") from exc
    validate(doc, str(path))
    return dict(doc)


def validate(doc: Any, where: str = "results") -> None:
    """Raise :class:`FormatError` unless ``doc`` is a results document this reader knows."""
    if not isinstance(doc, Mapping):
        raise FormatError(f"{where}: a results document is a JSON object")
    if doc.get("format") != FORMAT:
        raise FormatError(
            f"{where}: format is {doc.get('format')!r}, expected {FORMAT!r} "
            "(write it with mlsafety.results.write_results)"
        )
    version = doc.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise FormatError(
            f"{where}: version {version!r} is newer than this reader's {VERSION}; "
            "upgrade mlsafety-gym"
        )
    for key in ("benchmark", "title", "command", "date"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            raise FormatError(f"{where}: {key!r} must be a non-empty string")
    tables = doc.get("tables", [])
    if not isinstance(tables, list):
        raise FormatError(f"{where}: 'tables' must be a list")
    for i, t in enumerate(tables):
        if not isinstance(t, Mapping) or not {"id", "title", "columns", "rows"} <= set(t):
            raise FormatError(f"{where}: table {i} needs id, title, columns and rows")
        for j, row in enumerate(t["rows"]):
            if len(row) != len(t["columns"]):
                raise FormatError(
                    f"{where}: table {t['id']!r} row {j} has {len(row)} cells for "
                    f"{len(t['columns'])} columns"
                )


def format_cell(value: Any, digits: int = 3) -> str:
    """A cell as Markdown text: floats to ``digits`` significant figures, None as a dash."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value == 0:
            return "0"
        if abs(value) >= 1e15 or abs(value) < 10 ** -(digits - 1):
            return f"{value:.{digits - 1}e}"
        if abs(value) >= 10 ** (digits - 1):
            return f"{value:,.0f}"
        if abs(value) >= 1:
            return f"{value:.{digits}g}"
        return f"{value:.{digits}f}".rstrip("0")
    return str(value).replace("|", "\\|").replace("\n", " ")


def table_markdown(table: Mapping[str, Any]) -> str:
    """One table as GitHub Markdown (title in bold, note in italics below)."""
    cols = [format_cell(c) for c in table["columns"]]
    lines = [f"**{table['title']}**", "", "| " + " | ".join(cols) + " |"]
    lines.append("|" + "|".join("---" for _ in cols) + "|")
    lines += ["| " + " | ".join(format_cell(c) for c in row) + " |" for row in table["rows"]]
    if table.get("note"):
        lines += ["", f"*{table['note']}*"]
    return "\n".join(lines)


def _select(items: list[Any], ids: Sequence[str] | None, what: str) -> list[Any]:
    """``items`` (dicts with an ``id``) in the order of ``ids``; all of them when None."""
    if ids is None:
        return items
    by = {item["id"]: item for item in items}
    missing = [i for i in ids if i not in by]
    if missing:
        raise ValueError(
            f"no {what} {', '.join(map(repr, missing))} in this results document; "
            f"its {what}s are: {', '.join(by) or 'none'}"
        )
    return [by[i] for i in ids]


def render_markdown(
    doc: Mapping[str, Any],
    *,
    heading: str = "##",
    figures_prefix: str = "",
    tables: Sequence[str] | None = None,
    figures: Sequence[str] | None = None,
) -> str:
    """A results document as Markdown: title, provenance, tables, figures.

    ``tables`` / ``figures``: only these ids, in this order (default: all of them); an
    unknown id raises :class:`ValueError` naming the ids the document has.
    """
    chosen_tables = _select(list(doc.get("tables", [])), tables, "table")
    chosen_figures = _select(list(doc.get("figures", [])), figures, "figure")
    lines = [f"{heading} {doc['title']}", ""]
    machine = doc.get("machine") or {}
    where = ", ".join(f"{k} {v}" for k, v in machine.items()) if machine else "unknown machine"
    lines += [f"Run {doc['date']} on {where}.", "", f"Command: `{doc['command']}`", ""]
    for t in chosen_tables:
        lines += [table_markdown(t), ""]
    for f in chosen_figures:
        lines += [f"![{f['title']}]({figures_prefix}{f['path']})", ""]
    return "\n".join(lines).rstrip() + "\n"


def default_output(benchmark: str) -> str:
    """Where a benchmark writes its document unless told otherwise."""
    return f"benchmarks/results/{benchmark}.json"


def publish(results: Results, path: PathLike | None = None) -> Path:
    """Print the document as Markdown and write it (default :func:`default_output`)."""
    target = write_results(path or default_output(results.benchmark), results)
    print(render_markdown(results.as_dict()), flush=True)
    print(f"written to {target}", flush=True)
    return target


def t_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t interval over independent units (seeds), ``(mean, low, high)``.

    For paired comparisons pass the per-unit differences. With one value the interval is
    the point itself (nothing varies that could be measured).
    """
    # heavy: scipy is only needed by the benchmarks that report intervals
    from scipy import stats

    arr = [float(v) for v in values]
    if not arr:
        raise ValueError("t_interval needs at least one value")
    mean = sum(arr) / len(arr)
    if len(arr) < 2:
        return mean, mean, mean
    sem = float(stats.sem(arr))
    if sem == 0:
        return mean, mean, mean
    low, high = stats.t.interval(confidence, len(arr) - 1, loc=mean, scale=sem)
    return mean, float(low), float(high)


def interval_cell(values: Sequence[float], digits: int = 3) -> str:
    """``mean [low, high]`` (95% t-interval) as one table cell."""
    mean, low, high = t_interval(values)
    if low == high:
        return format_cell(mean, digits)
    return f"{format_cell(mean, digits)} [{format_cell(low, digits)}, {format_cell(high, digits)}]"
