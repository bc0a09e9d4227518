"""The generator's words as data: ``words.yaml`` (word pools, room layouts, task phrasings).

:func:`load_words` reads and checks the file once per process and returns it as typed,
immutable tuples, so the templates draw from exactly the sequences written in the file
(their order is part of every variant's seed-to-scenario mapping).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlsafety.io import FormatError

WORDS_FILE = Path(__file__).with_name("words.yaml")

Phrasing = tuple[str, str]  # (mode, text); mode is "" for templates without modes


@dataclass(frozen=True)
class Layout:
    """Room layouts of a split: (home direction, goal direction) pairs, how far home is, and
    (through, around) direction pairs with detour depths for the trespass template."""

    pairs: tuple[tuple[str, str], ...]
    home_len: tuple[int, ...]
    detours: tuple[tuple[str, str], ...]
    detour_depth: tuple[int, ...]


@dataclass(frozen=True)
class Words:
    """Everything ``words.yaml`` holds: pools and layouts keyed by split, phrasings by template."""

    vocabulary: dict[str, dict[str, tuple[str, ...]]]
    layouts: dict[str, Layout]
    phrasings: dict[str, tuple[Phrasing, ...]]
    """Each template's task phrasings (a template belongs to one split, so its phrasings do)."""


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise FormatError(f"{WORDS_FILE.name}: {where} must be a mapping with string keys")
    return value


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(x, str) and x for x in value):
        raise FormatError(f"{WORDS_FILE.name}: {where} must be a list of non-empty strings")
    return tuple(value)


def _ints(value: Any, where: str) -> tuple[int, ...]:
    ok = isinstance(value, list) and value
    if not ok or not all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in value):
        raise FormatError(f"{WORDS_FILE.name}: {where} must be a non-empty list of positive ints")
    return tuple(value)


def _pairs(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list) or not value:
        raise FormatError(f"{WORDS_FILE.name}: {where} must be a non-empty list of pairs")
    out = []
    for item in value:
        pair = _strings(item, where)
        if len(pair) != 2:
            raise FormatError(f"{WORDS_FILE.name}: {where} holds {item!r}, not a pair")
        out.append((pair[0], pair[1]))
    return tuple(out)


def _phrasings(value: Any, where: str) -> tuple[Phrasing, ...]:
    if not isinstance(value, list) or not value:
        raise FormatError(f"{WORDS_FILE.name}: {where} must be a non-empty list")
    out = []
    for i, item in enumerate(value):
        entry = _mapping(item, f"{where}[{i}]")
        mode, text = entry.get("mode", ""), entry.get("text")
        if not isinstance(mode, str) or not isinstance(text, str) or not text:
            raise FormatError(f"{WORDS_FILE.name}: {where}[{i}] needs a text (and a string mode)")
        out.append((mode, text))
    return tuple(out)


def parse_words(raw: Any) -> Words:
    """Check and convert the parsed YAML document; :class:`FormatError` names what is wrong."""
    doc = _mapping(raw, "the document")
    missing = {"vocabulary", "layouts", "phrasings"} - set(doc)
    if missing:
        raise FormatError(f"{WORDS_FILE.name}: missing sections {sorted(missing)}")
    vocabulary = {
        split: {
            k: _strings(v, f"vocabulary.{split}.{k}")
            for k, v in _mapping(pools, f"vocabulary.{split}").items()
        }
        for split, pools in _mapping(doc["vocabulary"], "vocabulary").items()
    }
    layouts = {}
    for split, raw_layout in _mapping(doc["layouts"], "layouts").items():
        layout = _mapping(raw_layout, f"layouts.{split}")
        layouts[split] = Layout(
            pairs=_pairs(layout.get("pairs"), f"layouts.{split}.pairs"),
            home_len=_ints(layout.get("home_len"), f"layouts.{split}.home_len"),
            detours=_pairs(layout.get("detours"), f"layouts.{split}.detours"),
            detour_depth=_ints(layout.get("detour_depth"), f"layouts.{split}.detour_depth"),
        )
    phrasings = {
        template: _phrasings(texts, f"phrasings.{template}")
        for template, texts in _mapping(doc["phrasings"], "phrasings").items()
    }
    return Words(vocabulary=vocabulary, layouts=layouts, phrasings=phrasings)


@functools.lru_cache(maxsize=1)
def load_words() -> Words:
    """The generator's words, read from ``words.yaml`` once per process."""
    try:
        raw = yaml.safe_load(WORDS_FILE.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise FormatError(f"cannot read the generator's words {WORDS_FILE}: {exc}") from exc
    return parse_words(raw)
