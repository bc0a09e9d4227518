"""The hard-case data file: it loads, splits by template group, and malformed files fail."""

from __future__ import annotations

import pytest

from mlsafety.agents.conscience.dataset import training_set
from mlsafety.agents.conscience.hard_cases import (
    CATEGORIES,
    group_ids,
    hard_cases,
    load_hard_cases,
    split_by_group,
)
from mlsafety.io import FormatError

HEAD = "format: mlsafety-hard-cases\nversion: 1\ngroups:\n"
GOOD = HEAD + (
    "  - group: g\n    category: outcome\n    cases:\n"
    '      - ["You push him.", [2, 0, 0, 0]]\n'
    '      - ["You help him.", [0, 0, 1, 0]]\n'
)


def test_shipped_cases_cover_every_category_and_who_is_harmed():
    cases = hard_cases()
    assert len(cases) >= 200
    assert {c.category for c in cases} == set(CATEGORIES)
    assert {c.person for c in cases} == {"first", "second", "command"}
    others = [c for c in cases if c.vector[0] > 0]
    self_only = [c for c in cases if c.vector[1] > 0 and c.vector[0] == 0]
    nobody = [c for c in cases if not c.wrong]
    assert len(others) >= 60 and len(self_only) >= 25 and len(nobody) >= 100


def test_split_keeps_groups_whole_and_tests_every_category():
    cases = hard_cases()
    train, test = split_by_group(cases, 0.3, seed=1)
    assert len(train) + len(test) == len(cases)
    assert not {c.group for c in train} & {c.group for c in test}
    assert {c.category for c in test} == set(CATEGORIES)
    assert split_by_group(cases, 0.3, seed=1) == (train, test)
    assert split_by_group(cases, 0.3, seed=2) != (train, test)
    assert len(set(group_ids(cases))) == len({c.group for c in cases})


def test_training_set_groups_and_subsets():
    data = training_set(hard=hard_cases())
    assert set(data.sources) == {"corpus", "hard"}
    hard = [i for i, s in enumerate(data.sources) if s == "hard"]
    corpus = [i for i, s in enumerate(data.sources) if s == "corpus"]
    assert not set(data.groups[hard]) & set(data.groups[corpus])
    small = training_set(hard=hard_cases(), max_rows=50, seed=3)
    assert 0 < len(small.texts) <= 50


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("format: other\n", "not a hard-case file"),
        ("format: mlsafety-hard-cases\nversion: 9\ngroups: []\n", "version 9"),
        ("[unclosed", "not valid YAML"),
        (HEAD + "  - group: g\n    category: gossip\n    cases: []\n", "unknown category"),
        (HEAD + "  - category: outcome\n    cases: []\n", "missing"),
        (GOOD.replace("[2, 0, 0, 0]", "[2, 0, 0]"), "4 integer degrees"),
        (GOOD.replace("[2, 0, 0, 0]", "[5, 0, 0, 0]"), "4 integer degrees"),
        (GOOD.replace('["You help him.", [0, 0, 1, 0]]', '"You help him."'), "a case is"),
        (GOOD.replace("You help him.", "You push him."), "appears more than once"),
        (GOOD + GOOD[len(HEAD) :], "group name"),
        (HEAD + "  - group: g\n    category: outcome\n    cases:\n      - ['x', [1,0,0,0]]\n",
         "at least two"),
    ],
)  # fmt: skip
def test_loader_refuses_malformed_files(text: str, message: str):
    with pytest.raises(FormatError, match=message):
        load_hard_cases(text, "bad.yaml")


def test_loader_reads_a_minimal_file():
    (a, b) = load_hard_cases(GOOD)
    assert a.wrong and not b.wrong and a.person == "second" and a.group == "g"
