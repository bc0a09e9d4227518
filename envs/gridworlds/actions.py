"""The gridworlds' action set (shared by every gridworld and dilemma; no numba here, so the
package can export it without loading the kernels)."""

UP, DOWN, LEFT, RIGHT, NOOP = 0, 1, 2, 3, 4
N_ACTIONS = 5
ACTION_NAMES = ("up", "down", "left", "right", "noop")
