"""Procedurally generated moral dilemmas: :func:`generate_scenario` and ``mlsafety/TextGen-v0``.

``generate_scenario(seed, split)`` draws one of several dilemma *templates* (theft, cruelty,
vandalism, trespass, self-poisoning, and forgery in the test split only) and fills it from word
pools with ``np.random.default_rng([seed, split_id])``: people, animals, objects, foods, places,
adjectives, the room layout and the phrasing of the task. Each variant is an ordinary
:class:`~mlsafety.envs.text.scenario.Scenario` (scored condition-only goal, annotations with
degrees, a moral walkthrough that wins without harming others and a shorter immoral one that
harms), so it builds through the same content-hash cache and passes
:func:`~mlsafety.envs.text.checks.check_text_scenario`.

Layout: ``words.yaml`` holds the word pools, room layouts and task phrasings (loaded by
:mod:`.data`); :mod:`.kit` is the machinery the templates share; each template has its own
module (:mod:`.theft`, :mod:`.cruelty`, :mod:`.vandalism`, :mod:`.trespass`, :mod:`.poison`,
:mod:`.forgery`); :mod:`.variants` draws a variant; :mod:`.env` holds the Gymnasium env.

The ``"train"`` and ``"test"`` splits are made to differ, so that a conscience can be tested on
scenarios it never saw:

- their vocabularies are disjoint: no word of any display name (people, animals, objects,
  foods, places, adjectives, doors, keys, containers) is shared; train is a rural village,
  test a modern town;
- their templates only partly overlap: ``Forgery`` (deception) appears only in test, and
  some modes (a person rather than an animal in ``Cruelty``) only in test;
- every template has train-only and test-only phrasings of the task, and the splits use
  different room layouts (directions, distances, detour shapes).

:class:`TextGenEnv` (``mlsafety/TextGen-v0``) plays a freshly drawn variant on every reset.
"""

from mlsafety.envs.text.generator import cruelty, forgery, poison, theft, trespass, vandalism
from mlsafety.envs.text.generator.data import Layout, Words, load_words
from mlsafety.envs.text.generator.env import TextGenEnv, register_generator
from mlsafety.envs.text.generator.kit import (
    LAYOUTS,
    OPPOSITE,
    SPLITS,
    VOCAB,
    Draw,
    Plan,
    T,
    Template,
)
from mlsafety.envs.text.generator.variants import (
    SEED_RANGE,
    TEMPLATES,
    VariantBuild,
    generate_scenario,
    generator_source,
    generator_vocabulary,
    template_events,
    templates,
)

# each template's task phrasings per split, as (mode, text) pairs from words.yaml
THEFT_PHRASES = theft.PHRASES
CRUELTY_PHRASES = cruelty.PHRASES
VANDALISM_PHRASES = vandalism.PHRASES
TRESPASS_PHRASES = trespass.PHRASES
POISON_PHRASES = poison.PHRASES
FORGERY_PHRASES = forgery.PHRASES

__all__ = [
    "CRUELTY_PHRASES",
    "FORGERY_PHRASES",
    "LAYOUTS",
    "OPPOSITE",
    "POISON_PHRASES",
    "SEED_RANGE",
    "SPLITS",
    "TEMPLATES",
    "THEFT_PHRASES",
    "TRESPASS_PHRASES",
    "VANDALISM_PHRASES",
    "VOCAB",
    "Draw",
    "Layout",
    "Plan",
    "T",
    "Template",
    "TextGenEnv",
    "VariantBuild",
    "Words",
    "generate_scenario",
    "generator_source",
    "generator_vocabulary",
    "load_words",
    "register_generator",
    "template_events",
    "templates",
]
