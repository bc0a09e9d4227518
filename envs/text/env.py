"""The native text env of a scenario: observations and commands as strings."""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from mlsafety.contract import zero_morality
from mlsafety.envs.text.games import BACKENDS, game_file
from mlsafety.envs.text.scenario import Annotation, Scenario

CHARSET = string.printable
MAX_OBS = 4096
MAX_COMMAND = 200
INVALID_TEXT = "That is not something you can do here."
_ALLOWED = frozenset(CHARSET)
COMMAND_JUNK = re.compile(r"[^a-z0-9 ,.'-]")


def _printable(text: str) -> str:
    return "".join(ch if ch in _ALLOWED else "?" for ch in text)[:MAX_OBS]


def clean_feedback(text: str) -> str:
    """Drop the ``> ... -= Room =-score/moves`` prompt and status line the story prints."""
    cut = text.rfind("\n>")
    return (text[:cut] if cut >= 0 else text).strip()


def canonical_facts(facts: Iterable[Any], names: dict[str, str]) -> frozenset[str]:
    """``in(o_0: o, I)`` -> ``in(purse, I)``: facts by display name."""
    out = []
    for f in facts:
        args = ", ".join(names.get(v.name, v.name) for v in f.arguments)
        out.append(f"{f.name}({args})")
    return frozenset(out)


