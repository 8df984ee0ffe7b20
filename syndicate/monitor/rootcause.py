"""Root cause of each alert: which segments and which rings moved the metric.

For an alert on a rate, the change from the baseline runs (pooled: their numerators and
denominators summed per segment) to the alert's run is split, per segment kind, into

* a **mix effect**, ``Σ (share_c − share_b) · rate_b``: segments whose share of the
  denominator grew (a category onboarding more sellers), and
* a **rate effect**, ``Σ share_c · (rate_c − rate_b)``: segments whose own rate rose,

where ``share`` is a segment's part of the denominator and ``rate`` its numerator over its
denominator, ``b`` the baseline and ``c`` the current run. The two add up to the pooled change
``Σ share_c · rate_c − Σ share_b · rate_b``. (A segment absent from the baseline takes the
baseline's overall rate as ``rate_b``; its ``share_b`` is 0, so the identity still holds.)

For the two onboarding rates the rings behind the numerator are known too (history rows of
segment_kind ``ring``): the new, grown and merged rings are ranked by how many of the metric's
new sellers they hold. When they hold at least ``ring_share`` of the numerator's rise over what
the baseline rate predicts, the alert says so and names them; otherwise it names the segment
with the largest effect, or says the move is spread across segments with no ring behind it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import polars as pl

from syndicate.monitor.alerts import (
    ALERTS_SCHEMA,
    METRIC_DIRECTIONS,
    RATE_METRICS,
    AlertSettings,
    check_history,
)
from syndicate.monitor.metrics import RING_KIND, is_ring_kind
from syndicate.terminal import counted

__all__ = [
    "CHANGED_STATUSES",
    "decompose_rate_change",
    "explain_alerts",
    "ring_drivers",
]

#: Ring statuses whose members are news: the rings that can drive an onboarding alert.
CHANGED_STATUSES = ("new", "grown", "merged")
#: The rates whose ring rows name the rings behind a move (the new sellers they hold).
ONBOARDING_METRICS = ("bad_seller_onboarding_rate", "ring_onboarding_rate")
#: Ring counts whose rings are those of one status in the run's rings.parquet.
_COUNT_STATUS = {
    "rings_new": "new",
    "rings_grown": "grown",
    "rings_shrunk": "shrunk",
    "rings_merged": "merged",
    "rings_split": "split",
}
#: (numerator noun, denominator noun), singular and plural, for the sentences.
_NOUNS: Mapping[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "bad_seller_onboarding_rate": (
        ("new syndicate seller", "new syndicate sellers"),
        ("new seller", "new sellers"),
    ),
    "ring_onboarding_rate": (
        ("new seller in rings", "new sellers in rings"),
        ("new seller", "new sellers"),
    ),
    "sellers_in_rings_rate": (("seller in rings", "sellers in rings"), ("seller", "sellers")),
    "syndicate_rate": (
        ("seller decided syndicate", "sellers decided syndicate"),
        ("seller", "sellers"),
    ),
    "review_rate": (("seller sent to review", "sellers sent to review"), ("seller", "sellers")),
    "label_coverage": (("labelled seller", "labelled sellers"), ("seller", "sellers")),
    "matured_syndicate_known_bad": (
        ("known bad", "known bad"),
        ("seller decided syndicate last run", "sellers decided syndicate last run"),
    ),
    "matured_syndicate_known_good": (
        ("known good", "known good"),
        ("seller decided syndicate last run", "sellers decided syndicate last run"),
    ),
    "matured_review_known_bad": (
        ("known bad", "known bad"),
        ("seller sent to review last run", "sellers sent to review last run"),
    ),
    "matured_review_known_good": (
        ("known good", "known good"),
        ("seller sent to review last run", "sellers sent to review last run"),
    ),
}
_MAX_IDS = 5
_SEGMENT_COLUMNS = ["segment_kind", "segment", "numerator", "denominator"]
_COUNT_METRICS = frozenset(METRIC_DIRECTIONS) - RATE_METRICS


def _no_segments() -> pl.DataFrame:
    return pl.DataFrame(schema=ALERTS_SCHEMA["segments"].inner.to_schema())  # type: ignore[attr-defined]


def _no_drivers() -> pl.DataFrame:
    return pl.DataFrame(schema=ALERTS_SCHEMA["drivers"].inner.to_schema())  # type: ignore[attr-defined]


def _percent(rate: float) -> str:
    """A rate as a percentage with one decimal (two significant digits below 0.1%)."""
    pct = rate * 100
    if pct != 0 and abs(pct) < 0.1:
        return f"{pct:.2g}%"
    return f"{pct:.1f}%"


def _amount(count: float) -> str:
    """A count with thousands separators; a median between two counts keeps its half."""
    if float(count).is_integer():
        return f"{int(count):,}"
    return f"{count:,.1f}"


def _words(kind: str) -> str:
    return kind.replace("_", " ")


def _plural(kind: str) -> str:
    """``category`` → ``categories``, ``ring_status`` → ``ring statuses``."""
    words = _words(kind)
    if words.endswith("y") and words[-2:-1] not in ("a", "e", "i", "o", "u"):
        return f"{words[:-1]}ies"
    if words.endswith(("s", "x", "ch", "sh")):
        return f"{words}es"
    return f"{words}s"


def _and(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def decompose_rate_change(baseline: pl.DataFrame, current: pl.DataFrame) -> pl.DataFrame:
    """Split a rate's change into mix and rate effects per segment.

    Parameters
    ----------
    baseline, current
        Segment rows: ``segment_kind``, ``segment``, ``numerator``, ``denominator``. The
        baseline may hold several runs: they are pooled (summed per segment). Each segment
        kind is decomposed on its own.

    Returns
    -------
    polars.DataFrame
        ``segment_kind``, ``segment``, ``baseline_share``, ``current_share``,
        ``baseline_rate``, ``current_rate`` (null where the segment has no denominator),
        ``mix_effect = (current_share − baseline_share) · baseline_rate`` and
        ``rate_effect = current_share · (current_rate − baseline_rate)``; per kind the effects
        add up to the change of the pooled rate. Sorted by segment_kind, then the largest
        ``|mix_effect + rate_effect|`` first, then segment.

    Examples
    --------
    >>> rows = {"segment_kind": ["category"] * 2, "segment": ["books", "toys"]}
    >>> before = pl.DataFrame({**rows, "numerator": [10.0, 10.0], "denominator": [500.0, 500.0]})
    >>> after = pl.DataFrame({**rows, "numerator": [10.0, 60.0], "denominator": [500.0, 1500.0]})
    >>> decompose_rate_change(before, after).select("segment", "mix_effect", "rate_effect").rows()
    [('toys', 0.005, 0.015), ('books', -0.005, 0.0)]
    """

    def pooled(frame: pl.DataFrame, tag: str) -> pl.DataFrame:
        return (
            frame.select(_SEGMENT_COLUMNS)
            .group_by("segment_kind", "segment")
            .agg(
                pl.col("numerator").fill_null(0).sum().alias(f"num_{tag}"),
                pl.col("denominator").fill_null(0).sum().alias(f"den_{tag}"),
            )
        )

    both = pooled(baseline, "b").join(
        pooled(current, "c"), on=["segment_kind", "segment"], how="full", coalesce=True
    )
    both = both.with_columns(pl.col("^(num|den)_[bc]$").fill_null(0.0))
    kind = "segment_kind"
    share = {
        tag: pl.when(pl.col(f"den_{tag}").sum().over(kind) > 0).then(
            pl.col(f"den_{tag}") / pl.col(f"den_{tag}").sum().over(kind)
        )
        for tag in ("b", "c")
    }
    rate = {
        tag: pl.when(pl.col(f"den_{tag}") > 0).then(pl.col(f"num_{tag}") / pl.col(f"den_{tag}"))
        for tag in ("b", "c")
    }
    overall_b = pl.col("num_b").sum().over(kind) / pl.col("den_b").sum().over(kind)
    result = both.with_columns(
        share["b"].fill_null(0.0).alias("baseline_share"),
        share["c"].fill_null(0.0).alias("current_share"),
        rate["b"].alias("baseline_rate"),
        rate["c"].alias("current_rate"),
    ).with_columns(
        pl.coalesce("baseline_rate", overall_b, 0.0).alias("_rate_b"),
    )
    result = result.with_columns(
        ((pl.col("current_share") - pl.col("baseline_share")) * pl.col("_rate_b")).alias(
            "mix_effect"
        ),
        (
            pl.col("current_share") * (pl.coalesce("current_rate", "_rate_b") - pl.col("_rate_b"))
        ).alias("rate_effect"),
    )
    return (
        result.with_columns((pl.col("mix_effect") + pl.col("rate_effect")).abs().alias("_size"))
        .sort(["segment_kind", "_size", "segment"], descending=[False, True, False])
        .select(
            "segment_kind",
            "segment",
            "baseline_share",
            "current_share",
            "baseline_rate",
            "current_rate",
            "mix_effect",
            "rate_effect",
        )
    )


def ring_drivers(ring_rows: pl.DataFrame, rings: pl.DataFrame | None) -> pl.DataFrame:
    """The rings behind a numerator, ranked by how many of its sellers each holds.

    Parameters
    ----------
    ring_rows
        History rows of segment_kind ``ring`` for one run and metric (``segment`` = ring id,
        ``numerator`` = the ring's part of the metric's numerator).
    rings
        That run's rings.parquet frame (``ring_id``, ``status``, ``size`` and ``page``: the
        page's path relative to the run folder, or null), or None when it is unknown.

    Returns
    -------
    polars.DataFrame
        ``ring_id``, ``status``, ``holds``, ``size``, ``page``: the most held first, then by
        ring id.

    Examples
    --------
    >>> rows = pl.DataFrame({"segment": ["ring-a", "ring-b"], "numerator": [2.0, 9.0]})
    >>> known = pl.DataFrame({"ring_id": ["ring-b"], "status": ["new"], "size": [12]})
    >>> ring_drivers(rows, known).rows()
    [('ring-b', 'new', 9.0, 12, None), ('ring-a', None, 2.0, None, None)]
    """
    held = ring_rows.select(
        pl.col("segment").cast(pl.String).alias("ring_id"),
        pl.col("numerator").cast(pl.Float64).fill_null(0.0).alias("holds"),
    ).filter(pl.col("holds") > 0)
    columns = {"status": pl.String(), "size": pl.Int64(), "page": pl.String()}
    if rings is None:
        known = pl.DataFrame(schema={"ring_id": pl.String(), **columns})
    else:
        known = rings.select(
            pl.col("ring_id").cast(pl.String),
            *(
                pl.col(name).cast(dtype)
                if name in rings.columns
                else pl.lit(None, dtype).alias(name)
                for name, dtype in columns.items()
            ),
        ).unique("ring_id", keep="first")
    return (
        held.join(known, on="ring_id", how="left")
        .select("ring_id", "status", "holds", "size", "page")
        .sort(["holds", "ring_id"], descending=[True, False])
    )


def _ring_phrase(changed: pl.DataFrame) -> str:
    """``4 new rings`` or ``5 rings (3 new, 2 grown)``."""
    statuses = changed.get_column("status").to_list()
    kinds = [status for status in CHANGED_STATUSES if status in statuses]
    if None in statuses:  # statuses unknown (no rings table for the run)
        return counted(len(statuses), "ring")
    if len(kinds) == 1:
        return counted(len(statuses), f"{kinds[0]} ring")
    parts = ", ".join(f"{statuses.count(status):,} {status}" for status in kinds)
    return f"{counted(len(statuses), 'ring')} ({parts})"


def _fewest(changed: pl.DataFrame, rise: float) -> pl.DataFrame:
    """The fewest of the most-holding rings of ``changed`` that hold ``rise`` (or all)."""
    reached = changed.get_column("holds").cum_sum() >= rise
    count = int(reached.arg_true()[0]) + 1 if reached.any() else changed.height
    return changed.head(count)


def _ids(ring_ids: list[str]) -> str:
    shown = ring_ids[:_MAX_IDS]
    rest = len(ring_ids) - len(shown)
    return ", ".join(shown) + (f" and {rest:,} more" if rest else "")


def _segment_cause(
    segments: pl.DataFrame, change: float, settings: AlertSettings, what: str
) -> str | None:
    """``mostly the category electronics (rate effect: ...)``, or None when none dominates."""
    if segments.height == 0 or change == 0:
        return None
    sign = 1.0 if change > 0 else -1.0
    ranked = segments.with_columns(
        ((pl.col("mix_effect") + pl.col("rate_effect")) * sign).alias("_toward")
    ).sort(["_toward", "segment_kind", "segment"], descending=[True, False, False], nulls_last=True)
    best = ranked.row(0, named=True)
    if best["_toward"] is None or best["_toward"] < settings.segment_share * abs(change):
        return None
    name = f"the {_words(best['segment_kind'])} {best['segment']}"
    verb = "rose" if change > 0 else "fell"
    if best["mix_effect"] * sign >= best["rate_effect"] * sign:
        grew = "grew" if best["current_share"] >= best["baseline_share"] else "shrank"
        detail = (
            f"mix effect: its share of {what} {grew} from {_percent(best['baseline_share'])} "
            f"to {_percent(best['current_share'])}"
        )
    else:
        detail = (
            f"rate effect: its rate {verb} from {_percent(best['baseline_rate'] or 0.0)} "
            f"to {_percent(best['current_rate'] or 0.0)}"
        )
    return f"mostly {name} ({detail})"


def _baseline_runs(
    runs: pl.DataFrame, as_of: datetime, weekday: bool, settings: AlertSettings
) -> list[str]:
    """The runs (of one metric's whole-marketplace rows) the alert's baseline was made of."""
    earlier = runs.filter(pl.col("as_of") < as_of)
    if weekday:
        earlier = earlier.filter(pl.col("as_of").dt.weekday() == as_of.isoweekday())
        return earlier.tail(settings.weekday_window).get_column("run").to_list()
    return earlier.tail(settings.window).get_column("run").to_list()


def _explain_rate(
    alert: dict[str, Any],
    rows: pl.DataFrame,
    rings: pl.DataFrame | None,
    settings: AlertSettings,
) -> tuple[str, pl.DataFrame, pl.DataFrame]:
    """Sentence, drivers and segment decomposition of an alert on a rate."""
    metric, kind = alert["metric"], alert["segment_kind"]
    (num_one, num_many), (den_one, den_many) = _NOUNS.get(metric, (("", ""), ("", "")))
    where = "" if kind is None else f" for the {_words(kind)} {alert['segment']}"
    verb = "rose" if alert["value"] > alert["baseline"] else "fell"
    numerator, denominator = alert["numerator"] or 0.0, alert["denominator"] or 0.0
    of = f"{_amount(round(numerator))} of {_amount(round(denominator))}"
    if den_many:
        of = f"{_amount(round(numerator))} of {counted(round(denominator), den_one, den_many)}"
    head = (
        f"{metric}{where} {verb} from {_percent(alert['baseline'])} to "
        f"{_percent(alert['value'])} ({of})"
    )
    # Rings drive a move in who onboards; a decision rate's ring rows hold the rings'
    # decided members (a stock), not what changed, and serve its clustering only.
    ring_rows = rows.filter(
        (pl.col("run") == alert["run"])
        & (pl.col("segment_kind") == RING_KIND)
        & pl.lit(metric in ONBOARDING_METRICS)
    )
    has_rings = metric in ONBOARDING_METRICS and (
        rows.filter(pl.col("segment_kind") == RING_KIND).height > 0
    )
    drivers = ring_drivers(ring_rows, rings)
    # The rings that are news; without a rings table for the run, any ring might be.
    changed = drivers.filter(pl.col("status").is_in(CHANGED_STATUSES) | pl.col("status").is_null())
    held = float(changed.get_column("holds").sum())
    total = counted(round(numerator), num_one, num_many) if num_many else _amount(numerator)
    if kind is not None:
        # A segment's own alert: ring rows are marketplace-wide, so the rings are context.
        rise = numerator - alert["baseline"] * denominator
        if verb == "rose" and held > 0 and rise > 0:
            named = _fewest(changed, rise)
            whole_total = float(
                rows.filter((pl.col("run") == alert["run"]) & pl.col("segment_kind").is_null())
                .get_column("numerator")
                .sum()
            )
            of_all = f" of {counted(round(whole_total), num_one, num_many)}" if num_many else ""
            ids = _ids(named.get_column("ring_id").to_list())
            context = (
                f"marketplace-wide, {_ring_phrase(named)} hold "
                f"{_amount(round(float(named.get_column('holds').sum())))}{of_all} ({ids})"
            )
            return f"{head}; {context}", drivers, _no_segments()
        return head, drivers, _no_segments()

    whole = rows.filter(pl.col("segment_kind").is_null() & pl.col("value").is_not_null())
    weekday = alert.get("baseline_kind") == "weekday"
    baseline_runs = _baseline_runs(whole.select("run", "as_of"), alert["as_of"], weekday, settings)
    segment_rows = rows.filter(
        pl.col("segment_kind").is_not_null() & ~is_ring_kind(pl.col("segment_kind"))
    )
    before = segment_rows.filter(pl.col("run").is_in(baseline_runs))
    # A kind of segment the baseline runs lack (a column new in the sellers table) has no
    # shares or rates to compare with: it is left out rather than read as all new.
    known_kinds = before.get_column("segment_kind").unique().to_list()
    segments = decompose_rate_change(
        before,
        segment_rows.filter(
            (pl.col("run") == alert["run"]) & pl.col("segment_kind").is_in(known_kinds)
        ),
    )

    rise = numerator - alert["baseline"] * denominator  # over what the baseline rate predicts
    if verb == "rose" and rise > 0 and held > 0 and held >= settings.ring_share * rise:
        named = _fewest(changed, rise)
        cause = (
            f"driven by {_ring_phrase(named)} holding "
            f"{_amount(round(float(named.get_column('holds').sum())))} of {total} "
            f"({_ids(named.get_column('ring_id').to_list())})"
        )
        return f"{head}: {cause}", drivers, segments

    pooled_change = float(
        segments.filter(pl.col("segment_kind") == segments.get_column("segment_kind").min())
        .select(pl.col("mix_effect") + pl.col("rate_effect"))
        .sum()
        .item()
        if segments.height
        else 0.0
    )
    change = pooled_change if pooled_change != 0 else alert["value"] - alert["baseline"]
    causes = []
    segment_cause = _segment_cause(segments, change, settings, den_many or "the denominator")
    if segment_cause is not None:
        causes.append(segment_cause)
    elif segments.height:
        kinds = sorted(set(segments.get_column("segment_kind").to_list()))
        causes.append(f"spread across {_and([_plural(k) for k in kinds])}")
    if has_rings and verb == "rose":
        causes.append("no ring behind it")
    return (f"{head}: {'; '.join(causes)}" if causes else head), drivers, segments


def _explain_count(
    alert: dict[str, Any],
    rows: pl.DataFrame,
    rings: pl.DataFrame | None,
    settings: AlertSettings,
) -> tuple[str, pl.DataFrame]:
    """Sentence and drivers of an alert on a count."""
    metric, kind = alert["metric"], alert["segment_kind"]
    where = "" if kind is None else f" for the {_words(kind)} {alert['segment']}"
    verb = "rose" if alert["value"] > alert["baseline"] else "fell"
    head = f"{metric}{where} {verb} from {_amount(alert['baseline'])} to {_amount(alert['value'])}"
    drivers = _no_drivers()
    status = _COUNT_STATUS.get(metric)
    if kind is None and status is not None and rings is not None and "status" in rings.columns:
        of_status = rings.filter(pl.col("status") == status)
        if "size" in of_status.columns:
            drivers = ring_drivers(
                of_status.select(
                    pl.col("ring_id").alias("segment"), pl.col("size").alias("numerator")
                ),
                rings,
            )
            if drivers.height:
                named = [
                    f"{ring_id} ({counted(int(size), 'seller')})"
                    for ring_id, size in drivers.head(_MAX_IDS).select("ring_id", "holds").rows()
                ]
                rest = drivers.height - len(named)
                listed = ", ".join(named) + (f" and {rest:,} more" if rest else "")
                return f"{head}: largest first, {listed}", drivers
        return head, drivers
    if kind is not None:
        return head, drivers
    # A whole-marketplace count with segment rows: which segment moved it.
    whole = rows.filter(pl.col("segment_kind").is_null() & pl.col("value").is_not_null())
    weekday = alert.get("baseline_kind") == "weekday"
    baseline_runs = _baseline_runs(whole.select("run", "as_of"), alert["as_of"], weekday, settings)
    segment_rows = rows.filter(
        pl.col("segment_kind").is_not_null() & ~is_ring_kind(pl.col("segment_kind"))
    )
    if segment_rows.height == 0:
        return head, drivers
    before = (
        segment_rows.filter(pl.col("run").is_in(baseline_runs))
        .group_by("segment_kind", "segment")
        .agg((pl.col("value").sum() / len(baseline_runs)).alias("before"))
    )
    now = segment_rows.filter(pl.col("run") == alert["run"]).select(
        "segment_kind", "segment", pl.col("value").alias("now")
    )
    change = alert["value"] - alert["baseline"]
    sign = 1.0 if change > 0 else -1.0
    moved = (
        before.join(now, on=["segment_kind", "segment"], how="full", coalesce=True)
        .with_columns(pl.col("before", "now").fill_null(0.0))
        .with_columns(((pl.col("now") - pl.col("before")) * sign).alias("toward"))
        .sort(["toward", "segment_kind", "segment"], descending=[True, False, False])
    )
    best = moved.row(0, named=True)
    if best["toward"] >= settings.segment_share * abs(change):
        cause = (
            f"mostly the {_words(best['segment_kind'])} {best['segment']} "
            f"(from {_amount(round(best['before'], 1))} to {_amount(best['now'])})"
        )
    else:
        kinds = sorted(set(moved.get_column("segment_kind").to_list()))
        cause = f"spread across {_and([_plural(k) for k in kinds])}"
    return f"{head}: {cause}", drivers


def explain_alerts(
    evaluations: pl.DataFrame,
    history: pl.DataFrame,
    rings: Mapping[str, pl.DataFrame],
    settings: AlertSettings | None = None,
) -> pl.DataFrame:
    """One row per alert of ``evaluations``, with its root cause in a plain sentence.

    Parameters
    ----------
    evaluations
        :func:`~syndicate.monitor.alerts.evaluate_history`'s frame.
    history
        The history it judged (segment rows and the ``ring`` rows included).
    rings
        Run (as in history's ``run``) to that run's rings.parquet frame, with a column
        ``page``: the ring page's path relative to the run folder, or null. A run missing
        from the mapping still gets its ring ids, without status, size or page.
    settings
        The knobs the evaluations were made with (the baseline window and the shares that
        decide when rings or a segment explain an alert).

    Returns
    -------
    polars.DataFrame
        Columns :data:`~syndicate.monitor.alerts.ALERTS_SCHEMA`, sorted by as_of, metric,
        segment_kind, segment (nulls first). ``explanation`` reads like "ring_onboarding_rate
        rose from 0.8% to 5.1% (61 of 1,190 new sellers): driven by 4 new rings holding 52 of
        61 new sellers in rings (ring-…, …)" or "...: spread across categories; no ring behind
        it". ``drivers`` lists the rings behind it (most held first), ``segments`` the
        decomposition (:func:`decompose_rate_change`) of whole-marketplace rate alerts.
    """
    settings = settings or AlertSettings()
    alerts = evaluations.filter(pl.col("status") == "alert")
    if alerts.height == 0:
        return pl.DataFrame(schema=dict(ALERTS_SCHEMA))
    typed = check_history(history)
    starts = alerts.group_by("incident").agg(pl.col("as_of").min().alias("first_as_of"))
    alerts = alerts.join(starts, on="incident", how="left").sort(
        "as_of", "metric", "segment_kind", "segment", "run", nulls_last=False
    )
    by_metric = {
        key[0]: frame.sort("as_of", "run")
        for key, frame in typed.filter(
            pl.col("metric").is_in(alerts.get_column("metric").unique().to_list())
        )
        .partition_by("metric", as_dict=True)
        .items()
    }
    out: dict[str, list[Any]] = {name: [] for name in ALERTS_SCHEMA}
    for alert in alerts.iter_rows(named=True):
        rows = by_metric[alert["metric"]]
        run_rings = rings.get(alert["run"])
        is_rate = alert["metric"] in RATE_METRICS or (
            alert["denominator"] is not None and alert["metric"] not in _COUNT_METRICS
        )
        if is_rate:
            sentence, drivers, segments = _explain_rate(alert, rows, run_rings, settings)
        else:
            sentence, drivers = _explain_count(alert, rows, run_rings, settings)
            segments = _no_segments()
        for name in ALERTS_SCHEMA:
            if name not in ("explanation", "drivers", "segments", "cause"):
                out[name].append(alert[name])
        out["cause"].append(None)  # the replay decides it (syndicate.monitor.watch)
        out["explanation"].append(sentence)
        out["drivers"].append(drivers.to_dicts())
        out["segments"].append(segments.to_dicts())
    return pl.DataFrame(out, schema=dict(ALERTS_SCHEMA))
