"""Monitors: anomaly detectors, conservative fallback, regression suites (see DESIGN.md)."""
