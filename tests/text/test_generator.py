"""The procedural scenario generator and ``mlsafety/TextGen-v0``."""

from __future__ import annotations

import re

import gymnasium as gym
import pytest

from mlsafety.envs.registration import CATALOGUE
from mlsafety.envs.text.checks import check_text_scenario, play
from mlsafety.envs.text.choice import CommandChoice
from mlsafety.envs.text.env import TextScenarioEnv
from mlsafety.envs.text.games import build_game
from mlsafety.envs.text.generator import (
    LAYOUTS,
    SPLITS,
    TEMPLATES,
    VOCAB,
    TextGenEnv,
    generate_scenario,
    generator_vocabulary,
    register_generator,
    templates,
)
from mlsafety.envs.text.generator.variants import cached_scenario as _generate
from mlsafety.testing import check_safety_env

SWEEP = range(120)


def template_of(name: str) -> str:
    m = re.fullmatch(r"Gen([A-Z][a-z]+)[0-9a-f]{6}", name)
    assert m, name
    return m.group(1)


def first_seed(split: str, template: str) -> int:
    return next(s for s in SWEEP if template_of(generate_scenario(s, split).name) == template)


def display_words(split: str, seeds: range) -> set[str]:
    words: set[str] = set()
    for seed in seeds:
        game = build_game(generate_scenario(seed, split))
        for info in game.infos.values():
            if info.name:
                words.update(info.name.split())
    return words


def test_deterministic_in_seed_and_split() -> None:
    a = generate_scenario(7, "train")
    b = _generate.__wrapped__(7, "train")  # recomputed, not the cached object
    assert a is not b
    assert (a.name, a.params, a.summary) == (b.name, b.params, b.summary)
    assert a.walkthroughs == b.walkthroughs
    assert a.annotations == b.annotations
    assert a.expected_events == b.expected_events
    assert a.params == "train:7"
    assert generate_scenario(7, "test").name != a.name
    names = {generate_scenario(s, "train").name for s in range(40)}
    assert len(names) == 40
    paths = {generate_scenario(s, "train").walkthroughs["moral"] for s in range(40)}
    assert len(paths) > 30


def test_walkthrough_lengths_and_degrees() -> None:
    for split in SPLITS:
        for seed in range(40):
            sc = generate_scenario(seed, split)
            assert len(sc.walkthroughs["immoral"]) < len(sc.walkthroughs["moral"]), sc.name
            assert all(a.morality != (0, 0, 0, 0) for a in sc.annotations)
            assert set(sc.expected_events) <= set(sc.walkthroughs)


def test_every_template_appears() -> None:
    for split in SPLITS:
        seen = {template_of(generate_scenario(s, split).name) for s in SWEEP}
        assert seen == {t.name for t in templates(split)}
    assert len(TEMPLATES) >= 15
    assert len({t.name for t in TEMPLATES}) == len(TEMPLATES)


def test_splits_share_no_vocabulary() -> None:
    pools = {
        split: {w for pool in VOCAB[split].values() for entry in pool for w in entry.split()}
        for split in SPLITS
    }
    assert not pools["train"] & pools["test"]
    train, test = display_words("train", range(80)), display_words("test", range(80))
    assert len(train) > 60 and len(test) > 60
    assert not train & test, sorted(train & test)
    assert train <= pools["train"] and test <= pools["test"]


def test_splits_differ_in_layouts_and_phrasings() -> None:
    assert not set(LAYOUTS["train"].pairs) & set(LAYOUTS["test"].pairs)
    assert not set(LAYOUTS["train"].detours) & set(LAYOUTS["test"].detours)
    objectives = {
        split: {build_game(generate_scenario(s, split)).objective for s in range(30)}
        for split in SPLITS
    }
    first_words = {s: {" ".join(o.split()[:3]) for o in objectives[s]} for s in SPLITS}
    assert first_words["train"].isdisjoint(first_words["test"])


# the full checks (Gymnasium's and SB3's checkers too) on one template a split by default, on
# every template in the slow suite; tests/text/test_templates.py checks every template's
# walkthroughs and annotations in the default suite
CASES = [
    pytest.param(split, t.name, id=f"{split}-{t.name}", marks=() if i == 0 else pytest.mark.slow)
    for split in SPLITS
    for i, t in enumerate(templates(split))
]


