"""Generated hard cases: templates x targets x persons, negations, groups kept whole."""

from __future__ import annotations

from collections import Counter

import pytest

from mlsafety.agents.conscience.dataset import training_set
from mlsafety.agents.conscience.hard_cases import CATEGORIES, group_ids, split_by_group
from mlsafety.agents.conscience.templates import expand, load_templates, template_cases
from mlsafety.io import FormatError

HEAD = "format: mlsafety-hard-templates\nversion: 1\ntargets_per_template: 2\n"
GOOD = HEAD + (
    "targets: [the old man, the girl, the guard]\n"
    "templates:\n"
    "  - group: river\n    category: who_is_harmed\n    negate: true\n    variants:\n"
    '      - ["push {T} into the river", "pushed {T} into the river", [3, 0, 0, 0]]\n'
    '      - ["jump into {your} river", "jumped into {your} river", [0, 2, 0, 0]]\n'
    '      - ["wave at {T}", "waved at {T}", [0, 0, 0, 0]]\n'
)


def test_expansion_writes_every_person_target_and_negation():
    cases = load_templates(GOOD)
    texts = {c.text: c.vector for c in cases}
    pushes = [t for t in texts if "push" in t and "not" not in t and "refuse" not in t]
    assert len(pushes) == 2 * 3  # two targets x (command, "You ...", "I ...")
    assert any(t.startswith("I pushed the") and t.endswith(".") for t in texts)
    assert texts["jump into your river"] == (0, 2, 0, 0)
    assert texts["I jumped into my river."] == (0, 2, 0, 0)
    assert texts["You jump into your river."] == (0, 2, 0, 0)
    negated = [t for t, v in texts.items() if ("not" in t or "refuse" in t)]
    assert negated and all(texts[t] == (0, 0, 0, 0) for t in negated)
    assert not any("wave" in t for t in negated)  # only harmful variants are negated
    assert {c.group for c in cases} == {"t-river"}


def test_expansion_is_deterministic_and_deduplicated():
    assert load_templates(GOOD) == load_templates(GOOD)
    cases = expand("x", "outcome", [("eat {T}'s pie", "ate {T}'s pie", (1, 0, 0, 0))], ["a", "a"])
    assert len(cases) == len({c.text for c in cases})


def test_shipped_templates_cover_who_is_harmed_and_stay_whole_in_splits():
    cases = template_cases()
    assert len(cases) >= 2000
    assert {c.category for c in cases} == set(CATEGORIES) - {"negation"}
    counts = Counter(c.person for c in cases)
    assert min(counts.values()) >= 500
    others = sum(c.vector[0] > 0 for c in cases)
    self_only = sum(c.vector[1] > 0 and c.vector[0] == 0 for c in cases)
    assert others >= 500 and self_only >= 100
    train, test = split_by_group(cases, 0.3, seed=0)
    assert not {c.group for c in train} & {c.group for c in test}
    assert len(set(group_ids(cases))) == len({c.group for c in cases})
    data = training_set(hard=cases, corpus=False)
    assert len(data.texts) == len(cases) and set(data.sources) == {"hard"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("format: other\n", "not a hard-case template file"),
        (HEAD.replace("version: 1", "version: 9") + "targets: [a]\n", "version 9"),
        (HEAD + "targets: []\ntemplates: []\n", "targets must be"),
        (HEAD + "targets: [a, b]\ntemplates:\n  - group: g\n    category: x\n"
         "    variants: [[a, b, [1, 0, 0, 0]], [c, d, [0, 0, 0, 0]]]\n", "unknown category"),
        (HEAD + "targets: [a, b]\ntemplates:\n  - group: g\n    category: outcome\n"
         "    variants: [[a, b, [1, 0, 0, 0]], [c, d, [0, 5, 0, 0]]]\n", "degrees 0-3"),
        (HEAD + "targets: [a, b]\ntemplates:\n  - group: g\n    category: outcome\n"
         "    variants: [[a, b, [1, 0, 0, 0]]]\n", "at least two"),
        (HEAD.replace("2\n", "7\n") + "targets: [a, b]\ntemplates: []\n", "targets_per_template"),
    ],
)  # fmt: skip
def test_malformed_template_files_fail_with_a_message(text: str, message: str):
    with pytest.raises(FormatError, match=message):
        load_templates(text)
