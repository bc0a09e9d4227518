"""Agents: SB3 training, conscience and moral parliament (see DESIGN.md)."""
