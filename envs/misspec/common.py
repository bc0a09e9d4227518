"""What the three misspecification sims share: the named kinds and their validation."""

from __future__ import annotations

from collections.abc import Sequence

KINDS: tuple[str, ...] = ("misweighting", "ontological", "scope")
"""Pan, Bhatia & Steinhardt's (ICLR 2022) kinds of reward misspecification: *misweighting*
(the right terms, the wrong weights), *ontological* (a different quantity standing in for
the goal) and *scope* (the right quantity, measured over too small a region or group)."""


def check_kind(value: object, allowed: Sequence[str]) -> str:
    """``value`` as one of ``allowed`` misspecification kinds, else ValueError naming both."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(
            f"misspecification must be one of {list(allowed)} for this env, got {value!r}"
        )
    return value
