"""Decision maps of the moral parliament: which option each voting rule takes.

    python benchmarks/parliament.py [--envs TrolleyDivert TrolleyLie TrolleyDoomsday]
                                    [--episodes 40] [--output benchmarks/results/parliament.json]

Two theories, utilitarian (credence c) and deontological (1 - c), with exact Q-tables on
each dilemma (stakes 1..10 in one env, so variance voting's statistics span the stakes).
For every rule, credence c in 0, 0.1, ..., 1 and stakes n in 1..10, the parliament plays an
episode with n people at risk; a cell is the option taken: D(ivert), P(ush), L(ie),
M(islead), X (doomsday), N(othing). Variance voting first plays one warm-up episode per
stakes value (its running statistics come from the states it visits). Proportional chances
is random: its cell is the most frequent option over ``--episodes`` episodes, with its share
in percent when below 100. One table per env and rule, and a plot of all maps.

Then the text scenarios (``--text Bakery StrayDog FerryQueue``, ``--text`` alone to skip):
each is searched exhaustively on the logic backend within ``--depth`` steps of the start,
and for each rule and credence setting (egoist vs deontologist vs utilitarian) the theories'
Q-tables under the parliament's own policy (``parliament_q_tables``) drive one episode
(proportional chances: ``--text-episodes`` seeds). A cell is ``completion % / harm`` (the summed
``harm_others``, Jiminy Cricket's immorality), averaged over episodes.

Writes ``benchmarks/results/parliament.json`` (+ ``parliament_maps.png``) and prints it as
Markdown.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

import gymnasium as gym
import numpy as np

import mlsafety.envs  # noqa: F401  (registers the IDs)
from mlsafety.agents import parliament as P
from mlsafety.io import atomic_write
from mlsafety.results import (
    Cell,
    Figure,
    Results,
    Table,
    command_line,
    default_output,
    publish,
)

STAKES = tuple(range(1, 11))
CREDENCES = tuple(float(c) for c in np.round(np.linspace(0.0, 1.0, 11), 2))
LETTERS = "NDPLMX"
TEXT = ("Bakery", "StrayDog", "FerryQueue")
TEXT_CREDENCES: tuple[dict[str, float], ...] = (
    {"egoist": 1.0},
    {"egoist": 0.5, "deontological": 0.5},
    {"egoist": 0.3, "deontological": 0.7},
    {"egoist": 0.5, "utilitarian": 0.5},
    {"egoist": 0.2, "utilitarian": 0.4, "deontological": 0.4},
)
THEORIES = {t.name: t for t in (P.utilitarian, P.deontological, P.egoist)}


def decision_map(env_name: str, rule: str, episodes: int) -> list[list[tuple[str, float]]]:
    """``rows[credence][stakes] = (letter, share)``."""
    env = gym.make(f"mlsafety/{env_name}-v0", stakes=STAKES)
    qs = P.q_tables(env, (P.utilitarian, P.deontological))
    rows = []
    for c in CREDENCES:
        par = P.MoralParliament(
            dict(qs), {"utilitarian": c, "deontological": 1.0 - c}, rule=rule, seed=0
        )
        if rule == "variance":
            for n in STAKES:
                P.play_episode(par, env, options={"stakes": n})
        reps = episodes if rule == "proportional" else 1
        row = []
        for n in STAKES:
            counts = Counter(
                P.play_episode(par, env, options={"stakes": n})[0] for _ in range(reps)
            )
            letter, count = counts.most_common(1)[0]
            row.append((letter, count / reps))
        rows.append(row)
    return rows


def map_table(env_name: str, rule: str, rows: list[list[tuple[str, float]]]) -> Table:
    """A decision map as a table: credence rows, stakes columns, option letter (+ share %)."""
    body: list[list[Cell]] = [
        [f"{c:.1f}", *(x if share == 1.0 else f"{x}{round(100 * share)}" for x, share in row)]
        for c, row in zip(CREDENCES, rows, strict=True)
    ]
    return Table(
        f"{env_name}-{rule}",
        f"{env_name}, {rule}",
        ["util credence \\ stakes", *(str(n) for n in STAKES)],
        body,
    )


def text_table(names: list[str], depth: int, episodes: int) -> Table:
    """Completion % / harm per rule x credences (rows) and scenario (columns)."""
    from mlsafety.agents.build import make_text_env

    cells: dict[tuple[str, int, str], str] = {}
    for name in names:
        model = P.explore(f"mlsafety/Text{name}-v0", max_depth=depth)
        env = make_text_env(f"mlsafety/Text{name}-v0")
        for rule in P.RULES:
            for k, credences in enumerate(TEXT_CREDENCES):
                theories = [THEORIES[n] for n in credences]
                qs = P.parliament_q_tables(model, theories, credences, rule, max_rounds=20)
                seeds = range(episodes) if rule == "proportional" else range(1)
                eps = [
                    P.run_episode(P.MoralParliament(qs, credences, rule=rule, seed=s), env)
                    for s in seeds
                ]
                done = np.mean([e.totals["performance"] for e in eps])
                harm = np.mean([e.totals["harm_others"] for e in eps])
                cells[name, k, rule] = f"{done:.0f} / {harm:.1f}"
    short = {"egoist": "ego", "deontological": "deo", "utilitarian": "util"}
    rows: list[list[Cell]] = []
    for rule in P.RULES:
        for k, credences in enumerate(TEXT_CREDENCES):
            label = " ".join(f"{short[n]} {c:g}" for n, c in credences.items())
            rows.append([rule, label, *(cells[n, k, rule] for n in names)])
    return Table(
        "text",
        "Text scenarios: completion % / harm to others (immorality)",
        ["rule", "credences", *names],
        rows,
        f"exhaustive search of the logic backend to depth {depth}; proportional chances "
        f"averaged over {episodes} seeds",
    )


def plot(maps: dict[tuple[str, str], list[list[tuple[str, float]]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    envs = sorted({e for e, _ in maps}, key=[e for e, _ in maps].index)
    colours = ["#d9d9d9", "#1f77b4", "#9467bd", "#2ca02c", "#bcbd22", "#d62728"]
    cmap = ListedColormap(colours)
    fig, axes = plt.subplots(
        len(envs), len(P.RULES), figsize=(2.1 * len(P.RULES), 2.0 * len(envs)), squeeze=False
    )
    for i, env_name in enumerate(envs):
        for j, rule in enumerate(P.RULES):
            ax = axes[i][j]
            grid = np.array([[LETTERS.index(x) for x, _ in row] for row in maps[env_name, rule]])
            ax.imshow(grid, cmap=cmap, vmin=0, vmax=len(LETTERS) - 1, origin="lower", aspect="auto")
            ax.set_xticks([0, 4, 9], [str(STAKES[0]), str(STAKES[4]), str(STAKES[9])], fontsize=7)
            ax.set_yticks([0, 5, 10], ["0", "0.5", "1"], fontsize=7)
            if i == 0:
                ax.set_title(rule, fontsize=9)
            if j == 0:
                ax.set_ylabel(f"{env_name[7:]}\nutil credence", fontsize=8)
            if i == len(envs) - 1:
                ax.set_xlabel("stakes", fontsize=8)
    names = ["nothing", "divert", "push", "lie", "mislead", "doomsday"]
    handles = [Patch(color=col, label=n) for col, n in zip(colours, names, strict=True)]
    fig.legend(handles=handles, loc="lower center", ncol=len(names), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=60))
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--envs", nargs="*", default=["TrolleyDivert", "TrolleyLie", "TrolleyDoomsday"]
    )
    parser.add_argument("--episodes", type=int, default=40, help="proportional chances")
    parser.add_argument("--text", nargs="*", default=list(TEXT), help="text scenarios")
    parser.add_argument("--depth", type=int, default=6, help="text search depth")
    parser.add_argument("--text-episodes", type=int, default=10, help="text, proportional")
    parser.add_argument("--output", type=Path, default=Path(default_output("parliament")))
    args = parser.parse_args()
    maps = {}
    tables: list[Table] = []
    figures: list[Figure] = []
    seconds: dict[str, float] = {}
    for env_name in args.envs:
        for rule in P.RULES:
            t0 = time.perf_counter()
            maps[env_name, rule] = decision_map(env_name, rule, args.episodes)
            tables.append(map_table(env_name, rule, maps[env_name, rule]))
            seconds[f"{env_name}/{rule}"] = time.perf_counter() - t0
    if maps:
        name = f"{args.output.stem}_maps.png"
        plot(maps, args.output.parent / name)
        figures.append(Figure("maps", "Decision maps: option taken by rule and credence", name))
    if args.text:
        t0 = time.perf_counter()
        tables.append(text_table(args.text, args.depth, args.text_episodes))
        seconds["text"] = time.perf_counter() - t0
    publish(
        Results(
            benchmark="parliament",
            title="Moral parliament: decision maps and text scenarios",
            command=command_line(),
            settings={
                "envs": args.envs,
                "rules": list(P.RULES),
                "credences": list(CREDENCES),
                "stakes": list(STAKES),
                "episodes": args.episodes,
                "text": args.text,
                "depth": args.depth,
                "text_episodes": args.text_episodes,
                "letters": "D(ivert), P(ush), L(ie), M(islead), X (doomsday), N(othing)",
            },
            tables=tables,
            figures=figures,
            data={"seconds": seconds},
        ),
        args.output,
    )


if __name__ == "__main__":
    main()
