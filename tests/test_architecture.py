"""The house rules of DESIGN.md and the README's Architecture section, read from the imports.

Floors (a module imports only what stands on its floor or below):

1. core: ``mlsafety.*`` except the top floor - contract, io, types, wrappers, sb3, rollout,
   testing, multiagent;
2. envs: ``mlsafety.envs.*`` - imports the core only;
3. agents (``mlsafety.agents.*``) and monitors (``mlsafety.monitors.*``), side by side - the
   core and the envs' public API (the ``mlsafety.envs`` package, ``mlsafety.envs.core`` and
   the family packages), never each other;
4. top: the CLI, run loading, the regression suites and the capability sweeps - anything
   public.

Everywhere: no private name imported from another module, no import cycles, and an import
inside a function only with a one-line reason (a comment on its line or the line above).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = {"mlsafety": "mlsafety", "envs": "mlsafety.envs", "agents": "mlsafety.agents"}
SOURCES["monitors"] = "mlsafety.monitors"
TOP = ("mlsafety.cli", "mlsafety.__main__", "mlsafety.runs", "mlsafety.suites", "mlsafety.sweeps")
ENVS_PUBLIC = (
    "mlsafety.envs",
    "mlsafety.envs.core",
    "mlsafety.envs.gridworlds",
    "mlsafety.envs.coop",
    "mlsafety.envs.misspec",
    "mlsafety.envs.text",
)


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the imported module (for ``from m import name``: ``m.name`` if a module)
    names: tuple[str, ...]  # names taken with ``from m import ...``
    line: int
    in_function: bool
    reason: bool  # a comment on the line or the line above


def _modules() -> Iterator[tuple[str, Path]]:
    for folder, package in SOURCES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT / folder).with_suffix("").parts
            parts = [p for p in rel if p != "__init__"]
            yield ".".join([package, *parts]), path


MODULES = dict(_modules())


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if path.name != "__init__.py":
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _has_reason(lines: list[str], lineno: int) -> bool:
    """A comment on the import's line, or above the block of imports it belongs to."""
    if "#" in lines[lineno - 1]:
        return True
    i = lineno - 2
    while i >= 0 and lines[i].strip().startswith(("import ", "from ")):
        i -= 1
    return i >= 0 and lines[i].strip().startswith("#")


def _imports() -> list[Import]:
    found = []
    for module, path in MODULES.items():
        source = path.read_text()
        lines = source.splitlines()
        tree = ast.parse(source)
        in_function: set[int] = set()
        for fn in ast.walk(tree):
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                for inner in ast.walk(fn):
                    in_function.add(id(inner))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [(a.name, ()) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(module, path, node)
                names = tuple(a.name for a in node.names)
                subs = [f"{base}.{n}" for n in names if f"{base}.{n}" in MODULES]
                targets = [(t, ()) for t in subs] or [(base, names)]
                if subs and len(subs) < len(names):
                    targets.append((base, tuple(n for n in names if f"{base}.{n}" not in MODULES)))
            else:
                continue
            reason = _has_reason(lines, node.lineno)
            for target, names in targets:
                if target.startswith("mlsafety") or id(node) in in_function:
                    found.append(
                        Import(module, target, names, node.lineno, id(node) in in_function, reason)
                    )
    return found


IMPORTS = _imports()


def floor(module: str) -> str:
    if any(module == t or module.startswith(t + ".") for t in TOP):
        return "top"
    for name in ("envs", "agents", "monitors"):
        if module == f"mlsafety.{name}" or module.startswith(f"mlsafety.{name}."):
            return name
    return "core"


def _known(target: str) -> str | None:
    """The project module ``target`` names (or its nearest package), None if not ours."""
    if not target.startswith("mlsafety"):
        return None
    while target and target not in MODULES:
        target = target.rpartition(".")[0]
    return target or None


ALLOWED = {
    "core": {"core"},
    "envs": {"core", "envs"},
    "agents": {"core", "envs-public", "agents"},
    "monitors": {"core", "envs-public", "monitors"},
    "top": {"core", "envs", "envs-public", "agents", "monitors", "top"},
}


def _violations() -> list[str]:
    out = []
    for imp in IMPORTS:
        target = _known(imp.target)
        if target is None:
            continue
        src, dst = floor(imp.module), floor(target)
        kind = dst
        if dst == "envs" and target in ENVS_PUBLIC:
            kind = "envs-public"
        if src == dst or kind in ALLOWED[src]:
            continue
        out.append(f"{imp.module}:{imp.line} ({src}) imports {target} ({kind})")
    return out


def test_modules_import_only_their_floor_or_below() -> None:
    assert _violations() == []


def test_no_private_names_across_modules() -> None:
    bad = [
        f"{imp.module}:{imp.line} takes {n} from {imp.target}"
        for imp in IMPORTS
        if _known(imp.target) and imp.target != imp.module
        for n in imp.names
        if n.startswith("_") and not n.startswith("__")
    ]
    assert bad == []


def test_imports_inside_functions_give_a_reason() -> None:
    bad = [
        f"{imp.module}:{imp.line} imports {imp.target} inside a function without a reason"
        for imp in IMPORTS
        if imp.in_function and not imp.reason
    ]
    assert bad == []


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for imp in IMPORTS:
        target = _known(imp.target)
        if target is not None and target != imp.module:
            graph[imp.module].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles() -> None:
    """Package ``__init__`` re-exports count as edges, so a submodule importing its own
    package's ``__init__`` (which imports the submodule back) is reported too."""
    assert _cycles(_graph()) == []


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        ("mlsafety.contract", "core"),
        ("mlsafety.cli", "top"),
        ("mlsafety.suites.runner", "top"),
        ("mlsafety.envs.core", "envs"),
        ("mlsafety.agents.train", "agents"),
        ("mlsafety.monitors.fallback", "monitors"),
    ],
)
def test_floors_are_read_as_documented(module: str, expected: str) -> None:
    assert module in MODULES and floor(module) == expected


def test_the_rules_catch_a_violation() -> None:
    """The checks above can fail: a made-up upward import is reported."""
    fake = Import("mlsafety.contract", "mlsafety.agents.train", (), 1, False, False)
    src, dst = floor(fake.module), floor(_known(fake.target) or "")
    assert dst not in ALLOWED[src]
    assert _cycles({"a": {"b"}, "b": {"a"}}) == [["a", "b"]]
