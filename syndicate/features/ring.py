"""Per-ring features and the structure-only ring score used when there are no labels.

One row per ring: the structure figures of :func:`syndicate.find_rings`, onboarding times,
label counts of the members, and :func:`structure_score`.
"""

from __future__ import annotations

import polars as pl

from syndicate.graphs.communities import Rings

__all__ = [
    "RING_FEATURES",
    "STRUCTURE_SCORE_WEIGHTS",
    "STRUCTURE_SCORE_WEIGHTS_ANOMALY",
    "anomaly_percentiles",
    "ring_features",
    "structure_score",
]

#: Columns that :func:`ring_features` adds to ``Rings.rings``: name -> (dtype, meaning).
RING_FEATURES: dict[str, tuple[pl.DataType, str]] = {
    "mean_edge_weight": (pl.Float64(), "total edge weight inside the ring / its edges"),
    "onboarding_spread_days": (
        pl.Float64(),
        "days between the first and last known created_at of the members (null if fewer "
        "than two are known)",
    ),
    "onboarding_mad_days": (
        pl.Float64(),
        "median absolute deviation of the members' known created_at, in days (null if "
        "fewer than two are known)",
    ),
    "n_labeled": (pl.UInt32(), "members with a label"),
    "n_known_bad": (pl.UInt32(), "members labelled bad"),
    "n_known_good": (pl.UInt32(), "members labelled good"),
    "anomaly": (
        pl.Float64(),
        "mean over the members of their anomaly_score's percentile among all sellers, in "
        "[0, 1] (null when anomaly scores were not given)",
    ),
    "structure_score": (pl.Float64(), "structure-only score in [0, 1] (structure_score)"),
}

#: Weights of the terms of :func:`structure_score` (they sum to 1).
STRUCTURE_SCORE_WEIGHTS = {"burst": 0.5, "size": 0.25, "density": 0.25}
#: The weights when the members' anomaly scores are known (they sum to 1).
STRUCTURE_SCORE_WEIGHTS_ANOMALY = {"burst": 0.4, "size": 0.2, "density": 0.2, "anomaly": 0.2}
#: Onboarding MAD (days) at which the burst term falls to 1/e.
BURST_SCALE_DAYS = 14.0
#: Members beyond two at which the size term reaches 1 - 1/e.
SIZE_SCALE = 6.0


def structure_score(
    size: pl.Expr,
    density: pl.Expr,
    onboarding_mad_days: pl.Expr,
    *,
    has_created_at: bool,
    anomaly: pl.Expr | None = None,
) -> pl.Expr:
    """The structure-only ring score, in [0, 1]:

    ``0.5·burst + 0.25·size_term + 0.25·density`` where ``burst = exp(-MAD / 14 days)``
    (members created within days of each other, as rings onboard; households and
    businesses open over months or years), ``size_term = 1 - exp(-(size - 2) / 6)``
    (groups larger than a household), and ``density`` the share of member pairs linked.
    Without ``created_at`` (or for a ring whose MAD is null: fewer than two members with
    a known ``created_at``) the burst term is dropped and the others share its weight.
    With ``anomaly`` (the ring's mean anomaly percentile, see :func:`ring_features`) the
    weights are ``0.4·burst + 0.2·size_term + 0.2·density + 0.2·anomaly``.
    """
    # Divisions by a number are written as products with its reciprocal: Polars divides a
    # column of two or more rows so, but a one-row column exactly, and a ring table or a
    # ring's rows may have one row in a bucket of components (syndicate.components).
    size_term = 1.0 - (-(size.cast(pl.Float64) - 2.0) * (1.0 / SIZE_SCALE)).exp()
    weights = STRUCTURE_SCORE_WEIGHTS if anomaly is None else STRUCTURE_SCORE_WEIGHTS_ANOMALY
    terms = {"size": size_term, "density": density}
    if anomaly is not None:
        terms["anomaly"] = anomaly.fill_null(0.5)
    rest = sum(weights[name] for name in terms)
    without = pl.sum_horizontal(weights[name] * term for name, term in terms.items())
    if not has_created_at:
        return (without * (1.0 / rest)).clip(0.0, 1.0)
    burst = (-onboarding_mad_days * (1.0 / BURST_SCALE_DAYS)).exp()
    score = weights["burst"] * burst + without
    return (
        pl.when(onboarding_mad_days.is_not_null())
        .then(score)
        .otherwise(without * (1.0 / rest))
        .clip(0.0, 1.0)
    )


