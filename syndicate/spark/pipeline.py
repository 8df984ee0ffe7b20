"""The whole pipeline on Spark DataFrames: :func:`run_spark`.

Stage for stage as :func:`syndicate.run_pipeline`: validation (:mod:`.validation`), the
linkage graph (:mod:`.linkage`), connected components and buckets (:mod:`.buckets`), the
per-component work on each bucket (:func:`syndicate.components.component_work`), the
feature table and anomaly score (:mod:`.features`), training on the driver, scoring in
batches and decisions per bucket (:mod:`.scoring`). Each stage is materialised (persisted
and counted) before the next, so its time is its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import numpy as np
import polars as pl
import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from syndicate.config import Config
from syndicate.errors import SchemaError
from syndicate.features.seller import check_feature_names, feature_schema, tabular_columns
from syndicate.lineage import LINEAGE_SCHEMA, Lineage, track_rings
from syndicate.model import SellerModel, Thresholds
from syndicate.pipeline import (
    REFUSED_TABLES,
    canonical_id,
    cause_of,
    spelled_differently,
    table_warnings,
    unlinked_error,
)
from syndicate.progress import Reporter
from syndicate.scoring import can_train
from syndicate.spark.arrow import polars_dtype, spark_schema, to_polars
from syndicate.spark.buckets import (
    BUCKET_SELLERS,
    BUCKET_SELLERS_KEY,
    RING_TABLE,
    ComponentBuckets,
    assign_buckets,
    component_rows,
)
from syndicate.spark.components import save
from syndicate.spark.features import fit_anomaly_forest, seller_features, with_anomaly_scores
from syndicate.spark.linkage import SparkLinkage, build_linkage
from syndicate.spark.scoring import (
    SCORED_RINGS,
    anomaly_percentiles,
    decide,
    finish_warnings,
    model_scores,
    thresholds_and_warnings,
    train,
)
from syndicate.spark.validation import SparkInputs, validate_inputs

__all__ = ["SparkRun", "run_spark"]


@dataclass(frozen=True)
class SparkRun:
    """The tables of one Spark run (DataFrames with the columns of the run folder's files).

    Attributes
    ----------
    labels, rings, features, hubs
        ``labels.parquet``, ``rings.parquet``, ``features.parquet`` and ``hubs.parquet``:
        the Polars engine's columns in its order, as Spark types
        (:func:`syndicate.spark.arrow.spark_type`); unordered.
    members
        One row per linked seller: ``seller_id``, ``component``, ``community``,
        ``ring_id`` (``Rings.members``).
    inputs, linkage, buckets
        The validated tables, the graph and the component buckets.
    model, thresholds
        The trained model (``None`` in cold start) and the decision thresholds.
    warnings
        The run's warnings, in the Polars engine's order.
    lineage
        How the rings descend from ``previous`` (``None`` without it).
    counts
        Rows kept per input table.
    timings
        Seconds per stage.
    """

    labels: DataFrame
    rings: DataFrame
    features: DataFrame
    hubs: DataFrame
    members: DataFrame
    inputs: SparkInputs
    linkage: SparkLinkage
    buckets: ComponentBuckets
    model: SellerModel | None
    thresholds: Thresholds
    warnings: list[str]
    lineage: Lineage | None
    counts: dict[str, int]
    feature_schema: dict[str, pl.DataType]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def cold_start(self) -> bool:
        """True when scores come from ring structure alone."""
        return self.model is None

    @property
    def facts(self) -> dict[str, int]:
        """What the run folder's manifest says of the Spark run: buckets, giants, the
        largest component, large-star / small-star rounds, linked sellers."""
        buckets = self.buckets
        return {
            "linked_sellers": buckets.linked,
            "buckets": buckets.n_buckets,
            "giant_components": buckets.giants,
            "largest_component": buckets.largest,
            "component_rounds": buckets.iterations,
        }


def _template(sellers: DataFrame) -> pl.DataFrame:
    """An empty Polars frame with the validated sellers' columns and dtypes (``created_at``
    is a time, whatever Spark holds it in): it names the tabular columns."""
    schema: dict[str, pl.DataType] = {}
    for spark_field in sellers.schema.fields:
        if spark_field.name == "created_at":
            schema["created_at"] = pl.Datetime("us")
            continue
        try:
            schema[spark_field.name] = polars_dtype(spark_field.dataType)
        except SchemaError:
            schema[spark_field.name] = pl.String()  # not numeric: never a feature
    return pl.DataFrame(schema=schema)


class _CanonicalTask:
    """``mapInArrow``: each seller id with its :func:`syndicate.pipeline.canonical_id`."""

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            yield from (
                frame.select("seller_id", canonical_id(pl.col("seller_id")).alias("canonical"))
                .to_arrow()
                .cast(pa.schema([("seller_id", pa.string()), ("canonical", pa.string())]))
                .to_batches()
            )


def _cause(inputs: SparkInputs) -> Callable[[str, str], str]:
    """:func:`syndicate.pipeline.cause_of` with the refused ids read in Spark: the distinct
    ids refused as unknown are collected (they are asked for only when a table lost over 5%
    of its rows), the sellers' ids are spelled canonically in batches by the Polars
    expression, and only the sellers matching a refused id's spelling come back."""

    def cause(table: str, reason: str) -> str:
        if reason != "unknown_seller":
            return cause_of(table, reason)
        refused = inputs.refused.where(
            F.col("table").isin(*REFUSED_TABLES[table]) & (F.col("reason") == reason)
        )
        ids = refused.select("seller_id").where(F.col("seller_id").isNotNull()).distinct()
        unknown = pl.Series("seller_id", [row[0] for row in ids.collect()], dtype=pl.String).sort()
        spellings = unknown.to_frame().select(canonical_id(pl.col("seller_id")).alias("canonical"))
        wanted = inputs.sellers.sparkSession.createDataFrame(
            spellings.unique().to_arrow().to_pandas(), "canonical string"
        )
        spelled = inputs.sellers.select("seller_id").mapInArrow(
            _CanonicalTask(), "seller_id string, canonical string"
        )
        known = to_polars(
            spelled.join(F.broadcast(wanted), "canonical")
            .groupBy("canonical")
            .agg(F.min("seller_id").alias("known")),
            {"canonical": pl.String(), "known": pl.String()},
        )
        return cause_of(
            table,
            reason,
            spelled=spelled_differently(unknown, known),
            examples=unknown.head(3).to_list(),
        )

    return cause


