"""Governance monitoring over many runs: metrics history, alerts, root cause, dashboard."""
