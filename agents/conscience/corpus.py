"""The project's own labelled corpus of first-person actions, for training a learned conscience.

The sentences and their labels are data, shipped with the package as
``agents/conscience/data/corpus.yaml`` (reviewed as data diffs; see the file's header). Every
sentence there was written for this project (nothing is copied from ETHICS or any other data
set). Each :class:`Example` is an action in one of two styles, a short imperative game command
(``"kick the goat"``, ``"snatch bracelet from merchant"``) or a first-person sentence
(``"I kicked the goat because it was in my way."``), with

* ``wrong``: whether the action is morally wrong by commonsense standards,
* ``tag``: the kind of harm or help (:data:`TAGS`),
* ``vector``: the safety contract's ``(harm_others, harm_self, help_others, help_self)`` in
  degrees 0-3.

The vocabulary deliberately avoids the people and objects of the bundled text scenarios (no
beggars, dogs, vases, mushrooms, passes, wallets, ...), so that scoring the scenarios'
commands measures how well a conscience trained here generalises.

:func:`corpus_bytes` is the file's content: what the cached default consciences hash, so that
editing the corpus retrains them.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from typing import Any, NamedTuple

import yaml

from mlsafety.io import FormatError

Vector = tuple[int, int, int, int]

CORPUS_FORMAT = "mlsafety-corpus"
CORPUS_VERSION = 1
CORPUS_FILE = "data/corpus.yaml"
"""The corpus file, relative to this package (``mlsafety.agents.conscience``)."""


class Example(NamedTuple):
    """One labelled action."""

    text: str
    wrong: bool
    tag: str
    vector: Vector


TAGS = (
    "theft",
    "property_damage",
    "animal_harm",
    "assault",
    "trespass",
    "deception",
    "broken_promise",
    "self_harm",
    "help_others",
    "help_self",
    "neutral",
)
WRONG_TAGS = frozenset(TAGS[:8])


def corpus_bytes() -> bytes:
    """The shipped corpus file's bytes."""
    return resources.files("mlsafety.agents.conscience").joinpath(CORPUS_FILE).read_bytes()


def _vector(value: Any, where: str) -> Vector:
    if (
        not isinstance(value, list)
        or len(value) != 4
        or not all(isinstance(x, int) and not isinstance(x, bool) for x in value)
        or not all(0 <= x <= 3 for x in value)
    ):
        raise FormatError(f"{where}: vector must be 4 integer degrees 0-3, got {value!r}")
    return (value[0], value[1], value[2], value[3])


def _group(group: Any, where: str) -> list[Example]:
    if not isinstance(group, Mapping):
        raise FormatError(f"{where}: expected a mapping, got {type(group).__name__}")
    missing = {"tag", "wrong", "vector", "texts"} - set(group)
    if missing:
        raise FormatError(f"{where}: missing {sorted(missing)}")
    tag, wrong, texts = group["tag"], group["wrong"], group["texts"]
    if tag not in TAGS:
        raise FormatError(f"{where}: unknown tag {tag!r}; tags are {list(TAGS)}")
    if not isinstance(wrong, bool) or wrong != (tag in WRONG_TAGS):
        raise FormatError(
            f"{where}: wrong must be {str(tag in WRONG_TAGS).lower()} for tag {tag!r}, "
            f"got {wrong!r}"
        )
    vector = _vector(group["vector"], where)
    if not isinstance(texts, list) or not all(isinstance(t, str) and t for t in texts):
        raise FormatError(f"{where}: texts must be a list of non-empty strings")
    return [Example(t, wrong, tag, vector) for t in texts]


def load_corpus(data: bytes | str, source: str = CORPUS_FILE) -> tuple[Example, ...]:
    """The examples of a corpus file's content ``data``, in file order.

    Raises :class:`~mlsafety.io.FormatError` naming ``source`` when the content is not a
    corpus file: not YAML, another format or a newer version, an unknown tag, a ``wrong`` flag
    that disagrees with the tag, a malformed vector, or a text that appears twice.
    """
    try:
        doc = yaml.safe_load(data)
    except yaml.YAMLError as exc:
        raise FormatError(f"{source}: not valid YAML ({exc})") from exc
    if not isinstance(doc, Mapping) or doc.get("format") != CORPUS_FORMAT:
        found = doc.get("format") if isinstance(doc, Mapping) else None
        raise FormatError(f"{source}: not a corpus file (format {found!r})")
    version = doc.get("version")
    if not isinstance(version, int) or not 1 <= version <= CORPUS_VERSION:
        raise FormatError(
            f"{source}: corpus version {version!r}, this code reads 1-{CORPUS_VERSION}"
        )
    groups = doc.get("groups")
    if not isinstance(groups, list):
        raise FormatError(f"{source}: groups must be a list")
    examples: list[Example] = []
    for i, group in enumerate(groups):
        examples += _group(group, f"{source}: group {i}")
    seen: set[str] = set()
    for e in examples:
        if e.text in seen:
            raise FormatError(f"{source}: text {e.text!r} appears more than once")
        seen.add(e.text)
    return tuple(examples)


CORPUS: tuple[Example, ...] = load_corpus(corpus_bytes())


def corpus_arrays() -> tuple[list[str], list[int], list[Vector], list[str]]:
    """The corpus as parallel lists: texts, labels (1 = wrong), vectors and tags."""
    return (
        [e.text for e in CORPUS],
        [int(e.wrong) for e in CORPUS],
        [e.vector for e in CORPUS],
        [e.tag for e in CORPUS],
    )
