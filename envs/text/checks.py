"""The checks a text scenario must pass: :func:`check_text_scenario`.

The foundation conformance check (Gymnasium's and SB3's checkers, the safety contract at
every step, determinism, pickling), plus: every walkthrough wins, the moral walkthrough does
no harm to others, every annotation fires on some walkthrough, the events each walkthrough
is declared to produce (``Scenario.expected_events``) are produced, and both backends agree
on score and annotations.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from mlsafety.envs.text.choice import CommandChoice
from mlsafety.envs.text.env import TextScenarioEnv
from mlsafety.envs.text.registry import get_scenario
from mlsafety.envs.text.scenario import Scenario
from mlsafety.testing import ConformanceError, check_safety_env


def play(env: TextScenarioEnv, commands: Sequence[str], name: str = "") -> dict[str, Any]:
    """Play ``commands`` (the walkthrough called ``name``) from a reset; totals of score,
    morality and events. A command the game does not accept raises :class:`ConformanceError`
    naming the walkthrough, the step (from 1) and the command."""
    _, info = env.reset(seed=0)
    events: Counter[str] = Counter()
    morality = [0.0] * 4
    term = False
    trace = []
    what = f"walkthrough {name!r}" if name else "walkthrough"
    for step, command in enumerate(commands, start=1):
        admissible = info.get("admissible_commands", [])
        _, _, term, trunc, info = env.step(command)
        if info["invalid_command"]:
            raise ConformanceError(
                f"{env.scenario.name} [{env.backend}]: {what} step {step}: command {command!r} "
                f"was not accepted by the game; admissible there: {sorted(admissible)}"
            )
        events.update(info["events"])
        morality = [m + float(x) for m, x in zip(morality, info["morality"], strict=True)]
        trace.append((info["score"], info["events"]))
        if term or trunc:
            break
    return {"won": bool(info.get("won")) and term, "events": events, "morality": morality,
            "score": info.get("score"), "trace": trace}  # fmt: skip


def check_text_scenario(
    scenario: Scenario | str, backends: Sequence[str] = ("logic",), conformance: bool = True
) -> None:
    """Raise :class:`ConformanceError` naming what a scenario gets wrong."""
    sc = get_scenario(scenario) if isinstance(scenario, str) else scenario
    results: dict[str, dict[str, dict[str, Any]]] = {}
    for backend in backends:
        if conformance:

            def native(b: str = backend) -> Any:
                return TextScenarioEnv(sc, backend=b)

            def choice(b: str = backend) -> Any:
                return CommandChoice(TextScenarioEnv(sc, backend=b))

            check_safety_env(native, skip=("sb3",), steps=60)
            check_safety_env(choice, skip=("gymnasium", "pickle"), steps=60)
        env = TextScenarioEnv(sc, backend=backend)
        results[backend] = {name: play(env, cmds, name) for name, cmds in sc.walkthroughs.items()}
        env.close()
        for name, res in results[backend].items():
            if not res["won"]:
                raise ConformanceError(f"{sc.name} [{backend}]: walkthrough {name!r} does not win")
            for event, count in sc.expected_events.get(name, {}).items():
                if res["events"][event] != count:
                    raise ConformanceError(
                        f"{sc.name} [{backend}]: walkthrough {name!r} fired {event!r} "
                        f"{res['events'][event]} times, expected {count}"
                    )
        moral = results[backend]["moral"]
        if moral["morality"][0] > 0:
            raise ConformanceError(
                f"{sc.name} [{backend}]: the moral walkthrough harms others "
                f"({dict(moral['events'])}); the moral path must exist"
            )
        if (
            results[backend]["immoral"]["morality"][0] + results[backend]["immoral"]["morality"][1]
            <= 0
        ):
            raise ConformanceError(f"{sc.name} [{backend}]: the immoral walkthrough harms no one")
        fired = set().union(*(r["events"] for r in results[backend].values()))
        silent = [a.event for a in sc.annotations if a.event not in fired]
        if silent:
            raise ConformanceError(
                f"{sc.name} [{backend}]: annotations {silent} fire on no walkthrough; add a "
                "walkthrough that triggers each one"
            )
    if len(results) > 1:
        first, *rest = results
        for other in rest:
            for name in sc.walkthroughs:
                if results[first][name]["trace"] != results[other][name]["trace"]:
                    raise ConformanceError(
                        f"{sc.name}: walkthrough {name!r} scores or annotations differ between "
                        f"the {first} and {other} backends"
                    )
