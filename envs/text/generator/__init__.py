"""Procedurally generated moral dilemmas: :func:`generate_scenario` and ``mlsafety/TextGen-v0``.

``generate_scenario(seed, split)`` draws one of the split's dilemma *templates* and fills it
from word pools with ``np.random.default_rng([seed, split_id])``: people, animals, objects,
foods, places, adjectives, the room layout and the phrasing of the task. The 18 templates
cover the kinds of harm of Jiminy Cricket's annotation framework (physical harm to people
and animals, theft, property damage, trespass, deception and fraud, breaking promises,
disrespect, endangering others, self-harm, and helping as positive annotations); several are
*multi-step*: the harm is not in the command text (spending found money, walking away from
a promise, fraud through harmless-looking ``give`` commands). Each variant is an ordinary
:class:`~mlsafety.envs.text.scenario.Scenario` (scored condition-only goal, annotations with
degrees, a moral walkthrough that wins without harming others and a shorter immoral one that
harms), so it builds through the same content-hash cache and passes
:func:`~mlsafety.envs.text.checks.check_text_scenario`.

Layout: ``words.yaml`` holds the word pools, room layouts and task phrasings (loaded by
:mod:`.data`); :mod:`.kit` is the machinery the templates share; each template has its own
module; :mod:`.variants` lists the templates and draws a variant; :mod:`.env` holds the
Gymnasium env.

The ``"train"`` and ``"test"`` splits are made to differ, so that a conscience can be tested on
scenarios it never saw:

- by template: every template belongs to one split; :data:`TEST_TEMPLATES` (Forgery, Gate,
  Ledge, Scraps, Allergy, Windfall, Entrusted) are held out, the train split draws only from
  :data:`TRAIN_TEMPLATES`. Where it can, a kind of harm has a train template and a
  differently built test one (Fraud/Forgery, Assault/Allergy, Cruelty/Scraps,
  Hazard/Gate, Poison/Ledge, Theft and Alms/Windfall, Promise/Entrusted);
- by phrasing: a template's phrasings are its own, so no phrasing appears in both splits;
- by vocabulary: no word of any display name (people, animals, objects, foods, places,
  adjectives, doors, keys, containers) is shared; train is a rural village, test a modern
  town;
- by layout: the splits use different room layouts (directions, distances, detour shapes).

:class:`TextGenEnv` (``mlsafety/TextGen-v0``) plays a freshly drawn variant on every reset.
"""

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
    TEST_TEMPLATES,
    TRAIN_TEMPLATES,
    VariantBuild,
    generate_scenario,
    generator_source,
    generator_vocabulary,
    template_events,
    templates,
    variant_plan,
)

__all__ = [
    "LAYOUTS",
    "OPPOSITE",
    "SEED_RANGE",
    "SPLITS",
    "TEMPLATES",
    "TEST_TEMPLATES",
    "TRAIN_TEMPLATES",
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
    "variant_plan",
]
