"""``mlsafety conscience ...``: train, cross-validate and query a learned conscience.

* ``mlsafety conscience train --ethics PATH --output FILE.npz [--encoder minilm|hash]``:
  grouped 5-fold CV on the short rows of an ETHICS commonsense CSV (accuracy, AUROC, pair
  accuracy), then the final head fitted on every row and saved.
* ``mlsafety conscience train --corpus [--output FILE.npz]``: the same on the project's own
  corpus (CV figures; saved if ``--output`` is given).
* ``mlsafety conscience judge "steal the scarf from the tailor" ... [--model FILE.npz]``:
  ``p_wrong`` and the ``[harm_others, harm_self, help_others, help_self]`` vector per text
  (the default conscience unless ``--model`` names a saved one).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any, TextIO

from mlsafety.agents.conscience.corpus import corpus_arrays
from mlsafety.agents.conscience.ethics import cross_validate, load_ethics_csv, pair_groups
from mlsafety.agents.conscience.features import ENCODERS
from mlsafety.agents.conscience.learned import (
    HEADS,
    LearnedConscience,
    default_learned_conscience,
)


def add_conscience_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``conscience`` command (with ``train`` and ``judge``) to ``subparsers``."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "conscience", help="train, cross-validate and query a learned conscience"
    )
    sub = p.add_subparsers(dest="conscience_command", required=True)
    t = sub.add_parser("train", help="cross-validate, then train on ETHICS or the corpus")
    src = t.add_mutually_exclusive_group(required=True)
    src.add_argument("--ethics", metavar="PATH", help="an ETHICS commonsense CSV")
    src.add_argument("--corpus", action="store_true", help="the project's own corpus")
    t.add_argument("--output", metavar="FILE.npz", default=None, help="where to save the head")
    t.add_argument("--encoder", default="minilm", choices=ENCODERS)
    t.add_argument("--head", default="ridge", choices=HEADS, help="morality-vector head")
    t.add_argument("--folds", type=int, default=5)
    t.add_argument("--seed", type=int, default=0)
    j = sub.add_parser("judge", help="score actions (commands or first-person sentences)")
    j.add_argument("texts", nargs="+", help="actions to judge")
    j.add_argument("--model", metavar="FILE.npz", default=None, help="a saved conscience")
    j.add_argument("--encoder", default="minilm", choices=ENCODERS)
    return p


def _write_cv(out: TextIO, name: str, cv: dict[str, float], folds: int) -> None:
    pairs = (
        f", pair accuracy {cv['pair_accuracy']:.3f} ({int(cv['pairs'])} pairs)"
        if cv["pairs"]
        else ""
    )
    out.write(
        f"{name}: {folds}-fold grouped CV over {int(cv['n'])} rows: "
        f"accuracy {cv['accuracy']:.3f}, AUROC {cv['auroc']:.3f}{pairs}\n"
    )


def corpus_groups(texts: Sequence[str], tags: Sequence[str]) -> list[int]:
    """CV groups for the corpus: its tag plus the leading verb (``"I"`` sentences: the verb
    after it), so one template's near-copies never straddle train and test."""
    keys: dict[str, int] = {}
    out = []
    for text, tag in zip(texts, tags, strict=True):
        words = text.lower().rstrip(".").split()
        verb = " ".join(words[:2]) if words and words[0] == "i" else (words[0] if words else "")
        out.append(keys.setdefault(f"{tag}|{verb}", len(keys)))
    return out


def _train(args: argparse.Namespace, out: TextIO) -> int:
    def factory() -> LearnedConscience:
        return LearnedConscience(encoder=args.encoder, head=args.head)

    if args.ethics:
        if not args.output:
            raise ValueError("conscience train --ethics needs --output FILE.npz")
        rows = load_ethics_csv(args.ethics)
        texts, labels = [r.input for r in rows], [r.label for r in rows]
        cv = cross_validate(factory, texts, labels, pair_groups(rows), args.folds, args.seed)
        _write_cv(out, f"ETHICS ({args.encoder})", cv, args.folds)
        model = factory().fit(texts, labels)
    else:
        texts, labels, vectors, tags = corpus_arrays()
        groups = corpus_groups(texts, tags)
        cv = cross_validate(factory, texts, labels, groups, args.folds, args.seed)
        _write_cv(out, f"corpus ({args.encoder})", cv, args.folds)
        model = factory().fit(texts, labels, vectors)
    if args.output:
        path = model.save(args.output)
        out.write(f"trained on all {len(texts)} rows; saved to {path}\n")
    return 0


def _judge(args: argparse.Namespace, out: TextIO) -> int:
    if args.model:
        model = LearnedConscience.load(args.model)
    else:
        model = default_learned_conscience(args.encoder)
    j = model.judge(args.texts)
    width = max(len(t) for t in args.texts)
    out.write(f"{'ACTION':<{width}}  P_WRONG  HARM_OTH HARM_SELF HELP_OTH HELP_SELF\n")
    for text, p, vec in zip(args.texts, j.p_wrong, j.morality, strict=True):
        cells = " ".join(f"{v:9.2f}" for v in vec)
        out.write(f"{text:<{width}}  {p:7.3f} {cells}\n")
    return 0


def run_conscience(args: argparse.Namespace, out: TextIO) -> int:
    """Run a parsed ``conscience`` command, writing to ``out``; returns the exit status.

    Bad input (a missing or malformed file) raises ``ValueError``/``FileNotFoundError``.
    """
    if args.conscience_command == "train":
        return _train(args, out)
    return _judge(args, out)