def anomaly_percentiles(anomaly: pl.DataFrame) -> pl.DataFrame:
    """``seller_id``, ``anomaly_percentile``: each seller's ``anomaly_score`` percentile.

    ``(rank - 1) / (n - 1)`` among the ``n`` rows of ``anomaly``, ties at their average
    rank: in [0, 1].

    Examples
    --------
    >>> scores = pl.DataFrame({"seller_id": ["a", "b", "c"], "anomaly_score": [0.4, 0.9, 0.4]})
    >>> anomaly_percentiles(scores)["anomaly_percentile"].to_list()
    [0.25, 1.0, 0.25]
    """
    return anomaly.select(
        "seller_id",
        ((pl.col("anomaly_score").rank("average") - 1) / max(anomaly.height - 1, 1)).alias(
            "anomaly_percentile"
        ),
    )


def ring_features(
    sellers: pl.DataFrame,
    rings: Rings,
    labels: pl.DataFrame | None = None,
    anomaly: pl.DataFrame | None = None,
    *,
    percentiles: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``Rings.rings`` with the columns of :data:`RING_FEATURES`, sorted by ``ring_id``.

    ``anomaly`` holds every seller's ``anomaly_score`` (the ``anomaly`` column is the
    members' mean :func:`anomaly_percentiles`). Where only some sellers are at hand (a
    bucket of components, in the Spark engine), ``percentiles`` gives the members'
    percentiles among all sellers instead (``seller_id``, ``anomaly_percentile``).

    Examples
    --------
    >>> members = pl.DataFrame({"seller_id": ["a", "b", "c"], "component": ["a"] * 3,
    ...                         "community": ["a"] * 3, "ring_id": ["ring-x"] * 3})
    >>> table = pl.DataFrame({"ring_id": ["ring-x"], "size": [3], "n_edges": [3],
    ...     "density": [1.0], "weight": [6.0], "component_size": [3], "kinds": [["device"]]})
    >>> sellers = pl.DataFrame({"seller_id": ["a", "b", "c"]})
    >>> ring_features(sellers, Rings(members, table))["mean_edge_weight"].to_list()
    [2.0]
    """
    in_ring = rings.members.filter(pl.col("ring_id").is_not_null()).select("seller_id", "ring_id")
    has_created_at = "created_at" in sellers.columns
    day_us = 86_400 * 1_000_000
    stats = in_ring.group_by("ring_id").agg(pl.len().alias("_members"))
    if has_created_at:
        created = sellers.select("seller_id", pl.col("created_at").dt.epoch("us").alias("t"))
        times = (
            in_ring.join(created, on="seller_id", how="left")
            .group_by("ring_id")
            .agg(
                # Times the reciprocal: see structure_score.
                ((pl.col("t").max() - pl.col("t").min()) * (1.0 / day_us)).alias(
                    "onboarding_spread_days"
                ),
                ((pl.col("t") - pl.col("t").median()).abs().median() * (1.0 / day_us)).alias(
                    "onboarding_mad_days"
                ),
                pl.col("t").count().alias("_times"),
            )
            # One known time says nothing about a burst: leave both unknown.
            .with_columns(
                pl.when(pl.col("_times") >= 2).then(pl.col(name)).alias(name)
                for name in ("onboarding_spread_days", "onboarding_mad_days")
            )
            .drop("_times")
        )
        stats = stats.join(times, on="ring_id", how="left")
    if labels is not None and labels.height:
        counts = (
            in_ring.join(labels.select("seller_id", "label"), on="seller_id", how="inner")
            .group_by("ring_id")
            .agg(
                pl.len().alias("n_labeled"),
                (pl.col("label") == 1).sum().alias("n_known_bad"),
                (pl.col("label") == 0).sum().alias("n_known_good"),
            )
        )
        stats = stats.join(counts, on="ring_id", how="left")
    percentile = None
    if anomaly is not None and anomaly.height:
        percentile = anomaly_percentiles(anomaly)
    elif percentiles is not None:
        percentile = percentiles.select("seller_id", "anomaly_percentile")
    if percentile is not None:
        percentile = percentile.rename({"anomaly_percentile": "_percentile"})
        stats = stats.join(
            in_ring.join(percentile, on="seller_id")
            .group_by("ring_id")
            .agg(pl.col("_percentile").sort().mean().alias("anomaly")),
            on="ring_id",
            how="left",
        )
    table = rings.rings.join(stats, on="ring_id", how="left")
    for name, (dtype, _) in RING_FEATURES.items():
        if name not in table.columns:
            table = table.with_columns(pl.lit(None, dtype=dtype).alias(name))
    table = table.with_columns(
        pl.col("n_labeled", "n_known_bad", "n_known_good").fill_null(0).cast(pl.UInt32),
        pl.when(pl.col("n_edges") > 0)
        .then(pl.col("weight") / pl.col("n_edges"))
        .otherwise(0.0)
        .alias("mean_edge_weight"),
    ).with_columns(
        structure_score(
            pl.col("size"),
            pl.col("density"),
            pl.col("onboarding_mad_days"),
            has_created_at=has_created_at,
            anomaly=pl.col("anomaly") if percentile is not None else None,
        ).alias("structure_score")
    )
    return table.select(*rings.rings.columns, *RING_FEATURES).sort("ring_id")
