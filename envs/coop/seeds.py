"""Seeding shared by the batched cooperative envs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def copy_seeds(seed: int | Sequence[int], num_envs: int) -> list[int]:
    """Per-copy seeds: ``seed + i`` for an int (Gymnasium's convention), or the list given."""
    if isinstance(seed, int | np.integer):
        return [int(seed) + i for i in range(num_envs)]
    seeds = [int(s) for s in seed]
    if len(seeds) != num_envs:
        raise ValueError(f"seed must be an int or {num_envs} ints, got {len(seeds)}")
    return seeds
