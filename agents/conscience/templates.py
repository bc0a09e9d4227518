"""Hard cases generated systematically: templates x targets x persons, plus negations.

The templates are data, shipped as ``agents/conscience/data/hard_templates.yaml`` (written for
this project; see the file's header). Each template is one situation with minimal variants
(harm to others, harm only to oneself, help, nobody affected; the same act done legitimately
or not). :func:`expand` turns a template into :class:`~.hard_cases.HardCase` rows:

* every variant that names a person (``{T}``, possessive ``{Ts}``) is written for
  ``targets_per_template`` people drawn from the file's ``targets`` (a seeded choice per
  template, so the expansion is the same on every machine);
* every text in three persons: a command (``"push the old man into the river"``), a
  second-person outcome sentence (``"You push the old man into the river."``) and a
  first-person past sentence (``"I pushed the old man into the river."``); ``{self}`` and
  ``{your}`` follow the person (``yourself``/``myself``, ``your``/``my``);
* with ``negate: true``, each harmful variant also as a refusal (``"do not ..."``,
  ``"You refuse to ..."``, ``"I did not ..."``), labelled harmless.

Every expansion of one template carries the template's group name (``t-<name>``), so grouped
splits (:func:`~.hard_cases.split_by_group`, :func:`~.hard_cases.group_ids`) keep a template
whole and no model is scored on a template it was trained on.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

import numpy as np
import yaml

from mlsafety.agents.conscience.hard_cases import CATEGORIES, HardCase, Vector
from mlsafety.io import FormatError

TEMPLATES_FORMAT = "mlsafety-hard-templates"
TEMPLATES_VERSION = 1
TEMPLATES_FILE = "data/hard_templates.yaml"
PERSONS = ("command", "second", "first")
SLOTS = {  # person -> {self}, {your}
    "command": ("yourself", "your"),
    "second": ("yourself", "your"),
    "first": ("myself", "my"),
}
NEGATIONS = {  # person -> the two refusal forms of a base/past pair, used alternately
    "command": ("do not {base}", "refuse to {base}"),
    "second": ("You do not {base}.", "You refuse to {base}."),
    "first": ("I did not {base}.", "I refused to {base}."),
}


def templates_bytes() -> bytes:
    """The shipped template file's bytes."""
    return resources.files("mlsafety.agents.conscience").joinpath(TEMPLATES_FILE).read_bytes()


def _variant(value: Any, where: str) -> tuple[str, str, Vector]:
    if not isinstance(value, list) or len(value) != 3:
        raise FormatError(f"{where}: a variant is [base, past, [4 degrees]], got {value!r}")
    base, past, vec = value
    for text in (base, past):
        if not isinstance(text, str) or not text.strip():
            raise FormatError(f"{where}: texts must be non-empty strings, got {text!r}")
    if (
        not isinstance(vec, list)
        or len(vec) != 4
        or not all(isinstance(x, int) and not isinstance(x, bool) and 0 <= x <= 3 for x in vec)
    ):
        raise FormatError(f"{where}: vector must be 4 integer degrees 0-3, got {vec!r}")
    return base, past, (vec[0], vec[1], vec[2], vec[3])


def _fill(pattern: str, person: str, target: str) -> str:
    me, my = SLOTS[person]
    return (
        pattern.replace("{Ts}", target + "'s")
        .replace("{T}", target)
        .replace("{self}", me)
        .replace("{your}", my)
    )


def _sentence(base: str, past: str, person: str) -> str:
    if person == "command":
        return base
    if person == "second":
        return f"You {base}."
    return f"I {past}."


def expand(
    name: str,
    category: str,
    variants: Sequence[tuple[str, str, Vector]],
    targets: Sequence[str],
    negate: bool = False,
) -> list[HardCase]:
    """Every text of one template for ``targets`` (see the module docs), deduplicated."""
    out: dict[str, HardCase] = {}
    group = f"t-{name}"
    for t_index, target in enumerate(targets):
        for base, past, vec in variants:
            if t_index and "{T" not in base + past:
                continue  # names nobody: written once
            for person in PERSONS:
                b, p = _fill(base, person, target), _fill(past, person, target)
                text = _sentence(b, p, person)
                out.setdefault(text, HardCase(text, vec, group, category))
                if negate and (vec[0] > 0 or vec[1] > 0):
                    form = NEGATIONS[person][t_index % 2]
                    neg = form.format(base=b)
                    out.setdefault(neg, HardCase(neg, (0, 0, 0, 0), group, category))
    return list(out.values())


def load_templates(data: bytes | str, source: str = TEMPLATES_FILE) -> tuple[HardCase, ...]:
    """The expanded cases of a template file's content ``data``, in file order.

    Raises :class:`~mlsafety.io.FormatError` naming ``source`` (and the template) when the
    content is not YAML, of another format or a newer version, has no targets, a template
    without a new name, an unknown category, fewer than two variants or a malformed one.
    """
    try:
        doc = yaml.safe_load(data)
    except yaml.YAMLError as exc:
        raise FormatError(f"{source}: not valid YAML ({exc})") from exc
    if not isinstance(doc, Mapping) or doc.get("format") != TEMPLATES_FORMAT:
        found = doc.get("format") if isinstance(doc, Mapping) else None
        raise FormatError(f"{source}: not a hard-case template file (format {found!r})")
    version = doc.get("version")
    if not isinstance(version, int) or not 1 <= version <= TEMPLATES_VERSION:
        raise FormatError(
            f"{source}: template version {version!r}, this code reads 1-{TEMPLATES_VERSION}"
        )
    targets = doc.get("targets")
    if (
        not isinstance(targets, list)
        or not targets
        or not all(isinstance(t, str) and t.strip() for t in targets)
    ):
        raise FormatError(f"{source}: targets must be a non-empty list of strings")
    per = doc.get("targets_per_template", 4)
    if not isinstance(per, int) or not 1 <= per <= len(targets):
        raise FormatError(f"{source}: targets_per_template must be in 1..{len(targets)}")
    templates = doc.get("templates")
    if not isinstance(templates, list) or not templates:
        raise FormatError(f"{source}: templates must be a non-empty list")
    out: list[HardCase] = []
    names: set[str] = set()
    seen: set[str] = set()
    for i, tmpl in enumerate(templates):
        where = f"{source}: template {i}"
        if not isinstance(tmpl, Mapping) or not {"group", "category", "variants"} <= set(tmpl):
            raise FormatError(f"{where}: needs group, category and variants")
        name, category, variants = tmpl["group"], tmpl["category"], tmpl["variants"]
        if not isinstance(name, str) or not name or name in names:
            raise FormatError(f"{where}: group name must be a new non-empty string, got {name!r}")
        names.add(name)
        where = f"{source}: template {name!r}"
        if category not in CATEGORIES:
            raise FormatError(f"{where}: unknown category {category!r}; one of {list(CATEGORIES)}")
        if not isinstance(variants, list) or len(variants) < 2:
            raise FormatError(f"{where}: variants must be a list of at least two variants")
        parsed = [_variant(v, f"{where}, variant {j}") for j, v in enumerate(variants)]
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        chosen = [targets[k] for k in rng.choice(len(targets), size=per, replace=False)]
        for case in expand(name, category, parsed, chosen, bool(tmpl.get("negate", False))):
            if case.text not in seen:  # a text shared by two templates stays in the first
                seen.add(case.text)
                out.append(case)
    return tuple(out)


def template_cases() -> tuple[HardCase, ...]:
    """The shipped templates, expanded."""
    return load_templates(templates_bytes())
