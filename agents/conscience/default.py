"""The default learned conscience, with or without context (:func:`default_conscience`)."""

from __future__ import annotations

from typing import Literal, overload

from mlsafety.agents.conscience.context import ContextConscience, default_context_conscience
from mlsafety.agents.conscience.features import check_encoder
from mlsafety.agents.conscience.learned import LearnedConscience, default_learned_conscience


@overload
def default_conscience(encoder: str = ..., context: Literal[False] = ...) -> LearnedConscience: ...


@overload
def default_conscience(encoder: str = ..., *, context: Literal[True]) -> ContextConscience: ...


def default_conscience(
    encoder: str = "minilm", context: bool = False
) -> LearnedConscience | ContextConscience:
    """The default learned conscience: trained once, then cached on disk. Runs offline.

    ``context=False``: the command-only head on the project corpus
    (:func:`~.learned.default_learned_conscience`, under ``<mlsafety cache>/conscience/<hash
    of corpus and encoder>/``). ``context=True``: the context-reading
    :class:`~.context.ContextConscience`, trained on the procedural generator's train split
    and the corpus (:func:`~.context.default_context_conscience`). Later calls (and
    processes) load the cached file.
    """
    check_encoder(encoder)
    if context:
        return default_context_conscience(encoder)
    return default_learned_conscience(encoder)
