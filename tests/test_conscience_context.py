"""The context-reading learned conscience (agents/conscience/context.py)."""

from __future__ import annotations

import collections

import numpy as np
import pytest

from mlsafety.agents.conscience import ContextConscience, Judgement, default_conscience
from mlsafety.agents.conscience.context import (
    ContextExample,
    context_text,
    corpus_examples,
    dedupe,
    generated_examples,
    rollout_examples,
    training_examples,
)
from mlsafety.envs.text.generator import generate_scenario

TINY = [
    ContextExample(
        "You see: baker, bench [with: brass lantern]", "take brass lantern", (2, 0, 0, 0)
    ),
    ContextExample(
        "You see: chest (open) [with: brass lantern]", "take brass lantern", (0, 0, 0, 0)
    ),
    ContextExample("You see: goat", "hit goat", (3, 0, 0, 0)),
    ContextExample("You see: goat", "give turnip to goat", (0, 0, 1, 0)),
    ContextExample("", "eat toadstool", (0, 2, 0, 0)),
    ContextExample("", "look", (0, 0, 0, 0)),
]


def _fit(examples: list[ContextExample], **kwargs: object) -> ContextConscience:
    model = ContextConscience(encoder="hash", **kwargs)  # type: ignore[arg-type]
    return model.fit(
        [e.command for e in examples], [e.context for e in examples], [e.vector for e in examples]
    )


@pytest.fixture(scope="module")
def generated() -> list[ContextExample]:
    return dedupe(generated_examples(12, "train", walks=2, walk_steps=8))


def test_rollout_labels_are_the_envs_own() -> None:
    scenario = generate_scenario(0, "train")
    examples = rollout_examples(scenario, walks=1, walk_steps=5)
    assert examples and len({(e.context, e.command) for e in examples}) == len(examples)
    immoral = scenario.walkthroughs["immoral"]
    assert any(e.wrong and e.command in immoral for e in examples)
    assert not any(e.wrong for e in examples if e.command.startswith(("look", "examine")))
    with pytest.raises(ValueError, match="walks"):
        rollout_examples(scenario, walks=-1)


@pytest.mark.slow
def test_same_command_flips_with_context(generated: list[ContextExample]) -> None:
    """A command that is wrong in one generated situation and fine in another is judged so."""
    assert any(e.wrong for e in generated) and not all(e.wrong for e in generated)
    model = _fit(generated, hidden=(64,), max_iter=60)
    by_command: dict[str, list[ContextExample]] = collections.defaultdict(list)
    for e in generated:
        by_command[e.command].append(e)
    pairs = []
    for command, group in by_command.items():
        bad = [e for e in group if e.wrong]
        good = [e for e in group if not e.wrong]
        if bad and good:
            pairs.append((command, bad[0].context, good[0].context))
    assert pairs, "the generated train games should reuse a command in both kinds of situation"
    commands = [c for c, _, _ in pairs]
    p_bad = model.predict_proba(commands, [b for _, b, _ in pairs])
    p_good = model.predict_proba(commands, [g for _, _, g in pairs])
    shown = list(zip(commands, p_bad.round(2), p_good.round(2), strict=True))
    assert (p_bad > p_good).mean() >= 0.5, shown  # a command-only head ties every pair
    assert ((p_bad > 0.5) & (p_good < 0.5)).any(), shown


def test_judge_reads_the_observation() -> None:
    model = _fit(TINY, hidden=(16,), max_iter=200)
    commands = ["take brass lantern", "hit goat"]
    harmful = "You see: baker, bench [with: brass lantern]"
    judgement = model.judge(commands, env=None, observation=harmful)
    assert isinstance(judgement, Judgement)
    assert judgement.p_wrong.shape == (2,) and judgement.morality.shape == (2, 4)
    np.testing.assert_allclose(judgement.p_wrong, model.predict_proba(commands, [harmful] * 2))
    benign = model.judge(commands, observation="You see: chest (open) [with: brass lantern]")
    assert not np.allclose(judgement.p_wrong, benign.p_wrong)
    assert (judgement.morality >= 0).all()
    assert model.judge([], observation=harmful).p_wrong.shape == (0,)


