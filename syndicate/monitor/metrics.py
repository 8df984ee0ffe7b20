"""North-star metrics of one run: ``metrics.parquet``, one row per metric and segment.

Long format (:data:`METRICS_SCHEMA`): ``metric``, ``segment_kind`` (null for the whole
marketplace), ``segment``, ``numerator``, ``denominator`` (null for counts) and ``value``.
Numerators and denominators are kept so segments add up and rates can be tested as counts.

Segments
    Every text column of the sellers table named in ``monitor.segments`` (e.g.
    ``category``; a null value is the segment ``(none)``), ``ring_status`` (the status of
    the seller's ring, ``none`` outside rings) and, for the two onboarding rates and the
    two decision rates, ``ring``: one row per ring holding part of the numerator, whose
    denominator is the whole marketplace's (its value is the ring's share of the rate), so
    the monitor can say which rings are behind a move and how clustered into rings a
    numerator is. The same per segment: segment kind ``ring:<kind>`` (``ring:category``),
    segment ``<ring_id>|<segment>``, the segment's denominator: a segment's rate test
    weighs the rings of that segment, not the marketplace's.
New sellers
    Sellers created after the previous run's as-of time (``--previous``), up to this
    run's; on a first run, those created within :data:`FIRST_RUN_WINDOW` before it.
    Sellers without ``created_at`` are never new.
Matured precision
    Of the sellers the previous run decided ``syndicate`` (``review``), the share known
    bad (good) by this run's labels: labels arrive days after a decision, and this is how
    the precision of earlier decisions is watched.
Strategies
    A run with a strategies file also has ``strategy_hit_rate`` and the matured shares of
    the sellers each strategy fired on in the previous run (segment kind ``strategy``, one
    row per strategy that runs, ``shadow`` ones too; the whole-marketplace row counts the
    sellers any strategy fired on). The segmented metrics are also broken down by
    ``decision_source`` (``model``, ``cold_start``, ``strategy:<name>``; in every run, so the
    day a strategy goes live has a baseline to be told from).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import polars as pl

__all__ = [
    "FIRST_RUN_WINDOW",
    "METRICS",
    "METRICS_SCHEMA",
    "RING_KIND",
    "RING_KIND_PREFIX",
    "Metric",
    "RunFacts",
    "is_ring_kind",
    "naive_utc",
    "run_metrics",
]

#: On a first run (no previous as-of), sellers created this long before the as-of are new.
FIRST_RUN_WINDOW = timedelta(days=1)

METRICS_SCHEMA: dict[str, pl.DataType] = {
    "metric": pl.String(),
    "segment_kind": pl.String(),
    "segment": pl.String(),
    "numerator": pl.Float64(),
    "denominator": pl.Float64(),
    "value": pl.Float64(),
}


@dataclass(frozen=True)
class Metric:
    """One metric of the catalogue: ``rate`` or ``count``, and what it measures."""

    kind: str
    meaning: str


#: The catalogue, in the order ``metrics.parquet`` lists it.
METRICS: Mapping[str, Metric] = {
    "sellers": Metric("count", "sellers in the snapshot"),
    "new_sellers": Metric("count", "sellers created since the previous run's as-of time"),
    "labels_known": Metric("count", "sellers with a label (known bad or known good)"),
    "label_coverage": Metric("rate", "labelled sellers / sellers"),
    "bad_seller_onboarding_rate": Metric(
        "rate", "new sellers decided syndicate or known bad / new sellers"
    ),
    "ring_onboarding_rate": Metric("rate", "new sellers in a ring / new sellers"),
    "sellers_in_rings_rate": Metric("rate", "sellers in a ring / sellers"),
    "syndicate_rate": Metric("rate", "sellers decided syndicate / sellers"),
    "review_rate": Metric("rate", "sellers decided review / sellers"),
    "rings": Metric("count", "rings found"),
    "rings_new": Metric("count", "rings with status new"),
    "rings_grown": Metric("count", "rings with status grown"),
    "rings_shrunk": Metric("count", "rings with status shrunk"),
    "rings_merged": Metric("count", "rings with status merged"),
    "rings_split": Metric("count", "rings with status split"),
    "rings_gone": Metric("count", "earlier rings no ring of this run descends from"),
    "hub_identifiers": Metric("count", "identifiers held back as hubs"),
    "matured_syndicate_known_bad": Metric(
        "rate", "sellers the previous run decided syndicate, known bad now / all of them"
    ),
    "matured_syndicate_known_good": Metric(
        "rate", "sellers the previous run decided syndicate, known good now / all of them"
    ),
    "matured_review_known_bad": Metric(
        "rate", "sellers the previous run decided review, known bad now / all of them"
    ),
    "matured_review_known_good": Metric(
        "rate", "sellers the previous run decided review, known good now / all of them"
    ),
    "strategy_hit_rate": Metric(
        "rate", "sellers a strategy fired on (per strategy; whole: any strategy) / sellers"
    ),
    "matured_strategy_known_bad": Metric(
        "rate", "sellers a strategy fired on in the previous run, known bad now / all of them"
    ),
    "matured_strategy_known_good": Metric(
        "rate", "sellers a strategy fired on in the previous run, known good now / all of them"
    ),
}

#: Metrics with rows per segment; those of _BY_RING also per ring (and ring and segment).
_SEGMENTED = (
    "sellers",
    "new_sellers",
    "bad_seller_onboarding_rate",
    "ring_onboarding_rate",
    "syndicate_rate",
    "review_rate",
)
_BY_RING = ("bad_seller_onboarding_rate", "ring_onboarding_rate", "syndicate_rate", "review_rate")
#: The segment kind of the ring rows, and the prefix of the ring-and-segment rows' kinds.
RING_KIND = "ring"
RING_KIND_PREFIX = "ring:"


def is_ring_kind(segment_kind: pl.Expr) -> pl.Expr:
    """Whether rows of ``segment_kind`` are ring rows (``ring``, ``ring:<kind>``): the
    rings behind a numerator, for the root cause and the clustering, not segments."""
    return (segment_kind == RING_KIND) | segment_kind.str.starts_with(RING_KIND_PREFIX)


@dataclass(frozen=True)
class RunFacts:
    """What one run knows, as the metrics need it.

    ``sellers``: ``seller_id`` and ``created_at`` (when given) plus the segment columns;
    ``labels``: ``labels.parquet`` (``seller_id``, ``ring_id``, ``decision``); ``known``:
    the labels (``seller_id``, ``label``); ``rings``: ``ring_id``, ``status``;
    ``previous_decisions``: ``seller_id``, ``decision`` of the previous run (or None), and
    ``strategies`` (the names that fired on each seller) when that run applied strategies;
    ``strategies``: the names of this run's strategies that run (None: no strategies
    file), in which case ``labels`` also has ``decision_source`` and ``strategies``.
    """

    sellers: pl.DataFrame
    labels: pl.DataFrame
    known: pl.DataFrame
    rings: pl.DataFrame
    rings_gone: int
    hubs: int
    as_of: datetime
    previous_as_of: datetime | None = None
    previous_decisions: pl.DataFrame | None = None
    strategies: tuple[str, ...] | None = None


def _is_new(facts: RunFacts) -> pl.Expr:
    if "created_at" not in facts.sellers.columns:
        return pl.lit(False)
    start = facts.previous_as_of or (facts.as_of - FIRST_RUN_WINDOW)
    created = pl.col("created_at")  # naive UTC, as validation leaves it
    low, high = naive_utc(start), naive_utc(facts.as_of)
    return ((created > low) & (created <= high)).fill_null(False)


def naive_utc(moment: datetime) -> datetime:
    """``moment`` in UTC without a zone (naive moments are taken as UTC already)."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _seller_table(facts: RunFacts, segments: Sequence[str]) -> pl.DataFrame:
    """One row per seller: flags the metrics count, and the segment columns as text."""
    known = facts.known.group_by("seller_id").agg(pl.col("label").max())
    status = facts.rings.select("ring_id", pl.col("status").alias("ring_status"))
    sources = ["decision_source"] if "decision_source" in facts.labels.columns else []
    labels = facts.labels.select("seller_id", "ring_id", "decision", *sources)
    columns = [c for c in segments if c in facts.sellers.columns]
    table = (
        facts.sellers.select(
            "seller_id",
            _is_new(facts).alias("new"),
            *(pl.col(c).cast(pl.String).fill_null("(none)").alias(c) for c in columns),
        )
        .join(labels, on="seller_id", how="left")
        .join(known, on="seller_id", how="left")
        .join(status, on="ring_id", how="left")
    )
    return table.with_columns(
        pl.col("ring_status").fill_null("none"),
        in_ring=pl.col("ring_id").is_not_null(),
        syndicate=pl.col("decision") == "syndicate",
        review=pl.col("decision") == "review",
        bad=(pl.col("decision") == "syndicate") | (pl.col("label") == 1).fill_null(False),
    )


