"""The default learned conscience, with or without context (:func:`default_conscience`).

The command-only default is the variant that scored best in ``benchmarks/conscience_judge.py``
(grouped cross-validation, every variant on the same folds in one run): all-MiniLM-L6-v2
fine-tuned end to end (:class:`~.finetune.FineTunedConscience`, :data:`FINETUNE` settings),
trained on everything the project ships: the corpus, the hand-written hard cases and the
generated template cases (:func:`default_training_set`). ``default_conscience(encoder=...)``
gives instead the frozen-encoder conscience on that encoder (perceptron heads,
``head="mlp"``), much quicker to train: ``"hash"`` needs no extra package.
"""

from __future__ import annotations

import functools
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

from mlsafety.agents.conscience.context import ContextConscience, default_context_conscience
from mlsafety.agents.conscience.corpus import corpus_bytes
from mlsafety.agents.conscience.dataset import TrainingSet, training_set
from mlsafety.agents.conscience.features import check_encoder, encoder_version
from mlsafety.agents.conscience.hard_cases import hard_cases, hard_cases_bytes
from mlsafety.agents.conscience.learned import FORMAT, VERSION, LearnedConscience
from mlsafety.agents.conscience.templates import template_cases, templates_bytes
from mlsafety.envs.text import cache_dir, cached_folder, digest

if TYPE_CHECKING:
    from mlsafety.agents.conscience.finetune import FineTunedConscience

DEFAULT_HEAD = "mlp"
DEFAULT_FILE = "conscience.npz"
FINETUNED_FILE = "conscience.safetensors"
# the fine-tuned default's settings: the module defaults of FineTunedConscience.fit, the
# settings benchmarks/conscience_judge.py measured
FINETUNE: dict[str, Any] = {"epochs": 2, "lr": 8e-5, "batch_size": 32, "max_length": 64, "seed": 0}
# seconds per training text and epoch of the fine-tuned default on 2 idle CPU cores
FINETUNE_SECONDS_PER_TEXT_EPOCH = 0.019
# training time per text on 2 idle CPU cores: embedding it, and fitting the heads on it
SECONDS_PER_TEXT = {"minilm": 0.008, "minilm-int8": 0.004, "hash": 0.0002, "minilm+hash": 0.01}
FIT_SECONDS_PER_TEXT = {"logistic": 0.002, "ridge": 0.001, "mlp": 0.003}


def default_training_set() -> TrainingSet:
    """The default's training rows: the corpus, the hard cases and the template cases."""
    return training_set(hard=hard_cases() + template_cases(), corpus=True)


def train_default(encoder: str = "minilm", log: bool = True) -> LearnedConscience:
    """Fit the default command-only conscience, saying first how long it should take."""
    data = default_training_set()
    if log:
        per_text = SECONDS_PER_TEXT.get(encoder, 0.01) + FIT_SECONDS_PER_TEXT[DEFAULT_HEAD]
        eta = per_text * len(data.texts)
        print(
            f"mlsafety: training the default conscience ({encoder}) on {len(data.texts)} "
            f"texts, about {max(1, round(eta))} s on 2 CPU cores; cached afterwards",
            file=sys.stderr,
            flush=True,
        )
    t0 = time.perf_counter()
    model = LearnedConscience(encoder=encoder, head=DEFAULT_HEAD).fit(
        data.texts, data.labels, data.morality
    )
    if log:
        print(
            f"mlsafety: default conscience trained in {time.perf_counter() - t0:.0f} s",
            file=sys.stderr,
            flush=True,
        )
    return model


