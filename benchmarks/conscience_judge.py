"""Frozen-encoder head vs fine-tuned encoder: how well does a conscience judge held-out text?

    python benchmarks/conscience_judge.py [--ethics PATH] [--ethics-rows 600] [--corpus-rows 200]
        [--folds 2] [--epochs 2] [--seed 0] [--output benchmarks/results/conscience_judge.json]

Rows: the first ``--ethics-rows`` short rows of an ETHICS commonsense CSV (whole minimal
pairs), the project's hard cases (``agents/conscience/data/hard_cases.yaml``) and a seeded
sample of ``--corpus-rows`` corpus rows (whole templates; always in training, never scored).
ETHICS pairs and hard-case template groups are split by ``StratifiedGroupKFold`` into
``--folds`` folds; both variants train on the same folds in the same run:

* ``frozen``: today's :class:`LearnedConscience` (MiniLM embeddings, logistic heads):
  ``p_wrong`` fitted on every training row, the morality head on rows with vectors;
* ``finetuned``: :class:`FineTunedConscience`, MiniLM trained end to end (``--epochs``).

Scored out of fold: ETHICS accuracy, AUROC, pair accuracy, ECE; hard cases AUROC, per-dimension
AUROC, harm to others vs harm only to self (score: predicted harm to others, among rows
that harm someone), and on second-person outcome sentences harm-to-others and any-harm
AUROC. Also training seconds per fold and judge latency per 1,000 unseen candidates on the
CPU. Prints a Markdown table and writes every figure, setting, seed, the date, the machine
and the command to ``--output`` (JSON, atomically).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from typing import Any

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold

from mlsafety.agents.conscience.base import Judgement
from mlsafety.agents.conscience.dataset import TrainingSet, training_set
from mlsafety.agents.conscience.ethics import load_ethics_csv, opposite_pairs
from mlsafety.agents.conscience.finetune import FineTunedConscience
from mlsafety.agents.conscience.hard_cases import hard_cases
from mlsafety.agents.conscience.learned import LearnedConscience
from mlsafety.io import atomic_write_json
from mlsafety.monitors.metrics import expected_calibration_error

DIMS = ("harm_others", "harm_self", "help_others", "help_self")


class Frozen:
    """The baseline: a p_wrong head on all rows, a morality head on rows with vectors."""

    def fit(self, data: TrainingSet, args: argparse.Namespace) -> Frozen:
        self.wrong = LearnedConscience("minilm", head="logistic").fit(data.texts, data.labels)
        known = ~np.isnan(data.morality).any(axis=1)
        self.vec = LearnedConscience("minilm", head="logistic").fit(
            [t for t, k in zip(data.texts, known, strict=True) if k],
            data.labels[known],
            data.morality[known],
        )
        return self

    def judge(self, texts: list[str]) -> Judgement:
        return Judgement(self.wrong.judge(texts).p_wrong, self.vec.judge(texts).morality)


class Finetuned:
    def fit(self, data: TrainingSet, args: argparse.Namespace) -> Finetuned:
        self.model = FineTunedConscience(device="cpu").fit(
            data.texts, data.labels, data.morality, epochs=args.epochs, seed=args.seed,
            progress=True,
        )  # fmt: skip
        return self

    def judge(self, texts: list[str]) -> Judgement:
        return self.model.judge(texts)


VARIANTS: dict[str, type[Frozen] | type[Finetuned]] = {"frozen": Frozen, "finetuned": Finetuned}


def _auc(y: np.ndarray, s: np.ndarray) -> float:
    return float(roc_auc_score(y, s)) if len(np.unique(y)) == 2 else float("nan")


def metrics(data: TrainingSet, p: np.ndarray, m: np.ndarray) -> dict[str, float]:
    src = np.asarray(data.sources)
    out: dict[str, float] = {}
    e = src == "ethics"
    if e.any():
        y, s = data.labels[e], p[e]
        pairs = opposite_pairs(y.tolist(), data.groups[e].tolist())
        out |= {
            "ethics_accuracy": float(np.mean((s > 0.5) == (y == 1))),
            "ethics_auroc": _auc(y, s),
            "ethics_pair_accuracy": float(np.mean([s[w] > s[a] for w, a in pairs])),
            "ethics_pairs": float(len(pairs)),
            "ethics_ece": expected_calibration_error(y, s),
        }
    h = src == "hard"
    y, s, v, mm = data.labels[h], p[h], data.morality[h], m[h]
    out |= {
        "hard_accuracy": float(np.mean((s > 0.5) == (y == 1))),
        "hard_auroc": _auc(y, s),
        "hard_ece": expected_calibration_error(y, s),
    }
    for d, name in enumerate(DIMS):
        out[f"hard_auroc_{name}"] = _auc(v[:, d] > 0, mm[:, d])
    harmed = (v[:, 0] > 0) | (v[:, 1] > 0)
    out["hard_auroc_others_vs_self_only"] = _auc(v[harmed, 0] > 0, mm[harmed, 0])
    second = np.array([t.startswith("You ") for t in np.asarray(data.texts, dtype=object)[h]])
    out["outcome_auroc_harm_others"] = _auc(v[second, 0] > 0, mm[second, 0])
    out["outcome_auroc_any_harm"] = _auc(y[second], s[second])
    out["outcome_auroc_others_vs_self_only"] = _auc(
        v[second & harmed, 0] > 0, mm[second & harmed, 0]
    )
    return out


def latency_ms_per_1000(model: Any, texts: list[str]) -> float:
    fresh = [f"{t} ({i})" for i, t in enumerate(texts * (1000 // len(texts) + 1))][:1000]
    model.judge(fresh[:8])  # warm up
    t0 = time.perf_counter()
    model.judge(fresh)
    return 1000 * (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ethics", default="/work/shared/data/ethics/cm_test.csv")
    ap.add_argument("--ethics-rows", type=int, default=600)
    ap.add_argument("--corpus-rows", type=int, default=200)
    ap.add_argument("--folds", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--output", default="benchmarks/results/conscience_judge.json")
    args = ap.parse_args(argv)
    ethics = load_ethics_csv(args.ethics)[: args.ethics_rows]
    scored = training_set(ethics, hard_cases(), corpus=False)
    corpus = training_set(corpus=True, max_rows=args.corpus_rows, seed=args.seed)
    offset = int(scored.groups.max()) + 1
    corpus = corpus._replace(groups=corpus.groups + offset)
    n = len(scored.texts)
    folds = list(
        StratifiedGroupKFold(args.folds, shuffle=True, random_state=args.seed).split(
            np.zeros(n), scored.labels, scored.groups
        )
    )
    results: dict[str, Any] = {}
    for name in args.variants:
        p, m = np.full(n, np.nan), np.full((n, 4), np.nan)
        seconds = []
        model: Any = None
        for train, test in folds:
            part = scored.subset(train)
            data = TrainingSet(
                part.texts + corpus.texts,
                np.concatenate([part.labels, corpus.labels]),
                np.concatenate([part.morality, corpus.morality]),
                np.concatenate([part.groups, corpus.groups]),
                part.sources + corpus.sources,
            )
            t0 = time.perf_counter()
            model = VARIANTS[name]().fit(data, args)
            seconds.append(time.perf_counter() - t0)
            j = model.judge([scored.texts[i] for i in test])
            p[test], m[test] = j.p_wrong, j.morality
        results[name] = metrics(scored, p, m) | {
            "train_seconds_per_fold": float(np.mean(seconds)),
            "judge_ms_per_1000_cpu": latency_ms_per_1000(model, scored.texts[:200]),
        }
    keys = sorted({k for r in results.values() for k in r})
    print("| metric | " + " | ".join(results) + " |")
    print("|---|" + "---|" * len(results))
    for k in keys:
        print(
            f"| {k} | "
            + " | ".join(f"{r.get(k, float('nan')):.3f}" for r in results.values())
            + " |"
        )
    report = {
        "results": results,
        "settings": {
            "ethics": os.path.abspath(args.ethics),
            "ethics_rows": len(ethics),
            "hard_cases": int(sum(s == "hard" for s in scored.sources)),
            "corpus_rows_in_training": len(corpus.texts),
            "folds": args.folds,
            "epochs": args.epochs,
            "finetune": {"lr": 8e-5, "batch_size": 32, "max_length": 64, "layers": "all"},
            "note": "reduced run for a shared 2-core CPU: an ETHICS subset, few folds and epochs",
        },
        "seeds": [args.seed],
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "python": platform.python_version(),
            "torch": torch.__version__,
        },
        "command": " ".join([os.path.basename(sys.executable), *sys.argv]),
    }
    atomic_write_json(args.output, report)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
