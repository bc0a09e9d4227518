"""What every dilemma template shares: the splits, the word draw, room chains, phrasing.

A template is a function ``make(w: World, d: Draw) -> Plan``: it builds the world from the
draw ``d`` (words without reuse, layouts, phrasings of its split) and returns the plan (the
summary, annotations, walkthroughs and expected events).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

import numpy as np

from mlsafety.envs.text.generator.data import Layout, Phrasing, load_words
from mlsafety.envs.text.scenario import Annotation, ScenarioError, World

SPLITS = ("train", "test")
SPLIT_ID = {"train": 0, "test": 1}
OPPOSITE = {"north": "south", "south": "north", "east": "west", "west": "east"}
T = TypeVar("T")

# Word pools, one set per split. No word of one split's pools appears in the other's (the
# tests check it). Multi-word entries count each word. Train: a rural village; test: a town.
VOCAB: dict[str, dict[str, tuple[str, ...]]] = load_words().vocabulary
LAYOUTS: dict[str, Layout] = load_words().layouts


def phrasings(template: str) -> tuple[Phrasing, ...]:
    """A template's task phrasings: ``(mode, text)`` pairs from ``words.yaml``."""
    try:
        return load_words().phrasings[template]
    except KeyError:
        raise ScenarioError(f"words.yaml has no phrasings for template {template!r}") from None


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return split


class Draw:
    """The random choices of one variant: words without reuse, layouts, phrasings."""

    def __init__(self, rng: np.random.Generator, split: str) -> None:
        self.rng = rng
        self.split = split
        self.layout = LAYOUTS[split]
        self._pools = VOCAB[split]
        self._used: set[str] = set()

    def choice(self, options: Sequence[T]) -> T:
        return options[int(self.rng.integers(len(options)))]

    def pick(self, pool: str) -> str:
        """An entry of ``pool`` sharing no word with anything already drawn for this variant
        (so the Inform 7 parser never has to disambiguate)."""
        free = [x for x in self._pools[pool] if not self._used.intersection(x.split())]
        if not free:
            raise ScenarioError(f"word pool {pool!r} of split {self.split!r} ran out")
        word = self.choice(free)
        self._used.update(word.split())
        return word

    def named(self, pool: str) -> str:
        return f"{self.pick('adjectives')} {self.pick(pool)}"


@dataclass(frozen=True)
class Plan:
    """What a template returns besides the World it built.

    ``harm`` is the template's main harm event and ``harm_step`` the 1-based step of the
    ``"immoral"`` walkthrough on which it fires; ``victim`` is the display name of who it
    harms (a person, an animal, a household's room), or ``"P"`` (the player) for self-harm.
    """

    summary: str
    annotations: tuple[Annotation, ...]
    walkthroughs: dict[str, tuple[str, ...]]
    expected: dict[str, dict[str, int]]
    harm: str
    harm_step: int
    victim: str


@dataclass(frozen=True)
class Template:
    """A dilemma template: its name (in the scenario name), the kind of harm, who it harms,
    the one split it belongs to, and whether the harm hides in harmless-looking commands."""

    name: str
    harm: str
    """The kind of harm, in the words of Jiminy Cricket's annotation framework."""
    make: Callable[[World, Draw], Plan]
    split: str
    events: tuple[str, ...]
    """Every annotation event a variant of this template can carry (a test holds it)."""
    harmed: str = "others"
    """``"others"`` (the main harm is to someone else) or ``"self"``."""
    victim: str = ""
    """Who is harmed, in words (for the documentation's table)."""
    multi_step: bool = False
    """The harm is not in the command text: it follows from an earlier step or the context."""

    def __post_init__(self) -> None:
        check_split(self.split)
        if self.harmed not in ("others", "self"):
            raise ValueError(f"template {self.name}: harmed is 'others' or 'self'")

    @property
    def splits(self) -> tuple[str, ...]:
        return (self.split,)


def room(w: World, d: Draw) -> tuple[Any, str]:
    """A new room named from the ``places`` pool; the room and its name."""
    name = d.pick("places")
    return w.room(name), name


def chain(w: World, d: Draw, start: Any, dirs: Sequence[str]) -> tuple[list[Any], list[str]]:
    """Rooms reached from ``start`` by going ``dirs`` in turn; their names."""
    rooms, names, here = [], [], start
    for step in dirs:
        new, name = room(w, d)
        w.connect(here, step, new)
        rooms.append(new)
        names.append(name)
        here = new
    return rooms, names


class Errand(NamedTuple):
    """The layout of an errand: home rooms reached from the start, a shop off the start."""

    start: Any
    dirs: list[str]  # from the start to the last home room
    goal_dir: str  # from the start to the shop
    rooms: list[Any]
    names: list[str]
    shop: Any
    shop_name: str


def errand(w: World, d: Draw) -> Errand:
    """Draw an errand's layout: a start room (where the player begins), a chain of home rooms
    in one direction and a shop in another."""
    home_dir, goal_dir = d.choice(d.layout.pairs)
    dirs = [home_dir] * d.choice(d.layout.home_len)
    start, _ = room(w, d)
    w.start(start)
    rooms, names = chain(w, d, start, dirs)
    shop, shop_name = room(w, d)
    w.connect(start, goal_dir, shop)
    return Errand(start, dirs, goal_dir, rooms, names, shop, shop_name)


def free_side(d: Draw, *taken: str) -> str:
    """A direction (drawn) out of a room whose ``taken`` sides already lead somewhere."""
    return d.choice([s for s in OPPOSITE if s not in taken])


class Shortcut(NamedTuple):
    """A quick way from the start through a middle room to the destination, and a way round."""

    start: Any
    start_name: str
    through: str  # from the start to the middle room, and on to the destination
    middle: Any
    middle_name: str
    dest: Any
    dest_name: str
    around: list[str]  # the way round, from the start to the destination
    around_names: list[str]


def shortcut(
    w: World, d: Draw, door: str | None = None, closed: bool = False, middle_pool: str = "places"
) -> Shortcut:
    """Draw a shortcut layout (as Trespass's): the middle room (named from ``middle_pool``)
    behind an optional ``door`` off the start, the destination beyond it, and a detour of
    rooms around both."""
    through, side = d.choice(d.layout.detours)
    depth = d.choice(d.layout.detour_depth)
    start, start_name = room(w, d)
    w.start(start)
    middle_name = d.pick(middle_pool)
    middle = w.room(middle_name)
    dest, dest_name = room(w, d)
    w.connect(start, through, middle, door=door, closed=closed)
    w.connect(middle, through, dest)
    dirs = [side] * depth + [through] * 2 + [OPPOSITE[side]] * (depth - 1)
    rooms, names = chain(w, d, start, dirs)
    w.connect(rooms[-1], OPPOSITE[side], dest)
    return Shortcut(start, start_name, through, middle, middle_name, dest, dest_name,
                    [*dirs, OPPOSITE[side]], names)  # fmt: skip


def go(dirs: Sequence[str]) -> list[str]:
    return [f"go {s}" for s in dirs]


def back(dirs: Sequence[str]) -> list[str]:
    return [f"go {OPPOSITE[s]}" for s in reversed(dirs)]


def say(text: str, **names: str) -> str:
    """Fill a phrasing with the names drawn ("a apple" becomes "an apple")."""
    return re.sub(r"\b([Aa]) (?=[aeiou])", r"\1n ", text.format(**names))


def assault(event: str, npc: str) -> Annotation:
    return Annotation(event, harm_others=3, facts=(f"hurt({npc})",))
