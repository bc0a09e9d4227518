"""``mlsafety/TextGen-v0``: :class:`TextGenEnv`, a fresh generated dilemma every episode."""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym
from gymnasium import spaces

from mlsafety.contract import Peek
from mlsafety.envs.registration import EnvEntry, register_env
from mlsafety.envs.text.env import CHARSET, MAX_COMMAND, MAX_OBS, TextScenarioEnv
from mlsafety.envs.text.games import BACKENDS
from mlsafety.envs.text.generator.kit import check_split
from mlsafety.envs.text.generator.variants import (
    SEED_RANGE,
    check_variants,
    generate_scenario,
    template_events,
)
from mlsafety.envs.text.scenario import Scenario


class TextGenEnv(gym.Env[str, str]):
    """A fresh procedurally generated moral dilemma every episode.

    ## Description
    On each ``reset`` the env draws a variant seed from its seeded ``np_random`` (in
    ``range(num_variants)`` when given, else any 31-bit int), generates that variant of the
    split with :func:`generate_scenario` (one of the split's templates: theft, cruelty, assault,
    fraud, broken promises, endangering others, self-harm, ... in train; the held-out templates
    of :data:`~.variants.TEST_TEMPLATES` in test), builds it (cached on disk by content hash)
    and plays it through :class:`~mlsafety.envs.text.env.TextScenarioEnv`. The ``"train"`` and
    ``"test"`` splits share no template, phrasing or vocabulary, so a conscience trained on one
    can be evaluated on dilemmas it never saw. Each step reports the safety contract from the
    variant's annotations, plus ``info["variant"]`` (the variant seed) and ``info["scenario"]``
    (its name). The :attr:`scenario` property is the current variant (``None`` before the first
    reset). With ``num_variants=None`` almost every episode is a new game: building one takes
    some 10-20 ms once TextWorld's grammars are loaded (about 1.5 s, once per process), and each
    is cached on disk. Editing the generator package (its code or ``words.yaml``) changes every
    variant's cache key.

    ## Action Space
    ``Text``: a command such as ``"take rusty key from bench"``, as in ``TextScenarioEnv``;
    ``info["admissible_commands"]`` lists the ones understood now. For SB3, wrap it in
    ``CommandChoice(env, vocabulary=generator_vocabulary(split, num_variants))``:
    ``CommandChoice``'s default vocabulary is one scenario's, while the variants differ, so
    the SB3 form needs the fixed union over a fixed ``num_variants``.

    ## Observation Space
    ``Text``: the story's narrative (``backend="text"``) or a symbolic description of the
    state from the game facts (``backend="logic"``, the default here: fast), after the task
    description at reset.

    ## Rewards
    The change in game score: points for the variant's goal.

    ## Termination
    Terminates when the variant's game is won or lost; truncated after ``max_steps`` (the
    scenario's own, 100, unless given).

    ## Registered IDs
    ``mlsafety/TextGen-v0`` (``split="train"``); pass ``split="test"`` to ``gym.make`` for the
    held-out split.
    """

    metadata = {"render_modes": ["ansi"]}

    def __init__(
        self,
        split: str = "train",
        backend: str = "logic",
        num_variants: int | None = None,
        max_steps: int | None = None,
        render_mode: str | None = None,
    ) -> None:
        self.split = check_split(split)
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        if num_variants is not None:
            check_variants(num_variants)
        if max_steps is not None and (not isinstance(max_steps, int) or max_steps < 1):
            raise ValueError(f"max_steps must be a positive int, got {max_steps!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be 'ansi' or None, got {render_mode!r}")
        self.backend = backend
        self.num_variants = num_variants
        self.max_steps = max_steps
        self.render_mode = render_mode
        self.observation_space = spaces.Text(MAX_OBS, min_length=0, charset=CHARSET)
        self.action_space = spaces.Text(MAX_COMMAND, min_length=1, charset=CHARSET)
        self._inner: TextScenarioEnv | None = None
        self.variant: int | None = None

    # Pickling needs nothing special: the inner TextScenarioEnv drops its interpreter and
    # replays the episode's commands, and generated scenarios pickle (their build function
    # is a small dataclass naming the variant).

    @property
    def event_names(self) -> tuple[str, ...]:
        """Every event name a variant of this split can report (union over its templates)."""
        return template_events(self.split)

    @property
    def scenario(self) -> Scenario | None:
        """The current variant's scenario (``None`` before the first reset)."""
        return self._inner.scenario if self._inner is not None else None

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """Start an episode on a newly drawn variant (``options={"variant": n}`` picks one)."""
        super().reset(seed=seed)
        if options and "variant" in options:
            variant = int(options["variant"])
        elif self.num_variants is not None:
            variant = int(self.np_random.integers(self.num_variants))
        else:
            variant = int(self.np_random.integers(SEED_RANGE))
        if self._inner is None or variant != self.variant:
            if self._inner is not None:
                self._inner.close()
            self._inner = None
            self._inner = TextScenarioEnv(
                generate_scenario(variant, self.split),
                backend=self.backend,
                max_steps=self.max_steps,
                render_mode=self.render_mode,
            )
            self.variant = variant
        obs, info = self._inner.reset(seed=seed)
        return obs, self._tag(info)

    def _tag(self, info: dict[str, Any]) -> dict[str, Any]:
        if self._inner is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        info["variant"] = self.variant
        info["scenario"] = self._inner.scenario.name
        return info

    def step(self, action: str) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
        if self._inner is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        obs, reward, terminated, truncated, info = self._inner.step(action)
        return obs, reward, terminated, truncated, self._tag(info)

    def peek(self, command: str) -> Peek:
        """The current variant's :meth:`TextScenarioEnv.peek` (what an oracle reads)."""
        if self._inner is None:
            raise gym.error.ResetNeeded("call reset() before peek()")
        return self._inner.peek(command)

    def describe(self) -> str:
        """The current variant's symbolic state description (``''`` before a reset)."""
        return self._inner.describe() if self._inner is not None else ""

    @property
    def _last_obs(self) -> str:
        # read by the consciences' observation_text() and render(), as on TextScenarioEnv
        return self._inner._last_obs if self._inner is not None else ""

    def render(self) -> str | None:
        if self._inner is None:
            return "" if self.render_mode == "ansi" else None
        return self._inner.render()

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()


def register_generator() -> None:
    """Register ``mlsafety/TextGen-v0`` (idempotent)."""
    register_env(
        EnvEntry(
            env_id="mlsafety/TextGen-v0",
            family="text",
            summary="procedurally generated moral dilemmas (18 templates: harm to people and "
            "animals, theft, fraud, broken promises, endangering, self-harm, helping, ...); "
            "train/test templates and vocabularies disjoint",
            entry_point="mlsafety.envs.text.generator:TextGenEnv",
            kwargs={"split": "train"},
        )
    )
