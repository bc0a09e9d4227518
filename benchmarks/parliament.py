"""Decision maps of the moral parliament: which option each voting rule takes.

    python benchmarks/parliament.py [--envs TrolleyDivert TrolleyLie TrolleyDoomsday]
                                    [--episodes 40] [--plot docs/parliament.png]

Two theories, utilitarian (credence c) and deontological (1 - c), with exact Q-tables on
each dilemma (stakes 1..10 in one env, so variance voting's statistics span the stakes).
For every rule, credence c in 0, 0.1, ..., 1 and stakes n in 1..10, the parliament plays an
episode with n people at risk; a cell is the option taken: D(ivert), P(ush), L(ie),
M(islead), X (doomsday), N(othing). Variance voting first plays one warm-up episode per
stakes value (its running statistics come from the states it visits). Proportional chances
is random: its cell is the most frequent option over ``--episodes`` episodes, with its share
in percent when below 100. Prints one Markdown table per env and rule and saves a plot.
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

STAKES = tuple(range(1, 11))
CREDENCES = tuple(float(c) for c in np.round(np.linspace(0.0, 1.0, 11), 2))
LETTERS = "NDPLMX"


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


def markdown(env_name: str, rule: str, rows: list[list[tuple[str, float]]]) -> str:
    head = "| util credence \\ stakes | " + " | ".join(str(n) for n in STAKES) + " |"
    lines = [f"**{env_name}, {rule}**", "", head, "|---|" + "---|" * len(STAKES)]
    for c, row in zip(CREDENCES, rows, strict=True):
        cells = [f"{x}" if share == 1.0 else f"{x}{round(100 * share)}" for x, share in row]
        lines.append(f"| {c:.1f} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


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
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=60)
    plt.close(fig)
    tmp.replace(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--envs", nargs="+", default=["TrolleyDivert", "TrolleyLie", "TrolleyDoomsday"]
    )
    parser.add_argument("--episodes", type=int, default=40, help="proportional chances")
    parser.add_argument("--plot", type=Path, default=Path("docs/parliament.png"))
    args = parser.parse_args()
    maps = {}
    for env_name in args.envs:
        for rule in P.RULES:
            t0 = time.perf_counter()
            maps[env_name, rule] = decision_map(env_name, rule, args.episodes)
            print(markdown(env_name, rule, maps[env_name, rule]))
            print(f"({time.perf_counter() - t0:.1f} s)\n")
    plot(maps, args.plot)
    print(f"plot: {args.plot} ({args.plot.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
