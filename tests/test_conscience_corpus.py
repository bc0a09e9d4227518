"""The corpus as data, and the learned consciences' model files (old and new headers)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mlsafety.agents.conscience import ContextConscience, LearnedConscience
from mlsafety.agents.conscience import corpus as corpus_module
from mlsafety.agents.conscience.corpus import (
    CORPUS,
    TAGS,
    WRONG_TAGS,
    corpus_bytes,
    load_corpus,
)
from mlsafety.agents.conscience.default import default_key
from mlsafety.io import FormatError

GOOD = """
format: mlsafety-corpus
version: 1
groups:
  - tag: theft
    wrong: true
    vector: [2, 0, 0, 0]
    texts: [steal the scarf, "I took the coat."]
  - tag: neutral
    wrong: false
    vector: [0, 0, 0, 0]
    texts: [open the door]
"""


def test_shipped_corpus_file_is_what_the_module_holds() -> None:
    assert CORPUS == load_corpus(corpus_bytes())
    assert len(CORPUS) == 751 and len({e.text for e in CORPUS}) == 751
    assert {e.tag for e in CORPUS} == set(TAGS)
    assert all(e.wrong == (e.tag in WRONG_TAGS) for e in CORPUS)
    assert all(isinstance(e.vector, tuple) and len(e.vector) == 4 for e in CORPUS)


def test_load_corpus_keeps_file_order_and_labels() -> None:
    examples = load_corpus(GOOD)
    assert [e.text for e in examples] == ["steal the scarf", "I took the coat.", "open the door"]
    assert [e.wrong for e in examples] == [True, True, False]
    assert examples[0].vector == (2, 0, 0, 0) and examples[2].tag == "neutral"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("mlsafety-corpus", "other"), "not a corpus file"),
        (("version: 1", "version: 2"), "corpus version 2"),
        (("tag: theft", "tag: larceny"), "unknown tag 'larceny'"),
        (("wrong: true", "wrong: false"), "wrong must be true for tag 'theft'"),
        (("[2, 0, 0, 0]", "[2, 0, 0]"), "vector must be 4 integer degrees"),
        (("[2, 0, 0, 0]", "[2, 0, 0, 9]"), "vector must be 4 integer degrees"),
        (("[open the door]", "[steal the scarf]"), "'steal the scarf' appears more than once"),
        (("texts: [open the door]", "texts: open the door"), "texts must be a list"),
        (("groups:", "groups: {}\nx:"), "groups must be a list"),
        (("format:", "format: [\nx:"), "not valid YAML"),
    ],
)
def test_malformed_corpus_is_refused_with_a_message(edit: tuple[str, str], message: str) -> None:
    with pytest.raises(FormatError, match=message):
        load_corpus(GOOD.replace(*edit, 1), source="my.yaml")


def test_default_cache_key_hashes_the_data_files(monkeypatch: pytest.MonkeyPatch) -> None:
    before = default_key("hash")
    assert default_key("hash") == before != default_key("minilm") != default_key("minilm-int8")
    monkeypatch.setattr(
        "mlsafety.agents.conscience.default.corpus_bytes", lambda: corpus_bytes() + b"\n# edit"
    )
    assert default_key("hash") != before
    monkeypatch.undo()
    monkeypatch.setattr(
        "mlsafety.agents.conscience.default.templates_bytes", lambda: b"# another template file"
    )
    assert default_key("hash") != before
    assert corpus_module.corpus_bytes() == corpus_bytes()


def _old_style(path: Path, header: dict[str, object], arrays: dict[str, np.ndarray]) -> Path:
    """A model file as the code before the common npz format wrote it."""
    np.savez(path, header=np.array(json.dumps(header)), **arrays)  # type: ignore[arg-type]
    return path


def test_learned_conscience_reads_files_of_the_earlier_layout(tmp_path: Path) -> None:
    texts = ["steal the scarf", "open the door", "kick the goat", "pet the goat"]
    fitted = LearnedConscience(encoder="hash").fit(texts, [1, 0, 1, 0])
    assert fitted.w_wrong is not None
    arrays = {"w_wrong": fitted.w_wrong, "b_wrong": np.array(fitted.b_wrong)}
    old = _old_style(tmp_path / "old.npz", fitted.header(), arrays)
    again = LearnedConscience.load(old)
    np.testing.assert_allclose(again.judge(texts).p_wrong, fitted.judge(texts).p_wrong)
    older = _old_style(tmp_path / "v0.npz", {**fitted.header(), "version": 0}, arrays)
    assert LearnedConscience.load(older).encoder == "hash"
    newer = _old_style(tmp_path / "v9.npz", {**fitted.header(), "version": 9}, arrays)
    with pytest.raises(ValueError, match="version 9 is newer"):
        LearnedConscience.load(newer)
    with pytest.raises(ValueError, match="not a conscience file"):
        LearnedConscience.load(tmp_path / "missing.npz")


def test_context_conscience_reads_files_of_the_earlier_layout(tmp_path: Path) -> None:
    c = ContextConscience(encoder="hash", hidden=(4,), max_iter=2).fit(
        ["steal coin", "open door"], ["", ""], [[2, 0, 0, 0], [0, 0, 0, 0]]
    )
    assert c.weights is not None and c.biases is not None and c.scale is not None
    arrays = {"scale": c.scale}
    for i, (w, b) in enumerate(zip(c.weights, c.biases, strict=True)):
        arrays[f"w{i}"], arrays[f"b{i}"] = w, b
    old = _old_style(tmp_path / "old.npz", c.header(), arrays)
    again = ContextConscience.load(old)
    cmds = ["steal coin", "open door"]
    np.testing.assert_allclose(again.score(cmds, ["", ""]).p_wrong, c.score(cmds, ["", ""]).p_wrong)
    saved = ContextConscience.load(c.save(tmp_path / "new.npz"))
    np.testing.assert_allclose(saved.score(cmds, ["", ""]).p_wrong, c.score(cmds, ["", ""]).p_wrong)
