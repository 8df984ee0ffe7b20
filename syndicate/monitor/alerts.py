"""Alerts on governance metrics that people keep switched on.

Each series of ``history.parquet`` (one metric for one segment) is judged run by run against a
robust baseline made of *earlier* runs only:

* **Baseline**: the median of the last ``window`` earlier values, or, once the series has
  ``weekday_after`` earlier runs spanning three weeks, of the last ``weekday_window`` earlier
  runs on the same weekday (of ``as_of``), so a weekly rhythm is not news.
* **Spread**: the median absolute deviation times 1.4826 (the standard deviation of normal
  noise), never below ``mad_floor`` times the baseline, an absolute floor (``mad_floor_rate`` or
  ``mad_floor_count``) and, for counts, the Poisson noise ``sqrt(baseline)`` (``poisson_floor``),
  so a flat series does not alert on noise. A weekday baseline's spread is never below that of
  the window's week-on-week changes (over sqrt 2): a weekly rhythm and a trend cancel out in
  them, and three same-weekday points cannot make a tight band. The spread is then widened by
  ``sqrt(1 + pi / 2k)`` for a median of k runs (the median's own error), and ``score`` is the
  signed robust z, ``(value - baseline) / spread``.
* **Alert** only when all hold: ``|score| >= z``; for rates, the numerator is unlikely under
  the baseline rate given the denominator (``p_value``): a binomial tail in the direction of
  the move (doubled for metrics watched both ways), quasi-binomial when the series varies more
  than binomial noise from run to run (numerator and denominator divided by the dispersion
  ``(spread / binomial spread)^2``, as when sellers arrive a ring at a time, and never below
  the clustering of the numerators into rings, ``(Σ n_r² + singletons) / numerator``, from
  the ring rows of the series (``ring`` for the marketplace, ``ring:<kind>`` for a segment):
  the trailing runs', or the run's own with each ring counted at most at the largest of the
  trailing runs), so 1 of 20 new
  sellers does not alert like 1,000 of 20,000; for rates, a numerator at least ``min_excess``
  sellers off what the baseline rate predicts; ``|value - baseline|`` of at least
  ``min_abs_effect_rate`` (rates) or ``min_abs_effect_count`` (counts) and at least
  ``min_rel_effect`` of the baseline; and a move the way that matters for the metric
  (:data:`METRIC_DIRECTIONS`, overridable by ``directions``).
* **Segments**: the m segment rows of a metric in a run (every segment of every kind) are
  tested at ``p_value / m`` and at the z of that tail (``segment_correction``), so twenty
  categories, or one more segment kind, do not bring more false alerts. Ring rows
  (segment kinds ``ring`` and ``ring:<kind>``) are not judged (they feed the root cause and
  the clustering).
* Fewer than ``min_history`` earlier values: ``insufficient_history``, never an alert.
* ``lower`` / ``upper`` bound the values that would not alert: the baseline ∓ ``z`` spreads,
  widened by the binomial interval, ``min_excess`` (rates) and the minimum effects.
* ``severity`` is ``high`` when ``|score| >= high_factor * z`` (and, for rates, the tail is
  below ``high_p_value``), else ``medium``.
* Alerts of one metric — the whole marketplace and all its segments — in runs at most
  ``incident_gap`` quiet runs apart are one **incident**, named ``<metric>|<first as_of>``.

How the defaults were chosen: ``benchmarks/bench_alerts.py`` simulates quiet histories
(1,000–5,000 new sellers a day, rates of 0.5–5%, rings arriving a few sellers at a time, half
with a weekend dip) and counts false alerts; ``--sweep`` shows them for a grid of ``z`` and
``p_value``. See that script for the figures.

Examples
--------
>>> from datetime import datetime, timedelta, timezone
>>> start = datetime(2026, 1, 1, tzinfo=timezone.utc)
>>> counts = [10.0] * 8 + [40.0]
>>> history = pl.DataFrame(
...     {
...         "as_of": [start + timedelta(days=day) for day in range(9)],
...         "run": [f"runs/day-{day}" for day in range(9)],
...         "metric": "rings_new",
...         "segment_kind": None,
...         "segment": None,
...         "numerator": counts,
...         "denominator": None,
...         "value": counts,
...     },
...     schema_overrides={"as_of": pl.Datetime("us", "UTC"), "denominator": pl.Float64},
... )
>>> evaluate_history(history).select("status", "baseline", "score").tail(2).rows()
[('ok', 10.0, 0.0), ('alert', 10.0, 8.6734566275216)]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType
from typing import Literal

import numpy as np
import polars as pl

from syndicate.errors import ConfigError, SchemaError
from syndicate.monitor.metrics import METRICS, RING_KIND, RING_KIND_PREFIX, is_ring_kind

__all__ = [
    "ALERTS_SCHEMA",
    "EVALUATION_SCHEMA",
    "METRIC_DIRECTIONS",
    "RATE_METRICS",
    "AlertSettings",
    "evaluate_history",
    "metric_direction",
]

Direction = Literal["up", "down", "both"]
_DIRECTIONS = ("up", "down", "both")

#: The direction of a move that matters, per metric of the catalogue. A rise in bad onboarding
#: matters; a fall in label coverage or in the known-bad share of past syndicate decisions is a
#: feed or detection outage; the syndicate rate matters both ways (a fall can be an outage).
METRIC_DIRECTIONS: Mapping[str, Direction] = MappingProxyType(
    {
        "sellers": "both",
        "new_sellers": "both",
        "labels_known": "both",
        "label_coverage": "down",
        "bad_seller_onboarding_rate": "up",
        "ring_onboarding_rate": "up",
        "sellers_in_rings_rate": "up",
        "syndicate_rate": "both",
        "review_rate": "both",
        "rings": "both",
        "rings_new": "up",
        "rings_grown": "up",
        "rings_shrunk": "up",
        "rings_merged": "up",
        "rings_split": "up",
        "rings_gone": "up",
        "hub_identifiers": "up",
        "matured_syndicate_known_bad": "down",
        "matured_syndicate_known_good": "up",
        "matured_review_known_bad": "down",
        "matured_review_known_good": "up",
        "strategy_hit_rate": "both",
        "matured_strategy_known_bad": "down",
        "matured_strategy_known_good": "up",
    }
)

#: The rate metrics of the catalogue (numerator over denominator); the others are counts. A
#: metric outside the catalogue is a rate when any of its rows has a denominator.
RATE_METRICS: frozenset[str] = frozenset(
    name for name, metric in METRICS.items() if metric.kind == "rate"
)

#: The normal standard deviation per median absolute deviation.
MAD_TO_SD = 1.4826
#: Earlier runs on the same weekday needed (and the span, in days) before a weekday baseline.
_WEEKDAY_RUNS = 3
_WEEKDAY_SPAN = timedelta(days=21)
#: Week-on-week changes in the window needed to measure a weekday baseline's spread by them.
_WEEKLY_CHANGES = 7

_KEYS = ("metric", "segment_kind", "segment")
_HISTORY_COLUMNS = {
    "as_of": "Datetime",
    "run": "String",
    "metric": "String",
    "segment_kind": "String",
    "segment": "String",
    "numerator": "Float64",
    "denominator": "Float64",
    "value": "Float64",
}

#: Columns of :func:`evaluate_history`'s frame (the contract's, then three for the curious:
#: the binomial tail of rates, how many earlier runs made the baseline and which baseline).
EVALUATION_SCHEMA: Mapping[str, pl.DataType] = MappingProxyType(
    {
        "as_of": pl.Datetime("us", "UTC"),
        "run": pl.String(),
        "metric": pl.String(),
        "segment_kind": pl.String(),
        "segment": pl.String(),
        "value": pl.Float64(),
        "numerator": pl.Float64(),
        "denominator": pl.Float64(),
        "baseline": pl.Float64(),
        "lower": pl.Float64(),
        "upper": pl.Float64(),
        "score": pl.Float64(),
        "direction": pl.String(),
        "status": pl.String(),
        "severity": pl.String(),
        "incident": pl.String(),
        "p_value": pl.Float64(),
        "baseline_runs": pl.Int64(),
        "baseline_kind": pl.String(),
    }
)

_DRIVER = pl.Struct(
    {
        "ring_id": pl.String(),
        "status": pl.String(),
        "holds": pl.Float64(),
        "size": pl.Int64(),
        "page": pl.String(),
    }
)
_SEGMENT = pl.Struct(
    {
        "segment_kind": pl.String(),
        "segment": pl.String(),
        "baseline_share": pl.Float64(),
        "current_share": pl.Float64(),
        "baseline_rate": pl.Float64(),
        "current_rate": pl.Float64(),
        "mix_effect": pl.Float64(),
        "rate_effect": pl.Float64(),
    }
)

#: Columns of ``alerts.parquet`` (:func:`syndicate.monitor.rootcause.explain_alerts`).
ALERTS_SCHEMA: Mapping[str, pl.DataType] = MappingProxyType(
    {
        "as_of": pl.Datetime("us", "UTC"),
        "run": pl.String(),
        "metric": pl.String(),
        "segment_kind": pl.String(),
        "segment": pl.String(),
        "value": pl.Float64(),
        "baseline": pl.Float64(),
        "lower": pl.Float64(),
        "upper": pl.Float64(),
        "score": pl.Float64(),
        "direction": pl.String(),
        "severity": pl.String(),
        "explanation": pl.String(),
        "incident": pl.String(),
        "first_as_of": pl.Datetime("us", "UTC"),
        "drivers": pl.List(_DRIVER),
        "segments": pl.List(_SEGMENT),
        "cause": pl.String(),
    }
)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class AlertSettings:
    """Every knob of the alerts (the ``[monitor]`` section of the TOML config).

    Parameters
    ----------
    min_history
        Earlier values a series needs before a run can alert; fewer is ``insufficient_history``.
    window
        The baseline is made of at most this many earlier values of the series (runs).
    weekday
        Use a same-weekday baseline once the history allows it (``weekday_after``).
    weekday_after
        Earlier values needed (and at least three weeks of them, with three on the run's
        weekday) before the baseline is made of same-weekday runs.
    weekday_window
        The same-weekday baseline is made of at most this many earlier runs on that weekday.
    z
        Robust z a run must reach to alert: ``|value - baseline| / spread >= z``.
    mad_floor
        The spread is at least this share of the baseline (flat series do not alert on noise).
    mad_floor_rate
        The spread of a rate is at least this (absolute, rate units: 0.0005 = 0.05 points).
    mad_floor_count
        The spread of a count is at least this (absolute, count units).
    poisson_floor
        The spread of a count is at least ``sqrt(baseline)``, the noise of a Poisson count.
    p_value
        A rate alerts only if its numerator is this unlikely under the baseline rate given its
        denominator (one-sided binomial tail, doubled for metrics watched both ways).
    min_abs_effect_rate
        A rate alerts only if it moves by at least this much (0.002 = 0.2 percentage points).
    min_abs_effect_count
        A count alerts only if it moves by at least this much.
    min_excess
        A rate alerts only if its numerator is at least this many above (below) what the
        baseline rate predicts for its denominator: one ordinary ring of a few new sellers
        in a small category is not news.
    min_rel_effect
        An alert's move is at least this share of the baseline (0.2 = 20%).
    high_factor
        An alert is ``high`` severity when ``|score| >= high_factor * z`` (and, for rates,
        the binomial tail is below ``high_p_value``); otherwise ``medium``.
    high_p_value
        The binomial tail below which a rate alert may be ``high`` severity.
    incident_gap
        Alerts of one metric (any segment) at most this many runs without one of them apart
        are one incident.
    segment_correction
        The m segment rows of a metric in a run (all its segment kinds) are tested at
        ``p_value / m`` and at the z of the same normal tail over m (Bonferroni), so more
        categories, or more segment kinds, bring no more alerts.
    ring_share
        Rings explain an alert when the new, grown and merged rings hold at least this share
        of the numerator's change.
    segment_share
        A segment explains an alert when its effect is at least this share of the change.
    directions
        Overrides of :data:`METRIC_DIRECTIONS`: metric name to ``up``, ``down`` or ``both``
        (metrics outside the catalogue are watched both ways unless named here).

    Examples
    --------
    >>> AlertSettings(z=5.0).z
    5.0
    >>> AlertSettings(directions={"syndicate_rate": "down"}).directions["syndicate_rate"]
    'down'
    >>> AlertSettings(window=3)
    Traceback (most recent call last):
    ...
    syndicate.errors.ConfigError: window must be at least min_history (7); got 3
    """

    min_history: int = 7
    window: int = 28
    weekday: bool = True
    weekday_after: int = 21
    weekday_window: int = 6
    z: float = 4.0
    mad_floor: float = 0.05
    mad_floor_rate: float = 0.0005
    mad_floor_count: float = 1.0
    poisson_floor: bool = True
    p_value: float = 0.0005
    min_abs_effect_rate: float = 0.002
    min_abs_effect_count: float = 3.0
    min_excess: float = 10.0
    min_rel_effect: float = 0.2
    high_factor: float = 2.0
    high_p_value: float = 1e-6
    incident_gap: int = 1
    segment_correction: bool = True
    ring_share: float = 0.5
    segment_share: float = 0.5
    directions: Mapping[str, Direction] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ints = {
            "min_history": 1,
            "window": 1,
            "weekday_after": 0,
            "weekday_window": _WEEKDAY_RUNS,
            "incident_gap": 0,
        }
        for name, least in ints.items():
            value = getattr(self, name)
            if not _is_int(value) or value < least:
                raise ConfigError(f"{name} must be an integer of at least {least}; got {value!r}")
        if self.window < self.min_history:
            raise ConfigError(
                f"window must be at least min_history ({self.min_history}); got {self.window!r}"
            )
        for name in ("weekday", "poisson_floor", "segment_correction"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false; got {getattr(self, name)!r}")
        positive = ("z", "high_factor")
        for name in positive:
            value = getattr(self, name)
            if not _is_number(value) or value <= 0:
                raise ConfigError(f"{name} must be a finite positive number; got {value!r}")
        if self.high_factor < 1:
            raise ConfigError(f"high_factor must be at least 1; got {self.high_factor!r}")
        non_negative = (
            "mad_floor",
            "mad_floor_rate",
            "mad_floor_count",
            "min_abs_effect_rate",
            "min_abs_effect_count",
            "min_excess",
            "min_rel_effect",
        )
        for name in non_negative:
            value = getattr(self, name)
            if not _is_number(value) or value < 0:
                raise ConfigError(f"{name} must be a finite number of at least 0; got {value!r}")
        for name in ("p_value", "high_p_value"):
            value = getattr(self, name)
            if not _is_number(value) or not 0 < value < 1:
                raise ConfigError(f"{name} must be a number between 0 and 1; got {value!r}")
        if self.high_p_value > self.p_value:
            raise ConfigError(
                f"high_p_value must be at most p_value ({self.p_value}); got {self.high_p_value!r}"
            )
        for name in ("ring_share", "segment_share"):
            value = getattr(self, name)
            if not _is_number(value) or not 0 < value <= 1:
                raise ConfigError(f"{name} must be a number in (0, 1]; got {value!r}")
        if not isinstance(self.directions, Mapping):
            raise ConfigError(
                f"directions must be a table of metric = up/down/both; got {self.directions!r}"
            )
        for metric, direction in self.directions.items():
            if not isinstance(metric, str) or not metric:
                raise ConfigError(f"directions keys must be metric names; got {metric!r}")
            if direction not in _DIRECTIONS:
                raise ConfigError(
                    f"directions[{metric!r}] must be 'up', 'down' or 'both'; got {direction!r}"
                )
        object.__setattr__(self, "directions", MappingProxyType(dict(self.directions)))

    def __hash__(self) -> int:
        values = [getattr(self, name) for name in self.__dataclass_fields__ if name != "directions"]
        return hash((*values, tuple(sorted(self.directions.items()))))


def metric_direction(metric: str, settings: AlertSettings | None = None) -> Direction:
    """The direction of a move that matters for ``metric`` (settings' override first).

    Examples
    --------
    >>> metric_direction("bad_seller_onboarding_rate"), metric_direction("my_metric")
    ('up', 'both')
    """
    if settings is not None and metric in settings.directions:
        return settings.directions[metric]
    return METRIC_DIRECTIONS.get(metric, "both")


def check_history(history: pl.DataFrame) -> pl.DataFrame:
    """``history`` with the contract's columns and dtypes (as_of in UTC), or a SchemaError.

    Every missing column is named in one message; so are the first duplicated
    (run, metric, segment_kind, segment) rows, which would make the result depend on row order.
    """
    missing = [name for name in _HISTORY_COLUMNS if name not in history.columns]
    if missing:
        raise SchemaError(
            f"history misses the column(s) {', '.join(missing)}; it has "
            f"{', '.join(history.columns) or 'no columns'}"
        )
    as_of = history.schema["as_of"]
    if not isinstance(as_of, pl.Datetime):
        raise SchemaError(f"history column as_of must be a datetime; got {as_of}")
    utc = (
        pl.col("as_of").dt.replace_time_zone("UTC")
        if as_of.time_zone is None
        else pl.col("as_of").dt.convert_time_zone("UTC")
    )
    try:
        typed = history.select(
            utc.dt.cast_time_unit("us").alias("as_of"),
            *(
                pl.col(name).cast(pl.String)
                for name in ("run", "metric", "segment_kind", "segment")
            ),
            *(pl.col(name).cast(pl.Float64) for name in ("numerator", "denominator", "value")),
        )
    except pl.exceptions.PolarsError as error:
        raise SchemaError(f"history has a column of the wrong type: {error}") from None
    doubled = (
        typed.group_by("run", *_KEYS)
        .len()
        .filter(pl.col("len") > 1)
        .sort("run", *_KEYS, nulls_last=False)
    )
    if doubled.height:
        first = doubled.head(3).select("run", *_KEYS).rows()
        raise SchemaError(
            f"history has {doubled.height} (run, metric, segment_kind, segment) key(s) on more "
            f"than one row; first: {first}"
        )
    return typed


def _empty_evaluation() -> pl.DataFrame:
    return pl.DataFrame(schema=dict(EVALUATION_SCHEMA))


def _trailing(
    targets: pl.DataFrame, sources: pl.DataFrame, group: list[str], before: str, size: int
) -> pl.DataFrame:
    """Median, MAD and sums of the ``size`` source values just before each target.

    ``targets`` has ``row``, ``group`` and ``before`` (how many earlier sources the row has in
    its group); ``sources`` has ``group``, ``ordinal`` (0, 1, ... in time within the group),
    ``value``, ``numerator``, ``denominator``. One equi-join on the exploded offsets, so the
    work is (rows × size), all in Polars.
    """
    pairs = (
        targets.select("row", *group, before)
        .filter(pl.col(before) > 0)
        .with_columns(pl.int_ranges(1, pl.min_horizontal(pl.col(before), size) + 1).alias("back"))
        .explode("back")
        .with_columns((pl.col(before) - pl.col("back")).alias("ordinal"))
        .join(sources, on=[*group, "ordinal"], how="inner")
        .with_columns(pl.col("value").median().over("row").alias("median"))
    )
    extra = []
    if "weekly_change" in sources.columns:
        change = pl.col("weekly_change")
        extra = [
            (change - change.median()).abs().median().alias("weekly_mad"),
            change.count().alias("weekly_changes"),
        ]
    return pairs.group_by("row").agg(
        pl.col("median").first(),
        (pl.col("value") - pl.col("median")).abs().median().alias("mad"),
        pl.len().alias("runs"),
        pl.col("numerator").sum().alias("numerators"),
        pl.col("denominator").sum().alias("denominators"),
        pl.col("denominator").median().alias("typical_denominator"),
        *extra,
    )


def _baselines(rows: pl.DataFrame, settings: AlertSettings) -> pl.DataFrame:
    """Per row: baseline, raw spread (MAD × 1.4826), earlier runs and which baseline."""
    valid = pl.col("value").is_not_null() & pl.col("value").is_finite()
    rows = rows.with_columns(
        valid.alias("valid"), pl.col("as_of").dt.weekday().alias("weekday")
    ).with_columns(
        (pl.col("valid").cum_sum() - pl.col("valid")).over("series").alias("before"),
        (pl.col("valid").cum_sum() - pl.col("valid")).over("series", "weekday").alias("before_w"),
    )
    sources = rows.filter("valid").select(
        "series", "weekday", "as_of", "value", "numerator", "denominator"
    )
    all_days = sources.with_columns(
        pl.int_range(pl.len()).over("series").alias("ordinal"),
        (pl.col("value") - pl.col("value").shift(1).over("series", "weekday")).alias(
            "weekly_change"
        ),
    )
    weekdays = sources.with_columns(
        pl.int_range(pl.len()).over("series", "weekday").alias("ordinal")
    )
    window = _trailing(rows, all_days.drop("weekday"), ["series"], "before", settings.window)
    same_day = _trailing(rows, weekdays, ["series", "weekday"], "before_w", settings.weekday_window)
    first_seen = sources.group_by("series").agg(pl.col("as_of").min().alias("first_seen"))
    joined = (
        rows.join(window, on="row", how="left")
        .join(same_day, on="row", how="left", suffix="_w")
        .join(first_seen, on="series", how="left")
    )
    use_weekday = (
        pl.lit(settings.weekday)
        & (pl.col("before") >= settings.weekday_after)
        & (pl.col("before_w") >= _WEEKDAY_RUNS)
        & (pl.col("as_of") - pl.col("first_seen") >= _WEEKDAY_SPAN)
    ).fill_null(False)

    def chosen(name: str) -> pl.Expr:
        return pl.when(use_weekday).then(pl.col(f"{name}_w")).otherwise(pl.col(name))

    return joined.with_columns(
        chosen("median").alias("baseline"),
        # A weekday baseline's spread: the same-weekday runs' own, but never below the spread
        # of the window's week-on-week changes (a weekly rhythm and a trend cancel out in
        # them; a change is the difference of two runs, hence the sqrt(2)), so three
        # same-weekday points cannot make a tight band. Too few changes: the window's spread.
        (
            MAD_TO_SD
            * pl.when(use_weekday & (pl.col("weekly_changes") >= _WEEKLY_CHANGES))
            .then(pl.max_horizontal("mad_w", pl.col("weekly_mad") / math.sqrt(2)))
            .when(use_weekday)
            .then(pl.max_horizontal("mad_w", "mad"))
            .otherwise(pl.col("mad"))
        ).alias("mad_sd"),
        chosen("runs").fill_null(0).cast(pl.Int64).alias("baseline_runs"),
        chosen("numerators").alias("baseline_numerators"),
        chosen("denominators").alias("baseline_denominators"),
        chosen("typical_denominator").alias("typical_denominator"),
        pl.when(use_weekday)
        .then(pl.lit("weekday"))
        .when(pl.col("runs").is_not_null())
        .then(pl.lit("window"))
        .alias("baseline_kind"),
    )


def _binomial(
    numerator: np.ndarray,
    denominator: np.ndarray,
    rate: np.ndarray,
    dispersion: np.ndarray,
    rises: np.ndarray,
    two_sided: np.ndarray,
    alpha: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Binomial tail of each numerator in its move's direction, and the band it allows.

    The test is quasi-binomial: numerator and denominator are divided by ``dispersion`` (at
    least 1: how much more the series varies from run to run than binomial noise, as when
    sellers arrive a ring at a time), and the tail is the binomial one continued to real
    counts by the regularised incomplete beta function, ``P(X >= x) = I_p(x, n - x + 1)``.

    Returns ``(p, low, high)``: ``p`` the one-sided tail (doubled where ``two_sided``), and the
    smallest and largest rates whose numerator would not be significant at ``alpha`` (halved
    where ``two_sided``). NaN where there is no test (no denominator or no baseline rate).
    """
    from scipy.special import betainc

    usable = (
        np.isfinite(denominator) & (denominator > 0) & np.isfinite(numerator) & np.isfinite(rate)
    )
    p = np.full(denominator.shape, np.nan)
    low = np.full(denominator.shape, np.nan)
    high = np.full(denominator.shape, np.nan)
    if not usable.any():
        return p, low, high
    phi = np.where(np.isfinite(dispersion[usable]), dispersion[usable], 1.0)
    n = denominator[usable] / phi
    x = np.clip(numerator[usable] / phi, 0.0, n)
    r = rate[usable]
    with np.errstate(invalid="ignore", divide="ignore"):
        upper_tail = np.where(x > 0, betainc(np.maximum(x, 1e-12), n - x + 1, r), 1.0)
        lower_tail = np.where(x < n, betainc(np.maximum(n - x, 1e-12), x + 1, 1 - r), 1.0)
    one = np.where(rises[usable], upper_tail, lower_tail)
    p[usable] = np.minimum(1.0, np.where(two_sided[usable], 2 * one, one))
    side = np.where(two_sided[usable], alpha[usable] / 2, alpha[usable])
    low[usable] = _edge(n, r, side, upper=False) / n
    high[usable] = _edge(n, r, side, upper=True) / n
    return p, low, high


def _edge(n: np.ndarray, rate: np.ndarray, side: np.ndarray, *, upper: bool) -> np.ndarray:
    """The numerator (real) whose binomial tail beyond the mean is ``side``, by bisection.

    ``upper``: the x in [n·rate, n] with ``P(X >= x) = side`` (n where even n is not that
    unlikely); else the x in [0, n·rate] with ``P(X <= x) = side`` (0 where even 0 is not).
    Vectorised over the rows; 24 halvings pin it to n / 2^24 (a rate to 6e-8).
    """
    from scipy.special import betainc

    tiny = 1e-12
    if upper:
        lo, hi = n * rate, n.copy()
    else:
        lo, hi = np.zeros_like(n), n * rate
    for _ in range(24):
        mid = (lo + hi) / 2
        if upper:  # P(X >= mid) falls as mid rises
            tail = betainc(np.maximum(mid, tiny), np.maximum(n - mid + 1, tiny), rate)
            beyond = tail <= side
            hi, lo = np.where(beyond, mid, hi), np.where(beyond, lo, mid)
        else:  # P(X <= mid) rises with mid
            tail = betainc(np.maximum(n - mid, tiny), mid + 1, 1 - rate)
            beyond = tail <= side
            lo, hi = np.where(beyond, mid, lo), np.where(beyond, hi, mid)
    return hi if upper else lo


def _thresholds(frame: pl.DataFrame, settings: AlertSettings) -> pl.DataFrame:
    """``z`` and ``alpha`` (the p_value) of each row, corrected for the metric's segments.

    With ``segment_correction``, each of the m segment rows of a metric in a run (every
    segment of every kind) is tested at ``p_value / m`` (Bonferroni), and at the z whose
    normal tail is that of ``z`` over m, so neither a kind with more segments nor one more
    segment kind brings more false alerts. The whole marketplace is one test of its own.
    """
    from statistics import NormalDist

    segment = pl.col("segment_kind").is_not_null()
    tests = pl.when(segment).then(segment.sum().over("run_index", "metric")).otherwise(1)
    if not settings.segment_correction:
        tests = pl.lit(1)
    frame = frame.with_columns(tests.cast(pl.Float64).alias("tests"))
    m = frame.get_column("tests").to_numpy()
    normal = NormalDist()
    tail = 1 - normal.cdf(settings.z)
    z_of = {tests: -normal.inv_cdf(tail / tests) for tests in set(m.tolist())}
    z = np.array([z_of[tests] for tests in m.tolist()], dtype=float)
    return frame.with_columns(
        pl.Series("z", z, dtype=pl.Float64), (settings.p_value / pl.col("tests")).alias("alpha")
    )


def _judge(frame: pl.DataFrame, settings: AlertSettings) -> pl.DataFrame:
    """Spread, score, tests, band, status and severity of every row."""
    frame = _thresholds(frame, settings)
    is_rate = pl.col("is_rate")
    baseline = pl.col("baseline")
    floors = [
        pl.col("mad_sd"),
        settings.mad_floor * baseline.abs(),
        pl.when(is_rate).then(settings.mad_floor_rate).otherwise(settings.mad_floor_count),
    ]
    if settings.poisson_floor:
        floors.append(pl.when(is_rate).then(0.0).otherwise(baseline.clip(lower_bound=0).sqrt()))
    # The median of k runs is itself off by about sqrt(pi / 2k) spreads: widen for it.
    widen = (1 + math.pi / (2 * pl.col("baseline_runs").clip(lower_bound=1))).sqrt()
    pooled_den = pl.col("baseline_denominators").fill_null(0)
    pooled = (pl.col("baseline_numerators").fill_null(0) + 0.5) / (pooled_den + 1)
    edge = 0.5 / (pooled_den + 1)
    frame = (
        frame.with_columns(
            (pl.max_horizontal(*floors) * widen).alias("spread"),
            pl.when(pl.col("value") > baseline)
            .then(pl.lit("up"))
            .when(pl.col("value") < baseline)
            .then(pl.lit("down"))
            .alias("direction"),
            # The rate the numerator is tested against: the baseline, or the pooled rate of the
            # baseline runs where the median is 0 or 1 (sparse series), kept half an event off
            # 0 and 1 so that a rate of zero so far is not infinitely sure.
            pl.when(is_rate & baseline.is_not_null())
            .then(
                pl.when((baseline > 0) & (baseline < 1))
                .then(baseline)
                .otherwise(pooled)
                .clip(lower_bound=edge, upper_bound=1 - edge)
            )
            .alias("test_rate"),
        )
        .with_columns(
            ((pl.col("value") - baseline) / pl.col("spread")).alias("score"),
            # Extra-binomial variation of the series: (robust spread / binomial spread)^2.
            pl.when(is_rate)
            .then(
                (
                    pl.col("mad_sd")
                    / (
                        pl.col("test_rate")
                        * (1 - pl.col("test_rate"))
                        / pl.col("typical_denominator").clip(lower_bound=1)
                    ).sqrt()
                )
                .pow(2)
                .clip(lower_bound=1.0)
            )
            .alias("dispersion"),
        )
        .with_columns(
            pl.max_horizontal("dispersion", pl.col("clustering").fill_null(1.0)).alias("dispersion")
            if "clustering" in frame.columns
            else pl.col("dispersion"),
        )
    )
    rates = frame.get_column("is_rate").to_numpy()
    p, low, high = _binomial(
        frame.get_column("numerator").fill_null(np.nan).to_numpy(),
        np.where(rates, frame.get_column("denominator").fill_null(np.nan).to_numpy(), np.nan),
        frame.get_column("test_rate").fill_null(np.nan).to_numpy(),
        frame.get_column("dispersion").fill_null(np.nan).to_numpy(),
        (frame.get_column("direction") == "up").fill_null(False).to_numpy(),
        (frame.get_column("watch") == "both").to_numpy(),
        frame.get_column("alpha").to_numpy(),
    )
    frame = frame.with_columns(
        pl.Series("p_value", p, dtype=pl.Float64).fill_nan(None),
        pl.Series("binomial_low", low, dtype=pl.Float64).fill_nan(None),
        pl.Series("binomial_high", high, dtype=pl.Float64).fill_nan(None),
    )
    min_abs = (
        pl.when(is_rate).then(settings.min_abs_effect_rate).otherwise(settings.min_abs_effect_count)
    )
    rel = settings.min_rel_effect * baseline.abs()
    z_band = pl.col("z") * pl.col("spread")
    expected = pl.col("test_rate") * pl.col("denominator")
    excess = (
        pl.when(is_rate & (pl.col("denominator") > 0))
        .then(settings.min_excess / pl.col("denominator"))
        .otherwise(0.0)
    )
    upper = pl.max_horizontal(
        baseline + z_band,
        baseline + min_abs,
        baseline + rel,
        pl.col("binomial_high"),
        pl.col("test_rate") + excess,
    )
    lower = pl.min_horizontal(
        baseline - z_band,
        baseline - min_abs,
        baseline - rel,
        pl.col("binomial_low"),
        pl.col("test_rate") - excess,
    )
    move = (pl.col("value") - baseline).abs()
    watched = (pl.col("watch") == "both") | (pl.col("watch") == pl.col("direction"))
    counted_enough = ~is_rate | ((pl.col("numerator") - expected).abs() >= settings.min_excess)
    alerts = (
        (pl.col("before") >= settings.min_history)
        & pl.col("valid")
        & watched
        & (pl.col("score").abs() >= pl.col("z"))
        & (move >= min_abs)
        & (move >= rel)
        & (move > 0)
        & counted_enough
        & (~is_rate | (pl.col("p_value") < pl.col("alpha")))
    ).fill_null(False)
    severe = (pl.col("score").abs() >= settings.high_factor * pl.col("z")) & (
        ~is_rate | (pl.col("p_value") < settings.high_p_value)
    )
    return frame.with_columns(
        pl.when(is_rate).then(upper.clip(upper_bound=1.0)).otherwise(upper).alias("upper"),
        lower.clip(lower_bound=0.0).alias("lower"),
        pl.when(alerts)
        .then(pl.lit("alert"))
        .when(pl.col("before") < settings.min_history)
        .then(pl.lit("insufficient_history"))
        .otherwise(pl.lit("ok"))
        .alias("status"),
    ).with_columns(
        pl.when(pl.col("status") == "alert")
        .then(pl.when(severe.fill_null(False)).then(pl.lit("high")).otherwise(pl.lit("medium")))
        .alias("severity")
    )


def _incidents(frame: pl.DataFrame, gap: int) -> pl.DataFrame:
    """``incident``: alerts of one metric (the whole marketplace and every segment) in runs
    at most ``gap`` quiet runs apart share one id, ``<metric>|<first as_of>``.

    One move seen in the marketplace and in four categories is one story for the person on
    call, not five.
    """
    alerting = frame.filter(pl.col("status") == "alert")
    runs = (
        alerting.select("metric", "run_index", "as_of")
        .unique()
        .sort("metric", "run_index")
        .with_columns(
            (
                (pl.col("run_index") - pl.col("run_index").shift(1).over("metric") - 1 > gap)
                .fill_null(True)
                .cum_sum()
                .over("metric")
            ).alias("episode")
        )
        .with_columns(pl.col("as_of").first().over("metric", "episode").alias("first_as_of"))
        .select(
            "metric",
            "run_index",
            pl.concat_str(
                pl.col("metric"),
                pl.col("first_as_of").dt.strftime("%Y-%m-%dT%H:%M:%S%.fZ"),
                separator="|",
            ).alias("incident"),
        )
    )
    alerts = alerting.select("row", "metric", "run_index").join(
        runs, on=["metric", "run_index"], how="left"
    )
    return frame.join(alerts.select("row", "incident"), on="row", how="left")


def _clustering(history: pl.DataFrame, run_order: pl.DataFrame, window: int) -> pl.DataFrame:
    """Per series (metric, segment kind, segment) and run, how clustered into rings the
    numerator is.

    Sellers of a ring arrive, and are decided, together: a numerator made of rings of
    sizes ``n_r`` and singletons varies like a compound count, whose variance is
    ``E[S²] / E[S]`` times a binomial one: the ``clustering`` ``(Σ n_r² + singletons) /
    numerator`` that the rate test's dispersion never goes below. The rings are the
    ``ring`` rows of the metric for the whole marketplace and its ``ring:<kind>`` rows for
    a segment, so a category is judged by the rings in it. It is the larger of two
    readings:

    * the trailing one, pooled over the ``window`` runs before the run: how clustered the
      series' numerators usually are (a median-based spread cannot see it: most days have
      no big ring, and the days that do are what the median sets aside);
    * the run's own, with each ring counted at most at the largest ring contribution to
      the metric over the marketplace in those trailing runs (the part of a ring above it
      counts as singletons). A day on which two rings of a size seen before happen to
      onboard is ordinary ring noise; a ring larger than any of the window, or many rings
      at once, is not excused by its own size.

    A segment kind with no ``ring:<kind>`` rows in the history (folders written before
    they existed) takes the marketplace's clustering.
    """
    schema = {
        "metric": pl.String,
        "segment_kind": pl.String,
        "segment": pl.String,
        "run_index": pl.Int64,
        "clustering": pl.Float64,
    }
    kind = pl.col("segment_kind")
    rings = (
        history.filter(is_ring_kind(kind))
        .join(run_order, on=["as_of", "run"], how="inner")
        .select(
            "metric",
            "run_index",
            pl.when(kind == RING_KIND)
            .then(pl.lit(None, pl.String))
            .otherwise(kind.str.strip_prefix(RING_KIND_PREFIX))
            .alias("segment_kind"),
            pl.when(kind == RING_KIND)
            .then(pl.lit(None, pl.String))
            .otherwise(pl.col("segment").str.splitn("|", 2).struct.field("field_1"))
            .alias("segment"),
            pl.col("numerator").fill_null(0.0).alias("size"),
        )
    )
    if rings.height == 0:
        return pl.DataFrame(schema=schema)
    kinds = rings.select("metric", "segment_kind").unique()
    keys = ["metric", "segment_kind", "segment"]
    totals = (
        history.filter(kind.is_null() | ~is_ring_kind(kind))
        .join(kinds, on=["metric", "segment_kind"], how="semi", nulls_equal=True)
        .join(run_order, on=["as_of", "run"], how="inner")
        .select(*keys, "run_index", pl.col("numerator").fill_null(0.0).alias("total"))
    )
    largest = (
        rings.filter(pl.col("segment_kind").is_null())
        .group_by("metric", "run_index")
        .agg(pl.col("size").max().alias("largest"))
    )
    # The cap of each metric and run: the largest ring contribution of the trailing runs.
    caps = (
        kinds.select("metric")
        .unique()
        .join(run_order.select("run_index"), how="cross")
        .join(largest, on=["metric", "run_index"], how="left")
        .sort("metric", "run_index")
        .select(
            "metric",
            "run_index",
            pl.col("largest")
            .fill_null(0.0)
            .rolling_max(window, min_samples=1)
            .shift(1)
            .over("metric")
            .fill_null(1.0)
            .clip(lower_bound=1.0)
            .alias("cap"),
        )
    )
    capped = pl.min_horizontal("size", "cap")
    per_run = (
        rings.join(caps, on=["metric", "run_index"], how="left")
        .group_by(*keys, "run_index")
        .agg(
            pl.col("size").sum().alias("in_rings"),
            pl.col("size").pow(2).sum().alias("squares"),
            capped.sum().alias("capped_in"),
            capped.pow(2).sum().alias("capped_squares"),
        )
    )
    # Every run of every series, so the trailing sums count runs, not rows.
    series = pl.concat([totals.select(keys), per_run.select(keys)]).unique()
    sums = ("in_rings", "squares", "capped_in", "capped_squares")
    grid = (
        series.join(run_order.select("run_index"), how="cross")
        .join(totals, on=[*keys, "run_index"], how="left", nulls_equal=True)
        .join(per_run, on=[*keys, "run_index"], how="left", nulls_equal=True)
        .with_columns(pl.col("total", *sums).fill_null(0.0))
        .with_columns(
            (pl.col("squares") + (pl.col("total") - pl.col("in_rings")).clip(lower_bound=0)).alias(
                "weighted"
            )
        )
        .sort(*keys, "run_index", nulls_last=False)
    )
    trailing = {
        name: pl.col(name).rolling_sum(window, min_samples=1).shift(1).over(keys)
        for name in ("weighted", "total")
    }
    own = (
        pl.col("capped_squares") + (pl.col("total") - pl.col("capped_in")).clip(lower_bound=0)
    ) / pl.col("total")
    return grid.select(
        *keys,
        "run_index",
        pl.max_horizontal(
            pl.when(trailing["total"] > 0).then(trailing["weighted"] / trailing["total"]),
            pl.when(pl.col("total") > 0).then(own),
        )
        .clip(lower_bound=1.0)
        .alias("clustering"),
    ).sort(*keys, "run_index", nulls_last=False)


def evaluate_history(history: pl.DataFrame, settings: AlertSettings | None = None) -> pl.DataFrame:
    """Judge every run of every series of ``history`` against its trailing baseline.

    Parameters
    ----------
    history
        ``history.parquet``: ``as_of``, ``run``, ``metric``, ``segment_kind``, ``segment``,
        ``numerator``, ``denominator``, ``value``; any row order. Ring rows (segment kinds
        ``ring`` and ``ring:<kind>``) are not evaluated (they serve the root cause and the
        clustering).
    settings
        The knobs (:class:`AlertSettings`; its defaults when omitted).

    Returns
    -------
    polars.DataFrame
        One row per (run, metric, segment_kind, segment), columns :data:`EVALUATION_SCHEMA`,
        sorted by as_of, metric, segment_kind, segment (nulls first), run. ``status`` is
        ``alert``, ``ok`` or ``insufficient_history`` (fewer than ``min_history`` earlier
        values; a row whose own value is null is ``ok`` or ``insufficient_history``, never an
        alert). ``baseline``, ``lower``, ``upper`` and ``score`` are null without any earlier
        value; ``direction`` is that of the move (null when none).

    Raises
    ------
    SchemaError
        A column is missing or of the wrong type, or a key is on more than one row.
    """
    settings = settings or AlertSettings()
    typed = check_history(history)
    rows = typed.filter(pl.col("segment_kind").is_null() | ~is_ring_kind(pl.col("segment_kind")))
    if rows.height == 0:
        return _empty_evaluation()
    run_order = (
        rows.select("as_of", "run")
        .unique()
        .sort("as_of", "run")
        .with_row_index("run_index")
        .with_columns(pl.col("run_index").cast(pl.Int64))
    )
    series = (
        rows.group_by(*_KEYS)
        .agg(pl.col("denominator").is_not_null().any().alias("has_denominator"))
        .sort(*_KEYS, nulls_last=False)
        .with_row_index("series")
    )
    overrides = dict(settings.directions)
    series = series.with_columns(
        (
            pl.col("metric").is_in(list(RATE_METRICS))
            | (~pl.col("metric").is_in(list(METRIC_DIRECTIONS)) & pl.col("has_denominator"))
        ).alias("is_rate"),
        pl.col("metric")
        .replace_strict({**METRIC_DIRECTIONS, **overrides}, default="both", return_dtype=pl.String)
        .alias("watch"),
    )
    rows = (
        rows.join(run_order, on=["as_of", "run"], how="left")
        .join(series, on=list(_KEYS), how="left", nulls_equal=True)
        .sort("series", "run_index")
        .with_row_index("row")
    )
    clustering = _clustering(typed, run_order, settings.window)
    whole = clustering.filter(pl.col("segment_kind").is_null()).select(
        "metric", "run_index", pl.col("clustering").alias("whole_clustering")
    )
    rows = (
        rows.join(clustering, on=[*_KEYS, "run_index"], how="left", nulls_equal=True)
        .join(whole, on=["metric", "run_index"], how="left")
        .with_columns(pl.coalesce("clustering", "whole_clustering").alias("clustering"))
        .drop("whole_clustering")
    )
    judged = _incidents(_judge(_baselines(rows, settings), settings), settings.incident_gap)
    return judged.select(
        pl.col(name).cast(dtype) for name, dtype in EVALUATION_SCHEMA.items()
    ).sort("as_of", *_KEYS, "run", nulls_last=False)
