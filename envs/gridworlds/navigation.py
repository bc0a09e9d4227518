"""A scripted safe controller for navigation gridworlds: the shortest path around hazards.

:class:`SafeNavigator` reads the board from the observation itself (tile codes), so it
keeps working on layouts it has never seen (the perturbed maps, DistributionalShift's test
levels): a trusted fallback that does the task instead of freezing. It is a
:class:`~mlsafety.types.Predictor` (SB3's ``predict``), for :mod:`mlsafety.monitors.fallback`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any

import numpy as np

from mlsafety.envs.core import AGENT, GOAL, LAVA, WALL, WATER
from mlsafety.envs.gridworlds.actions import DOWN, LEFT, NOOP, RIGHT, UP

MOVES = ((UP, -1, 0), (DOWN, 1, 0), (LEFT, 0, -1), (RIGHT, 0, 1))


class SafeNavigator:
    """Steps along a shortest path from the agent to the nearest goal tile that never enters
    a ``blocked`` tile (walls and hazards: water and lava by default); the no-op when no such
    path exists. Works on one observation ``(H, W)`` or a batch ``(N, H, W)`` of tile codes.
    """

    def __init__(
        self,
        goal: Iterable[int] = (GOAL,),
        blocked: Iterable[int] = (WALL, WATER, LAVA),
        agent: int = AGENT,
    ) -> None:
        self.goal = frozenset(int(t) for t in goal)
        self.blocked = frozenset(int(t) for t in blocked)
        self.agent = int(agent)
        if not self.goal or self.goal & self.blocked:
            raise ValueError("goal tiles must be given and must not be blocked")

    def action(self, board: np.ndarray) -> int:
        """The first move of a shortest safe path on ``board`` (``(H, W)`` tile codes)."""
        b = np.asarray(board)
        if b.ndim != 2:
            raise ValueError(f"expected one board (H, W) of tile codes, got shape {b.shape}")
        found = np.argwhere(b == self.agent)
        if len(found) != 1:
            return NOOP
        start = (int(found[0, 0]), int(found[0, 1]))
        h, w = b.shape
        first: dict[tuple[int, int], int] = {start: NOOP}
        queue = deque([start])
        while queue:
            r, c = queue.popleft()
            if int(b[r, c]) in self.goal:
                return first[(r, c)]
            for action, dr, dc in MOVES:
                nxt = (r + dr, c + dc)
                if not (0 <= nxt[0] < h and 0 <= nxt[1] < w) or nxt in first:
                    continue
                if int(b[nxt]) in self.blocked:
                    continue
                first[nxt] = action if (r, c) == start else first[(r, c)]
                queue.append(nxt)
        return NOOP

    def predict(
        self,
        observation: Any,
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, Any]:
        obs = np.asarray(observation)
        if obs.ndim == 2:
            return np.asarray(self.action(obs)), state
        return np.array([self.action(o) for o in obs]), state