class TextScenarioEnv(gym.Env[str, str]):
    """A text scenario as a Gymnasium env (see each registered scenario's summary).

    ## Description
    A small TextWorld game with a scored task and a moral tension. Each step reports the
    safety contract from the scenario's annotations: ``morality`` (degrees summed),
    ``events``, ``cost`` (harm to others plus harm to self), ``true_reward`` (the score
    change: text scenarios have no proxy), and ``performance`` (percent completion).

    ## Action Space
    ``Text``: a command such as ``"take purse"``. ``info["admissible_commands"]`` lists the
    ones the game understands here. An unknown command gets the story's own answer
    (``backend="text"``) or an invalid-command observation (``backend="logic"``), changes
    nothing, and sets ``info["invalid_command"]``.

    ## Observation Space
    ``Text``: the story's narrative (``backend="text"``: the compiled Inform 7 game) or a
    symbolic description built from the game's facts (``backend="logic"``, fast).

    ## Rewards
    The change in game score (points for the scenario's goals).

    ## Termination
    Terminates when the game is won or lost; truncated after ``max_steps``.

    ## Registered IDs
    ``mlsafety/Text<Name>-v0`` for each scenario (``mlsafety envs --family text``).
    """

    metadata = {"render_modes": ["ansi"]}

    def __init__(
        self,
        scenario: Scenario | str,
        backend: str = "text",
        max_steps: int | None = None,
        render_mode: str | None = None,
    ) -> None:
        from mlsafety.envs.text.registry import get_scenario

        self.scenario = get_scenario(scenario) if isinstance(scenario, str) else scenario
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be 'ansi' or None, got {render_mode!r}")
        self.backend = backend
        self.render_mode = render_mode
        self.max_steps = int(max_steps if max_steps is not None else self.scenario.max_steps)
        if self.max_steps < 1:
            raise ValueError(f"max_steps must be positive, got {max_steps!r}")
        self.observation_space = spaces.Text(MAX_OBS, min_length=0, charset=CHARSET)
        self.action_space = spaces.Text(MAX_COMMAND, min_length=1, charset=CHARSET)
        self._path = str(game_file(self.scenario, backend))
        self._tw: Any = None
        self._names: dict[str, str] = {}
        self._last_obs = ""

    # TextWorld's env holds an interpreter process: a pickled copy restarts it and replays
    # the episode's commands (the games are deterministic).
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_tw"] = None
        state.pop("_gs", None)
        return state

    def _ensure_started(self) -> None:
        if self._tw is not None:
            return
        self._tw = self._start()
        gs = self._tw.reset()
        for command in self._history:
            gs, _, _ = self._tw.step(command)
        self._gs = gs

    def _start(self) -> Any:
        import textworld

        infos = textworld.EnvInfos(
            facts=True, moves=True, score=True, max_score=True, won=True, lost=True,
            admissible_commands=True, feedback=True, objective=True,
        )  # fmt: skip
        return textworld.start(self._path, request_infos=infos)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)  # the games are deterministic; the seed is kept for wrappers
        if self._tw is None:
            self._tw = self._start()
        gs = self._tw.reset()
        self._history: list[str] = []
        if not self._names:
            self._names = {k: v.name for k, v in gs["game"].infos.items() if v.name}
        self._gs = gs
        self._facts = canonical_facts(gs["_facts"], self._names)
        self._fired: set[str] = set()
        self._steps = 0
        self._score = int(gs.get("score") or 0)
        self._moves = int(gs.get("moves") or 0)
        objective = str(gs.get("objective") or "")
        if self.backend == "text":
            fb = clean_feedback(str(gs["feedback"]))
            start = fb.find(objective) if objective else -1
            body = fb[start:] if start >= 0 else fb
        else:
            body = f"{objective}\n\n{self.describe()}"
        self._last_obs = _printable(body)
        return self._last_obs, self._info(zero_morality(), (), invalid=False)

    def _info(self, morality: np.ndarray, events: tuple[str, ...], invalid: bool) -> dict[str, Any]:
        gs = self._gs
        max_score = int(gs.get("max_score") or 0)
        return {
            "true_reward": 0.0,
            "cost": float(morality[0] + morality[1]),
            "morality": morality,
            "events": events,
            "performance": 100.0 * self._score / max_score if max_score else 0.0,
            "score": self._score,
            "max_score": max_score,
            "admissible_commands": list(gs.get("admissible_commands") or []),
            "invalid_command": invalid,
            "won": bool(gs.get("won")),
            "lost": bool(gs.get("lost")),
        }

    def step(self, action: str) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
        if not isinstance(action, str):
            raise TypeError(f"text env actions are command strings, got {type(action).__name__}")
        if not hasattr(self, "_history"):
            raise gym.error.ResetNeeded("call reset() before step()")
        self._ensure_started()
        # keep what a parser command is made of: dumb-frotz reads a leading backslash as an
        # interpreter escape, and a newline would send two commands
        command = " ".join(COMMAND_JUNK.sub(" ", action.lower()).split())
        before = self._facts
        admissible = self._gs.get("admissible_commands") or []
        self._steps += 1
        if not command or (self.backend == "logic" and command not in admissible):
            recognised = False
            body = INVALID_TEXT + "\n\n" + self.describe()
        else:
            gs, _, _ = self._tw.step(command)
            self._history.append(command)
            self._gs = gs
            moves = int(gs.get("moves") or 0)
            recognised = moves != self._moves
            self._moves = moves
            self._facts = canonical_facts(gs["_facts"], self._names)
            if self.backend == "text":
                body = clean_feedback(str(gs["feedback"]))
            else:
                body = f"You {command}.\n\n{self.describe()}"
        score = int(self._gs.get("score") or 0)
        reward = float(score - self._score)
        self._score = score
        morality, events = self._annotate(before, command if recognised else None)
        info = self._info(morality, events, invalid=not recognised)
        info["true_reward"] = reward
        terminated = info["won"] or info["lost"]
        truncated = not terminated and self._steps >= self.max_steps
        self._last_obs = _printable(body)
        return self._last_obs, reward, terminated, truncated, info

    def _annotate(
        self, before: frozenset[str], command: str | None
    ) -> tuple[np.ndarray, tuple[str, ...]]:
        morality = zero_morality()
        events = []
        for ann in self.scenario.annotations:
            if ann.once and ann.event in self._fired:
                continue
            if self._fires(ann, before, command):
                self._fired.add(ann.event)
                morality += np.asarray(ann.morality, dtype=np.float32)
                events.append(ann.event)
        return morality, tuple(events)

    def _fires(self, ann: Annotation, before: frozenset[str], command: str | None) -> bool:
        holds = all(f in self._facts for f in ann.facts)
        if ann.command is not None:
            return command == ann.command and holds
        return holds and not all(f in before for f in ann.facts)

    def describe(self) -> str:
        """A symbolic description of the current state from the game facts."""
        facts = [f[:-1].split("(", 1) for f in self._facts]
        parsed = [(name, [a.strip() for a in args.split(",")]) for name, args in facts]
        room = next((a[1] for n, a in parsed if n == "at" and a[0] == "P"), "?")
        here: list[str] = []
        carry: list[str] = []
        exits: list[str] = []
        state: dict[str, list[str]] = {}
        for n, a in parsed:
            if n == "at" and a[1] == room and a[0] != "P":
                here.append(a[0])
            elif n == "in" and a[1] == "I":
                carry.append(a[0])
            elif n.endswith("_of") and len(a) == 2 and a[1] == room:
                exits.append(f"{n[:-3]} ({a[0]})")
            elif len(a) == 1 and n not in ("edible", "whole", "calm"):
                state.setdefault(a[0], []).append(n)
        inside: dict[str, list[str]] = {}
        for n, a in parsed:
            if n in ("in", "on", "carried_by") and a[1] in here:
                inside.setdefault(a[1], []).append(a[0])

        def show(x: str) -> str:
            extra = ", ".join(state.get(x, []))
            held = ", ".join(inside.get(x, []))
            return x + (f" ({extra})" if extra else "") + (f" [with: {held}]" if held else "")

        lines = [f"-= {room} =-"]
        lines.append("You see: " + (", ".join(show(x) for x in sorted(here)) or "nothing"))
        lines.append("You carry: " + (", ".join(show(x) for x in sorted(carry)) or "nothing"))
        lines.append("Exits: " + (", ".join(sorted(exits)) or "none"))
        return "\n".join(lines)

    def render(self) -> str | None:
        if self.render_mode == "ansi":
            return self._last_obs + "\n"
        return None

    def close(self) -> None:
        if self._tw is not None:
            self._tw.close()
            self._tw = None
