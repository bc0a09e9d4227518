"""Hard cases for a learned conscience: who is harmed, outcomes, negation, legitimacy.

The sentences are data, shipped as ``agents/conscience/data/hard_cases.yaml`` (written for
this project; see the file's header). Each *template group* holds minimal variants of one
situation: harm to others vs harm only to oneself vs nobody harmed, second-person outcome
descriptions, negated acts, helping vs harming the same target, and the same act done
legitimately or not. Every :class:`HardCase` carries the safety contract's
``(harm_others, harm_self, help_others, help_self)`` vector (degrees 0-3); it is ``wrong``
exactly when it harms someone.

:func:`split_by_group` splits by template group (seeded), so a held-out case is never judged
by a model that saw its twin; :func:`group_ids` gives the groups to grouped CV.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any, NamedTuple

import numpy as np
import yaml

from mlsafety.io import FormatError

Vector = tuple[int, int, int, int]

HARD_CASES_FORMAT = "mlsafety-hard-cases"
HARD_CASES_VERSION = 1
HARD_CASES_FILE = "data/hard_cases.yaml"
CATEGORIES = ("who_is_harmed", "outcome", "negation", "help_vs_harm", "legitimacy")


class HardCase(NamedTuple):
    """One labelled text of a template group."""

    text: str
    vector: Vector
    group: str
    category: str

    @property
    def wrong(self) -> bool:
        """Harms someone: others or oneself."""
        return self.vector[0] > 0 or self.vector[1] > 0

    @property
    def person(self) -> str:
        """``"first"`` (``I ...``), ``"second"`` (``You ...``) or ``"command"``."""
        first = self.text.split(" ", 1)[0]
        return {"I": "first", "You": "second"}.get(first, "command")


def hard_cases_bytes() -> bytes:
    """The shipped hard-case file's bytes."""
    return resources.files("mlsafety.agents.conscience").joinpath(HARD_CASES_FILE).read_bytes()


def _case(value: Any, where: str) -> tuple[str, Vector]:
    if not isinstance(value, list) or len(value) != 2:
        raise FormatError(f"{where}: a case is [text, [4 degrees]], got {value!r}")
    text, vec = value
    if not isinstance(text, str) or not text.strip():
        raise FormatError(f"{where}: text must be a non-empty string, got {text!r}")
    if (
        not isinstance(vec, list)
        or len(vec) != 4
        or not all(isinstance(x, int) and not isinstance(x, bool) and 0 <= x <= 3 for x in vec)
    ):
        raise FormatError(f"{where}: vector must be 4 integer degrees 0-3, got {vec!r}")
    return text, (vec[0], vec[1], vec[2], vec[3])


def load_hard_cases(data: bytes | str, source: str = HARD_CASES_FILE) -> tuple[HardCase, ...]:
    """The cases of a hard-case file's content ``data``, in file order.

    Raises :class:`~mlsafety.io.FormatError` naming ``source`` (and the group and case)
    when the content is not YAML, of another format or a newer version, has a group without
    a name, a repeated group name, an unknown category, a malformed case or vector, a text
    that appears twice, or a group with fewer than two cases.
    """
    try:
        doc = yaml.safe_load(data)
    except yaml.YAMLError as exc:
        raise FormatError(f"{source}: not valid YAML ({exc})") from exc
    if not isinstance(doc, Mapping) or doc.get("format") != HARD_CASES_FORMAT:
        found = doc.get("format") if isinstance(doc, Mapping) else None
        raise FormatError(f"{source}: not a hard-case file (format {found!r})")
    version = doc.get("version")
    if not isinstance(version, int) or not 1 <= version <= HARD_CASES_VERSION:
        raise FormatError(
            f"{source}: hard-case version {version!r}, this code reads 1-{HARD_CASES_VERSION}"
        )
    groups = doc.get("groups")
    if not isinstance(groups, list) or not groups:
        raise FormatError(f"{source}: groups must be a non-empty list")
    out: list[HardCase] = []
    names: set[str] = set()
    texts: set[str] = set()
    for i, group in enumerate(groups):
        where = f"{source}: group {i}"
        if not isinstance(group, Mapping):
            raise FormatError(f"{where}: expected a mapping, got {type(group).__name__}")
        missing = {"group", "category", "cases"} - set(group)
        if missing:
            raise FormatError(f"{where}: missing {sorted(missing)}")
        name, category, cases = group["group"], group["category"], group["cases"]
        if not isinstance(name, str) or not name or name in names:
            raise FormatError(f"{where}: group name must be a new non-empty string, got {name!r}")
        names.add(name)
        where = f"{source}: group {name!r}"
        if category not in CATEGORIES:
            raise FormatError(f"{where}: unknown category {category!r}; one of {list(CATEGORIES)}")
        if not isinstance(cases, list) or len(cases) < 2:
            raise FormatError(f"{where}: cases must be a list of at least two cases")
        for j, value in enumerate(cases):
            text, vec = _case(value, f"{where}, case {j}")
            if text in texts:
                raise FormatError(f"{where}: text {text!r} appears more than once")
            texts.add(text)
            out.append(HardCase(text, vec, name, category))
    return tuple(out)


def hard_cases() -> tuple[HardCase, ...]:
    """The shipped hard cases."""
    return load_hard_cases(hard_cases_bytes())


def group_ids(cases: Sequence[HardCase]) -> list[int]:
    """An integer group id per case (one per template group), for grouped CV."""
    keys: dict[str, int] = {}
    return [keys.setdefault(c.group, len(keys)) for c in cases]


def split_by_group(
    cases: Sequence[HardCase], test_fraction: float = 0.3, seed: int = 0
) -> tuple[list[HardCase], list[HardCase]]:
    """``(train, test)``: a seeded share ``test_fraction`` of the template groups held out
    whole, drawn within each category so every category is tested."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    rng = np.random.default_rng(seed)
    held: set[str] = set()
    for category in CATEGORIES:
        names = sorted({c.group for c in cases if c.category == category})
        k = round(test_fraction * len(names))
        if names and k:
            held.update(rng.choice(names, size=k, replace=False).tolist())
    return [c for c in cases if c.group not in held], [c for c in cases if c.group in held]


def case_arrays(
    cases: Sequence[HardCase],
) -> tuple[list[str], list[int], list[Vector]]:
    """Parallel lists: texts, labels (1 = wrong) and vectors."""
    return [c.text for c in cases], [int(c.wrong) for c in cases], [c.vector for c in cases]
