"""Training and cross-validating a learned conscience on the ETHICS commonsense-morality data.

The data (Hendrycks et al., ICLR 2021; MIT licence) is never bundled or downloaded: point
these functions at a local ``cm_*.csv`` with the columns ``label,input,is_short,edited``
(``label`` 1 = the first-person action is clearly wrong).

Short ETHICS rows come in *minimal pairs*: two adjacent rows that tell nearly the same story
with one change that flips the verdict ("I helped ... / I tossed ..."). Splitting a pair
between train and test folds leaks the answer, so :func:`pair_groups` gives both rows the same
group id and :func:`cross_validate` keeps groups whole. Pairs are also the sharpest test of a
conscience: ``pair_accuracy`` is the fraction of opposite-label pairs in which the wrong member
gets the higher ``p_wrong``.
"""

from __future__ import annotations

import csv
import difflib
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from mlsafety.agents.conscience.learned import LearnedConscience

COLUMNS = ("label", "input", "is_short", "edited")
PAIR_SIMILARITY = 0.3
_WORD = re.compile(r"[a-z0-9']+")


class EthicsRow(NamedTuple):
    """One ETHICS row."""

    label: int
    input: str
    is_short: bool
    edited: bool


def _flag(value: str, path: Path, line: int, column: str) -> bool:
    v = value.strip().lower()
    if v in ("true", "1"):
        return True
    if v in ("false", "0", ""):
        return False
    raise ValueError(f"{path}:{line}: column {column!r} must be True/False, got {value!r}")


def load_ethics_csv(path: str | os.PathLike[str], short_only: bool = True) -> list[EthicsRow]:
    """The rows of an ETHICS commonsense CSV (only the 1-2 sentence ones by default)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"ETHICS file not found: {path}")
    rows: list[EthicsRow] = []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(
                f"{path}: missing column(s) {', '.join(missing)}; "
                f"expected the header {','.join(COLUMNS)}"
            )
        for line, rec in enumerate(reader, start=2):
            try:
                label = int(rec["label"])
            except (TypeError, ValueError):
                raise ValueError(
                    f"{path}:{line}: column 'label' must be 0 or 1, got {rec['label']!r}"
                ) from None
            if label not in (0, 1):
                raise ValueError(f"{path}:{line}: column 'label' must be 0 or 1, got {label}")
            row = EthicsRow(
                label,
                rec["input"] or "",
                _flag(rec["is_short"] or "", path, line, "is_short"),
                _flag(rec["edited"] or "", path, line, "edited"),
            )
            if row.is_short or not short_only:
                rows.append(row)
    if not rows:
        raise ValueError(f"{path}: no {'short ' if short_only else ''}rows")
    return rows


def similarity(a: str, b: str) -> float:
    """Word-sequence similarity of two texts in ``[0, 1]`` (difflib ratio over lowercase words)."""
    wa, wb = _WORD.findall(a.lower()), _WORD.findall(b.lower())
    return difflib.SequenceMatcher(None, wa, wb, autojunk=False).ratio()


def pair_groups(
    rows: Sequence[EthicsRow] | Sequence[tuple[int, str]], threshold: float = PAIR_SIMILARITY
) -> list[int]:
    """A group id per row; the two rows of each adjacent minimal pair share one.

    Heuristic: minimal pairs are adjacent and nearly the same words, so a row is paired with
    its successor when their word-sequence :func:`similarity` exceeds ``threshold``. The
    pairing is chosen by dynamic programming to maximise the total ``similarity - threshold``
    over disjoint adjacent pairs, so one unpaired row does not shift every later pair out of
    step (a greedy left-to-right pass would). Labels are not used: a near-duplicate with the
    same label is grouped too, since it would leak just the same. Rows left unpaired get a
    group of their own. ``rows`` may be :class:`EthicsRow` or ``(label, text)`` tuples.
    """
    texts = [r.input if isinstance(r, EthicsRow) else r[1] for r in rows]
    n = len(texts)
    gain = [similarity(texts[i], texts[i + 1]) - threshold for i in range(n - 1)]
    best = [0.0] * (n + 2)
    take = [False] * (n + 1)
    for i in range(n - 2, -1, -1):
        best[i] = best[i + 1]
        if gain[i] > 0 and gain[i] + best[i + 2] > best[i]:
            best[i], take[i] = gain[i] + best[i + 2], True
    groups = [0] * n
    gid, i = 0, 0
    while i < n:
        groups[i] = gid
        if i + 1 < n and take[i]:
            groups[i + 1] = gid
            i += 1
        gid += 1
        i += 1
    return groups


def opposite_pairs(labels: Sequence[int], groups: Sequence[int]) -> list[tuple[int, int]]:
    """``(wrong_index, acceptable_index)`` for every group of two rows with opposite labels."""
    members: dict[int, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    out = []
    for idx in members.values():
        if len(idx) == 2 and labels[idx[0]] != labels[idx[1]]:
            a, b = idx
            out.append((a, b) if labels[a] == 1 else (b, a))
    return out


def cross_validate(
    conscience_factory: Callable[[], Any],
    texts: Sequence[str],
    labels: Sequence[int],
    groups: Sequence[int],
    folds: int = 5,
    seed: int = 0,
) -> dict[str, float]:
    """Grouped k-fold CV of ``conscience_factory()`` (anything with ``fit(texts, labels)`` and
    ``judge(texts)``): out-of-fold ``accuracy`` (threshold 0.5), ``auroc`` (positive class =
    wrong), ``pair_accuracy`` over opposite-label pairs, and ``n`` rows.

    Folds come from ``StratifiedGroupKFold`` (shuffled with ``seed``) so no group is split.
    """
    # heavy: scikit-learn (seconds to import), needed only to cross-validate
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold  # heavy: scikit-learn

    texts = list(texts)
    y = np.asarray(labels, dtype=np.int64)
    g = np.asarray(groups)
    if not len(texts) == len(y) == len(g):
        raise ValueError(f"{len(texts)} texts, {len(y)} labels and {len(g)} groups differ")
    if len(np.unique(g)) < folds:
        raise ValueError(f"{len(np.unique(g))} groups cannot fill {folds} folds")
    scores: npt.NDArray[np.float64] = np.full(len(texts), np.nan)
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(np.zeros(len(y)), y, g):
        model = conscience_factory()
        model.fit([texts[i] for i in train], y[train])
        scores[test] = model.judge([texts[i] for i in test]).p_wrong
    pairs = opposite_pairs(y.tolist(), g.tolist())
    pair_acc = float(np.mean([scores[w] > scores[a] for w, a in pairs])) if pairs else float("nan")
    return {
        "accuracy": float(np.mean((scores > 0.5) == (y == 1))),
        "auroc": float(roc_auc_score(y, scores)),
        "pair_accuracy": pair_acc,
        "pairs": float(len(pairs)),
        "n": float(len(texts)),
    }


def train_on_ethics(
    path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    encoder: str = "minilm",
    **kwargs: Any,
) -> LearnedConscience:
    """Fit a :class:`LearnedConscience` on every short row of ``path`` and save it to
    ``out_path`` (``.npz``). Its ``morality`` is ``[p_wrong, 0, 0, 0]`` (ETHICS has no
    vectors)."""
    rows = load_ethics_csv(path)
    model = LearnedConscience(encoder=encoder, **kwargs)
    model.fit([r.input for r in rows], [r.label for r in rows])
    model.save(out_path)
    return model
