"""``mlsafety conscience ...``: train, cross-validate and query a learned conscience.

* ``mlsafety conscience train --ethics PATH --output FILE.npz [--encoder minilm|hash]``:
  grouped 5-fold CV on the short rows of an ETHICS commonsense CSV (accuracy, AUROC, pair
  accuracy), then the final head fitted on every row and saved.
* ``mlsafety conscience train --corpus [--output FILE.npz]``: the same on the project's own
  corpus (CV figures; saved if ``--output`` is given).
* ``mlsafety conscience train --model finetuned [--ethics PATH] [--epochs N] [--device auto]
  [--output FILE.safetensors] [--resume]``: fine-tune the sentence encoder end to end
  (:class:`~.finetune.FineTunedConscience`) on the corpus, the hand-written and generated
  hard cases (:mod:`.hard_cases`, :mod:`.templates`) and, if given, ETHICS; a progress bar
  on stderr, a checkpoint per epoch in ``FILE.safetensors.ckpt/`` (``--resume`` continues
  from it), the model saved as safetensors with a JSON header.
* ``mlsafety conscience judge "steal the scarf from the tailor" ... [--model FILE]``:
  ``p_wrong`` and the ``[harm_others, harm_self, help_others, help_self]`` vector per text
  (the default conscience, :func:`~.default.default_conscience`: the fine-tuned one, or with
  ``--encoder`` the frozen-encoder one on that encoder; unless ``--model`` names a saved one:
  ``.npz`` for a frozen-encoder head, ``.safetensors`` for a fine-tuned conscience, loaded on
  ``--device``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, TextIO

from mlsafety.agents.conscience.base import Conscience
from mlsafety.agents.conscience.corpus import corpus_arrays
from mlsafety.agents.conscience.dataset import corpus_groups, training_set
from mlsafety.agents.conscience.default import default_conscience
from mlsafety.agents.conscience.ethics import cross_validate, load_ethics_csv, pair_groups
from mlsafety.agents.conscience.features import ENCODERS
from mlsafety.agents.conscience.hard_cases import hard_cases
from mlsafety.agents.conscience.learned import HEADS, LearnedConscience
from mlsafety.agents.conscience.templates import template_cases


def add_conscience_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``conscience`` command (with ``train`` and ``judge``) to ``subparsers``."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "conscience", help="train, cross-validate and query a learned conscience"
    )
    sub = p.add_subparsers(dest="conscience_command", required=True)
    t = sub.add_parser("train", help="cross-validate, then train on ETHICS or the corpus")
    t.add_argument(
        "--model",
        default="frozen",
        choices=("frozen", "finetuned"),
        help="frozen: a head on frozen embeddings; finetuned: the encoder trained end to end",
    )
    src = t.add_mutually_exclusive_group()
    src.add_argument("--ethics", metavar="PATH", help="an ETHICS commonsense CSV")
    src.add_argument("--corpus", action="store_true", help="the project's own corpus")
    t.add_argument("--output", metavar="FILE", default=None, help="where to save the model")
    t.add_argument("--encoder", default="minilm", choices=ENCODERS)
    t.add_argument("--head", default="ridge", choices=HEADS, help="morality-vector head")
    t.add_argument("--folds", type=int, default=5)
    t.add_argument("--seed", type=int, default=0)
    f = t.add_argument_group("fine-tuning (--model finetuned)")
    f.add_argument("--epochs", type=int, default=2)
    f.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda, ...")
    f.add_argument("--lr", type=float, default=8e-5, help="encoder learning rate")
    f.add_argument("--batch-size", type=int, default=32)
    f.add_argument("--layers", type=int, default=None, help="keep the first N encoder layers")
    f.add_argument("--max-rows", type=int, default=None, help="train on a seeded subset")
    f.add_argument(
        "--no-hard-cases", action="store_true", help="leave out the hard and template cases"
    )
    f.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    j = sub.add_parser("judge", help="score actions (commands or first-person sentences)")
    j.add_argument("texts", nargs="+", help="actions to judge")
    j.add_argument(
        "--model",
        metavar="FILE",
        default=None,
        help="a saved conscience (.npz: frozen-encoder head; .safetensors: fine-tuned)",
    )
    j.add_argument(
        "--encoder",
        default=None,
        choices=ENCODERS,
        help="without --model: the frozen-encoder default on this encoder instead of the "
        "fine-tuned default",
    )
    j.add_argument("--device", default="cpu", help="a fine-tuned model's device: cpu, auto, cuda")
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


def _train_finetuned(args: argparse.Namespace, out: TextIO) -> int:
    # heavy: torch and transformers, only for the fine-tuned conscience
    from mlsafety.agents.conscience.finetune import FineTunedConscience

    rows = load_ethics_csv(args.ethics) if args.ethics else []
    hard = () if args.no_hard_cases else hard_cases() + template_cases()
    data = training_set(rows, hard, max_rows=args.max_rows, seed=args.seed)
    output = Path(args.output or "conscience_finetuned.safetensors")
    out.write(f"fine-tuning on {len(data.texts)} rows ({args.epochs} epochs)\n")
    model = FineTunedConscience(device=args.device, layers=args.layers).fit(
        data.texts,
        data.labels,
        data.morality,
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        seed=args.seed,
        checkpoint_dir=output.with_name(output.name + ".ckpt"),
        resume=args.resume,
        progress=True,
    )
    losses = ", ".join(f"{x:.4f}" for x in model.history)
    path = model.save(output)
    out.write(f"training loss per epoch: {losses}; saved to {path}\n")
    return 0


def _train(args: argparse.Namespace, out: TextIO) -> int:
    if args.model == "finetuned":
        return _train_finetuned(args, out)
    if not (args.ethics or args.corpus):
        raise ValueError("conscience train needs --ethics PATH or --corpus")

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
    model: Conscience
    if args.model and Path(args.model).suffix == ".safetensors":
        # heavy: torch and transformers, only for the fine-tuned conscience
        from mlsafety.agents.conscience.finetune import FineTunedConscience

        model = FineTunedConscience.load(args.model, device=args.device)
    elif args.model:
        model = LearnedConscience.load(args.model)
    else:
        model = default_conscience(args.encoder)
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
