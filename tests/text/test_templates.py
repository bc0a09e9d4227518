"""Every generator template: its games win by the moral path without harm, its harm fires on
the declared step in the declared dimension against the declared victim, and the splits keep
templates and phrasings apart."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from mlsafety.envs.text.checks import check_text_scenario, play
from mlsafety.envs.text.env import TextScenarioEnv
from mlsafety.envs.text.games import build_game
from mlsafety.envs.text.generator import (
    SPLITS,
    TEMPLATES,
    TEST_TEMPLATES,
    TRAIN_TEMPLATES,
    Template,
    generate_scenario,
    load_words,
    templates,
    variant_plan,
)
from mlsafety.envs.text.generator.variants import draw_variant
from mlsafety.envs.text.knowledge import knowledge_base
from mlsafety.envs.text.scenario import World

SWEEP = range(120)
CATEGORIES = (
    "physical harm to a person",
    "harm to an animal",
    "theft",
    "property damage",
    "trespass",
    "deception",
    "breaking a promise",
    "disrespect",
    "endangering others",
    "self-harm",
    "helping",
)
HARM_VERBS = ("hit", "steal", "smash", "unlock")  # commands whose text alone reveals harm


def seeds_of(template: Template, count: int = 1) -> list[int]:
    """The first ``count`` seeds of the template's split that draw it."""
    name = re.compile(rf"Gen{template.name}[0-9a-f]{{6}}")
    out = [s for s in range(400) if name.fullmatch(generate_scenario(s, template.split).name)]
    assert len(out) >= count, template.name
    return out[:count]


@pytest.fixture(scope="module")
def played() -> dict[str, dict[str, Any]]:
    """Each template's first variant played through every walkthrough, step by step."""
    out: dict[str, dict[str, Any]] = {}
    for template in TEMPLATES:
        seed = seeds_of(template)[0]
        scenario = generate_scenario(seed, template.split)
        _, plan = variant_plan(seed, template.split)
        env = TextScenarioEnv(scenario, backend="logic")
        steps: dict[str, list[tuple[str, tuple[str, ...], list[float]]]] = {}
        for name, walk in scenario.walkthroughs.items():
            env.reset(seed=0)
            steps[name] = []
            for command in walk:
                _, _, term, trunc, info = env.step(command)
                assert not info["invalid_command"], (scenario.name, name, command)
                steps[name].append((command, tuple(info["events"]), list(info["morality"])))
                if term or trunc:
                    break
        env.close()
        out[template.name] = {"seed": seed, "scenario": scenario, "plan": plan, "steps": steps}
    return out


def test_templates_cover_the_annotation_framework() -> None:
    assert len(TEMPLATES) >= 15
    kinds = " ".join(t.harm for t in TEMPLATES)
    for category in CATEGORIES:
        assert category in kinds, category
    assert sum(t.multi_step for t in TEMPLATES) >= 5
    assert {"Windfall", "Promise", "Entrusted", "Fraud"} <= {
        t.name for t in TEMPLATES if t.multi_step
    }
    assert {t.harmed for t in TEMPLATES} == {"others", "self"}
    assert all(t.victim for t in TEMPLATES)


def test_split_by_template_is_fixed_and_disjoint() -> None:
    train, test = ({t.name for t in templates(s)} for s in SPLITS)
    assert test == set(TEST_TEMPLATES) and train == set(TRAIN_TEMPLATES)
    assert not train & test and train | test == {t.name for t in TEMPLATES}
    assert len(test) >= 5 and len(train) >= 8
    for split in SPLITS:  # a split only ever draws its own templates
        own = set(TEST_TEMPLATES if split == "test" else TRAIN_TEMPLATES)
        for seed in SWEEP:
            assert variant_plan(seed, split)[0].name in own


def filled(text: str) -> re.Pattern[str]:
    """A phrasing as a pattern over the task text it becomes (fields filled, 'a' -> 'an')."""
    parts = re.split(r"\{[a-z_]+\}", text)
    body = ".+?".join(re.escape(p) for p in parts)
    return re.compile(re.sub(r"\b([Aa])\\? ", r"\1n?\\ ", body))


def task_text(seed: int, split: str) -> str:
    """The task text variant ``(seed, split)`` gives its goal (from a dry run of its build)."""
    from textworld import GameMaker, GameOptions  # heavy: textworld

    options = GameOptions()
    options.kb = knowledge_base()
    maker = GameMaker(options)
    draw_variant(seed, split, World(maker))
    return str(maker.quests[0].desc)


def test_task_text_is_the_games_objective() -> None:
    for split in SPLITS:
        assert task_text(3, split) == build_game(generate_scenario(3, split)).objective


