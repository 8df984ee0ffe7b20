"""Governance strategies: rules written as safe SQL conditions over feature and ring columns.

The names below load on first use: the condition language needs ``sqlglot`` (about 0.4 s
to import), which a run without strategies never touches.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from syndicate.strategies.apply import (
        apply_decisions,
        apply_ring_decisions,
        strategy_hits,
    )
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
        check_syntax,
        compile_condition,
    )
    from syndicate.strategies.file import Strategy, StrategySet, load_strategies
    from syndicate.strategies.report import render_report

_WHERE = {
    "ALLOWED_FUNCTIONS": "conditions",
    "MAX_CONDITION_CHARS": "conditions",
    "MAX_DEPTH": "conditions",
    "MAX_NESTING": "conditions",
    "Condition": "conditions",
    "check_syntax": "conditions",
    "compile_condition": "conditions",
    "Strategy": "file",
    "StrategySet": "file",
    "load_strategies": "file",
    "apply_decisions": "apply",
    "apply_ring_decisions": "apply",
    "strategy_hits": "apply",
    "MODEL_BANDS": "backtest",
    "Backtest": "backtest",
    "RunTables": "backtest",
    "backtest_runs": "backtest",
    "backtest_strategies": "backtest",
    "read_run": "backtest",
    "wilson_interval": "backtest",
    "write_backtest": "backtest",
    "render_report": "report",
}

__all__ = [
    "ALLOWED_FUNCTIONS",
    "MAX_CONDITION_CHARS",
    "MAX_DEPTH",
    "MAX_NESTING",
    "MODEL_BANDS",
    "Backtest",
    "Condition",
    "RunTables",
    "Strategy",
    "StrategySet",
    "apply_decisions",
    "apply_ring_decisions",
    "backtest_runs",
    "backtest_strategies",
    "check_syntax",
    "compile_condition",
    "load_strategies",
    "read_run",
    "render_report",
    "strategy_hits",
    "wilson_interval",
    "write_backtest",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'syndicate.strategies' has no attribute {name!r}")
    return getattr(importlib.import_module(f"syndicate.strategies.{module}"), name)
