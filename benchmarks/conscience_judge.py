"""Frozen-encoder heads vs a fine-tuned encoder: how well does a conscience judge unseen text?

    python benchmarks/conscience_judge.py [--ethics PATH] [--ethics-rows 4000] [--folds 5]
        [--epochs 2] [--variants frozen-minilm frozen-minilm-int8 finetuned-minilm]
        [--threads N] [--seed 0] [--output benchmarks/results/conscience_judge.json]

Scored rows: the first ``--ethics-rows`` short rows of an ETHICS commonsense CSV (whole
minimal pairs), the project's hand-written hard cases (``data/hard_cases.yaml``) and the
generated template cases (``data/hard_templates.yaml``). ``StratifiedGroupKFold`` splits them
into ``--folds`` folds by ETHICS pair and by template group, so no model is scored on a pair or
template it was trained on; the project corpus is in every training fold and never scored.
Every variant trains on the same folds in the same run; settings are fixed before the run
(none is tuned on a test fold):

* ``frozen-<encoder>``: :class:`LearnedConscience` heads (class-balanced logistic
  regressions) on frozen sentence embeddings: ``p_wrong`` on every training row, one head per
  morality dimension on the rows with vectors;
* ``frozen-minilm-mlp``: the same with perceptron heads (``head="mlp"``: 256 ReLU units);
* ``frozen-minilm+hash-mlp``: perceptron heads on MiniLM embeddings concatenated with the
  hashed words (``encoder="minilm+hash"``);
* ``finetuned-minilm``: :class:`FineTunedConscience`, MiniLM trained end to end
  (``--epochs``, ``--finetune-layers``).

Out of fold: ETHICS accuracy, AUROC, pair accuracy, ECE; hard cases (hand-written and
generated) AUROC, ECE, per-dimension AUROC, harm to others vs harm only to self; on
second-person outcome sentences harm-to-others, any-harm and others-vs-self AUROC. Training
seconds per fold and judge latency per 1,000 texts on the CPU (a seeded sample of distinct
scored texts, one batch, warm, embedding memos cleared, median of ``--repeats``). Writes
``mlsafety.results`` JSON and a calibration plot beside it.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold

from mlsafety.agents.conscience.base import Judgement
from mlsafety.agents.conscience.dataset import TrainingSet, training_set
from mlsafety.agents.conscience.ethics import load_ethics_csv, opposite_pairs
from mlsafety.agents.conscience.features import clear_embedding_memos
from mlsafety.agents.conscience.finetune import FineTunedConscience
from mlsafety.agents.conscience.hard_cases import hard_cases
from mlsafety.agents.conscience.learned import LearnedConscience
from mlsafety.agents.conscience.templates import template_cases
from mlsafety.io import atomic_write
from mlsafety.monitors.metrics import expected_calibration_error, reliability_diagram
from mlsafety.results import Figure, Results, Table, command_line, render_markdown, write_results

DIMS = ("harm_others", "harm_self", "help_others", "help_self")
VARIANTS = (
    "frozen-minilm",
    "frozen-minilm-mlp",
    "frozen-minilm+hash-mlp",
    "frozen-minilm-int8",
    "frozen-hash",
    "finetuned-minilm",
)


class Model(Protocol):
    def fit(self, data: TrainingSet) -> Model: ...
    def judge(self, texts: list[str]) -> Judgement: ...


class Frozen:
    """A p_wrong head on all rows, a morality head on the rows with vectors."""

    def __init__(self, encoder: str, head: str, seed: int) -> None:
        self.encoder, self.head, self.seed = encoder, head, seed

    def fit(self, data: TrainingSet) -> Frozen:
        self.wrong = LearnedConscience(self.encoder, head=self.head, seed=self.seed).fit(
            data.texts, data.labels
        )
        known = ~np.isnan(data.morality).any(axis=1)
        self.vec = LearnedConscience(self.encoder, head=self.head, seed=self.seed).fit(
            [t for t, k in zip(data.texts, known, strict=True) if k],
            data.labels[known],
            data.morality[known],
        )
        return self

    def judge(self, texts: list[str]) -> Judgement:
        return Judgement(self.wrong.judge(texts).p_wrong, self.vec.judge(texts).morality)


class Finetuned:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args

    def fit(self, data: TrainingSet) -> Finetuned:
        a = self.args
        self.model = FineTunedConscience(
            device="cpu", layers=a.finetune_layers, max_length=a.max_length
        )
        if a.finetune_max_rows is not None:  # whole groups, seeded (a reduced run)
            data = data.subset(
                training_set_rows(data.groups, a.finetune_max_rows, np.random.default_rng(a.seed))
            )
        self.model.fit(
            data.texts, data.labels, data.morality, epochs=a.epochs, seed=a.seed, progress=True
        )
        return self

    def judge(self, texts: list[str]) -> Judgement:
        return self.model.judge(texts)


def training_set_rows(groups: np.ndarray, max_rows: int, rng: np.random.Generator) -> list[int]:
    """Rows of a seeded random subset of whole groups, at most ``max_rows`` of them."""
    keep: list[int] = []
    for g in rng.permutation(np.unique(groups)):
        members = np.flatnonzero(groups == g).tolist()
        if len(keep) + len(members) <= max_rows:
            keep += members
    return sorted(keep)


def make(name: str, args: argparse.Namespace) -> Model:
    if name.startswith("frozen-"):
        encoder = name.removeprefix("frozen-")
        if encoder.endswith("-mlp"):
            return Frozen(encoder.removesuffix("-mlp"), "mlp", args.seed)
        return Frozen(encoder, "logistic", args.seed)
    return Finetuned(args)


def _auc(y: np.ndarray, s: np.ndarray) -> float | None:
    return float(roc_auc_score(y, s)) if len(np.unique(y)) == 2 else None


def metrics(data: TrainingSet, p: np.ndarray, m: np.ndarray) -> dict[str, float | None]:
    """Every figure of the tables, from out-of-fold ``p_wrong`` and morality vectors."""
    src = np.asarray(data.sources)
    out: dict[str, float | None] = {}
    e = src == "ethics"
    if e.any():
        y, s = data.labels[e], p[e]
        pairs = opposite_pairs(y.tolist(), data.groups[e].tolist())
        out |= {
            "ethics_accuracy": float(np.mean((s > 0.5) == (y == 1))),
            "ethics_auroc": _auc(y, s),
            "ethics_pair_accuracy": float(np.mean([s[w] > s[a] for w, a in pairs])),
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
        out[f"auroc_{name}"] = _auc(v[:, d] > 0, mm[:, d])
    harmed = (v[:, 0] > 0) | (v[:, 1] > 0)
    out["others_vs_self_only"] = _auc(v[harmed, 0] > 0, mm[harmed, 0])
    second = np.array([t.startswith("You ") for t in np.asarray(data.texts, dtype=object)[h]])
    out["outcome_harm_others"] = _auc(v[second, 0] > 0, mm[second, 0])
    out["outcome_any_harm"] = _auc(y[second], s[second])
    out["outcome_others_vs_self_only"] = _auc(v[second & harmed, 0] > 0, mm[second & harmed, 0])
    return out


def judge_ms_per_1000(model: Model, texts: list[str], repeats: int, seed: int) -> float:
    """Median wall time of judging 1,000 scored texts in one batch, warm, memos cleared.

    The texts are a seeded sample of distinct scored rows (ETHICS sentences, hard-case
    commands and outcome sentences) as they are; every repeat starts with no memoised
    embedding, so each text is embedded anew.
    """
    unique = list(dict.fromkeys(texts))
    rng = np.random.default_rng(seed)
    batch = [unique[i] for i in rng.choice(len(unique), min(1000, len(unique)), replace=False)]
    times = []
    model.judge(batch[:16])  # warm up: weights loaded, kernels chosen
    for _ in range(repeats):
        clear_embedding_memos()
        with torch.inference_mode():
            t0 = time.perf_counter()
            model.judge(batch)
            times.append(time.perf_counter() - t0)
    return 1000 * float(np.median(times)) * 1000 / len(batch)


def calibration_plot(labels: np.ndarray, probs: dict[str, np.ndarray], path: Path) -> None:
    # heavy: matplotlib, only when the plot is drawn
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=(5, 5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    for name, p in probs.items():
        d = reliability_diagram(labels, p, n_bins=10)
        ok = d["counts"] > 0
        ece = expected_calibration_error(labels, p, n_bins=10)
        ax.plot(d["confidence"][ok], d["accuracy"][ok], "o-", label=f"{name} (ECE {ece:.3f})")
    ax.set_xlabel("predicted p_wrong (out of fold)")
    ax.set_ylabel("fraction wrong")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title("Calibration of p_wrong: ETHICS and hard cases")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=110))


def cell(x: float | None) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), 4)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--ethics", default="/work/shared/data/ethics/cm_test.csv")
    ap.add_argument("--ethics-rows", type=int, default=4000, help="first N short rows")
    ap.add_argument("--corpus-rows", type=int, default=None, help="corpus rows (all: None)")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--finetune-layers", type=int, default=None, help="keep N encoder layers")
    ap.add_argument("--max-length", type=int, default=64)
    ap.add_argument(
        "--finetune-max-rows", type=int, default=None, help="fine-tune on a subset of each fold"
    )
    ap.add_argument("--repeats", type=int, default=5, help="latency repeats (median)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch threads")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    ap.add_argument("--note", default="", help="what was reduced to fit the machine")
    ap.add_argument("--output", default="benchmarks/results/conscience_judge.json")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    ethics = load_ethics_csv(args.ethics)[: args.ethics_rows]
    hand, generated = hard_cases(), template_cases()
    scored = training_set(ethics, hand + generated, corpus=False)
    corpus = training_set(corpus=True, max_rows=args.corpus_rows, seed=args.seed)
    corpus = corpus._replace(groups=corpus.groups + int(scored.groups.max()) + 1)
    n = len(scored.texts)
    folds = list(
        StratifiedGroupKFold(args.folds, shuffle=True, random_state=args.seed).split(
            np.zeros(n), scored.labels, scored.groups
        )
    )
    results: dict[str, dict[str, float | None]] = {}
    oof: dict[str, np.ndarray] = {}
    for name in args.variants:
        p, m = np.full(n, np.nan), np.full((n, 4), np.nan)
        seconds = []
        model: Model | None = None
        for k, (train, test) in enumerate(folds):
            part = scored.subset(train)
            data = TrainingSet(
                part.texts + corpus.texts,
                np.concatenate([part.labels, corpus.labels]),
                np.concatenate([part.morality, corpus.morality]),
                np.concatenate([part.groups, corpus.groups]),
                part.sources + corpus.sources,
            )
            t0 = time.perf_counter()
            model = make(name, args).fit(data)
            seconds.append(time.perf_counter() - t0)
            j = model.judge([scored.texts[i] for i in test])
            p[test], m[test] = j.p_wrong, j.morality
            print(f"{name}: fold {k + 1}/{len(folds)} in {seconds[-1]:.0f} s", flush=True)
        if model is None:
            raise RuntimeError("no folds")
        oof[name] = p
        results[name] = metrics(scored, p, m) | {
            "train_seconds_per_fold": float(np.mean(seconds)),
            "judge_ms_per_1000": judge_ms_per_1000(model, scored.texts, args.repeats, args.seed),
        }
    main_cols = [
        ("ethics_accuracy", "ETHICS accuracy"),
        ("ethics_auroc", "ETHICS AUROC"),
        ("ethics_pair_accuracy", "ETHICS pair accuracy"),
        ("ethics_ece", "ETHICS ECE"),
        ("hard_auroc", "hard-case AUROC"),
        ("hard_ece", "hard-case ECE"),
        ("outcome_harm_others", "outcomes: harm to others AUROC"),
        ("outcome_any_harm", "outcomes: any harm AUROC"),
        ("others_vs_self_only", "others vs self only AUROC"),
        ("train_seconds_per_fold", "training s per fold"),
        ("judge_ms_per_1000", "judge ms per 1,000 (CPU)"),
    ]
    dim_cols = [(f"auroc_{d}", f"{d} AUROC") for d in DIMS] + [
        ("hard_accuracy", "hard-case accuracy"),
        ("outcome_others_vs_self_only", "outcomes: others vs self only AUROC"),
    ]
    note = (
        f"{args.folds}-fold grouped CV (ETHICS minimal pairs and hard-case templates kept "
        "whole); the corpus is in every training fold and never scored."
    )
    tables = [
        Table(
            "headline",
            "Out-of-fold scores per variant",
            ["variant"] + [c for _, c in main_cols],
            [[v] + [cell(r.get(k)) for k, _ in main_cols] for v, r in results.items()],
            note,
        ),
        Table(
            "dimensions",
            "Per-dimension AUROC on the hard cases (hand-written and generated)",
            ["variant"] + [c for _, c in dim_cols],
            [[v] + [cell(r.get(k)) for k, _ in dim_cols] for v, r in results.items()],
            note,
        ),
    ]
    out = Path(args.output)
    plot = out.with_name(out.stem + "_calibration.png")
    calibration_plot(scored.labels, oof, plot)
    settings: dict[str, Any] = {
        "ethics": os.path.basename(args.ethics),
        "ethics_rows": len(ethics),
        "hand_written_hard_cases": len(hand),
        "generated_hard_cases": len(generated),
        "corpus_rows_in_training": len(corpus.texts),
        "folds": args.folds,
        "variants": list(args.variants),
        "frozen_heads": "class-balanced logistic regression, C=4",
        "frozen_mlp_heads": "one hidden layer of 256 ReLU units, L2 0.05, early stopping",
        "finetune": {
            "epochs": args.epochs,
            "lr": 8e-5,
            "batch_size": 32,
            "max_length": args.max_length,
            "layers": args.finetune_layers or "all",
            "max_rows_per_training_fold": args.finetune_max_rows or "all",
        },
        "latency": {
            "candidates": "1,000 distinct scored texts (seeded sample), memos cleared per repeat",
            "repeats": args.repeats,
            "threads": args.threads,
        },
        "seed": args.seed,
    }
    if args.note:
        settings["note"] = args.note
    settings["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    doc = Results(
        benchmark="conscience_judge",
        title="Conscience judge: frozen-encoder heads vs fine-tuned encoder",
        command=command_line(),
        settings=settings,
        tables=tables,
        figures=[Figure("calibration", "Calibration of p_wrong (out of fold)", plot.name)],
        data={"results": results},
    )
    write_results(out, doc)
    print(render_markdown(doc.as_dict()))
    print(f"wrote {out} and {plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