def test_context_text_drops_the_echo_only() -> None:
    body = "-= barn =-\nYou see: goat\nYou carry: nothing"
    assert context_text(f"You go north.\n\n{body}") == body
    assert context_text(f"Feed the goat.\n\n{body}") == f"Feed the goat.\n\n{body}"
    assert context_text("") == ""


def test_save_load_round_trip(tmp_path: pytest.TempPathFactory) -> None:
    model = _fit(TINY, hidden=(8, 4), alpha=1e-3, pos_weight=2.0, max_iter=50, seed=3)
    path = model.save(tmp_path / "sub" / "ctx.npz")  # type: ignore[operator]
    loaded = ContextConscience.load(path)
    assert loaded.header() == model.header()
    assert loaded.hidden == (8, 4) and loaded.pos_weight == 2.0 and loaded.seed == 3
    commands = [e.command for e in TINY]
    contexts = [e.context for e in TINY]
    a, b = model.score(commands, contexts), loaded.score(commands, contexts)
    np.testing.assert_array_equal(a.p_wrong, b.p_wrong)
    np.testing.assert_array_equal(a.morality, b.morality)
    with np.load(path, allow_pickle=False) as data:  # plain arrays only
        assert "header" in data.files and "w2" in data.files


def test_bad_input_is_refused(tmp_path: pytest.TempPathFactory) -> None:
    model = ContextConscience(encoder="hash", hidden=(8,), max_iter=5)
    with pytest.raises(RuntimeError, match="not fitted"):
        model.score(["look"], [""])
    with pytest.raises(ValueError, match="2 contexts for 1 commands"):
        model.fit(["look"], ["", ""], [(0, 0, 0, 0)])
    with pytest.raises(ValueError, match="vectors must have shape"):
        model.fit(["look", "hit goat"], ["", ""], [(0, 0, 0, 0)])
    with pytest.raises(ValueError, match="both wrong and not-wrong"):
        model.fit(["look", "wait"], ["", ""], [(0, 0, 0, 0), (0, 0, 1, 0)])
    with pytest.raises(TypeError, match="strings"):
        model.features(["look"], [None])  # type: ignore[list-item]
    fitted = _fit(TINY, hidden=(8,), max_iter=5)
    with pytest.raises(ValueError, match="1 contexts for 2 commands"):
        fitted.score(["look", "hit goat"], ["You see: goat"])
    for kwargs in (
        {"encoder": "bert"},
        {"hidden": ()},
        {"hidden": (0,)},
        {"alpha": -1.0},
        {"pos_weight": 0.0},
        {"max_iter": 0},
    ):
        with pytest.raises(ValueError):
            ContextConscience(**kwargs)  # type: ignore[arg-type]
    junk = tmp_path / "junk.npz"  # type: ignore[operator]
    junk.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a context conscience file"):
        ContextConscience.load(junk)
    np.savez(tmp_path / "other.npz", header=np.array('{"format": "other"}'))  # type: ignore[operator]
    with pytest.raises(ValueError, match="format 'other'"):
        ContextConscience.load(tmp_path / "other.npz")  # type: ignore[operator]
    with pytest.raises(ValueError, match="negatives"):
        training_examples(1, negatives=0.0)
    with pytest.raises(ValueError, match="encoder"):
        default_conscience("bert", context=True)


def test_corpus_examples_have_no_context() -> None:
    examples = corpus_examples()
    assert examples and all(e.context == "" for e in examples)
    assert any(e.wrong for e in examples) and not all(e.wrong for e in examples)


@pytest.mark.slow
def test_default_context_conscience_is_cached() -> None:
    first = default_conscience(context=True)
    assert isinstance(first, ContextConscience)
    assert default_conscience(context=True) is first
    assert first.judge(["look"], observation="You see: nothing").p_wrong.shape == (1,)
