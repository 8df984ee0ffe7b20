"""The feature table in Spark: identifier counts, the bucket features, filling, anomaly score.

Columns and values are those of :func:`syndicate.features.seller_features`:

* the identifier counts (distinct values by kind, shared and hub identifiers) are Spark
  aggregates over the validated links and the bipartite graph;
* the per-component columns come from the buckets (:mod:`syndicate.spark.buckets`);
* the table is finished by :func:`syndicate.features.finish_features` itself, batch by
  batch (``mapInArrow``: it works row by row);
* the anomaly score is the Polars engine's IsolationForest, fitted on the driver on the
  very rows scikit-learn would draw from the whole table (at most 256 per tree, found by
  the indices its seeded sampler gives for the table's size; the medians that fill gaps
  are exact order statistics), and scored batch by batch with the forest broadcast.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from syndicate.features.seller import (
    ANOMALY_EXCLUDED,
    BUILT_IN_KINDS,
    feature_schema,
    finish_features,
)
from syndicate.spark.arrow import spark_schema, to_spark_arrow
from syndicate.spark.linkage import SparkLinkage

__all__ = [
    "AnomalyForest",
    "fit_anomaly_forest",
    "identifier_counts",
    "positions",
    "seller_features",
    "with_anomaly_scores",
]


def identifier_counts(links: DataFrame, linkage: SparkLinkage) -> DataFrame:
    """Per seller with links: :func:`syndicate.features.identifier_counts` in Spark.

    The distinct ``(seller_id, kind, value)`` rows are counted by kind: one distinct, not a
    ``count_distinct`` per column (which Spark expands into one copy of the links each).
    """
    known = F.col("kind").isin(*BUILT_IN_KINDS)
    distinct = links.select("seller_id", "kind", "value").distinct()
    per_kind = distinct.groupBy("seller_id").agg(
        *[
            F.sum((F.col("kind") == kind).cast("long")).alias(f"n_{kind}")
            for kind in BUILT_IN_KINDS
        ],
        F.sum((~known).cast("long")).alias("n_other_identifiers"),
    )
    shared = linkage.seller_identifiers.groupBy("seller_id").agg(
        F.sum((~F.col("hub")).cast("long")).alias("n_shared_identifiers"),
        F.sum(F.col("hub").cast("long")).alias("n_hub_identifiers"),
    )
    return per_kind.join(shared, "seller_id", "left")


class _FinishTask:
    """``mapInArrow``: each batch of joined parts through :func:`finish_features`."""

    def __init__(self, template: pl.DataFrame, output: T.StructType) -> None:
        self.template = template
        self.output = output

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            finished = finish_features(frame, self.template)
            yield from to_spark_arrow(finished, self.output).to_batches()


def seller_features(
    sellers: DataFrame,
    links: DataFrame,
    linkage: SparkLinkage,
    members: DataFrame,
    template: pl.DataFrame,
) -> DataFrame:
    """Every seller's features but ``anomaly_score`` (0 here; see :func:`fit_anomaly_forest`).

    ``members`` are the bucket rows (:attr:`syndicate.spark.buckets.ComponentRows.members`),
    ``template`` an empty Polars frame with the sellers' columns and dtypes (it names the
    tabular columns). Columns and dtypes: :func:`syndicate.features.feature_schema`, as
    Spark types.
    """
    schema = feature_schema(template)
    own = [name for name in template.columns if name in schema and name != "seller_id"]
    component = [name for name in members.columns if name in schema and name != "seller_id"]
    joined = (
        sellers.select("seller_id", *own)
        .join(identifier_counts(links, linkage), "seller_id", "left")
        .join(members.select("seller_id", *component), "seller_id", "left")
    )
    output = spark_schema(schema)
    return joined.mapInArrow(_FinishTask(template, output), output)


@dataclass(frozen=True)
class AnomalyForest:
    """The anomaly score's forest and how rows are prepared for it.

    ``columns`` are read as float32, ``medians`` fill the gaps of the columns that have
    some, NaN becomes 0 (as :func:`syndicate.features.anomaly_scores` does). ``forest`` is
    ``None`` when no score is computed (no trees, fewer than two sellers, no column): every
    seller then gets 0.5.
    """

    columns: tuple[str, ...]
    medians: dict[str, float]
    forest: Any

    def matrix(self, frame: pl.DataFrame) -> np.ndarray:
        """The rows of ``frame`` as the forest reads them."""
        cast = frame.select(pl.col(list(self.columns)).cast(pl.Float32))
        if self.medians:
            cast = cast.with_columns(
                pl.col(name).fill_null(pl.lit(value, dtype=pl.Float32))
                for name, value in self.medians.items()
            )
        return cast.fill_nan(0.0).to_numpy(order="c")

    def scores(self, frame: pl.DataFrame) -> np.ndarray:
        """The anomaly score of each row of ``frame``."""
        if self.forest is None:
            return np.full(frame.height, 0.5)
        return -np.asarray(self.forest.score_samples(self.matrix(frame)))


def _median(values: Sequence[float]) -> float:
    """Polars' median of a Float32 column whose middle values are ``values``."""
    median = pl.Series(values, dtype=pl.Float32).median()
    assert isinstance(median, float)
    return median


