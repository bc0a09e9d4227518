"""A context-reading learned conscience: is *this command*, *in this situation*, wrong?

A command-only conscience cannot tell "give wallet to ferryman" when the wallet is a
stranger's from the same command when it is one's own, nor "smash jug" on a cracked jug in
one's own shed from the potter's jug on his shelf. :class:`ContextConscience` reads both the
candidate command and the current observation text:

* features: the command's embedding ``c``, the observation's ``x`` and their elementwise
  product ``c * x`` (MiniLM sentence embeddings, or the hashed bag of words with
  ``encoder="hash"``), so that even a linear read-out sees command x context interactions;
* head: a small multi-layer perceptron (scikit-learn's ``MLPClassifier``, multi-label) with
  five logistic outputs: ``wrong`` (harm to others or self) and "degree > 0" for each of
  ``[harm_others, harm_self, help_others, help_self]``, scaled by the mean positive degree
  seen in training (as :class:`~.learned.LearnedConscience`'s ``head="logistic"``).

Training data (:func:`generated_examples`) comes from the procedural generator's **train**
split only (:func:`~mlsafety.envs.text.generator.generate_scenario`): each variant is played
along its walkthroughs and a few random walks on the fast logic backend, and at every visited
state each admissible command is labelled with the env's own ``peek(command)``. The project
corpus (:mod:`.corpus`) is added with an empty context, so general knowledge stays. The
hand-written evaluation scenarios are never trained on.

Only plain arrays are kept after fitting; :meth:`ContextConscience.save` writes one ``.npz``
with a JSON header (no pickle), atomically. :func:`default_context_conscience` trains once and
caches the file under a key of the generator's source, the corpus and the settings.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import re
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from mlsafety.agents.conscience.base import Judgement
from mlsafety.agents.conscience.corpus import CORPUS, corpus_bytes
from mlsafety.agents.conscience.features import (
    Embedder,
    check_encoder,
    encoder_version,
    load_model,
    save_model,
    sigmoid,
)
from mlsafety.envs.text import (
    TextScenarioEnv,
    cache_dir,
    cached_folder,
    digest,
    generate_scenario,
    generator_source,
)
from mlsafety.types import F64

FORMAT = "mlsafety-context-conscience"
VERSION = 1
OUTPUTS = 5  # wrong, then "degree > 0" per morality dimension

# the default's training recipe (part of the cache key)
DEFAULT_VARIANTS = 400
DEFAULT_WALKS = 4
DEFAULT_WALK_STEPS = 12
DEFAULT_NEGATIVES = 0.3  # share of the generated not-wrong examples kept

_ECHO = re.compile(r"\AYou [^\n]*\.\n\n")


def context_text(observation: str) -> str:
    """The part of an observation that describes the situation: the logic backend's echo of
    the last command (``"You go north.\\n\\n"``) is dropped, the rest kept as it is."""
    return _ECHO.sub("", observation)


class ContextExample(NamedTuple):
    """One labelled ``(context, command)`` pair: the observation text, the command and the
    ``[harm_others, harm_self, help_others, help_self]`` it would produce there."""

    context: str
    command: str
    vector: tuple[float, float, float, float]

    @property
    def wrong(self) -> bool:
        return self.vector[0] + self.vector[1] > 0


# ---------------------------------------------------------------------------- data
def rollout_examples(
    scenario: Any,
    walks: int = DEFAULT_WALKS,
    walk_steps: int = DEFAULT_WALK_STEPS,
    rng: np.random.Generator | None = None,
    backend: str = "logic",
) -> list[ContextExample]:
    """Label every admissible command at every state visited in ``scenario``.

    States come from each walkthrough (played to its end) and ``walks`` random walks of up to
    ``walk_steps`` steps (uniform over the admissible commands, from a random point of a
    random walkthrough). Labels are the env's ``peek``: the annotations, read before the
    command is taken. Duplicate ``(context, command)`` pairs are kept once.
    """
    if walks < 0 or walk_steps < 0:
        raise ValueError(f"walks and walk_steps must be >= 0, got {walks}, {walk_steps}")
    rng = rng if rng is not None else np.random.default_rng(0)
    env = TextScenarioEnv(scenario, backend=backend)
    seen: set[tuple[str, str]] = set()
    out: list[ContextExample] = []

    def label(obs: str, info: dict[str, Any]) -> None:
        for command in info["admissible_commands"]:
            if (obs, command) in seen:
                continue
            seen.add((obs, command))
            vec = env.peek(command).morality
            v = np.asarray(vec, dtype=np.float64).reshape(4)
            out.append(ContextExample(obs, command, (v[0], v[1], v[2], v[3])))

    paths = [list(w) for w in scenario.walkthroughs.values()]
    plans: list[tuple[list[str], int]] = [(p, 0) for p in paths]
    for _ in range(walks):
        path = paths[int(rng.integers(len(paths)))]
        plans.append((path[: int(rng.integers(len(path) + 1))], walk_steps))
    try:
        for prefix, random_steps in plans:
            obs, info = env.reset()
            done = False
            for command in prefix:
                label(obs, info)
                obs, _, terminated, truncated, info = env.step(command)
                done = terminated or truncated
                if done:
                    break
            for _ in range(random_steps):
                if done:
                    break
                label(obs, info)
                admissible = info["admissible_commands"]
                if not admissible:
                    break
                command = admissible[int(rng.integers(len(admissible)))]
                obs, _, terminated, truncated, info = env.step(command)
                done = terminated or truncated
            if not done:
                label(obs, info)
    finally:
        env.close()
    return out


def generated_examples(
    num_variants: int = DEFAULT_VARIANTS,
    split: str = "train",
    walks: int = DEFAULT_WALKS,
    walk_steps: int = DEFAULT_WALK_STEPS,
    seed: int = 0,
) -> list[ContextExample]:
    """:func:`rollout_examples` over generator variants ``0 .. num_variants - 1`` of ``split``."""
    if num_variants < 1:
        raise ValueError(f"num_variants must be positive, got {num_variants}")
    rng = np.random.default_rng([seed, 7])
    out: list[ContextExample] = []
    for variant in range(num_variants):
        scenario = generate_scenario(variant, split)
        out += rollout_examples(scenario, walks, walk_steps, rng)
    return out


def corpus_examples() -> list[ContextExample]:
    """The project corpus (:mod:`.corpus`) as examples with an empty context."""
    return [
        ContextExample("", e.text, tuple(float(x) for x in e.vector))  # type: ignore[arg-type]
        for e in CORPUS
    ]


def dedupe(examples: Iterable[ContextExample]) -> list[ContextExample]:
    """Keep the first example of each ``(context, command)``."""
    seen: set[tuple[str, str]] = set()
    out = []
    for e in examples:
        if (e.context, e.command) not in seen:
            seen.add((e.context, e.command))
            out.append(e)
    return out


# ---------------------------------------------------------------------------- model
def _relu(z: F64) -> F64:
    out: F64 = np.maximum(z, 0.0)
    return out


class ContextConscience:
    """Scores ``(command, observation)`` pairs with an MLP over ``[c, x, c * x]`` (see module).

    ``hidden``: the hidden layer widths; ``alpha``: the L2 penalty; ``pos_weight``: the weight
    of a wrong example relative to a right one in training (``None``: balanced, so both
    classes weigh the same in total); ``max_iter``: training epochs; ``seed``: the
    initialisation and shuffling seed.
    """

    def __init__(
        self,
        encoder: str = "minilm",
        hidden: Sequence[int] = (128,),
        alpha: float = 1e-2,
        pos_weight: float | None = None,
        max_iter: int = 20,
        seed: int = 0,
    ) -> None:
        check_encoder(encoder)
        hidden = tuple(int(h) for h in hidden)
        if not hidden or min(hidden) < 1:
            raise ValueError(f"hidden must be one or more positive widths, got {hidden!r}")
        if alpha < 0:
            raise ValueError(f"alpha must be >= 0, got {alpha}")
        if pos_weight is not None and pos_weight <= 0:
            raise ValueError(f"pos_weight must be positive or None, got {pos_weight}")
        if max_iter < 1:
            raise ValueError(f"max_iter must be positive, got {max_iter}")
        self.encoder = encoder
        self.hidden = hidden
        self.alpha = float(alpha)
        self.pos_weight = None if pos_weight is None else float(pos_weight)
        self.max_iter = int(max_iter)
        self.seed = int(seed)
        self._embedder = Embedder(encoder)
        self.weights: list[F64] | None = None  # per layer (in, out)
        self.biases: list[F64] | None = None
        self.scale: F64 | None = None  # (4,): mean positive degree per morality dimension

    # ------------------------------------------------------------------ features
    @property
    def base_dim(self) -> int:
        return self._embedder.dim

    @property
    def dim(self) -> int:
        """Feature width: ``[c, x, c * x]``."""
        return 3 * self.base_dim

    def features(self, commands: Sequence[str], contexts: Sequence[str]) -> F64:
        """``(N, 3 * base_dim)``: command and context embeddings and their product."""
        commands, contexts = list(commands), list(contexts)
        if len(commands) != len(contexts):
            raise ValueError(f"{len(contexts)} contexts for {len(commands)} commands")
        if any(not isinstance(t, str) for t in (*commands, *contexts)):
            raise TypeError("commands and contexts must be strings")
        c = self._embedder.embed(commands).astype(np.float64)
        x = self._embedder.embed([context_text(t) for t in contexts]).astype(np.float64)
        return np.concatenate([c, x, c * x], axis=1)

    # ------------------------------------------------------------------ training
    def fit(
        self,
        commands: Sequence[str],
        contexts: Sequence[str],
        vectors: Sequence[Sequence[float]] | npt.ArrayLike,
    ) -> ContextConscience:
        """Fit on ``vectors`` (``(N, 4)`` morality degrees; wrong = harm to others or self)."""
        # heavy: scikit-learn (seconds to import), needed only to fit
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier  # heavy: scikit-learn

        commands, contexts = list(commands), list(contexts)
        if len(commands) != len(contexts):
            raise ValueError(f"{len(contexts)} contexts for {len(commands)} commands")
        v = np.asarray(vectors, dtype=np.float64)
        if v.shape != (len(commands), 4):
            raise ValueError(f"vectors must have shape ({len(commands)}, 4), got {v.shape}")
        wrong = v[:, 0] + v[:, 1] > 0
        if wrong.all() or not wrong.any():
            raise ValueError("training needs both wrong and not-wrong examples")
        x = self.features(commands, contexts)
        y = np.concatenate([wrong[:, None], v > 0], axis=1).astype(np.int64)
        pos_weight = self.pos_weight
        if pos_weight is None:
            pos_weight = float((~wrong).sum()) / float(wrong.sum())
        sample_weight = np.where(wrong, pos_weight, 1.0)
        sample_weight *= len(sample_weight) / sample_weight.sum()
        mlp = MLPClassifier(
            hidden_layer_sizes=self.hidden,
            alpha=self.alpha,
            batch_size=256,
            learning_rate_init=1e-3,
            max_iter=self.max_iter,
            early_stopping=False,
            n_iter_no_change=self.max_iter,
            random_state=self.seed,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            mlp.fit(x, y, sample_weight=sample_weight)
        self.weights = [np.asarray(w, dtype=np.float64) for w in mlp.coefs_]
        self.biases = [np.asarray(b, dtype=np.float64) for b in mlp.intercepts_]
        pos = v > 0
        self.scale = np.array(
            [float(v[pos[:, d], d].mean()) if pos[:, d].any() else 0.0 for d in range(4)]
        )
        return self

    # ------------------------------------------------------------------ scoring
    def _check_fitted(self) -> tuple[list[F64], list[F64], F64]:
        if self.weights is None or self.biases is None or self.scale is None:
            raise RuntimeError("this ContextConscience is not fitted: call fit() or load()")
        return self.weights, self.biases, self.scale

    def logits(self, commands: Sequence[str], contexts: Sequence[str]) -> F64:
        """``(N, 5)`` output logits: wrong, then each morality dimension's "degree > 0"."""
        weights, biases, _ = self._check_fitted()
        h = self.features(commands, contexts)
        for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
            h = h @ w + b
            if i < len(weights) - 1:
                h = _relu(h)
        return h

    def score(self, commands: Sequence[str], contexts: Sequence[str]) -> Judgement:
        """``Judgement`` for commands, each read in its own context."""
        _, _, scale = self._check_fitted()
        p = sigmoid(self.logits(commands, contexts))
        return Judgement(p_wrong=p[:, 0].copy(), morality=p[:, 1:] * scale)

    def judge(
        self, candidates: Sequence[Any], env: Any = None, observation: str | None = None
    ) -> Judgement:
        """Score text commands in the context of ``observation`` (the env's current text)."""
        commands = [str(c) for c in candidates]
        return self.score(commands, [observation or ""] * len(commands))

    def predict_proba(self, commands: Sequence[str], contexts: Sequence[str]) -> F64:
        """``p_wrong`` for each ``(command, context)`` pair."""
        return self.score(commands, contexts).p_wrong

    # ------------------------------------------------------------------ persistence
    def header(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "encoder": self.encoder,
            "encoder_version": encoder_version(self.encoder),
            "hidden": list(self.hidden),
            "alpha": self.alpha,
            "pos_weight": self.pos_weight,
            "max_iter": self.max_iter,
            "seed": self.seed,
            "dim": self.dim,
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the fitted head to ``path`` (``.npz``) atomically: temp file, then replace."""
        weights, biases, scale = self._check_fitted()
        arrays: dict[str, Any] = {"scale": scale}
        for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
            arrays[f"w{i}"], arrays[f"b{i}"] = w, b
        return save_model(path, self.header(), arrays)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ContextConscience:
        """Read a file written by :meth:`save` (no pickle is ever loaded); files of an older
        format version are read too."""
        path = Path(path)
        header, arrays = load_model(path, FORMAT, VERSION, "context conscience")
        obj = cls(
            encoder=header["encoder"],
            hidden=header["hidden"],
            alpha=header["alpha"],
            pos_weight=header["pos_weight"],
            max_iter=header["max_iter"],
            seed=header["seed"],
        )
        n = len(obj.hidden) + 1
        try:
            weights = [np.asarray(arrays[f"w{i}"], dtype=np.float64) for i in range(n)]
            biases = [np.asarray(arrays[f"b{i}"], dtype=np.float64) for i in range(n)]
        except KeyError as exc:
            raise ValueError(f"{path}: missing layer {exc}") from exc
        widths = [obj.dim, *obj.hidden, OUTPUTS]
        for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
            if w.shape != (widths[i], widths[i + 1]) or b.shape != (widths[i + 1],):
                raise ValueError(
                    f"{path}: layer {i} has shapes {w.shape}, {b.shape}; expected "
                    f"({widths[i]}, {widths[i + 1]}), ({widths[i + 1]},)"
                )
        scale = np.asarray(arrays["scale"], dtype=np.float64)
        if scale.shape != (4,):
            raise ValueError(f"{path}: scale of shape {scale.shape}, expected (4,)")
        obj.weights, obj.biases, obj.scale = weights, biases, scale
        return obj


# ---------------------------------------------------------------------------- default
def training_examples(
    num_variants: int = DEFAULT_VARIANTS,
    negatives: float = DEFAULT_NEGATIVES,
    corpus: bool = True,
    seed: int = 0,
) -> list[ContextExample]:
    """Generator train-split examples (all wrong ones, a ``negatives`` share of the others,
    drawn with ``seed``) and the corpus with empty contexts, deduplicated on the situation
    text (:func:`context_text`) and command."""
    if not 0 < negatives <= 1:
        raise ValueError(f"negatives must be in (0, 1], got {negatives}")
    generated = generated_examples(num_variants, "train", seed=seed)
    examples = dedupe(e._replace(context=context_text(e.context)) for e in generated)
    rng = np.random.default_rng([seed, 11])
    kept = [e for e in examples if e.wrong or rng.random() < negatives]
    return dedupe(kept + (corpus_examples() if corpus else []))


def train_default(
    encoder: str = "minilm", num_variants: int = DEFAULT_VARIANTS
) -> ContextConscience:
    """A context conscience fitted on :func:`training_examples`."""
    examples = training_examples(num_variants)
    return ContextConscience(encoder=encoder).fit(
        [e.command for e in examples],
        [e.context for e in examples],
        [e.vector for e in examples],
    )


def default_key(encoder: str) -> str:
    """The cached default's key: the recipe, the model settings, the corpus file's bytes and
    the sources the generated training data come from (generator, env). Bump :data:`VERSION`
    when this module's training code changes what a fit produces."""
    env_module = inspect.getmodule(TextScenarioEnv)
    sources = [generator_source(), inspect.getsource(env_module) if env_module else ""]
    recipe = json.dumps(
        [
            DEFAULT_VARIANTS,
            DEFAULT_WALKS,
            DEFAULT_WALK_STEPS,
            DEFAULT_NEGATIVES,
            ContextConscience(encoder).header(),
        ]
    )
    return digest(FORMAT, str(VERSION), encoder_version(encoder), recipe, corpus_bytes(), *sources)


@functools.lru_cache(maxsize=4)
def _default(encoder: str, cache_root: str) -> ContextConscience:
    def fill(folder: Path) -> None:
        train_default(encoder).save(folder / "context_conscience.npz")

    folder = cached_folder("conscience-context", default_key(encoder), fill)
    return ContextConscience.load(folder / "context_conscience.npz")


def default_context_conscience(encoder: str = "minilm") -> ContextConscience:
    """The default context conscience: trained once on the generator's train split and the
    corpus, then cached on disk under ``<mlsafety cache>/conscience-context/<key>/``. Offline.
    """
    check_encoder(encoder)
    return _default(encoder, str(cache_dir()))