def train_default_finetuned(log: bool = True, device: str = "auto") -> FineTunedConscience:
    """Fine-tune the default command-only conscience, saying first how long it should take."""
    # heavy: torch and transformers, only for the fine-tuned conscience
    from mlsafety.agents.conscience.finetune import FineTunedConscience

    data = default_training_set()
    model = FineTunedConscience(max_length=FINETUNE["max_length"], device=device)
    if log:
        eta = FINETUNE_SECONDS_PER_TEXT_EPOCH * FINETUNE["epochs"] * len(data.texts)
        where = "on 2 CPU cores" if model.device.type == "cpu" else f"on {model.device}"
        print(
            f"mlsafety: fine-tuning the default conscience (all-MiniLM-L6-v2) on "
            f"{len(data.texts)} texts, {FINETUNE['epochs']} epochs, about "
            f"{max(1, round(eta / 60))} min {where} (less on a GPU); cached afterwards",
            file=sys.stderr,
            flush=True,
        )
    t0 = time.perf_counter()
    model.fit(
        data.texts,
        data.labels,
        data.morality,
        epochs=FINETUNE["epochs"],
        lr=FINETUNE["lr"],
        batch_size=FINETUNE["batch_size"],
        seed=FINETUNE["seed"],
        progress=log,
    )
    if log:
        print(
            f"mlsafety: default conscience fine-tuned in {time.perf_counter() - t0:.0f} s",
            file=sys.stderr,
            flush=True,
        )
    return model


def finetuned_key() -> str:
    """The cached fine-tuned default's key: its settings, base model and every data file."""
    # heavy: torch and transformers, only for the fine-tuned conscience
    from mlsafety.agents.conscience.finetune import FORMAT as FT_FORMAT
    from mlsafety.agents.conscience.finetune import VERSION as FT_VERSION  # heavy: torch
    from mlsafety.agents.conscience.network import base_version  # heavy: torch

    return digest(
        FT_FORMAT, str(FT_VERSION), "default-finetuned-1", base_version("minilm"),
        repr(sorted(FINETUNE.items())), corpus_bytes(), hard_cases_bytes(), templates_bytes(),
    )  # fmt: skip


@functools.lru_cache(maxsize=1)
def _default_finetuned(cache_root: str) -> FineTunedConscience:
    # heavy: torch and transformers, only for the fine-tuned conscience
    from mlsafety.agents.conscience.finetune import FineTunedConscience

    def fill(folder: Path) -> None:
        train_default_finetuned().save(folder / FINETUNED_FILE)

    folder = cached_folder("conscience", finetuned_key(), fill)
    return FineTunedConscience.load(folder / FINETUNED_FILE)


def default_key(encoder: str) -> str:
    """The cached default's key: format, encoder, head and every shipped data file."""
    return digest(
        FORMAT, str(VERSION), "default-3", encoder, encoder_version(encoder), DEFAULT_HEAD,
        corpus_bytes(), hard_cases_bytes(), templates_bytes(),
    )  # fmt: skip


@functools.lru_cache(maxsize=4)
def _default(encoder: str, cache_root: str) -> LearnedConscience:
    def fill(folder: Path) -> None:
        train_default(encoder).save(folder / DEFAULT_FILE)

    folder = cached_folder("conscience", default_key(encoder), fill)
    return LearnedConscience.load(folder / DEFAULT_FILE)


@overload
def default_conscience(
    encoder: None = ..., context: Literal[False] = ...
) -> FineTunedConscience: ...


@overload
def default_conscience(encoder: str, context: Literal[False] = ...) -> LearnedConscience: ...


@overload
def default_conscience(
    encoder: str | None = ..., *, context: Literal[True]
) -> ContextConscience: ...


def default_conscience(
    encoder: str | None = None, context: bool = False
) -> FineTunedConscience | LearnedConscience | ContextConscience:
    """The default learned conscience: trained once (it says how long that takes before it
    starts), then cached on disk. Runs offline.

    ``context=False`` and no ``encoder``: the fine-tuned command-only conscience of the
    module docs (some minutes on 2 CPU cores the first time; on CUDA when there is one),
    under ``<mlsafety cache>/conscience/<key of its settings and the data files>/``.
    ``context=False`` with an ``encoder`` (``"minilm"``, ``"hash"``, ...): the frozen-encoder
    conscience on it, perceptron heads, keyed by the data files, encoder and head.
    ``context=True``: the context-reading :class:`~.context.ContextConscience` (on
    ``encoder``, MiniLM when None), trained on the procedural generator's train split and
    the corpus (:func:`~.context.default_context_conscience`). Later calls (and processes)
    load the cached file.
    """
    if encoder is not None:
        check_encoder(encoder)
    if context:
        return default_context_conscience(encoder or "minilm")
    if encoder is None:
        return _default_finetuned(str(cache_dir()))
    return _default(encoder, str(cache_dir()))
