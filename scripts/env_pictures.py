"""Pictures of environments for the documentation: a PNG strip of an episode per env.

Gridworlds and dilemmas: one row per scripted path (``reference_actions``: the exploit and
the safe path; a dilemma's ``option_actions``), frames rendered with
``render_mode="rgb_array"``. Cooperative envs: a seeded random episode. Text scenarios: a
transcript of the moral and the immoral walkthroughs side by side (logic backend), with the
safety events each command fired. Envs without an ``rgb_array`` render (the
misspecification sims, whose state is a set of numbers): the cumulative proxy and true
return of each scripted path over the episode. Used by ``scripts/build_docs.py``.
"""

from __future__ import annotations

import os
import textwrap
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, cast

import gymnasium as gym
import matplotlib  # only for its bundled DejaVu fonts
import numpy as np
from gymnasium.spaces import Discrete
from PIL import Image, ImageDraw, ImageFont

from mlsafety.envs import make_parallel
from mlsafety.envs.gridworlds import ACTION_NAMES, NOOP
from mlsafety.envs.registration import EnvEntry

FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
FRAMES_PER_ROW = 6
MAX_STEPS = 100
TEXT_STEPS = 8
LEFT = ACTION_NAMES.index("left")  # a dilemma's exit is to the left
BG = (255, 255, 255)
INK = (30, 30, 30)
RED = (190, 30, 30)
GREY = (110, 110, 110)


def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    name = "DejaVuSansMono-Bold.ttf" if bold else "DejaVuSansMono.ttf"
    return ImageFont.truetype(str(FONT_DIR / name), size)


@dataclass
class Row:
    """One played path: its label, rendered frames (with their step numbers) and totals."""

    label: str
    frames: list[tuple[int, np.ndarray]] = field(default_factory=list)
    proxy: float = 0.0
    true: float = 0.0
    events: Counter[str] = field(default_factory=Counter)

    def caption(self) -> str:
        shown = ", ".join(f"{n} x{c}" for n, c in self.events.most_common(3)) or "none"
        return (
            f"{self.label}: proxy return {self.proxy:+g}, true return {self.true:+g}; "
            f"events: {shown}"
        )


def pick(frames: list[tuple[int, np.ndarray]], n: int = FRAMES_PER_ROW) -> list[Any]:
    """``n`` frames evenly spaced over the episode, first and last included."""
    if len(frames) <= n:
        return frames
    idx = np.unique(np.linspace(0, len(frames) - 1, n).round().astype(int))
    return [frames[i] for i in idx]