def test_no_phrasing_leaks_across_splits() -> None:
    phrasings = load_words().phrasings
    by_split = {
        split: [filled(text) for t in templates(split) for _, text in phrasings[t.name.lower()]]
        for split in SPLITS
    }
    texts = {s: {p.pattern for p in by_split[s]} for s in SPLITS}
    assert not texts["train"] & texts["test"]
    for split in SPLITS:
        other = "test" if split == "train" else "train"
        for seed in range(60):
            objective = task_text(seed, split)
            assert any(p.fullmatch(objective) for p in by_split[split]), objective
            assert not any(p.fullmatch(objective) for p in by_split[other]), objective
    assert set(phrasings) == {t.name.lower() for t in TEMPLATES}
    assert all(len(p) >= 2 for p in phrasings.values())


@pytest.mark.parametrize("template", TEMPLATES, ids=[t.name for t in TEMPLATES])
def test_first_variant_passes_the_scenario_checks(template: Template, played: dict) -> None:
    case = played[template.name]
    check_text_scenario(case["scenario"], conformance=False)


@pytest.mark.parametrize("template", TEMPLATES, ids=[t.name for t in TEMPLATES])
def test_harm_fires_on_the_declared_step(template: Template, played: dict) -> None:
    case = played[template.name]
    plan, scenario = case["plan"], case["scenario"]
    immoral = case["steps"]["immoral"]
    fired = [i for i, (_, events, _) in enumerate(immoral, start=1) if plan.harm in events]
    assert fired == [plan.harm_step], (scenario.name, immoral)
    command, _, morality = immoral[plan.harm_step - 1]
    assert command == scenario.walkthroughs["immoral"][plan.harm_step - 1]
    annotation = next(a for a in scenario.annotations if a.event == plan.harm)
    if template.harmed == "self":
        assert plan.victim == "P" and annotation.harm_self > 0 and annotation.harm_others == 0
        assert morality[1] >= annotation.harm_self
    else:
        assert annotation.harm_others > 0 and morality[0] >= annotation.harm_others
        names = {i.name for i in build_game(scenario).infos.values() if i.name}
        assert plan.victim in names, (plan.victim, sorted(names))
    if template.multi_step:  # the harmful command reads like a step of the moral path
        verb = command.split()[0]
        assert verb not in HARM_VERBS
        assert any(c.split()[0] == verb for c in scenario.walkthroughs["moral"]), command


@pytest.mark.parametrize("template", TEMPLATES, ids=[t.name for t in TEMPLATES])
def test_moral_path_wins_with_zero_immorality(template: Template, played: dict) -> None:
    case = played[template.name]
    scenario = case["scenario"]
    for name in scenario.walkthroughs:
        if name == "immoral" or name not in case["scenario"].expected_events:
            continue
        if any(scenario.expected_events[name].get(a.event, 0) for a in scenario.annotations
               if a.harm_others or a.harm_self):  # fmt: skip
            continue  # a walkthrough declared to harm (e.g. "cruel")
        steps = case["steps"][name]
        assert all(m[0] == 0 and m[1] == 0 for _, _, m in steps), (name, steps)
    env = TextScenarioEnv(scenario, backend="logic")
    result = play(env, scenario.walkthroughs["moral"], "moral")
    env.close()
    assert result["won"] and result["morality"][0] == result["morality"][1] == 0
    events = Counter(e for _, ev, _ in case["steps"]["immoral"] for e in ev)
    assert events[case["plan"].harm] == 1


@pytest.mark.parametrize("template", TEMPLATES, ids=[t.name for t in TEMPLATES])
def test_variants_are_deterministic_and_vary(template: Template) -> None:
    seeds = seeds_of(template, 3)
    for seed in seeds[:1]:
        a, b = variant_plan(seed, template.split), variant_plan(seed, template.split)
        assert a == b
    summaries = {generate_scenario(s, template.split).summary for s in seeds}
    assert len(summaries) == 3  # different words (and often layouts) every variant
    assert len({generate_scenario(s, template.split).name for s in seeds}) == 3


@pytest.mark.slow
@pytest.mark.parametrize("template", TEMPLATES, ids=[t.name for t in TEMPLATES])
def test_several_variants_pass_the_scenario_checks(template: Template) -> None:
    for seed in seeds_of(template, 4):
        check_text_scenario(generate_scenario(seed, template.split), conformance=False)


@pytest.mark.slow
@pytest.mark.parametrize("template", TEMPLATES, ids=[t.name for t in TEMPLATES])
def test_each_template_on_the_story_backend(template: Template) -> None:
    """The compiled Inform 7 story agrees with the logic backend (one compile a template)."""
    seed = seeds_of(template)[0]
    check_text_scenario(
        generate_scenario(seed, template.split), backends=("logic", "text"), conformance=False
    )


def test_docs_table_lists_every_template_with_its_split() -> None:
    page = Path(__file__).resolve().parents[2] / "docs" / "generator.md"
    rows = {}
    for line in page.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0] in {t.name for t in TEMPLATES}:
            rows[cells[0]] = cells
    assert set(rows) == {t.name for t in TEMPLATES}
    for t in TEMPLATES:
        kind, victim, _, multi, split = rows[t.name][1:]
        assert (kind, victim, split.strip("*")) == (t.harm, t.victim, t.split), t.name
        assert multi == ("yes" if t.multi_step else "no"), t.name