def _rates(table: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """The segmented metrics' numerators and denominators, grouped ``by`` (none: total)."""
    new = pl.col("new")
    aggregations = [
        pl.len().cast(pl.Float64).alias("sellers|n"),
        new.sum().cast(pl.Float64).alias("new_sellers|n"),
        (new & pl.col("bad")).sum().cast(pl.Float64).alias("bad_seller_onboarding_rate|n"),
        new.sum().cast(pl.Float64).alias("bad_seller_onboarding_rate|d"),
        (new & pl.col("in_ring")).sum().cast(pl.Float64).alias("ring_onboarding_rate|n"),
        new.sum().cast(pl.Float64).alias("ring_onboarding_rate|d"),
        pl.col("syndicate").sum().cast(pl.Float64).alias("syndicate_rate|n"),
        pl.len().cast(pl.Float64).alias("syndicate_rate|d"),
        pl.col("review").sum().cast(pl.Float64).alias("review_rate|n"),
        pl.len().cast(pl.Float64).alias("review_rate|d"),
    ]
    grouped = table.group_by(by).agg(aggregations) if by else table.select(aggregations)
    rows = []
    for metric in _SEGMENTED:
        denominator = (
            pl.col(f"{metric}|d") if f"{metric}|d" in grouped.columns else pl.lit(None, pl.Float64)
        )
        rows.append(
            grouped.select(
                pl.lit(metric).alias("metric"),
                (pl.lit(by[0]) if by else pl.lit(None, pl.String)).alias("segment_kind"),
                (pl.col(by[0]).cast(pl.String) if by else pl.lit(None, pl.String)).alias("segment"),
                pl.col(f"{metric}|n").alias("numerator"),
                denominator.alias("denominator"),
            )
        )
    return pl.concat(rows)


def _by_ring(table: pl.DataFrame, kinds: Sequence[str]) -> pl.DataFrame:
    """Per ring, the sellers it holds in the numerator of each metric of ``_BY_RING``, with
    the marketplace's denominator (a ring's value is its share of the rate); and per ring
    and segment of each of ``kinds``, with the segment's denominator."""
    new, everyone = pl.col("new"), pl.col("seller_id").is_not_null()
    counted = {  # metric: (the ring members it counts, its denominator)
        "bad_seller_onboarding_rate": (new & pl.col("bad"), new),
        "ring_onboarding_rate": (new, new),
        "syndicate_rate": (pl.col("syndicate"), everyone),
        "review_rate": (pl.col("review"), everyone),
    }
    denominators = table.select(
        *(d.sum().cast(pl.Float64).alias(m) for m, (_, d) in counted.items())
    ).row(0, named=True)
    in_rings = table.filter(pl.col("in_ring"))
    rows = []
    for by in (None, *kinds):
        group = ["ring_id"] if by is None else ["ring_id", by]
        counts = in_rings.group_by(group).agg(
            *(n.sum().cast(pl.Float64).alias(m) for m, (n, _) in counted.items())
        )
        if by is not None:
            sizes = table.group_by(by).agg(
                *(d.sum().cast(pl.Float64).alias(f"{m}|d") for m, (_, d) in counted.items())
            )
            counts = counts.join(sizes, on=by, how="left")
        for metric in _BY_RING:
            denominator = pl.lit(denominators[metric]) if by is None else pl.col(f"{metric}|d")
            rows.append(
                counts.filter(pl.col(metric) > 0).select(
                    pl.lit(metric).alias("metric"),
                    pl.lit(RING_KIND if by is None else RING_KIND_PREFIX + by).alias(
                        "segment_kind"
                    ),
                    (
                        pl.col("ring_id")
                        if by is None
                        else pl.concat_str(
                            pl.col("ring_id"), pl.lit("|"), pl.col(by).cast(pl.String)
                        )
                    ).alias("segment"),
                    pl.col(metric).alias("numerator"),
                    denominator.cast(pl.Float64).alias("denominator"),
                )
            )
    return pl.concat(rows)


def _whole(metric: str, numerator: float, denominator: float | None = None) -> dict[str, object]:
    return {
        "metric": metric,
        "segment_kind": None,
        "segment": None,
        "numerator": float(numerator),
        "denominator": None if denominator is None else float(denominator),
    }


def run_metrics(facts: RunFacts, segments: Sequence[str] = ()) -> pl.DataFrame:
    """``metrics.parquet`` of one run (see the module docstring), sorted.

    Examples
    --------
    >>> from datetime import datetime
    >>> facts = RunFacts(
    ...     sellers=pl.DataFrame({"seller_id": ["a", "b", "c"],
    ...                           "created_at": [datetime(2026, 1, 1), datetime(2026, 1, 9),
    ...                                          datetime(2026, 1, 10)]}),
    ...     labels=pl.DataFrame({"seller_id": ["a", "b", "c"], "ring_id": ["r", "r", None],
    ...                          "decision": ["syndicate", "clear", "clear"]}),
    ...     known=pl.DataFrame({"seller_id": ["c"], "label": [1]}),
    ...     rings=pl.DataFrame({"ring_id": ["r"], "status": ["new"]}),
    ...     rings_gone=0, hubs=0, as_of=datetime(2026, 1, 10, 12),
    ...     previous_as_of=datetime(2026, 1, 8))
    >>> m = run_metrics(facts).filter(pl.col("segment_kind").is_null())
    >>> dict(m.select("metric", "value").iter_rows())["bad_seller_onboarding_rate"]  # c
    0.5
    """
    table = _seller_table(facts, segments)
    total = _rates(table, [])
    status = facts.rings["status"].value_counts() if facts.rings.height else None
    by_status = dict(status.iter_rows()) if status is not None else {}
    n_sellers, n_known = table.height, facts.known["seller_id"].n_unique()
    whole = [
        _whole("labels_known", n_known),
        _whole("label_coverage", n_known, n_sellers),
        _whole("sellers_in_rings_rate", int(table["in_ring"].sum()), n_sellers),
        _whole("rings", facts.rings.height),
        *(
            _whole(f"rings_{status}", by_status.get(status, 0))
            for status in ("new", "grown", "shrunk", "merged", "split")
        ),
        _whole("rings_gone", facts.rings_gone),
        _whole("hub_identifiers", facts.hubs),
    ]
    if facts.previous_decisions is not None:
        earlier = facts.previous_decisions.select("seller_id", "decision").join(
            facts.known.group_by("seller_id").agg(pl.col("label").max()),
            on="seller_id",
            how="left",
        )
        for decision in ("syndicate", "review"):
            decided = earlier.filter(pl.col("decision") == decision)
            for label, name in ((1, "bad"), (0, "good")):
                held = int((decided["label"] == label).sum())
                whole.append(_whole(f"matured_{decision}_known_{name}", held, decided.height))
    parts = [total, pl.DataFrame(whole, schema=_ROW_SCHEMA)]
    kinds = [*(c for c in segments if c in facts.sellers.columns), "ring_status"]
    if "decision_source" in table.columns:  # every run since strategies exist
        kinds.append("decision_source")
    if facts.strategies is not None:
        parts.append(_strategy_rows(facts, n_sellers))
    for kind in kinds:
        parts.append(_rates(table, [kind]))
    parts.append(_by_ring(table, kinds))
    frame = pl.concat([part.cast(_ROW_SCHEMA) for part in parts])  # type: ignore[arg-type]
    value = (
        pl.when(pl.col("denominator").is_null())
        .then(pl.col("numerator"))
        .when(pl.col("denominator") > 0)
        .then(pl.col("numerator") / pl.col("denominator"))
    )
    order = {name: i for i, name in enumerate(METRICS)}
    return (
        frame.with_columns(value.otherwise(None).alias("value"))
        .with_columns(pl.col("metric").replace_strict(order, return_dtype=pl.Int32).alias("_order"))
        .sort(["_order", "segment_kind", "segment"], nulls_last=False)
        .drop("_order")
        .select(list(METRICS_SCHEMA))
    )


def _strategy_rows(facts: RunFacts, n_sellers: int) -> pl.DataFrame:
    """``strategy_hit_rate`` and the matured shares per strategy, and over any strategy."""
    assert facts.strategies is not None
    names = pl.DataFrame({"segment": list(facts.strategies)}, schema={"segment": pl.String})
    fired = facts.labels.select("seller_id", "strategies").explode("strategies").drop_nulls()
    hits = fired.group_by("strategies").agg(pl.col("seller_id").n_unique().alias("numerator"))
    n_any = fired["seller_id"].n_unique()
    rows = [
        names.join(hits.rename({"strategies": "segment"}), on="segment", how="left").select(
            pl.lit("strategy_hit_rate").alias("metric"),
            pl.lit("strategy").alias("segment_kind"),
            "segment",
            pl.col("numerator").fill_null(0).cast(pl.Float64),
            pl.lit(float(n_sellers)).alias("denominator"),
        ),
        pl.DataFrame([_whole("strategy_hit_rate", n_any, n_sellers)], schema=_ROW_SCHEMA),
    ]
    earlier = facts.previous_decisions
    if earlier is not None and "strategies" in earlier.columns:
        known = facts.known.group_by("seller_id").agg(pl.col("label").max())
        was = earlier.select("seller_id", "strategies").explode("strategies").drop_nulls()
        was = was.join(known, on="seller_id", how="left")
        anyone = was.unique("seller_id")
        for label, name in ((1, "bad"), (0, "good")):
            metric = f"matured_strategy_known_{name}"
            held = was.group_by("strategies").agg(
                (pl.col("label") == label).sum().cast(pl.Float64).alias("numerator"),
                pl.len().cast(pl.Float64).alias("denominator"),
            )
            rows.append(
                held.rename({"strategies": "segment"})
                .filter(pl.col("segment").is_in(list(facts.strategies)))
                .select(
                    pl.lit(metric).alias("metric"),
                    pl.lit("strategy").alias("segment_kind"),
                    "segment",
                    "numerator",
                    "denominator",
                )
            )
            count = int((anyone["label"] == label).sum())
            rows.append(pl.DataFrame([_whole(metric, count, anyone.height)], schema=_ROW_SCHEMA))
    return pl.concat([row.cast(_ROW_SCHEMA) for row in rows])  # type: ignore[arg-type]


_ROW_SCHEMA = {name: dtype for name, dtype in METRICS_SCHEMA.items() if name != "value"}