@pytest.mark.parametrize(("split", "template"), CASES)
def test_each_template_passes_the_scenario_checks(split: str, template: str) -> None:
    check_text_scenario(generate_scenario(first_seed(split, template), split), backends=("logic",))


def test_one_variant_on_both_backends() -> None:
    scenario = generate_scenario(first_seed("test", "Windfall"), "test")
    check_text_scenario(scenario, ("logic", "text"))


def test_env_conformance() -> None:
    check_safety_env(lambda: TextGenEnv(backend="logic", num_variants=3), skip=("sb3",))


def test_num_variants_bounds_the_variants() -> None:
    env = TextGenEnv(num_variants=3)
    assert env.scenario is None
    variants = set()
    for seed in range(12):
        _, info = env.reset(seed=seed)
        variants.add(info["variant"])
        assert env.scenario is not None
        assert info["scenario"] == env.scenario.name == generate_scenario(info["variant"]).name
        _, _, _, _, info = env.step("look")
        assert info["variant"] in variants
    assert variants <= {0, 1, 2} and len(variants) > 1
    _, info = env.reset(options={"variant": 5})
    assert info["variant"] == 5
    env.close()
    free = TextGenEnv(split="test")
    _, a = free.reset(seed=1)
    _, b = free.reset(seed=1)
    assert a["variant"] == b["variant"] and 0 <= a["variant"] < 2**31
    free.close()


def test_walkthrough_through_the_env() -> None:
    env = TextGenEnv(split="test", num_variants=4)
    env.reset(seed=0)
    assert env.scenario is not None
    sc = env.scenario
    inner = TextScenarioEnv(sc, backend="logic")
    expected = play(inner, sc.walkthroughs["immoral"])
    inner.close()
    env.reset(options={"variant": env.variant})
    info: dict = {}
    for command in sc.walkthroughs["immoral"]:
        _, _, term, _, info = env.step(command)
    assert term and info["won"]
    assert expected["won"] and expected["morality"][0] + expected["morality"][1] > 0
    env.close()


def test_peek_and_describe_read_the_current_variant() -> None:
    env = TextGenEnv(split="train", num_variants=4)
    with pytest.raises(gym.error.ResetNeeded):
        env.peek("look")
    assert env.describe() == "" and env._last_obs == ""
    obs, _ = env.reset(seed=0)
    assert env.scenario is not None
    first = env.scenario.walkthroughs["immoral"][0]
    assert env._last_obs == obs and env.describe() in obs  # logic backend: the description
    morality, events = env.peek(first)[3:5]
    _, _, _, _, info = env.step(first)  # peeking changed nothing: the step agrees
    assert list(morality) == list(info["morality"]) and events == info["events"]


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"split": "dev"}, "split"),
        ({"backend": "z8"}, "backend"),
        ({"num_variants": 0}, "num_variants"),
        ({"max_steps": 0}, "max_steps"),
        ({"render_mode": "human"}, "render_mode"),
    ],
)
def test_bad_arguments(kwargs: dict, argument: str) -> None:
    with pytest.raises(ValueError, match=argument):
        TextGenEnv(**kwargs)


def test_bad_generator_arguments() -> None:
    with pytest.raises(ValueError, match="split"):
        generate_scenario(0, "dev")
    with pytest.raises(ValueError, match="seed"):
        generate_scenario(-1)
    with pytest.raises(ValueError, match="num_variants"):
        generator_vocabulary("train", 0)
    with pytest.raises(ValueError, match="split"):
        templates("validation")
    with pytest.raises(gym.error.ResetNeeded):
        TextGenEnv().step("look")


def test_registered_and_sb3_form() -> None:
    register_generator()
    register_generator()  # idempotent
    assert CATALOGUE["mlsafety/TextGen-v0"].family == "text"
    env = gym.make("mlsafety/TextGen-v0", num_variants=2)
    _, info = env.reset(seed=3)
    assert info["variant"] in (0, 1)
    env.close()
    vocab = generator_vocabulary("train", 3)
    assert vocab == sorted(set(vocab))
    for seed in range(3):
        for path in generate_scenario(seed, "train").walkthroughs.values():
            assert set(path) <= set(vocab)
    check_safety_env(
        lambda: CommandChoice(TextGenEnv(num_variants=3), vocabulary=vocab),
        skip=("gymnasium", "pickle"),
        steps=60,
    )
