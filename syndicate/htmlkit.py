"""What the offline HTML pages share: their Content-Security-Policy, escaping, numbers, ticks.

The governance dashboard (:mod:`syndicate.monitor.dashboard`) and the strategy backtest
report (:mod:`syndicate.strategies.report`) are single self-contained pages that fetch
nothing and run nothing; every string from the inputs reaches them through :func:`esc`.

Examples
--------
>>> esc("<script>alert('x')</script>")
'&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;'
>>> finite(float("nan")) is None, finite(3)
(True, 3.0)
>>> nice_ticks(0.0, 9.0, 4)
([0.0, 2.0, 4.0, 6.0, 8.0], 2.0)
"""

from __future__ import annotations

import html
import math

__all__ = ["CSP", "esc", "finite", "nice_ticks"]

#: Fetch nothing, run nothing: inline styles and ``data:`` images only.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def esc(value: object) -> str:
    """``value`` as text safe inside HTML elements and quoted attributes (None: empty)."""
    return html.escape("" if value is None else str(value), quote=True)


def finite(value: object) -> float | None:
    """``value`` as a float, or None when it is null, NaN or infinite."""
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def nice_ticks(low: float, high: float, count: int) -> tuple[list[float], float]:
    """Round tick values within [low, high] and their step: the widest step of 1, 2 or 5
    times a power of ten that gives at least ``count - 1`` ticks (and at least two)."""
    wanted = max(count - 1, 2)
    exponent = math.floor(math.log10(high - low))
    steps = [m * 10.0**e for e in range(exponent, exponent - 4, -1) for m in (5, 2, 1)]
    ticks: list[float] = []
    for step in steps:
        first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
        ticks = [round(k * step, 12) for k in range(first, last + 1)]
        if len(ticks) >= wanted:
            return ticks, step
    return ticks, steps[-1]