def _lineage_columns(rings: DataFrame) -> DataFrame:
    """The lineage of a first run: every ring is new, with all its members joined."""
    return rings.withColumns(
        {
            "status": F.lit("new"),
            "previous_ids": F.array().cast("array<string>"),
            "members_joined": F.col("size").cast("long"),
            "members_left": F.lit(0).cast("long"),
        }
    )


def run_spark(
    spark: SparkSession,
    sellers: DataFrame,
    links: DataFrame,
    labels: DataFrame | None = None,
    edges: DataFrame | None = None,
    config: Config | None = None,
    *,
    previous: pl.DataFrame | None = None,
    previous_thresholds: Thresholds | None = None,
    as_of: datetime | None = None,
    bucket_sellers: int | None = None,
    checkpoint: Literal["reliable", "local"] = "reliable",
    reporter: Reporter | None = None,
) -> SparkRun:
    """Run the pipeline on Spark DataFrames; the results of :func:`syndicate.run_pipeline`.

    Parameters
    ----------
    spark
        The session (with a checkpoint directory; :func:`syndicate.spark.local_session`
        makes a lean local one).
    sellers, links, labels, edges
        The input tables of the data contract, as Spark DataFrames (times as timestamps
        or dates).
    config
        Every knob; ``Config()`` by default.
    previous
        An earlier run's membership (``seller_id``, ``ring_id``, a Polars frame: its
        ``labels.parquet``): rings keep the ids they match. Its ring members are collected
        to the driver.
    previous_thresholds
        The earlier run's thresholds, kept while the labels support them.
    as_of
        The run's time (implausible ``created_at`` are judged against it; default: now).
    bucket_sellers
        Sellers per bucket of components (a larger component is a bucket alone); default:
        the session's ``spark.syndicate.bucketSellers``, else
        :data:`~syndicate.spark.buckets.BUCKET_SELLERS` (20,000).
    checkpoint
        ``"reliable"`` (the session's checkpoint directory) or ``"local"``.
    reporter
        Progress and timings (quiet by default).

    Returns
    -------
    SparkRun
        Ring ids, memberships and decisions equal the Polars engine's on the same inputs
        and seed, and scores agree to 1e-6 (set ``OMP_NUM_THREADS=1`` on both; igraph's
        PageRank otherwise differs in the last bits from run to run).

    Raises
    ------
    SchemaError
        Bad input (see :func:`syndicate.spark.validation.validate_inputs`), or no link and
        no given edge left after validation.
    """
    cfg = config or Config()
    report = reporter or Reporter(quiet=True)
    if bucket_sellers is None:
        bucket_sellers = int(spark.conf.get(BUCKET_SELLERS_KEY, str(BUCKET_SELLERS)) or 0)
    with report.step("Loading and validating the input tables"):
        inputs = validate_inputs(
            sellers, links, edges, labels, config=cfg, as_of=as_of, checkpoint=checkpoint
        )
        template = _template(inputs.sellers)
        check_feature_names(template)
        counts = {
            "sellers": inputs.sellers.count(),
            "links": inputs.links.count(),
            "edges": inputs.edges.count() if inputs.edges is not None else 0,
            "labels": inputs.labels.count(),
        }
        rejects = inputs.reject_counts()
        if counts["links"] == 0 and counts["edges"] == 0:
            raise unlinked_error(rejects, _cause(inputs))
        warnings = table_warnings(rejects, counts, _cause(inputs))
    with report.step("Building the seller graph"):
        graph = build_linkage(inputs.links.select("seller_id", "kind", "key"), inputs.edges, cfg)
        linkage = SparkLinkage(
            identifiers=save(graph.identifiers, checkpoint),
            seller_identifiers=save(graph.seller_identifiers, checkpoint),
            hubs=save(graph.hubs, checkpoint),
            edges=save(graph.edges, checkpoint),
        )
        graph.unpersist()
        buckets = assign_buckets(linkage, bucket_sellers=bucket_sellers, checkpoint=checkpoint)
    tabular = tabular_columns(template)
    with report.step("Finding rings"):
        rows = component_rows(
            linkage,
            buckets,
            inputs.sellers,
            inputs.labels,
            cfg,
            tabular=tabular,
            has_created_at=inputs.has_created_at,
            checkpoint=checkpoint,
        )
        members, ring_rows, lineage = _lineage(rows.members, rows.rings, previous, cfg)
    schema = feature_schema(template)
    with report.step("Computing seller features"):
        bare = save(
            seller_features(inputs.sellers, inputs.links, linkage, members, template), checkpoint
        )
        forest = fit_anomaly_forest(bare, seed=cfg.seed, n_trees=cfg.anomaly_trees)
        features = save(with_anomaly_scores(bare, forest), checkpoint)
    known = to_polars(
        inputs.labels, {"seller_id": pl.String(), "label": pl.Int8(), "source": pl.String()}
    ).sort("seller_id")
    fits = cfg.cv_folds if can_train(known) else None
    with report.step("Training the model and scoring", total=fits) as running:
        model, trained = train(
            features, members, rows.pairs, known, cfg, schema, on_fit=running.advance
        )
        shared = spark.sparkContext.broadcast(model) if model is not None else None
        if shared is not None:
            scored = save(model_scores(features, inputs.labels, shared), checkpoint)
            unlabelled = np.asarray(
                scored.select("full_score").toArrow().column(0).to_numpy(), dtype=np.float64
            )
        else:
            scored = spark.createDataFrame([], "seller_id string, full_score double")
            unlabelled = np.zeros(0)
        training = thresholds_and_warnings(
            model, unlabelled, known, cfg, [*warnings, *trained], previous_thresholds
        )
        use_anomaly = cfg.anomaly_trees > 0
        in_rings = members.where(F.col("ring_id").isNotNull()).select("seller_id")
        percentiles = (
            anomaly_percentiles(features, in_rings)
            if use_anomaly
            else spark.createDataFrame([], "seller_id string, anomaly_percentile double")
        )
        oof = spark.createDataFrame(
            training.oof.to_arrow().to_pandas(), "seller_id string, oof double, known boolean"
        )
        created = (
            F.col("created_at").cast("long") if inputs.has_created_at else F.lit(None).cast("long")
        )
        per_seller = (
            inputs.sellers.select("seller_id", created.alias("created_at_us"))
            .join(inputs.labels.select("seller_id", "label"), "seller_id", "left")
            .join(percentiles, "seller_id", "left")
            .join(scored, "seller_id", "left")
            .join(F.broadcast(oof), "seller_id", "left")
            .withColumn("known", F.coalesce("known", F.lit(False)))
        )
        decided = decide(
            per_seller,
            members.select("seller_id", "ring_id"),
            ring_rows,
            linkage,
            inputs.edges,
            buckets,
            cfg,
            training,
            shared,
            has_created_at=inputs.has_created_at,
            use_anomaly=use_anomaly,
            checkpoint=checkpoint,
        )
        labelled_scores = to_polars(
            decided.labels.join(inputs.labels.select("seller_id"), "seller_id", "semi"),
            {"seller_id": pl.String(), "seller_score": pl.Float64()},
        )
        all_warnings = finish_warnings(training, labelled_scores, known, cfg)
    rings = _with_lineage(decided.rings, lineage, spark)
    return SparkRun(
        labels=decided.labels,
        rings=rings,
        features=features,
        hubs=linkage.hubs,
        members=members.select("seller_id", "component", "community", "ring_id"),
        inputs=inputs,
        linkage=linkage,
        buckets=buckets,
        model=model,
        thresholds=training.thresholds,
        warnings=all_warnings,
        lineage=lineage,
        counts=counts,
        feature_schema=schema,
        timings=dict(report.timings),
    )


