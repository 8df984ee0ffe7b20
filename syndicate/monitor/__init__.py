"""Governance monitoring: north-star metrics of each run, and the monitor over many runs."""

from syndicate.monitor.alerts import AlertSettings, evaluate_history
from syndicate.monitor.dashboard import NORTH_STAR_METRICS, render_dashboard, write_dashboard
from syndicate.monitor.history import HISTORY_SCHEMA, History, read_history
from syndicate.monitor.metrics import METRICS, METRICS_SCHEMA, RunFacts, run_metrics
from syndicate.monitor.rootcause import explain_alerts

__all__ = [
    "HISTORY_SCHEMA",
    "METRICS",
    "METRICS_SCHEMA",
    "NORTH_STAR_METRICS",
    "AlertSettings",
    "History",
    "RunFacts",
    "evaluate_history",
    "explain_alerts",
    "read_history",
    "render_dashboard",
    "run_metrics",
    "write_dashboard",
]
