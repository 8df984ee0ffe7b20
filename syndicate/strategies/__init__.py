"""Governance strategies: rules written as safe SQL conditions over feature and ring columns."""

from syndicate.strategies.conditions import (
    ALLOWED_FUNCTIONS,
    MAX_CONDITION_CHARS,
    MAX_DEPTH,
    MAX_NESTING,
    Condition,
    compile_condition,
)

__all__ = [
    "ALLOWED_FUNCTIONS",
    "MAX_CONDITION_CHARS",
    "MAX_DEPTH",
    "MAX_NESTING",
    "Condition",
    "compile_condition",
]
