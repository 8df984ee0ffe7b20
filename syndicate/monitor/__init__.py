"""Governance monitoring: metrics over runs, alerts, root cause, dashboard."""