def _lineage(
    members: DataFrame, rings: DataFrame, previous: pl.DataFrame | None, config: Config
) -> tuple[DataFrame, DataFrame, Lineage | None]:
    """Members and rings under their final ids (an earlier run's, where they match)."""
    if previous is None:
        return members, rings, None
    current = to_polars(
        members.where(F.col("ring_id").isNotNull()).select("seller_id", "ring_id"),
        {"seller_id": pl.String(), "ring_id": pl.String()},
    )
    lineage = track_rings(current, previous, min_jaccard=config.lineage_min_jaccard)
    ids = members.sparkSession.createDataFrame(
        lineage.rings.select(pl.col("provisional_id"), pl.col("ring_id").alias("final_id"))
        .to_arrow()
        .to_pandas(),
        "provisional_id string, final_id string",
    )
    renamed = members.join(
        F.broadcast(ids), members["ring_id"] == ids["provisional_id"], "left"
    ).withColumn("ring_id", F.coalesce("final_id", "ring_id"))
    renamed_rings = rings.join(
        F.broadcast(ids), rings["ring_id"] == ids["provisional_id"], "left"
    ).withColumn("ring_id", F.coalesce("final_id", "ring_id"))
    return (
        renamed.drop("provisional_id", "final_id"),
        renamed_rings.drop("provisional_id", "final_id").select(list(RING_TABLE)),
        lineage,
    )


def _with_lineage(rings: DataFrame, lineage: Lineage | None, spark: SparkSession) -> DataFrame:
    """``rings.parquet``'s columns: the scored rings and their lineage."""
    columns = [*SCORED_RINGS, *LINEAGE_SCHEMA]
    if lineage is None:
        return _lineage_columns(rings).select(columns)
    table = lineage.rings.drop("provisional_id").select("ring_id", *LINEAGE_SCHEMA)
    schema = spark_schema(dict(table.schema))
    frame = spark.createDataFrame(table.to_arrow().to_pandas(), schema)
    return rings.join(F.broadcast(frame), "ring_id", "left").select(columns)
