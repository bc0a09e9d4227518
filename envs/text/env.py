"""The native text env of a scenario: observations and commands as strings."""

from __future__ import annotations

import re
import string
import warnings
from collections.abc import Iterable
from typing import Any, NamedTuple, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from mlsafety.contract import Peek, zero_morality
from mlsafety.envs.text.games import BACKENDS, game_file
from mlsafety.envs.text.registry import get_scenario
from mlsafety.envs.text.scenario import Annotation, Scenario

CHARSET = string.printable
MAX_OBS = 4096
MAX_COMMAND = 200
INVALID_TEXT = "That is not something you can do here."
_ALLOWED = frozenset(CHARSET)
COMMAND_JUNK = re.compile(r"[^a-z0-9 ,.'-]")
TURNS_RE = re.compile(r"in (\d+) turns?\b")
TURNS_MARK = "\x00turns\x00"
STATUS_RE = re.compile(r"(-?\d+)/(\d+)\s*$")
RESET_KEY = ("reset",)
MAX_SCORE_KEY = ("max_score",)
MAX_CACHE_ENTRIES = 500_000


class Transition(NamedTuple):
    """One cached game transition (see ``TextScenarioEnv(cache=True)``)."""

    body: str
    facts: frozenset[str]
    score: int
    admissible: tuple[str, ...]
    won: bool
    lost: bool
    recognised: bool
    moves: int  # after a reset: the count; after a step: the change
    turns: int  # the story's turn counter (its status line), likewise
    turns_offset: int  # for "in N turns" at the end: N minus the turns before the step


# (game file) -> {(facts, score, command) or RESET_KEY: Transition}: shared by every env of
# the process, so repeated rollouts of a scenario skip the interpreter
_CACHE: dict[str, dict[Any, Transition]] = {}


