"""Governance strategies: rules written as safe SQL conditions over feature and ring columns."""

from syndicate.strategies.backtest import (
    MODEL_BANDS,
    Backtest,
    RunTables,
    backtest_runs,
    backtest_strategies,
    read_run,
    wilson_interval,
    write_backtest,
)
from syndicate.strategies.conditions import (
    ALLOWED_FUNCTIONS,
    MAX_CONDITION_CHARS,
    MAX_DEPTH,
    MAX_NESTING,
    Condition,
    compile_condition,
)
from syndicate.strategies.report import render_report

__all__ = [
    "ALLOWED_FUNCTIONS",
    "MAX_CONDITION_CHARS",
    "MAX_DEPTH",
    "MAX_NESTING",
    "MODEL_BANDS",
    "Backtest",
    "Condition",
    "RunTables",
    "backtest_runs",
    "backtest_strategies",
    "compile_condition",
    "read_run",
    "render_report",
    "wilson_interval",
    "write_backtest",
]
