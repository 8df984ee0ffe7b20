"""The governance dashboard: one offline, self-contained HTML page over many runs.

:func:`render_dashboard` turns the monitor's frames (``history``, ``evaluations``, ``alerts``,
``runs``; schemas in the monitoring contract) into a page that reads in a minute:

1. a header: the latest run, its alerts, the incidents still open and a one-line verdict;
2. the latest run against its baseline, one row per north-star metric;
3. a trend chart per north-star metric: the series over runs, the baseline band, the
   baseline itself and the alerts as markers coloured by severity (hover: what and why;
   click: the alert's row);
4. the alerts, latest first, each with a drill-down: the plain explanation, the driver
   rings (linked to their pages) and the segment decomposition (mix and rate effects);
5. small multiples of the other whole-marketplace metrics, and the runs with links to their
   ring index pages.

Charts are SVG drawn by hand, inline, with no script: the page carries the same
Content-Security-Policy as the ring index, so it fetches nothing and runs nothing. Every
string that comes from the inputs (run names, metric names, segment values, ring ids,
explanations) reaches the page through :func:`html.escape`; paths in links are
percent-encoded, so a folder named ``javascript:...`` stays a relative path. The page holds
no clock time and every table is sorted on a full key: the same frames give the same bytes.
A series is one path however many runs there are; labels are drawn only on the few ticks.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import polars as pl

from syndicate.errors import SchemaError
from syndicate.htmlkit import CSP as _CSP
from syndicate.htmlkit import esc as _esc
from syndicate.htmlkit import finite as _finite
from syndicate.htmlkit import nice_ticks as _nice_ticks
from syndicate.io import record_written, refuse_foreign_files, write_text_atomic
from syndicate.monitor.alerts import RATE_METRICS
from syndicate.terminal import counted

__all__ = [
    "DASHBOARD",
    "NORTH_STAR_METRICS",
    "SEVERITY_COLOUR",
    "render_dashboard",
    "write_dashboard",
]

#: The file :func:`write_dashboard` writes into its folder.
DASHBOARD = "dashboard.html"
#: Shown first, each with its own trend chart, in this order.
NORTH_STAR_METRICS: tuple[str, ...] = (
    "bad_seller_onboarding_rate",
    "ring_onboarding_rate",
    "sellers_in_rings_rate",
    "rings_new",
    "syndicate_rate",
    "matured_syndicate_known_bad",
)
#: Colour of an alert marker per severity (any other severity: grey).
SEVERITY_COLOUR: dict[str, str] = {"high": "#d62728", "medium": "#ff9f1c"}
_OTHER_SEVERITY = "#7f7f7f"
_SEVERITY_RANK = {"high": 0, "medium": 1}
#: The catalogue's rate metrics; any metric with a denominator in history is a rate too.
_CATALOGUE_RATES = RATE_METRICS
_STATUS_TEXT = {"ok": "ok", "alert": "alert", "insufficient_history": "insufficient history"}

_TEXT, _FLOAT, _TIME = pl.String, pl.Float64, pl.Datetime("us", "UTC")
#: Columns the dashboard reads from each frame (the contract's frames carry more).
_REQUIRED: dict[str, dict[str, Any]] = {
    "history": {
        "as_of": _TIME,
        "run": _TEXT,
        "metric": _TEXT,
        "segment_kind": _TEXT,
        "segment": _TEXT,
        "value": _FLOAT,
    },
    "evaluations": {
        "run": _TEXT,
        "metric": _TEXT,
        "segment_kind": _TEXT,
        "segment": _TEXT,
        "baseline": _FLOAT,
        "lower": _FLOAT,
        "upper": _FLOAT,
        "status": _TEXT,
    },
    "alerts": {
        "as_of": _TIME,
        "run": _TEXT,
        "metric": _TEXT,
        "segment_kind": _TEXT,
        "segment": _TEXT,
        "value": _FLOAT,
        "baseline": _FLOAT,
        "lower": _FLOAT,
        "upper": _FLOAT,
        "severity": _TEXT,
        "explanation": _TEXT,
        "incident": _TEXT,
    },
    "runs": {"run": _TEXT, "index_page": _TEXT, "ring_pages": _TEXT},
}
#: Columns read when present (filled with nulls when not).
_OPTIONAL: dict[str, dict[str, Any]] = {
    "history": {"numerator": _FLOAT, "denominator": _FLOAT},
    "evaluations": {"direction": _TEXT, "severity": _TEXT, "incident": _TEXT},
    "alerts": {
        "direction": _TEXT,
        "first_as_of": _TIME,
        "drivers": pl.List(pl.Struct({"ring_id": _TEXT})),
        "segments": pl.List(pl.Struct({"segment_kind": _TEXT})),
        "cause": _TEXT,
    },
    "runs": {"as_of": _TIME},
}

#: What an alert's ``cause`` (the replay split, :func:`syndicate.monitor.watch.replay_causes`)
#: adds under its severity.
_CAUSE_NOTE = {
    "policy": "<br><span class='note cause'>our change</span>",
    "data": "<br><span class='note cause'>the data</span>",
}

_CSS = """
body{font-family:system-ui,sans-serif;margin:0;color:#222;font-size:14px}
header{padding:10px 18px;border-bottom:1px solid #ddd}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:22px 0 6px}
section{padding:0 18px}
.facts span{margin-right:14px}
.verdict{font-size:15px;margin:6px 0 2px;font-weight:600}
.verdict.high,.status-alert.high{color:#d62728}.verdict.medium,.status-alert.medium{color:#c77c00}
.verdict.ok,.status-ok{color:#2a7d2a}.verdict.wait,.status-insufficient_history{color:#777}
table{border-collapse:collapse}
td,th{border-bottom:1px solid #eee;padding:3px 8px;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.when{white-space:nowrap}td.incident{max-width:16em;overflow-wrap:anywhere;font-size:12px}
td.explanation{min-width:18em;max-width:36em}
code{font-size:12px;color:#555}
.charts{display:flex;flex-wrap:wrap;gap:10px 18px}
figure{margin:0}figcaption{font-size:13px;margin-bottom:2px}
svg{display:block;max-width:100%;height:auto}
svg .band{fill:#2c7fb8;fill-opacity:.16;stroke:none}
svg .baseline{fill:none;stroke:#1f5f8f;stroke-dasharray:5 3;stroke-width:1.2}
svg .series{fill:none;stroke:#222;stroke-width:1.5}
svg .axis{stroke:#999}svg .grid{stroke:#eee}
svg text{font-size:10px;fill:#555}
svg .alert-marker{stroke:#fff;stroke-width:1}
tr.drill>td{border-bottom:1px solid #ccc;padding:0 8px 6px 24px}
details summary{cursor:pointer;color:#2c5f8a}
details table{margin:4px 0 8px;font-size:13px}
.note{color:#666;font-size:13px}
.runs{max-height:340px;overflow:auto;display:inline-block}
.arrow-alert{color:#d62728}.arrow-other{color:#999}
"""


# --- formatting -----------------------------------------------------------------------------


def _fmt_value(value: object, is_rate: bool) -> str:
    """A metric value: rates as percentages, counts with thousands separators."""
    number = _finite(value)
    if number is None:
        return "–"
    if is_rate:
        percent = number * 100
        return f"{percent:.1f}%" if abs(percent) >= 10 else f"{percent:.2f}%"
    return f"{number:,.0f}" if number == round(number) else f"{number:,.1f}"


def _fmt_effect(value: object, is_rate: bool) -> str:
    """A mix or rate effect: percentage points for rates, signed counts otherwise."""
    number = _finite(value)
    if number is None:
        return "–"
    return f"{number * 100:+.2f} pp" if is_rate else f"{number:+,.1f}"


def _fmt_share(value: object) -> str:
    number = _finite(value)
    return "–" if number is None else f"{number * 100:.1f}%"


def _fmt_band(lower: object, upper: object, is_rate: bool) -> str:
    if _finite(lower) is None and _finite(upper) is None:
        return "–"
    return f"{_fmt_value(lower, is_rate)} – {_fmt_value(upper, is_rate)}"


def _time_format(times: Iterable[datetime]) -> str:
    """Dates alone when every run is at midnight UTC, else dates with the time of day."""
    midnight = all(t.hour == t.minute == t.second == t.microsecond == 0 for t in times)
    return "%Y-%m-%d" if midnight else "%Y-%m-%d %H:%M"


def _axis_format(times: Sequence[datetime]) -> str:
    """Short axis labels: the day alone when every run is at one time of day (a daily job)."""
    one_time = len({(t.hour, t.minute, t.second) for t in times}) <= 1
    return "%b %d" if one_time else "%m-%d %H:%M"


def _when(moment: datetime | None, fmt: str) -> str:
    return "–" if moment is None else moment.strftime(fmt)


def _metric_label(metric: str) -> str:
    return metric.replace("_", " ")


def _segment_label(kind: object, segment: object) -> str:
    if kind is None:
        return "whole marketplace"
    return f"{kind} = {segment if segment is not None else '(null)'}"


def _href(path: str) -> str:
    """A link to ``path``: absolute paths as file URIs, relative ones percent-encoded.

    Encoding keeps every character but ``/`` out of the URL's syntax: a folder called
    ``javascript:alert(1)`` or ``a#b`` stays a relative path to that folder.
    """
    if os.path.isabs(path):
        return Path(path).as_uri()
    return quote(path.replace(os.sep, "/"), safe="/")


def _arrow(direction: object, value: object, baseline: object) -> str:
    if direction in ("up", "down"):
        return "▲" if direction == "up" else "▼"
    v, b = _finite(value), _finite(baseline)
    if v is None or b is None:
        return "–"
    return "▲" if v > b else "▼" if v < b else "="


# --- inputs ---------------------------------------------------------------------------------


def _as_utc(column: pl.Series, frame: str) -> pl.Series:
    dtype = column.dtype
    if dtype == pl.Date:
        column = column.cast(pl.Datetime("us"))
        dtype = column.dtype
    if not isinstance(dtype, pl.Datetime):
        raise SchemaError(
            f"dashboard: column {column.name!r} of {frame} must be a datetime, got {dtype}"
        )
    if dtype.time_zone is None:
        column = column.dt.replace_time_zone("UTC")
    return column.dt.convert_time_zone("UTC").cast(_TIME)


def _checked(frame: pl.DataFrame | pl.LazyFrame, name: str) -> pl.DataFrame:
    """``frame`` with the columns the dashboard reads, in their dtypes, or a SchemaError."""
    table = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
    required, optional = _REQUIRED[name], _OPTIONAL[name]
    if table.width == 0 and table.height == 0:  # "nothing": an empty frame with no columns
        return pl.DataFrame(schema={**required, **optional})
    missing = [column for column in required if column not in table.columns]
    if missing:
        raise SchemaError(
            f"dashboard: {name} is missing columns {missing} (got columns {table.columns})"
        )
    columns = []
    for column, dtype in {**required, **optional}.items():
        if column not in table.columns:
            columns.append(pl.lit(None, dtype=dtype).alias(column))
        elif dtype == _TIME:
            columns.append(pl.lit(_as_utc(table[column], name)).alias(column))
        elif isinstance(dtype, pl.List):
            columns.append(pl.col(column))
        else:
            columns.append(pl.col(column).cast(dtype, strict=False))
    return table.select(columns)


@dataclass(frozen=True)
class _Series:
    """One whole-marketplace metric over the runs, with its baseline band."""

    metric: str
    is_rate: bool
    runs: list[str]
    times: list[datetime]
    values: list[float | None]
    baseline: list[float | None]
    lower: list[float | None]
    upper: list[float | None]


@dataclass(frozen=True)
class _Alert:
    number: int
    row: dict[str, Any]
    is_rate: bool


def _rate_metrics(history: pl.DataFrame) -> frozenset[str]:
    with_denominator = history.filter(pl.col("denominator").is_not_null())["metric"].unique()
    return _CATALOGUE_RATES | frozenset(with_denominator.to_list())


def _metric_order(metrics: Iterable[str]) -> list[str]:
    """North-star metrics first (in their order), then the others by name."""
    present = set(metrics)
    return [m for m in NORTH_STAR_METRICS if m in present] + sorted(
        present - set(NORTH_STAR_METRICS)
    )


def _whole_series(
    history: pl.DataFrame, evaluations: pl.DataFrame, rates: frozenset[str]
) -> dict[str, _Series]:
    whole = history.filter(pl.col("segment_kind").is_null()).unique(
        ["run", "metric"], keep="first", maintain_order=True
    )
    bands = (
        evaluations.filter(pl.col("segment_kind").is_null())
        .select("run", "metric", "baseline", "lower", "upper")
        .unique(["run", "metric"], keep="first", maintain_order=True)
    )
    joined = whole.join(bands, on=["run", "metric"], how="left").sort("metric", "as_of", "run")
    series = {}
    for (metric,), part in joined.partition_by("metric", as_dict=True, maintain_order=True).items():
        name = str(metric)
        series[name] = _Series(
            name,
            name in rates,
            part["run"].to_list(),
            part["as_of"].to_list(),
            *(
                [_finite(v) for v in part[column].to_list()]
                for column in ("value", "baseline", "lower", "upper")
            ),
        )
    return series


def _latest(history: pl.DataFrame, runs: pl.DataFrame) -> tuple[str | None, datetime | None]:
    """The latest run (latest as_of; ties: the last run name) and its as_of."""
    known = pl.concat(
        [history.select("run", "as_of"), runs.select("run", "as_of").drop_nulls("as_of")]
    ).unique()
    if known.height == 0:
        if runs.height == 0:
            return None, None
        return str(runs.sort("run")["run"][-1]), None
    run, as_of = known.sort("as_of", "run").row(-1)
    return str(run), as_of


def _sorted_alerts(alerts: pl.DataFrame, rates: frozenset[str]) -> list[_Alert]:
    """Latest first; then high before medium, north-star metrics first, whole marketplace first."""
    order = {metric: i for i, metric in enumerate(NORTH_STAR_METRICS)}
    keys = ["as_of", "_severity", "_metric", "metric", "segment_kind", "segment", "run"]
    ranked = alerts.with_columns(
        pl.col("severity")
        .replace_strict(_SEVERITY_RANK, default=9, return_dtype=pl.Int32)
        .alias("_severity"),
        pl.col("metric")
        .replace_strict(order, default=len(order), return_dtype=pl.Int32)
        .alias("_metric"),
    ).sort(
        [*keys, "incident", "explanation"],
        descending=[True] + [False] * (len(keys) + 1),
        nulls_last=[True] + [False] * (len(keys) + 1),
    )
    return [
        _Alert(number, row, row["metric"] in rates)
        for number, row in enumerate(ranked.drop("_severity", "_metric").iter_rows(named=True), 1)
    ]


# --- charts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Frame:
    """A chart's size and margins."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    x_ticks: int
    y_ticks: int


_BIG = _Frame(560, 210, 54, 14, 10, 26, 5, 4)
_SMALL = _Frame(300, 120, 48, 10, 8, 22, 2, 3)


def _tick_text(value: float, step: float, is_rate: bool) -> str:
    scale = 100 if is_rate else 1
    decimals = max(0, math.ceil(-math.log10(step * scale) - 1e-9))
    text = f"{value * scale:,.{decimals}f}"
    return f"{text}%" if is_rate else text


def _y_domain(series: _Series) -> tuple[float, float]:
    seen = [
        v for v in (*series.values, *series.lower, *series.upper, *series.baseline) if v is not None
    ]
    if not seen:
        return 0.0, 1.0
    low, high = min(seen), max(seen)
    values = [v for v in series.values if v is not None]
    if high - low < 1e-12:
        pad = max(abs(high) * 0.1, 0.01 if series.is_rate else 1.0)
        low, high = low - pad, high + pad
    else:
        pad = (high - low) * 0.06
        low, high = low - pad, high + pad
    if all(v >= 0 for v in values) and low < 0:
        low = 0.0
    return low, high


class _Plot:
    """Maps times and values of one series to pixels of one chart frame."""

    def __init__(self, frame: _Frame, series: _Series) -> None:
        self.frame = frame
        seconds = [t.timestamp() for t in series.times]
        self.t0, self.t1 = (min(seconds), max(seconds)) if seconds else (0.0, 0.0)
        self.low, self.high = _y_domain(series)

    def x(self, moment: datetime) -> float:
        f = self.frame
        span = f.width - f.left - f.right
        if self.t1 == self.t0:
            return f.left + span / 2
        share = (moment.timestamp() - self.t0) / (self.t1 - self.t0)
        return f.left + min(max(share, 0.0), 1.0) * span

    def y(self, value: float) -> float:
        f = self.frame
        span = f.height - f.top - f.bottom
        clipped = min(max(value, self.low), self.high)
        return f.top + (self.high - clipped) / (self.high - self.low) * span

    @property
    def bottom(self) -> float:
        return float(self.frame.height - self.frame.bottom)


def _runs_of(values: Sequence[object]) -> list[tuple[int, int]]:
    """(start, stop) index ranges where ``values`` are not None."""
    spans, start = [], None
    for i, value in enumerate(values):
        if value is not None and start is None:
            start = i
        elif value is None and start is not None:
            spans.append((start, i))
            start = None
    if start is not None:
        spans.append((start, len(values)))
    return spans


def _line(plot: _Plot, times: list[datetime], values: list[float | None]) -> tuple[str, list[str]]:
    """A path through the non-null values (broken at nulls) and the points standing alone."""
    commands, alone = [], []
    for start, stop in _runs_of(values):
        points = [
            f"{plot.x(times[i]):.1f},{plot.y(values[i]):.1f}"  # type: ignore[arg-type]
            for i in range(start, stop)
        ]
        if len(points) == 1:
            alone.append(points[0])
        commands.append("M" + "L".join(points))
    return "".join(commands), alone


def _bands(plot: _Plot, series: _Series) -> str:
    """One polygon per stretch of runs with a band (a missing side: the chart's edge)."""
    highs = [
        None if lo is None and hi is None else plot.y(plot.high if hi is None else hi)
        for lo, hi in zip(series.lower, series.upper, strict=True)
    ]
    lows = [
        None if lo is None and hi is None else plot.y(plot.low if lo is None else lo)
        for lo, hi in zip(series.lower, series.upper, strict=True)
    ]
    polygons = []
    for start, stop in _runs_of(highs):
        xs = [plot.x(series.times[i]) for i in range(start, stop)]
        top, bottom = highs[start:stop], lows[start:stop]
        if len(xs) == 1:  # a band at one run only: a sliver, so it shows
            xs, top, bottom = [xs[0] - 2, xs[0] + 2], top * 2, bottom * 2
        points = [f"{x:.1f},{y:.1f}" for x, y in zip(xs, top, strict=True)] + [
            f"{x:.1f},{y:.1f}" for x, y in zip(xs[::-1], bottom[::-1], strict=True)
        ]
        polygons.append(f'<polygon class="band" points="{" ".join(points)}"/>')
    return "".join(polygons)


def _axes(plot: _Plot, series: _Series, time_format: str) -> str:
    f = plot.frame
    parts = [
        f'<line class="axis" x1="{f.left}" y1="{plot.bottom:.0f}" x2="{f.width - f.right}" '
        f'y2="{plot.bottom:.0f}"/>'
    ]
    ticks, step = _nice_ticks(plot.low, plot.high, f.y_ticks)
    for tick in ticks:
        y = plot.y(tick)
        parts.append(
            f'<line class="grid" x1="{f.left}" y1="{y:.1f}" x2="{f.width - f.right}" y2="{y:.1f}"/>'
            f'<text x="{f.left - 4}" y="{y + 3:.1f}" text-anchor="end">'
            f"{_tick_text(tick, step, series.is_rate)}</text>"
        )
    axis_format = _axis_format(series.times)
    n = len(series.times)
    chosen = sorted({round(i * (n - 1) / (f.x_ticks - 1)) for i in range(f.x_ticks)}) if n else []
    for index in chosen:
        x = plot.x(series.times[index])
        anchor = "start" if x < f.left + 30 else "end" if x > f.width - f.right - 30 else "middle"
        parts.append(
            f'<line class="axis" x1="{x:.1f}" y1="{plot.bottom:.0f}" x2="{x:.1f}" '
            f'y2="{plot.bottom + 3:.0f}"/><text x="{x:.1f}" y="{plot.bottom + 14:.0f}" '
            f'text-anchor="{anchor}">{_esc(series.times[index].strftime(axis_format))}</text>'
        )
    return "".join(parts)


def _alert_tooltip(alert: _Alert, time_format: str) -> str:
    row = alert.row
    return (
        f"{_when(row['as_of'], time_format)} · {row['run']} · "
        f"{_segment_label(row['segment_kind'], row['segment'])}: "
        f"{_fmt_value(row['value'], alert.is_rate)} vs baseline "
        f"{_fmt_value(row['baseline'], alert.is_rate)} "
        f"(band {_fmt_band(row['lower'], row['upper'], alert.is_rate)}) · "
        f"{row['severity'] or 'alert'} · {row['explanation'] or ''}"
    )


def _markers(plot: _Plot, series: _Series, alerts: Sequence[_Alert], time_format: str) -> str:
    """A dot per whole-marketplace alert on the series; a triangle on the axis per segment alert."""
    at_run = dict(zip(series.runs, series.values, strict=True))
    run_time = dict(zip(series.runs, series.times, strict=True))
    parts = []
    for alert in alerts:
        row = alert.row
        moment = row["as_of"] or run_time.get(row["run"])
        if moment is None:  # no time to place it at: the alerts table still lists it
            continue
        colour = SEVERITY_COLOUR.get(row["severity"], _OTHER_SEVERITY)
        x = plot.x(moment)
        title = f"<title>{_esc(_alert_tooltip(alert, time_format))}</title>"
        common = (
            f'class="alert-marker" data-alert="{alert.number}" '
            f'data-severity="{_esc(row["severity"])}" fill="{colour}"'
        )
        if row["segment_kind"] is None:
            value = _finite(row["value"])
            value = value if value is not None else at_run.get(row["run"])
            y = plot.y(value) if value is not None else float(plot.frame.top)
            shape = f'<circle {common} cx="{x:.1f}" cy="{y:.1f}" r="4.5">{title}</circle>'
        else:
            b = plot.bottom
            shape = (
                f'<polygon {common} points="{x:.1f},{b - 7:.1f} {x - 4:.1f},{b:.1f} '
                f'{x + 4:.1f},{b:.1f}">{title}</polygon>'
            )
        parts.append(f'<a href="#alert-{alert.number}">{shape}</a>')
    return "".join(parts)


def _chart(series: _Series, alerts: Sequence[_Alert], frame: _Frame, time_format: str) -> str:
    """The trend chart of one metric as inline SVG."""
    plot = _Plot(frame, series)
    line, alone = _line(plot, series.times, series.values)
    baseline, _ = _line(plot, series.times, series.baseline)
    dots = "".join(
        f'<circle class="point" cx="{x}" cy="{y}" r="2" fill="#222"/>'
        for x, y in (point.split(",") for point in alone)
    )
    latest = [(i, v) for i, v in enumerate(series.values) if v is not None][-1:]
    for last, value in latest:  # the latest value, ringed, with its run in a tooltip
        dots += (
            f'<circle class="latest" cx="{plot.x(series.times[last]):.1f}" '
            f'cy="{plot.y(value):.1f}" r="3.5" fill="none" stroke="#222">'
            f"<title>{_esc(series.times[last].strftime(time_format))} · {_esc(series.runs[last])}"
            f": {_fmt_value(value, series.is_rate)}</title></circle>"
        )
    no_band = (
        ""
        if any(v is not None for v in (*series.lower, *series.upper))
        else f'<text x="{frame.width - frame.right}" y="{frame.top + 10}" text-anchor="end">'
        "no baseline yet (insufficient history)</text>"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" '
        f'data-metric="{_esc(series.metric)}" width="{frame.width}" height="{frame.height}" '
        f'viewBox="0 0 {frame.width} {frame.height}" role="img" aria-label="'
        f'{_esc(_metric_label(series.metric))} over {counted(len(series.runs), "run")}">'
        f"{_axes(plot, series, time_format)}{_bands(plot, series)}"
        + (f'<path class="baseline" d="{baseline}"/>' if baseline else "")
        + (f'<path class="series" d="{line}"/>' if line else "")
        + f"{dots}{no_band}{_markers(plot, series, alerts, time_format)}</svg>"
    )


# --- page parts -----------------------------------------------------------------------------


def _status_cell(row: Mapping[str, Any] | None) -> str:
    if row is None:
        return "<td class='status-none'>not measured</td>"
    status, severity = row["status"], row["severity"] if row["status"] == "alert" else None
    text = _STATUS_TEXT.get(status, status or "–") + (f" ({severity})" if severity else "")
    return f"<td class='status-{_esc(status)} {_esc(severity or '')}'>{_esc(text)}</td>"


def _latest_table(
    metrics: Sequence[str],
    series: Mapping[str, _Series],
    latest: Mapping[str, Mapping[str, Any]],
    latest_run: str | None,
    rates: frozenset[str],
) -> str:
    """The north-star metrics of the latest run: value, baseline, band, status, arrow."""
    body = []
    for metric in metrics:
        is_rate, row = metric in rates, latest.get(metric)
        line = series.get(metric)
        value = None
        if line is not None and latest_run in line.runs:
            value = line.values[line.runs.index(latest_run)]
        if row is None and value is None:
            cells = "<td class='n'>–</td>" * 3 + _status_cell(None) + "<td>–</td>"
        else:
            baseline, lower, upper = (row or {}).get("baseline"), None, None
            if row is not None:
                lower, upper = row["lower"], row["upper"]
            alerting = row is not None and row["status"] == "alert"
            arrow = _arrow((row or {}).get("direction"), value, baseline)
            cells = (
                f"<td class='n'>{_fmt_value(value, is_rate)}</td>"
                f"<td class='n'>{_fmt_value(baseline, is_rate)}</td>"
                f"<td class='n'>{_fmt_band(lower, upper, is_rate)}</td>{_status_cell(row)}"
                f"<td class='arrow-{'alert' if alerting else 'other'}'>{arrow}</td>"
            )
        body.append(
            f"<tr data-metric='{_esc(metric)}'><th>{_esc(_metric_label(metric))}</th>{cells}</tr>"
        )
    return (
        "<table id='latest'><thead><tr><th>metric</th><th>value</th><th>baseline</th>"
        "<th>band</th><th>status</th><th>move</th></tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table>"
    )


def _ring_link(ring_id: str, folder: str | None, has_page: bool) -> str:
    if folder is None or not has_page:
        return _esc(ring_id)
    href = f"{_href(folder.rstrip('/') or '/')}/{quote(ring_id, safe='')}.html"
    return f'<a class="ring" href="{_esc(href)}">{_esc(ring_id)}</a>'


def _drivers_table(alert: _Alert, ring_pages: str | None, total: float | None) -> str:
    drivers = alert.row.get("drivers") or []
    if not drivers:
        return "<p class='note'>No ring behind it.</p>"
    rows = []
    for driver in drivers:
        holds = _finite(driver.get("holds"))
        share = f" ({holds / total:.0%} of {total:,.0f})" if holds is not None and total else ""
        rows.append(
            "<tr><td>{}</td><td>{}</td><td class='n'>{}{}</td><td class='n'>{}</td></tr>".format(
                _ring_link(
                    str(driver.get("ring_id")),
                    ring_pages,
                    "page" not in driver or driver["page"] is not None,
                ),
                _esc(driver.get("status") or "–"),
                _fmt_value(holds, False),
                share,
                _fmt_value(driver.get("size"), False),
            )
        )
    return (
        "<table class='drivers'><thead><tr><th>driver ring</th><th>status</th>"
        "<th>holds (of the metric's sellers)</th><th>size</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _segments_table(alert: _Alert) -> str:
    segments = alert.row.get("segments") or []
    if not segments:
        return "<p class='note'>No segment decomposition.</p>"
    is_rate = alert.is_rate
    rows = "".join(
        "<tr><td>{}</td><td class='n'>{} → {}</td><td class='n'>{} → {}</td>"
        "<td class='n'>{}</td><td class='n'>{}</td></tr>".format(
            _esc(_segment_label(seg.get("segment_kind"), seg.get("segment"))),
            _fmt_share(seg.get("baseline_share")),
            _fmt_share(seg.get("current_share")),
            _fmt_value(seg.get("baseline_rate"), is_rate),
            _fmt_value(seg.get("current_rate"), is_rate),
            _fmt_effect(seg.get("mix_effect"), is_rate),
            _fmt_effect(seg.get("rate_effect"), is_rate),
        )
        for seg in segments
    )
    return (
        "<table class='segments'><thead><tr><th>segment</th><th>share (baseline → now)</th>"
        "<th>rate (baseline → now)</th><th>mix effect</th><th>rate effect</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def _alerts_table(
    alerts: Sequence[_Alert],
    ring_pages: Mapping[str, str | None],
    numerators: Mapping[tuple[Any, ...], float | None],
    time_format: str,
) -> str:
    if not alerts:
        return "<p id='no-alerts'>No alerts: every metric stayed within its baseline band.</p>"
    body = []
    for alert in alerts:
        row, is_rate = alert.row, alert.is_rate
        incident = _esc(row["incident"] or "–")
        first = row.get("first_as_of")
        if first is not None and first != row["as_of"]:
            incident += f" <span class='note'>since {_esc(_when(first, time_format))}</span>"
        severity = row["severity"]
        key = (row["run"], row["metric"], row["segment_kind"], row["segment"])
        drivers, segments = row.get("drivers") or [], row.get("segments") or []
        body.append(
            f"<tr class='alert' id='alert-{alert.number}'>"
            f"<td class='when'>{_esc(_when(row['as_of'], time_format))}"
            f"<br><code>{_esc(row['run'])}</code></td>"
            f"<td>{_esc(_metric_label(row['metric']))}</td>"
            f"<td>{_esc(_segment_label(row['segment_kind'], row['segment']))}</td>"
            f"<td class='n'>{_arrow(row.get('direction'), row['value'], row['baseline'])} "
            f"{_fmt_value(row['value'], is_rate)} vs {_fmt_value(row['baseline'], is_rate)}"
            f"<br><span class='note'>band {_fmt_band(row['lower'], row['upper'], is_rate)}"
            "</span></td>"
            f"<td class='status-alert {_esc(severity or '')}'>{_esc(severity or '–')}"
            f"{_CAUSE_NOTE.get(row.get('cause') or '', '')}</td>"
            f"<td class='incident'>{incident}</td>"
            f"<td class='explanation'>{_esc(row['explanation'] or '–')}</td></tr>"
            "<tr class='drill'><td colspan='7'><details>"
            f"<summary>drill-down: {counted(len(drivers), 'driver ring')}, "
            f"{counted(len(segments), 'segment')}</summary>"
            f"<p>{_esc(row['explanation'] or 'No explanation given.')}</p>"
            f"{_drivers_table(alert, ring_pages.get(row['run']), numerators.get(key))}"
            f"{_segments_table(alert)}</details></td></tr>"
        )
    return (
        "<table id='alerts'><thead><tr><th>when</th><th>metric</th><th>segment</th>"
        "<th>value vs baseline</th><th>severity</th><th>incident</th><th>explanation</th>"
        f"</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def _figure(
    series: _Series,
    alerts: Sequence[_Alert],
    frame: _Frame,
    status: Mapping[str, Any] | None,
    time_format: str,
) -> str:
    latest = next((v for v in reversed(series.values) if v is not None), None)
    state = ""
    if status is not None:
        state = f" · {_esc(_STATUS_TEXT.get(status['status'], status['status'] or '–'))}"
    marked = f" · {counted(len(alerts), 'alert')}" if alerts else ""
    return (
        f"<figure data-metric='{_esc(series.metric)}'><figcaption><b>"
        f"{_esc(_metric_label(series.metric))}</b> · latest {_fmt_value(latest, series.is_rate)}"
        f"{state}{marked}"
        f"</figcaption>{_chart(series, alerts, frame, time_format)}</figure>"
    )


def _runs_table(
    runs: pl.DataFrame, as_of: Mapping[str, datetime], alerts: Sequence[_Alert], time_format: str
) -> str:
    counts: dict[str, int] = {}
    for alert in alerts:
        counts[alert.row["run"]] = counts.get(alert.row["run"], 0) + 1
    ordered = sorted(
        runs.iter_rows(named=True),
        key=lambda r: (as_of.get(r["run"]) or datetime.min.replace(tzinfo=UTC), r["run"]),
        reverse=True,
    )
    rows = "".join(
        "<tr><td>{}</td><td><code>{}</code></td><td class='n'>{}</td><td>{}</td></tr>".format(
            _esc(_when(as_of.get(r["run"]), time_format)),
            _esc(r["run"]),
            counts.get(r["run"], 0),
            f'<a class="index" href="{_esc(_href(r["index_page"]))}">ring pages</a>'
            if r["index_page"]
            else "–",
        )
        for r in ordered
    )
    if not rows:
        return "<p class='note'>No runs.</p>"
    return (
        "<div class='runs'><table id='runs'><thead><tr><th>as of</th><th>run</th><th>alerts</th>"
        f"<th>rings</th></tr></thead><tbody>{rows}</tbody></table></div>"
    )


def _verdict(
    latest_alerts: Sequence[_Alert], latest: Mapping[str, Mapping[str, Any]], has_run: bool
) -> tuple[str, str]:
    """A one-line reading of the latest run and its tone (high / medium / ok / wait)."""
    if not has_run:
        return "wait", "No runs to show yet."
    north = [
        a
        for a in latest_alerts
        if a.row["metric"] in NORTH_STAR_METRICS and a.row["segment_kind"] is None
    ]
    if north:
        tone = "high" if any(a.row["severity"] == "high" for a in north) else "medium"
        moves = []
        for alert in north:
            arrow = _arrow(alert.row.get("direction"), alert.row["value"], alert.row["baseline"])
            side = {"▲": "above", "▼": "below"}.get(arrow, "outside")
            moves.append(f"{_metric_label(alert.row['metric'])} {side} its baseline")
        return tone, f"Attention: {'; '.join(moves)}."
    if latest_alerts:
        tone = "high" if any(a.row["severity"] == "high" for a in latest_alerts) else "medium"
        return tone, (
            f"North-star metrics within their baselines overall; "
            f"{counted(len(latest_alerts), 'alert')} in segments or other metrics."
        )
    statuses = [latest[m]["status"] for m in NORTH_STAR_METRICS if m in latest]
    if not statuses or all(s == "insufficient_history" for s in statuses):
        return "wait", "Not enough history yet to judge: baselines need more runs."
    return "ok", "All clear: every north-star metric is within its baseline."


def _header(
    latest_run: str | None,
    latest_as_of: datetime | None,
    index_page: str | None,
    n_runs: int,
    first_as_of: datetime | None,
    latest_alerts: Sequence[_Alert],
    verdict: tuple[str, str],
    time_format: str,
) -> str:
    open_incidents = {a.row["incident"] for a in latest_alerts if a.row["incident"] is not None}
    facts = []
    if latest_run is not None:
        link = (
            f' <a class="index" href="{_esc(_href(index_page))}">ring pages</a>'
            if index_page
            else ""
        )
        facts.append(
            f"<span>latest run <b><code>{_esc(latest_run)}</code></b> as of "
            f"<b>{_esc(_when(latest_as_of, time_format))}</b>{link}</span>"
        )
    span = f" since {_esc(_when(first_as_of, time_format))}" if first_as_of is not None else ""
    facts += [
        f"<span>{counted(n_runs, 'run')}{span}</span>",
        f"<span id='latest-alerts'><b>{counted(len(latest_alerts), 'alert')}</b> "
        "in the latest run</span>",
        f"<span id='open-incidents'><b>{counted(len(open_incidents), 'open incident')}</b></span>",
    ]
    tone, text = verdict
    return (
        f"<header><h1>Governance monitor</h1><div class='facts'>{''.join(facts)}</div>"
        f"<p class='verdict {tone}' id='verdict'>{_esc(text)}</p></header>"
    )


# --- the page -------------------------------------------------------------------------------


def render_dashboard(
    history: pl.DataFrame,
    evaluations: pl.DataFrame,
    alerts: pl.DataFrame,
    runs: pl.DataFrame,
) -> str:
    """The governance dashboard as one self-contained HTML page.

    Parameters
    ----------
    history
        ``history.parquet`` rows: ``as_of``, ``run``, ``metric``, ``segment_kind``,
        ``segment``, ``value`` (``numerator``, ``denominator`` read when present).
    evaluations
        ``evaluate_history`` rows: ``run``, ``metric``, ``segment_kind``, ``segment``,
        ``baseline``, ``lower``, ``upper``, ``status`` (``direction``, ``severity`` read when
        present).
    alerts
        ``alerts.parquet`` rows (``explain_alerts``): ``as_of``, ``run``, ``metric``,
        ``segment_kind``, ``segment``, ``value``, ``baseline``, ``lower``, ``upper``,
        ``severity``, ``explanation``, ``incident`` (``direction``, ``first_as_of``,
        ``drivers``, ``segments`` read when present).
    runs
        One row per run: ``run``, ``index_page`` and ``ring_pages`` (paths relative to the
        dashboard's folder, or absolute; null when none), ``as_of`` when present.

    A frame with no columns and no rows stands for "none". Datetimes without a time zone
    are taken as UTC.

    Returns
    -------
    str
        The page; the same frames always give the same text.

    Raises
    ------
    SchemaError
        A frame lacks a column the dashboard reads (all of them named), or a time column is
        not a datetime.

    Examples
    --------
    >>> from datetime import datetime
    >>> import polars as pl
    >>> history = pl.DataFrame({
    ...     "as_of": [datetime(2026, 3, 1)], "run": ["runs/day-1"],
    ...     "metric": ["rings_new"], "segment_kind": [None], "segment": [None],
    ...     "value": [4.0],
    ... })
    >>> page = render_dashboard(history, pl.DataFrame(), pl.DataFrame(), pl.DataFrame())
    >>> "No alerts" in page, page.count('class="chart"')
    (True, 1)
    """
    history = _checked(history, "history")
    evaluations = _checked(evaluations, "evaluations")
    alert_rows = _checked(alerts, "alerts")
    run_rows = _checked(runs, "runs").unique("run", keep="first", maintain_order=True)

    rates = _rate_metrics(history)
    series = _whole_series(history, evaluations, rates)
    latest_run, latest_as_of = _latest(history, run_rows)
    as_of = dict(
        pl.concat([history.select("run", "as_of"), run_rows.select("run", "as_of")])
        .drop_nulls()
        .unique("run", keep="first", maintain_order=True)
        .iter_rows()
    )
    times = [t for t in (*as_of.values(), *alert_rows["as_of"].drop_nulls()) if t is not None]
    time_format = _time_format(times)
    sorted_alerts = _sorted_alerts(alert_rows, rates)
    latest_alerts = [a for a in sorted_alerts if a.row["run"] == latest_run]
    latest = {
        row["metric"]: row
        for row in evaluations.filter(
            (pl.col("run") == pl.lit(latest_run, dtype=pl.String))
            & pl.col("segment_kind").is_null()
        )
        .unique("metric", keep="first", maintain_order=True)
        .iter_rows(named=True)
    }
    by_metric: dict[str, list[_Alert]] = {}
    for alert in sorted_alerts:
        by_metric.setdefault(alert.row["metric"], []).append(alert)
    alerted = history.join(alert_rows.select("run", "metric").unique(), on=["run", "metric"])
    numerators = {
        (r["run"], r["metric"], r["segment_kind"], r["segment"]): _finite(r["numerator"])
        for r in alerted.iter_rows(named=True)
    }
    ring_pages = dict(run_rows.select("run", "ring_pages").iter_rows())
    index_pages = dict(run_rows.select("run", "index_page").iter_rows())

    order = _metric_order(series)
    north = [
        _figure(series[m], by_metric.get(m, []), _BIG, latest.get(m), time_format)
        for m in order
        if m in NORTH_STAR_METRICS
    ]
    unmeasured = [m for m in NORTH_STAR_METRICS if m not in series]
    missing = (
        "<p class='note'>Not measured in any run: "
        + ", ".join(_esc(_metric_label(m)) for m in unmeasured)
        + ".</p>"
        if unmeasured
        else ""
    )
    others = [
        _figure(series[m], by_metric.get(m, []), _SMALL, latest.get(m), time_format)
        for m in order
        if m not in NORTH_STAR_METRICS
    ]
    verdict = _verdict(latest_alerts, latest, latest_run is not None)
    first_as_of = min(as_of.values()) if as_of else None
    n_runs = len(set(as_of) | set(run_rows["run"].to_list()))
    legend = (
        "<p class='note'>Line: the metric over runs · dashed: its baseline · shaded: the "
        "baseline band · dots: alerts on the whole marketplace, triangles on the axis: alerts "
        "in a segment (red high, orange medium; hover for why, click for the alert).</p>"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="generator" content="syndicate">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<title>Governance monitor · syndicate</title><style>{_CSS}</style></head>
<body>
{
        _header(
            latest_run,
            latest_as_of,
            index_pages.get(latest_run) if latest_run is not None else None,
            n_runs,
            first_as_of,
            latest_alerts,
            verdict,
            time_format,
        )
    }
<section id="latest-run"><h2>Latest run against its baseline</h2>
{_latest_table(NORTH_STAR_METRICS, series, latest, latest_run, rates)}</section>
<section id="north-star"><h2>North-star metrics over time</h2>{legend}
<div class="charts">{"".join(north)}</div>{missing}</section>
<section id="alerts-section"><h2>Alerts ({len(sorted_alerts):,}), latest first</h2>
{_alerts_table(sorted_alerts, ring_pages, numerators, time_format)}</section>
<section id="other-metrics"><h2>Other metrics (whole marketplace)</h2>
<div class="charts">{"".join(others) or "<p class='note'>None.</p>"}</div></section>
<section id="runs-section"><h2>Runs</h2>
{_runs_table(run_rows, as_of, sorted_alerts, time_format)}</section>
</body></html>
"""


def write_dashboard(
    history: pl.DataFrame,
    evaluations: pl.DataFrame,
    alerts: pl.DataFrame,
    runs: pl.DataFrame,
    out: str | os.PathLike[str],
) -> Path:
    """Write :func:`render_dashboard`'s page to ``out/dashboard.html`` atomically.

    A ``dashboard.html`` in ``out`` that syndicate did not write there is never replaced;
    the page written is recorded in the folder's listing of what syndicate wrote.

    Returns
    -------
    Path
        The page written.

    Raises
    ------
    InputFileError
        ``out`` holds a ``dashboard.html`` that syndicate did not write (or that changed).
    SchemaError
        As :func:`render_dashboard`.
    """
    page = render_dashboard(history, evaluations, alerts, runs)
    folder = Path(out)
    refuse_foreign_files(folder, [DASHBOARD])
    path = write_text_atomic(page, folder / DASHBOARD)
    record_written(folder, [path])
    return path
