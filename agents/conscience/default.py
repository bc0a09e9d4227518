"""The default learned conscience, with or without context (:func:`default_conscience`).

The command-only default is the variant that scored best in ``benchmarks/conscience_judge.py``
(grouped cross-validation, frozen heads beside the fine-tuned encoder in the same run): frozen
MiniLM embeddings with perceptron heads (``head="mlp"``: one for ``p_wrong``, one multi-label
head for the morality dimensions), trained on everything the project ships: the corpus, the
hand-written hard cases and the generated template cases (:func:`default_training_set`).
"""

from __future__ import annotations

import functools
import sys
import time
from pathlib import Path
from typing import Literal, overload

from mlsafety.agents.conscience.context import ContextConscience, default_context_conscience
from mlsafety.agents.conscience.corpus import corpus_bytes
from mlsafety.agents.conscience.dataset import TrainingSet, training_set
from mlsafety.agents.conscience.features import check_encoder, encoder_version
from mlsafety.agents.conscience.hard_cases import hard_cases, hard_cases_bytes
from mlsafety.agents.conscience.learned import FORMAT, VERSION, LearnedConscience
from mlsafety.agents.conscience.templates import template_cases, templates_bytes
from mlsafety.envs.text import cache_dir, cached_folder, digest

DEFAULT_HEAD = "mlp"
DEFAULT_FILE = "conscience.npz"
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
def default_conscience(encoder: str = ..., context: Literal[False] = ...) -> LearnedConscience: ...


@overload
def default_conscience(encoder: str = ..., *, context: Literal[True]) -> ContextConscience: ...


def default_conscience(
    encoder: str = "minilm", context: bool = False
) -> LearnedConscience | ContextConscience:
    """The default learned conscience: trained once (it says how long that takes before it
    starts), then cached on disk. Runs offline.

    ``context=False``: the command-only conscience of the module docs, under
    ``<mlsafety cache>/conscience/<key of the data files, encoder and head>/``.
    ``context=True``: the context-reading :class:`~.context.ContextConscience`, trained on
    the procedural generator's train split and the corpus
    (:func:`~.context.default_context_conscience`). Later calls (and processes) load the
    cached file.
    """
    check_encoder(encoder)
    if context:
        return default_context_conscience(encoder)
    return _default(encoder, str(cache_dir()))
