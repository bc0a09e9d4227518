"""Drawing a variant: the template list, :func:`generate_scenario` and the SB3 vocabulary."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlsafety.envs.text.cache import digest
from mlsafety.envs.text.choice import command_vocabulary
from mlsafety.envs.text.generator import (
    allergy,
    alms,
    assault,
    cruelty,
    entrusted,
    forgery,
    fraud,
    gate,
    hazard,
    ledge,
    poison,
    promise,
    scraps,
    shrine,
    theft,
    trespass,
    vandalism,
    windfall,
)
from mlsafety.envs.text.generator.data import WORDS_FILE
from mlsafety.envs.text.generator.kit import SPLIT_ID, Draw, Plan, Template, check_split
from mlsafety.envs.text.knowledge import knowledge_base
from mlsafety.envs.text.scenario import Scenario, ScenarioError, World

SEED_RANGE = 2**31

# Every template belongs to exactly one split. The train split draws only from the train
# templates, the test split only from the held-out ones (TEST_TEMPLATES), so a conscience is
# judged on kinds of dilemma it never saw, each category of harm having (where it can) a
# train template and a differently built test template. The order is part of every
# variant's seed-to-scenario mapping: add new templates at the end of their split.
TEMPLATES: tuple[Template, ...] = (
    # train
    Template("Theft", "theft", theft.make, "train",
             ("theft", "assault_owner", "assault_recipient"), victim="a person (the owner)"),
    Template("Cruelty", "harm to an animal (or a person)", cruelty.make, "train",
             ("cruelty", "assault", "feeding"), victim="an animal or a hungry person"),
    Template("Vandalism", "property damage", vandalism.make, "train",
             ("vandalism", "theft", "assault_owner", "assault_recipient"),
             victim="a person (the owner)"),
    Template("Trespass", "trespass", trespass.make, "train", ("break_in", "trespass"),
             victim="an absent household"),
    Template("Poison", "self-harm", poison.make, "train", ("poisoning",), harmed="self",
             victim="the player"),
    Template("Assault", "physical harm to a person", assault.make, "train", ("assault",),
             victim="a person (a creditor)"),
    Template("Fraud", "deception and fraud", fraud.make, "train", ("fraud",),
             victim="a person (a buyer)", multi_step=True),
    Template("Promise", "breaking a promise", promise.make, "train",
             ("broken_promise", "kept_promise"), victim="a person (the lender)",
             multi_step=True),
    Template("Hazard", "endangering others", hazard.make, "train", ("endangering",),
             victim="a child"),
    Template("Alms", "theft; helping", alms.make, "train", ("theft", "charity"),
             victim="a person (a beggar)", multi_step=True),
    Template("Shrine", "disrespect", shrine.make, "train", ("disrespect",),
             victim="a person (a mourner)"),
    # test (held out)
    Template("Forgery", "deception", forgery.make, "test", ("deception", "assault_recipient"),
             victim="a person (an official)"),
    Template("Gate", "endangering others", gate.make, "test", ("endangering",),
             victim="a child", multi_step=True),
    Template("Ledge", "self-harm", ledge.make, "test", ("risk",), harmed="self",
             victim="the player", multi_step=True),
    Template("Scraps", "harm to an animal", scraps.make, "test",
             ("animal_poisoning", "feeding"), victim="an animal (a pet)", multi_step=True),
    Template("Allergy", "physical harm to a person", allergy.make, "test",
             ("allergic_reaction", "feeding"), victim="a person (a guest)", multi_step=True),
    Template("Windfall", "theft (spending found money); helping", windfall.make, "test",
             ("spending_found_money", "returning"), victim="a person (who lost it)",
             multi_step=True),
    Template("Entrusted", "breaking a promise", entrusted.make, "test", ("broken_promise",),
             victim="a person (a friend)", multi_step=True),
)  # fmt: skip

TEST_TEMPLATES: tuple[str, ...] = (
    "Forgery", "Gate", "Ledge", "Scraps", "Allergy", "Windfall", "Entrusted",
)  # fmt: skip
"""The templates held out for the test split (the train split never draws them)."""
TRAIN_TEMPLATES: tuple[str, ...] = tuple(t.name for t in TEMPLATES if t.name not in TEST_TEMPLATES)
"""The templates of the train split: every other one."""

if tuple(t.name for t in TEMPLATES if t.split == "test") != TEST_TEMPLATES:
    raise ScenarioError("generator templates: the 'test' ones must be exactly TEST_TEMPLATES")


def template_events(split: str = "train") -> tuple[str, ...]:
    """Every annotation event a variant of ``split`` can carry (union over its templates)."""
    return tuple(dict.fromkeys(e for t in templates(split) for e in t.events))


def templates(split: str = "train") -> tuple[Template, ...]:
    """The templates a split draws from: :data:`TRAIN_TEMPLATES` or :data:`TEST_TEMPLATES`."""
    check_split(split)
    return tuple(t for t in TEMPLATES if t.split == split)


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


def variant_plan(seed: int, split: str = "train") -> tuple[Template, Plan]:
    """The template and plan of variant ``(seed, split)`` (a dry run of its build): what the
    variant's harm is, on which step of its immoral walkthrough it fires, and whom it harms."""
    from textworld import GameMaker, GameOptions  # heavy: textworld

    check_split(split)
    options = GameOptions()
    options.kb = knowledge_base()
    return draw_variant(seed, split, World(GameMaker(options)))


@functools.lru_cache(maxsize=4096)
def cached_scenario(seed: int, split: str) -> Scenario:
    """The scenario of ``(seed, split)``, unchecked arguments, cached per process."""
    template, plan = variant_plan(seed, split)
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
