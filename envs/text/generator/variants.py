"""Drawing a variant: the template list, :func:`generate_scenario` and the SB3 vocabulary."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlsafety.envs.text.cache import digest
from mlsafety.envs.text.choice import command_vocabulary
from mlsafety.envs.text.generator import cruelty, forgery, poison, theft, trespass, vandalism
from mlsafety.envs.text.generator.data import WORDS_FILE
from mlsafety.envs.text.generator.kit import SPLIT_ID, SPLITS, Draw, Plan, Template, check_split
from mlsafety.envs.text.knowledge import knowledge_base
from mlsafety.envs.text.scenario import Scenario, World

SEED_RANGE = 2**31

TEMPLATES: tuple[Template, ...] = (
    Template("Theft", "theft", theft.make, SPLITS,
             ("theft", "assault_owner", "assault_recipient")),
    Template("Cruelty", "harming an animal or a person", cruelty.make, SPLITS,
             ("cruelty", "assault", "feeding")),
    Template("Vandalism", "property damage", vandalism.make, SPLITS,
             ("vandalism", "theft", "assault_owner", "assault_recipient")),
    Template("Trespass", "trespass", trespass.make, SPLITS, ("break_in", "trespass")),
    Template("Poison", "self-harm", poison.make, SPLITS, ("poisoning",)),
    Template("Forgery", "deception", forgery.make, ("test",),
             ("deception", "assault_recipient")),
)  # fmt: skip


def template_events(split: str = "train") -> tuple[str, ...]:
    """Every annotation event a variant of ``split`` can carry (union over its templates)."""
    return tuple(dict.fromkeys(e for t in templates(split) for e in t.events))


def templates(split: str = "train") -> tuple[Template, ...]:
    """The templates a split draws from."""
    check_split(split)
    return tuple(t for t in TEMPLATES if split in t.splits)


def draw_variant(seed: int, split: str, w: World) -> tuple[Template, Plan]:
    """Draw the variant ``(seed, split)`` and build it into ``w``."""
    rng = np.random.default_rng([seed, SPLIT_ID[split]])
    pool = templates(split)
    template = pool[int(rng.integers(len(pool)))]
    return template, template.make(w, Draw(rng, split))


@functools.lru_cache(maxsize=1)
def generator_source() -> str:
    """The generator package's code and words: what every generated game depends on."""
    package = Path(__file__).parent
    files = [*sorted(package.glob("*.py")), WORDS_FILE]
    return "\n".join(f"# {p.name}\n{p.read_text(encoding='utf-8')}" for p in files)


@dataclass(frozen=True)
class VariantBuild:
    """A generated scenario's build function (a small picklable callable naming the variant).

    Its :meth:`source_key` is the generator's code and words, so the build cache keys on the
    whole generator (see :meth:`Scenario.source_key`).
    """

    seed: int
    split: str

    def __call__(self, w: World) -> None:
        draw_variant(self.seed, self.split, w)

    def source_key(self) -> str:
        return generator_source()


@functools.lru_cache(maxsize=4096)
def cached_scenario(seed: int, split: str) -> Scenario:
    """The scenario of ``(seed, split)``, unchecked arguments, cached per process."""
    from textworld import GameMaker, GameOptions  # heavy: textworld

    options = GameOptions()
    options.kb = knowledge_base()
    template, plan = draw_variant(seed, split, World(GameMaker(options)))  # dry run: the plan
    return Scenario(
        name=f"Gen{template.name}{digest(f'{split}:{seed}')[:6]}",
        summary=f"generated ({split}) {plan.summary}",
        build=VariantBuild(seed, split),
        annotations=plan.annotations,
        walkthroughs=plan.walkthroughs,
        params=f"{split}:{seed}",
        expected_events=plan.expected,
    )


def generate_scenario(seed: int, split: str = "train") -> Scenario:
    """The generated scenario for ``(seed, split)``; the same arguments give the same one.

    ``seed`` is a non-negative int; ``split`` is ``"train"`` or ``"test"`` (disjoint
    vocabularies, partly disjoint templates, phrasings and layouts; see the package docstring).
    """
    check_split(split)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    return cached_scenario(int(seed), split)


def check_variants(num_variants: Any) -> None:
    if isinstance(num_variants, bool) or not isinstance(num_variants, int) or num_variants < 1:
        raise ValueError(f"num_variants must be a positive int, got {num_variants!r}")


def generator_vocabulary(split: str = "train", num_variants: int = 16) -> list[str]:
    """Sorted union of the command vocabularies of variants ``0 .. num_variants - 1``.

    The fixed vocabulary the SB3 form of TextGen needs:
    ``CommandChoice(TextGenEnv(split, num_variants=n), vocabulary=generator_vocabulary(split, n))``.
    Each variant is built and explored once (about 0.75 s on the logic backend; 50 variants
    took 38 s cold, 0.25 s cached), then read from the cache. The variants share no names, so
    the vocabulary grows with ``num_variants`` (about 16 commands a variant: 820 for 50 train
    variants). With ``num_variants=None`` (a fresh variant every episode) no fixed vocabulary
    exists, which is why this takes a count.
    """
    check_split(split)
    check_variants(num_variants)
    vocab: set[str] = set()
    for seed in range(num_variants):
        vocab.update(command_vocabulary(generate_scenario(seed, split)))
    return sorted(vocab)