def scaled(frame: np.ndarray, min_height: int = 96, max_height: int = 160) -> Image.Image:
    """A frame at a readable size: small boards enlarged, big ones halved (whole pixels)."""
    img = Image.fromarray(np.asarray(frame, dtype=np.uint8))
    if img.height > max_height:
        shrink = -(-img.height // max_height)
        return img.resize((img.width // shrink, img.height // shrink), Image.Resampling.BOX)
    factor = max(1, -(-min_height // img.height))
    return img.resize((img.width * factor, img.height * factor), Image.Resampling.NEAREST)


def play_grid(entry: EnvEntry, label: str, actions: Callable[[int], int], seed: int = 0) -> Row:
    """Play one single-agent path (``actions(t)`` gives the action of step ``t``)."""
    env = gym.make(entry.env_id, render_mode="rgb_array")
    row = Row(label)
    env.reset(seed=seed)
    row.frames.append((0, np.asarray(env.render())))
    for t in range(MAX_STEPS):
        _, reward, terminated, truncated, info = env.step(actions(t))
        row.proxy += float(reward)
        row.true += float(info["true_reward"])
        row.events.update(info["events"])
        row.frames.append((t + 1, np.asarray(env.render())))
        if terminated or truncated:
            break
    env.close()
    row.proxy, row.true = round(row.proxy, 3), round(row.true, 3)
    return row


def scripted(seq: tuple[int, ...], t: int) -> int:
    return seq[t] if t < len(seq) else NOOP


def decide_then_leave(first: int, t: int) -> int:
    return first if t == 0 else LEFT


def grid_rows(entry: EnvEntry) -> list[Row]:
    """The scripted paths of a gridworld or dilemma, or a random episode if it has none."""
    probe = gym.make(entry.env_id).unwrapped
    refs: dict[str, Sequence[int]] = dict(getattr(probe, "reference_actions", {}))
    options: dict[str, int] = dict(getattr(probe, "option_actions", {}))
    probe.close()
    rows = []
    for name, seq in refs.items():
        rows.append(play_grid(entry, name, partial(scripted, tuple(seq))))
    for name, first in options.items():
        rows.append(play_grid(entry, name, partial(decide_then_leave, first)))
    if not rows:
        rng = np.random.default_rng(0)
        rows.append(play_grid(entry, "random policy", lambda t: int(rng.integers(5))))
    return rows


def coop_rows(entry: EnvEntry, steps: int = 40) -> list[Row]:
    """A seeded random episode of a PettingZoo env (rewards summed over agents)."""
    env = make_parallel(entry.env_id, render_mode="rgb_array")
    env.reset(seed=0)
    row = Row("random policy, all agents")
    row.frames.append((0, np.asarray(env.render())))
    rng = np.random.default_rng(0)
    for t in range(steps):
        if not env.agents:
            break
        acts = {a: int(rng.integers(cast(Discrete, env.action_space(a)).n)) for a in env.agents}
        _, rewards, _, _, infos = env.step(acts)
        row.proxy += float(sum(rewards.values()))
        row.true += float(sum(i["true_reward"] for i in infos.values()))
        for i in infos.values():
            row.events.update(i["events"])
        row.frames.append((t + 1, np.asarray(env.render())))
    env.close()
    row.proxy, row.true = round(row.proxy, 2), round(row.true, 2)
    return [row]


def strip(rows: list[Row], title: str) -> Image.Image:
    """Rows of frames, each frame labelled with its step, each row with its totals."""
    head, small = font(15, bold=True), font(12)
    pad, label_h, caption_h = 8, 16, 20
    tiles = [[(t, scaled(f)) for t, f in pick(r.frames)] for r in rows]
    width = max(sum(im.width + pad for _, im in ts) for ts in tiles) + pad
    width = max(width, 12 + 7 * max(len(r.caption()) for r in rows))
    heights = [caption_h + max(im.height for _, im in ts) + label_h + pad for ts in tiles]
    canvas = Image.new("RGB", (width, 28 + sum(heights)), BG)
    draw = ImageDraw.Draw(canvas)
    draw.text((pad, 6), title, font=head, fill=INK)
    y = 28
    for row, ts, h in zip(rows, tiles, heights, strict=True):
        draw.text((pad, y + 2), row.caption(), font=small, fill=RED if row.true < 0 else INK)
        x = pad
        for t, im in ts:
            canvas.paste(im, (x, y + caption_h))
            draw.text((x, y + caption_h + im.height + 1), f"t={t}", font=small, fill=GREY)
            x += im.width + pad
        y += h
    return canvas


@dataclass
class Turn:
    command: str
    observation: str
    events: tuple[str, ...]
    score: float


def play_text(entry: EnvEntry, path: str) -> tuple[str, list[Turn]]:
    """Play a text scenario's walkthrough ``path`` (logic backend); the opening and turns."""
    kwargs: dict[str, Any] = {"backend": "logic"}
    if entry.env_id.endswith("TextGen-v0"):
        kwargs["num_variants"] = 1
    env = gym.make(entry.env_id, **kwargs)
    opening, _ = env.reset(seed=0)
    scenario = env.unwrapped.scenario  # type: ignore[attr-defined]
    turns = []
    for command in list(scenario.walkthroughs[path])[:TEXT_STEPS]:
        obs, _, terminated, truncated, info = env.step(command)
        turns.append(Turn(command, obs, tuple(info["events"]), float(info["performance"])))
        if terminated or truncated:
            break
    env.close()
    return opening, turns


def transcript(entry: EnvEntry) -> Image.Image:
    """The moral and the immoral walkthroughs side by side, events in red."""
    body, bold, head = font(12), font(12, bold=True), font(15, bold=True)
    cols, col_chars, line_h = [], 52, 15
    for path in ("moral", "immoral"):
        opening, turns = play_text(entry, path)
        lines: list[tuple[str, Any, tuple[int, int, int]]] = [(f"{path} walkthrough", bold, INK)]
        lines += [(s, body, GREY) for s in textwrap.wrap(opening.split("\n")[0], col_chars)[:3]]
        for turn in turns:
            lines.append((f"> {turn.command}", bold, INK))
            first = turn.observation.strip().split("\n")[0]
            lines += [(s, body, GREY) for s in textwrap.wrap(first, col_chars)[:2]]
            if turn.events:
                lines.append((f"  events: {', '.join(turn.events)}", body, RED))
        lines.append((f"completion {turns[-1].score:.0f}%" if turns else "", bold, INK))
        cols.append(lines)
    col_w = 8 * col_chars + 16
    height = 34 + line_h * max(len(c) for c in cols) + 10
    canvas = Image.new("RGB", (col_w * len(cols) + 8, height), BG)
    draw = ImageDraw.Draw(canvas)
    draw.text((8, 6), f"{entry.env_id} (logic backend)", font=head, fill=INK)
    for i, lines in enumerate(cols):
        y = 34
        for text, f, colour in lines:
            draw.text((8 + i * col_w, y), text, font=f, fill=colour)
            y += line_h
    return canvas


def reward_trace(entry: EnvEntry) -> Image.Image:
    """Cumulative proxy (solid) and true (dashed) return of each scripted path, one plot."""
    import io

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # heavy: pyplot only for the few envs drawn as plots

    env = gym.make(entry.env_id)
    refs: dict[str, Sequence[int]] = dict(getattr(env.unwrapped, "reference_actions", {}))
    if not refs:
        rng = np.random.default_rng(0)
        n = int(cast(Discrete, env.action_space).n)
        refs = {"random policy": [int(rng.integers(n)) for _ in range(MAX_STEPS)]}
    fig, ax = plt.subplots(figsize=(6.4, 2.8), dpi=80)
    for k, (name, seq) in enumerate(refs.items()):
        env.reset(seed=0)
        proxy, true, events = [0.0], [0.0], Counter[str]()
        for a in seq:
            _, r, term, trunc, info = env.step(int(a))
            proxy.append(proxy[-1] + float(r))
            true.append(true[-1] + float(info["true_reward"]))
            events.update(info["events"])
            if term or trunc:
                break
        colour = f"C{k}"
        ax.plot(proxy, color=colour, label=f"{name}: proxy")
        ax.plot(true, color=colour, linestyle="--", label=f"{name}: true")
    env.close()
    ax.set_xlabel("step")
    ax.set_ylabel("cumulative return")
    ax.set_title(entry.env_id, fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def renders_frames(entry: EnvEntry) -> bool:
    """Whether the env can draw itself (``render_mode="rgb_array"``)."""
    if entry.api == "pettingzoo":
        return True
    env = gym.make(entry.env_id)
    ok = "rgb_array" in env.metadata.get("render_modes", [])
    env.close()
    return ok


def picture(entry: EnvEntry) -> tuple[Image.Image, str]:
    """The env's picture and a one-line caption saying what it shows."""
    if entry.family not in ("text",) and not renders_frames(entry):
        return reward_trace(entry), "cumulative proxy and true return of the scripted paths"
    if entry.family == "text":
        return transcript(entry), "the first moves of the moral and the immoral walkthroughs"
    if entry.api == "pettingzoo":
        rows = coop_rows(entry)
        return strip(rows, entry.env_id), "a seeded random episode"
    rows = grid_rows(entry)
    shown = " and ".join(r.label for r in rows)
    return strip(rows, entry.env_id), f"scripted paths: {shown}"


def write_picture(entry: EnvEntry, folder: Path) -> tuple[str, str, str]:
    """Write ``<name>.png`` and ``<name>_thumb.png`` into ``folder``; returns their file
    names and the caption."""
    name = entry.env_id.split("/", 1)[1].removesuffix("-v0")
    img, caption = picture(entry)
    full, thumb = f"{name}.png", f"{name}_thumb.png"
    img.save(folder / full, optimize=True)
    small = img.copy()
    small.thumbnail((240, 160))
    small.save(folder / thumb, optimize=True)
    return full, thumb, caption


if __name__ == "__main__":  # pragma: no cover - a manual look at one picture
    import sys

    from mlsafety.envs.registration import CATALOGUE

    out = Path(os.environ.get("OUT", "."))
    print(write_picture(CATALOGUE[sys.argv[1]], out))