def _turns(raw_feedback: str, default: int) -> int:
    m = STATUS_RE.search(raw_feedback)
    return int(m.group(2)) if m else default


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

    ## Transition cache
    With ``cache=True`` (default) every transition ``(state facts, score, command) ->
    result`` is kept in a process-wide table, and the interpreter is only consulted (and
    brought up to date by replaying the episode's commands) on a miss. The games are
    deterministic, so cached play is identical to uncached play (tested); the end-of-game
    "in N turns" is recomputed from the story's own turn counter.

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
        cache: bool = True,
    ) -> None:
        self.scenario = get_scenario(scenario) if isinstance(scenario, str) else scenario
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be 'ansi' or None, got {render_mode!r}")
        self.backend = backend
        self.cache = bool(cache)
        self.render_mode = render_mode
        self.max_steps = int(max_steps if max_steps is not None else self.scenario.max_steps)
        if self.max_steps < 1:
            raise ValueError(f"max_steps must be positive, got {max_steps!r}")
        self.observation_space = spaces.Text(MAX_OBS, min_length=0, charset=CHARSET)
        self.action_space = spaces.Text(MAX_COMMAND, min_length=1, charset=CHARSET)
        self._path = str(game_file(self.scenario, backend))
        self._tw: Any = None
        self._synced = -1
        self._names: dict[str, str] = {}
        self._last_obs = ""

    @property
    def event_names(self) -> tuple[str, ...]:
        """Every event name this env can report: its scenario's annotations' events."""
        return tuple(a.event for a in self.scenario.annotations)

    # TextWorld's env holds an interpreter process: a pickled copy restarts it and replays
    # the episode's commands when it next needs the real game (the games are deterministic).
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_tw"] = None
        state["_synced"] = -1
        return state

    def _start(self) -> Any:
        import textworld  # heavy: TextWorld, loaded when a game starts

        infos = textworld.EnvInfos(
            facts=True,
            moves=True,
            score=True,
            max_score=True,
            won=True,
            lost=True,
            admissible_commands=True,
            feedback=True,
            objective=True,
        )
        with warnings.catch_warnings():  # Jericho: "not fully supported" (TextWorld tracks it)
            warnings.simplefilter("ignore")
            return textworld.start(self._path, request_infos=infos)

    def _snapshot(self, gs: Any) -> tuple[frozenset[str], int, tuple[str, ...], bool, bool, int]:
        facts = canonical_facts(gs["_facts"], self._names)
        admissible = tuple(gs.get("admissible_commands") or ())
        return (
            facts,
            int(gs.get("score") or 0),
            admissible,
            bool(gs.get("won")),
            bool(gs.get("lost")),
            int(gs.get("moves") or 0),
        )

    def _real_reset(self) -> Any:
        if self._tw is None:
            self._tw = self._start()
        gs = self._tw.reset()
        self._synced = 0
        if not self._names:
            self._names = {k: v.name for k, v in gs["game"].infos.items() if v.name}
        return gs

    def _sync(self) -> None:
        """Bring the real game to the current state (after cache hits or unpickling)."""
        if self._tw is None or self._synced < 0:
            self._real_reset()
        for command in self._history[self._synced :]:
            self._tw.step(command)
        self._synced = len(self._history)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)  # the games are deterministic; the seed is kept for wrappers
        self._history: list[str] = []
        self._fired: set[str] = set()
        self._steps = 0
        table = _CACHE.setdefault(self._path, {}) if self.cache else None
        entry = table.get(RESET_KEY) if table is not None else None
        if entry is None:
            gs = self._real_reset()
            facts, score, admissible, won, lost, moves = self._snapshot(gs)
            self._max_score = int(gs.get("max_score") or 0)
            objective = str(gs.get("objective") or "")
            self._facts, self._score, self._admissible = facts, score, admissible
            if self.backend == "text":
                raw = str(gs["feedback"])
                fb = clean_feedback(raw)
                start = fb.find(objective) if objective else -1
                body = fb[start:] if start >= 0 else fb
                turns = _turns(raw, 0)
            else:
                body = f"{objective}\n\n{self.describe()}"
                turns = 0
            entry = Transition(body, facts, score, admissible, won, lost, True, moves, turns, 0)
            if table is not None:
                table[RESET_KEY] = entry
                table[MAX_SCORE_KEY] = self._max_score  # type: ignore[assignment]
        else:
            self._synced = -1  # the real game is reset lazily, when a cache miss needs it
            self._max_score = int(table[MAX_SCORE_KEY])  # type: ignore[index,arg-type]
        self._facts, self._score, self._admissible = entry.facts, entry.score, entry.admissible
        self._won, self._lost = entry.won, entry.lost
        self._moves, self._turns = entry.moves, entry.turns
        self._last_obs = _printable(entry.body)
        return self._last_obs, self._info(zero_morality(), (), invalid=False)

    def _info(self, morality: np.ndarray, events: tuple[str, ...], invalid: bool) -> dict[str, Any]:
        max_score = self._max_score
        return {
            "true_reward": 0.0,
            "cost": float(morality[0] + morality[1]),
            "morality": morality,
            "events": events,
            "performance": 100.0 * self._score / max_score if max_score else 0.0,
            "score": self._score,
            "max_score": max_score,
            "admissible_commands": list(self._admissible),
            "invalid_command": invalid,
            "won": self._won,
            "lost": self._lost,
        }

    def _transition(self, command: str) -> Transition:
        """What ``command`` does from the current state: from the cache or the real game."""
        table = _CACHE.setdefault(self._path, {}) if self.cache else None
        key = (self._facts, self._score, command)
        entry = table.get(key) if table is not None else None
        if entry is not None:
            self._history.append(command)
            return entry
        self._sync()
        gs, _, _ = self._tw.step(command)
        self._history.append(command)
        self._synced = len(self._history)
        facts, score, admissible, won, lost, moves = self._snapshot(gs)
        recognised = moves != self._moves
        self._facts = facts  # describe() reads the new facts
        if self.backend == "text":
            raw = str(gs["feedback"])
            body = clean_feedback(raw)
            turns = _turns(raw, self._turns)
            m = TURNS_RE.search(body) if won or lost else None
            offset = 0
            if m:  # "in N turns" (game over): N depends on the history, not the state
                offset = int(m.group(1)) - self._turns
                body = body[: m.start(1)] + TURNS_MARK + body[m.end(1) :]
        else:
            body = f"You {command}.\n\n{self.describe()}"
            turns, offset = 0, 0
        entry = Transition(
            body,
            facts,
            score,
            admissible,
            won,
            lost,
            recognised,
            moves - self._moves,
            turns - self._turns,
            offset,
        )
        if table is not None and len(table) < MAX_CACHE_ENTRIES:
            table[key] = entry
        return entry

    def step(self, action: str) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
        if not isinstance(action, str):
            raise TypeError(f"text env actions are command strings, got {type(action).__name__}")
        if not hasattr(self, "_history"):
            raise gym.error.ResetNeeded("call reset() before step()")
        # keep what a parser command is made of: dumb-frotz reads a leading backslash as an
        # interpreter escape, and a newline would send two commands
        command = " ".join(COMMAND_JUNK.sub(" ", action.lower()).split())
        before = self._facts
        self._steps += 1
        reward = 0.0
        if not command or (self.backend == "logic" and command not in self._admissible):
            recognised = False
            body = INVALID_TEXT + "\n\n" + self.describe()
        else:
            entry = self._transition(command)
            recognised = entry.recognised
            body = entry.body.replace(TURNS_MARK, str(self._turns + entry.turns_offset))
            self._facts, self._admissible = entry.facts, entry.admissible
            self._won, self._lost = entry.won, entry.lost
            self._moves += entry.moves
            self._turns += entry.turns
            reward = float(entry.score - self._score)
            self._score = entry.score
        morality, events = self._annotate(before, command if recognised else None)
        info = self._info(morality, events, invalid=not recognised)
        info["true_reward"] = reward
        terminated = self._won or self._lost
        truncated = not terminated and self._steps >= self.max_steps
        self._last_obs = _printable(body)
        return self._last_obs, reward, terminated, truncated, info

    def peek(self, command: str) -> Peek:
        """What ``command`` would do now (:class:`~mlsafety.contract.Peek`), without taking it.

        This is what an oracle conscience reads. With the transition cache it is a lookup;
        on a miss the real game is stepped and later brought back by replaying the episode.
        """
        saved = (
            self._facts,
            self._score,
            self._admissible,
            self._won,
            self._lost,
            self._moves,
            self._turns,
            list(self._history),
            set(self._fired),
            self._steps,
            self._last_obs,
        )
        try:
            _obs, reward, terminated, _truncated, info = self.step(command)
            return Peek(
                reward=float(reward),
                true_reward=float(info["true_reward"]),
                cost=float(info["cost"]),
                morality=info["morality"],
                events=info["events"],
                terminated=bool(terminated),
            )
        finally:
            (
                self._facts,
                self._score,
                self._admissible,
                self._won,
                self._lost,
                self._moves,
                self._turns,
                self._history,
                self._fired,
                self._steps,
                self._last_obs,
            ) = saved
            if self._synced > len(self._history):
                self._synced = -1  # the real game went one step further: replay on next miss

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
        # sorted: the facts are a set, and the text must not depend on the hash seed
        facts = [f[:-1].split("(", 1) for f in sorted(self._facts)]
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
