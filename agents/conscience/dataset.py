"""One labelled training set from the conscience's sources: ETHICS, the corpus, hard cases.

:func:`training_set` joins them into parallel arrays for
:meth:`~.finetune.FineTunedConscience.fit`: texts, labels (1 = wrong), morality vectors
(NaN rows for ETHICS, which labels only wrong/not wrong) and a group id per row that keeps
ETHICS minimal pairs (:func:`~.ethics.pair_groups`), corpus templates
(:func:`corpus_groups`) and hard-case template groups (:func:`~.hard_cases.group_ids`)
whole in any grouped split.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from mlsafety.agents.conscience.corpus import corpus_arrays
from mlsafety.agents.conscience.ethics import EthicsRow, pair_groups
from mlsafety.agents.conscience.hard_cases import HardCase, group_ids
from mlsafety.types import F64, I64


class TrainingSet(NamedTuple):
    """Parallel arrays of labelled texts (see the module docs)."""

    texts: list[str]
    labels: I64
    morality: F64  # (N, 4); NaN rows: no vector
    groups: I64
    sources: list[str]  # "ethics", "corpus" or "hard"

    def subset(self, index: Sequence[int] | np.ndarray) -> TrainingSet:
        idx = np.asarray(index, dtype=np.int64)
        return TrainingSet(
            [self.texts[i] for i in idx],
            self.labels[idx],
            self.morality[idx],
            self.groups[idx],
            [self.sources[i] for i in idx],
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


def training_set(
    ethics: Sequence[EthicsRow] = (),
    hard: Sequence[HardCase] = (),
    corpus: bool = True,
    max_rows: int | None = None,
    seed: int = 0,
) -> TrainingSet:
    """The rows of ``ethics``, the project corpus (unless ``corpus=False``) and ``hard``.

    ``max_rows``: keep a seeded random subset of whole groups with at most that many rows.
    """
    texts: list[str] = []
    labels: list[int] = []
    vectors: list[list[float]] = []
    groups: list[int] = []
    sources: list[str] = []

    def add(t: Sequence[str], y: Sequence[int], v: Sequence[Sequence[float]], g: Sequence[int],
            source: str) -> None:  # fmt: skip
        offset = max(groups) + 1 if groups else 0
        texts.extend(t)
        labels.extend(int(x) for x in y)
        vectors.extend([float(x) for x in row] for row in v)
        groups.extend(offset + int(x) for x in g)
        sources.extend([source] * len(t))

    if ethics:
        nan = [[float("nan")] * 4] * len(ethics)
        add(
            [r.input for r in ethics], [r.label for r in ethics], nan, pair_groups(ethics), "ethics"
        )
    if corpus:
        ct, cy, cv, tags = corpus_arrays()
        add(ct, cy, cv, corpus_groups(ct, tags), "corpus")
    if hard:
        add([c.text for c in hard], [int(c.wrong) for c in hard], [c.vector for c in hard],
            group_ids(hard), "hard")  # fmt: skip
    if not texts:
        raise ValueError("empty training set: give ETHICS rows, hard cases or the corpus")
    out = TrainingSet(
        texts,
        np.asarray(labels, dtype=np.int64),
        np.asarray(vectors, dtype=np.float64).reshape(-1, 4),
        np.asarray(groups, dtype=np.int64),
        sources,
    )
    if max_rows is None or max_rows >= len(texts):
        return out
    if max_rows < 1:
        raise ValueError(f"max_rows must be positive, got {max_rows}")
    rng = np.random.default_rng(seed)
    keep: list[int] = []
    for g in rng.permutation(np.unique(out.groups)):
        members = np.flatnonzero(out.groups == g).tolist()
        if len(keep) + len(members) <= max_rows:
            keep += members
    return out.subset(sorted(keep))
