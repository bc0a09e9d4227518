"""The documentation site: a generated page and picture for every registered env, the
tutorials' code runs, and the site builds strictly.

Code blocks in the tutorial pages and Getting started follow the README's rules
(tests/test_readme.py): a page's python blocks run in order in one fresh interpreter (a
tutorial is one script), every bash block runs or says why not (``<!-- not-run: why -->``);
blocks marked ``<!-- slow -->`` (training) run only in the slow tests.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import mlsafety.envs
from mlsafety.envs.registration import CATALOGUE

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import build_docs  # noqa: E402  (a script, not a package)
import env_pictures  # noqa: E402

PAGES = [ROOT / "docs" / "getting-started.md", *sorted((ROOT / "docs" / "tutorials").glob("*.md"))]
BLOCK = re.compile(r"(<!-- [^>]+ -->\n)?```(python|bash)\n(.*?)```", flags=re.S)


def blocks(page: Path, lang: str, slow: bool) -> list[str]:
    """The runnable blocks of ``lang`` on ``page``: slow ones only when ``slow``."""
    out = []
    for marker, kind, body in BLOCK.findall(page.read_text()):
        if kind != lang or "not-run:" in marker:
            continue
        if ("<!-- slow -->" in marker) == slow:
            out.append(body)
    return out


def run(code: list[str], lang: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    bin_dir = str(Path(sys.executable).parent)
    if lang == "python":
        cmd = [sys.executable, "-c", "\n".join(code)]
    else:
        script = "\n".join(code).replace("mlsafety ", f"{sys.executable} -m mlsafety ")
        cmd = ["bash", "-e", "-c", script]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900, env=env)


def name(x: object) -> str:
    return x.stem if isinstance(x, Path) else str(x)


def with_blocks(slow: bool) -> list[tuple[Path, str]]:
    return [(p, lang) for p in PAGES for lang in ("python", "bash") if blocks(p, lang, slow)]


def test_the_tutorials_have_code_to_run() -> None:
    assert len(with_blocks(slow=False)) >= 4 and with_blocks(slow=True)


@pytest.mark.parametrize(("page", "lang"), with_blocks(slow=False), ids=name)
def test_page_code_runs(page: Path, lang: str, tmp_path: Path) -> None:
    code = blocks(page, lang, slow=False)
    proc = run(code, lang, tmp_path)
    assert proc.returncode == 0, f"{page.name} {lang} blocks:\n{proc.stderr[-3000:]}"


@pytest.mark.slow
@pytest.mark.parametrize(("page", "lang"), with_blocks(slow=True), ids=name)
def test_page_slow_code_runs(page: Path, lang: str, tmp_path: Path) -> None:
    code = blocks(page, lang, slow=True)
    proc = run(code, lang, tmp_path)
    assert proc.returncode == 0, f"{page.name} slow {lang} blocks:\n{proc.stderr[-3000:]}"


def test_every_shell_block_runs_or_says_why_not() -> None:
    for page in [*PAGES, *sorted((ROOT / "docs" / "guide").glob("*.md"))]:
        for marker, _, _ in BLOCK.findall(page.read_text()):
            if "not-run:" in marker:
                reason = marker.split("not-run:", 1)[1].strip(" ->\n")
                assert len(reason) > 10, f"{page.name}: a reason, not a tag: {marker!r}"


@pytest.mark.parametrize("env_id", sorted(CATALOGUE))
def test_every_registered_env_has_a_page(env_id: str) -> None:
    entry = CATALOGUE[env_id]
    text = build_docs.page(entry, ("X.png", "a caption"))
    assert text.startswith(f"# {build_docs.bare(env_id)}\n")
    for heading in ("Proxy reward and true objective", "Safety events", "Variants"):
        assert f"\n## {heading}\n" in text, heading
    assert "## Version history" in text and "## Citation" in text
    assert "![" in text and "(img/X.png)" in text
    assert f"`{env_id}`" in text
    assert entry.summary in text
    events = build_docs.spaces(entry)[-1][1]
    assert events != ""
    assert not re.search(r"(?<!`)``(?!`)", text), "reST literal left in the page"
    assert not re.search(r"::$", text, flags=re.M), "reST literal block left in the page"


def test_index_lists_every_env_with_its_thumbnail() -> None:
    index = build_docs.index({i: f"{build_docs.bare(i)}_thumb.png" for i in CATALOGUE})
    for env_id in CATALOGUE:
        name = build_docs.bare(env_id)
        assert f"[`{env_id}`]({name}.md)" in index
        assert f"(img/{name}_thumb.png)" in index


def test_citations_follow_the_source() -> None:
    boat = build_docs.citations(CATALOGUE["mlsafety/BoatRace-v0"], "")
    assert "AI Safety Gridworlds" in boat and "@article{leike2017gridworlds" in boat
    text = build_docs.citations(CATALOGUE["mlsafety/TextBakery-v0"], "")
    assert "Jiminy Cricket" in text and "TextWorld" in text
    pricing = CATALOGUE["mlsafety/PricingDuopoly-v0"]
    assert "Calvano" in build_docs.citations(pricing, build_docs.env_class(pricing).__doc__)
    assert "reproduces no published env" in build_docs.citations(
        CATALOGUE["mlsafety/StagHunt-v0"], ""
    )


def test_rst_becomes_markdown() -> None:
    md = build_docs.rst_to_md("A board::\n\n    ##\n    #A\n\nThen :class:`~a.b.C` and ``x``.")
    assert "```text\n##\n#A\n```" in md
    assert "A board:" in md and "`C`" in md and "`x`" in md and "::" not in md
    lead, secs = build_docs.sections("Lead.\n\n**Reward.** Own profit.\n\n## Termination\nNever.")
    assert lead == "Lead." and secs == {"Reward": "Own profit.", "Termination": "Never."}


@pytest.mark.parametrize(
    "env_id", ["mlsafety/BoatRace-v0", "mlsafety/TextBakery-v0", "mlsafety/StagHunt-v0"]
)
def test_pictures(env_id: str, tmp_path: Path) -> None:
    full, thumb, caption = env_pictures.write_picture(CATALOGUE[env_id], tmp_path)
    from PIL import Image

    big, small = Image.open(tmp_path / full), Image.open(tmp_path / thumb)
    assert big.width > 200 and big.height > 80 and small.width <= 240
    assert len(np.unique(np.asarray(big.convert("L")))) > 2  # not a blank canvas
    if env_id.endswith("BoatRace-v0"):
        assert caption == "scripted paths: exploit and safe"


def test_exploit_row_shows_the_proxy_truth_gap() -> None:
    rows = env_pictures.grid_rows(CATALOGUE["mlsafety/BoatRace-v0"])
    exploit, safe = (r for r in rows if r.label in ("exploit", "safe"))
    assert exploit.proxy == safe.proxy and exploit.true < safe.true
    assert exploit.events["reward_gaming"] > 0 and "reward_gaming" not in safe.events


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None, reason="the docs extra")
def test_site_builds_strictly(tmp_path: Path) -> None:
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts" / "docs.sh"), "--no-pictures"],
        capture_output=True, text=True, timeout=900, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert (ROOT / "site" / "envs" / "BoatRace" / "index.html").exists()
    assert mlsafety.envs.env_ids()