def positions(sellers: DataFrame, wanted: Sequence[int]) -> DataFrame:
    """``seller_id``, ``position``: the sellers at ``wanted`` places in ``seller_id`` order.

    The ids are range-sorted and numbered with ``monotonically_increasing_id`` (the
    partition in its upper 31 bits, the row within it in the lower 33); a place adds the
    sizes of the earlier partitions (one small job counts them). The few wanted rows are
    collected and handed back as a small DataFrame.
    """
    ordered = (
        sellers.select("seller_id")
        .orderBy("seller_id")
        .withColumn("__syndicate_id__", F.monotonically_increasing_id())
        .persist()
    )
    part = F.shiftright("__syndicate_id__", 33)
    sizes = ordered.groupBy(part.alias("p")).count().collect()
    offsets, total = {}, 0
    for row in sorted(sizes, key=lambda r: int(r["p"])):
        offsets[int(row["p"])] = total
        total += int(row["count"])
    lookup = F.create_map(*(F.lit(x) for pair in offsets.items() for x in pair))
    within = F.col("__syndicate_id__").bitwiseAND(F.lit((1 << 33) - 1))
    placed = ordered.select("seller_id", (lookup[part] + within).alias("position"))
    spark = sellers.sparkSession
    chosen = spark.createDataFrame([(int(i),) for i in wanted], "position long")
    found = placed.join(F.broadcast(chosen), "position").select("seller_id", "position")
    rows = [(row["seller_id"], row["position"]) for row in found.collect()]
    ordered.unpersist()
    return spark.createDataFrame(rows, "seller_id string, position long")


def fit_anomaly_forest(features: DataFrame, *, seed: int, n_trees: int) -> AnomalyForest:
    """The IsolationForest :func:`syndicate.features.anomaly_scores` fits on these rows.

    scikit-learn draws each tree's rows by seeded index from the whole table in
    ``seller_id`` order; the same indices are drawn here (from a forest fitted on a table
    of zeros of the same shape: the draw depends on the shape and the seed only), only those
    rows are collected, and the forest is fitted on a table holding them at their places
    (zeros elsewhere are never read). So the forest is the Polars engine's, tree for tree,
    without the table on the driver. Gaps are filled with exact medians (order statistics
    found by sorting).
    """
    from sklearn.ensemble import IsolationForest

    columns = tuple(
        name for name in features.columns if name != "seller_id" and name not in ANOMALY_EXCLUDED
    )
    n = features.count()
    if n_trees == 0 or n < 2 or not columns:
        return AnomalyForest(columns, {}, None)
    as_float = {name: F.col(name).cast("float") for name in columns}
    nulls = features.select(
        *[F.sum(value.isNull().cast("long")).alias(name) for name, value in as_float.items()]
    ).first()
    assert nulls is not None
    medians: dict[str, float] = {}
    for name in columns:
        missing = int(nulls[name] or 0)
        if not missing:
            continue
        present = n - missing
        if present == 0:
            medians[name] = 0.0  # fill_null(median) leaves nulls, then 0.0
            continue
        lower = (present - 1) // 2
        middle = 1 if present % 2 else 2
        values = [
            float(row[0])
            for row in features.select(as_float[name].alias("v"))
            .where(F.col("v").isNotNull())
            .orderBy("v")
            .offset(lower)
            .limit(middle)
            .collect()
        ]
        medians[name] = _median(values)
    shape = (n, len(columns))
    params = {"n_estimators": n_trees, "max_samples": min(256, n), "random_state": seed}
    # The rows each tree draws depend on the table's shape and the seed only.
    draw = IsolationForest(**params).fit(np.zeros(shape, dtype=np.float32))
    drawn = np.unique(np.concatenate([np.asarray(s) for s in draw.estimators_samples_]))
    placed = positions(features, drawn.tolist())
    rows = features.join(placed, "seller_id").select("position", *columns)
    table = pl.from_arrow(rows.toArrow())
    assert isinstance(table, pl.DataFrame)
    prepared = AnomalyForest(columns, medians, None)
    matrix = np.zeros(shape, dtype=np.float32)
    matrix[table["position"].to_numpy()] = prepared.matrix(table)
    forest = IsolationForest(**params).fit(matrix)
    return AnomalyForest(columns, medians, forest)


class _AnomalyTask:
    def __init__(self, forest: Any, output: T.StructType) -> None:
        self.forest = forest
        self.output = output

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        prepared: AnomalyForest = self.forest.value
        for batch in batches:
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            scored = frame.with_columns(pl.Series("anomaly_score", prepared.scores(frame)))
            yield from to_spark_arrow(scored, self.output).to_batches()


def with_anomaly_scores(features: DataFrame, forest: AnomalyForest) -> DataFrame:
    """``features`` with ``anomaly_score`` from ``forest`` (broadcast; batch by batch)."""
    shared = features.sparkSession.sparkContext.broadcast(forest)
    return features.mapInArrow(_AnomalyTask(shared, features.schema), features.schema)
