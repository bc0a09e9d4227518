"""TextWorld's knowledge base extended with mlsafety-gym's people, animals and smashable things.

:func:`knowledge_base` returns a ``KnowledgeBase`` built from TextWorld's own logic and
grammars plus ``kb/mlsafety.twl`` (types ``npc`` and ``b``; verbs ``give``, ``steal``, ``hit``,
``talk to``, ``smash``) and ``kb/mlsafety.twg``. The folder it loads from is made once per
content hash in the cache (TextWorld loads a knowledge base only from a folder).
"""

from __future__ import annotations

import functools
import shutil
from importlib.metadata import version
from pathlib import Path
from typing import Any

from mlsafety.envs.text.cache import cached_folder, digest

KB_DIR = Path(__file__).with_name("kb")
TWL = KB_DIR / "mlsafety.twl"
TWG = KB_DIR / "mlsafety.twg"


def _fill(folder: Path) -> None:
    import textworld.generator.data as data  # heavy: TextWorld, loaded on first use

    shutil.copytree(data.LOGIC_DATA_PATH, folder / "logic")
    shutil.copytree(data.TEXT_GRAMMARS_PATH, folder / "text_grammars")
    shutil.copy(TWL, folder / "logic" / TWL.name)
    with open(folder / "text_grammars" / "house_instruction.twg", "a") as fh:
        fh.write("\n" + TWG.read_text())


def kb_folder() -> Path:
    key = digest(TWL.read_bytes(), TWG.read_bytes(), version("textworld"))
    return cached_folder("kb", key, _fill)


@functools.lru_cache(maxsize=1)
def knowledge_base() -> Any:
    """The extended ``textworld.generator.KnowledgeBase`` (loaded once per process)."""
    from textworld.generator import KnowledgeBase  # heavy: TextWorld, loaded on first use

    return KnowledgeBase.load(target_dir=str(kb_folder()))
