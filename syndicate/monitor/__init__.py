"""Governance monitoring: north-star metrics of each run, and the monitor over many runs."""

from syndicate.monitor.metrics import METRICS, METRICS_SCHEMA, RunFacts, run_metrics

__all__ = ["METRICS", "METRICS_SCHEMA", "RunFacts", "run_metrics"]
