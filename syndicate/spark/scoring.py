"""Scores, decisions and reasons in Spark: train on the driver, score and decide in batches.

As in :func:`syndicate.scoring.score_marketplace`, with the work split by size:

* **on the driver** (labelled sellers are few): the cross-fitted model
  (:func:`syndicate.model.fit_seller_model` on the labelled sellers' features, their
  cross-validation groups and the neighbour pairs between them) and its thresholds (from
  the out-of-fold scores and the unlabelled sellers' scores, collected: 8 bytes a seller);
* **in batches** (``mapInArrow``, the model broadcast): the full model's score of every
  unlabelled seller;
* **per bucket of components** (``applyInArrow``, :func:`decide_bucket`): ring features
  (the members' anomaly percentiles among all sellers computed in Spark beforehand), the
  sellers' final scores, ring scores, decisions, reasons and ring evidence: the Polars
  engine's own functions on the bucket's rows. Sellers in no component go through the same
  function in batches.

The Polars engine's decide-and-explain step and its threshold and warning helpers are
private to :mod:`syndicate.scoring`; they are used as they are here, so that the two
engines decide alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl
import pyarrow as pa
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from syndicate.config import Config
from syndicate.features.ring import RING_FEATURES, ring_features
from syndicate.graphs.communities import Rings
from syndicate.graphs.linkage import HUBS_SCHEMA, LinkageGraph
from syndicate.lineage import LINEAGE_SCHEMA
from syndicate.model import SellerModel, Thresholds
from syndicate.pipeline import RINGS_COLUMNS
from syndicate.scoring import (
    LABELS_SCHEMA,
    WEAK_AUROC,
    _decide_and_explain,
    _from_structure,
    _model_thresholds,
    _Scored,
    _warn_large_group,
    can_train,
    cv_groups,
    fit_configured,
    ring_scores,
    threshold_warnings,
    trained_scores,
)
from syndicate.spark.arrow import (
    grouped_function,
    spark_schema,
    spark_type,
    to_polars,
    to_spark_arrow,
)
from syndicate.spark.buckets import RING_TABLE, ComponentBuckets
from syndicate.spark.components import save
from syndicate.spark.linkage import SparkLinkage
from syndicate.terminal import counted

__all__ = [
    "LABELS_COLUMNS",
    "SCORED_RINGS",
    "Training",
    "anomaly_percentiles",
    "decide",
    "decide_bucket",
    "model_scores",
    "train",
]

#: ``labels.parquet``'s columns and dtypes.
LABELS_COLUMNS: dict[str, pl.DataType] = {name: dtype for name, (dtype, _) in LABELS_SCHEMA.items()}

_RING_DTYPES: dict[str, pl.DataType] = {
    **RING_TABLE,
    **{name: dtype for name, (dtype, _) in RING_FEATURES.items()},
    "ring_score": pl.Float64(),
    "mean_seller_score": pl.Float64(),
    "decision": pl.String(),
    "decision_source": pl.String(),
    "model_decision": pl.String(),
    "strategies": pl.List(pl.String()),
    "evidence": pl.List(pl.String()),
}

#: The scored ring table's columns (``rings.parquet`` without the lineage columns).
SCORED_RINGS: dict[str, pl.DataType] = {
    name: _RING_DTYPES[name] for name in RINGS_COLUMNS if name not in LINEAGE_SCHEMA
}

#: What :func:`decide_bucket` reads of each seller.
DECIDE_SELLERS: dict[str, pl.DataType] = {
    "seller_id": pl.String(),
    "ring_id": pl.String(),
    "created_at_us": pl.Int64(),
    "label": pl.Int8(),
    "anomaly_percentile": pl.Float64(),
    "full_score": pl.Float64(),
    "oof": pl.Float64(),
    "known": pl.Boolean(),
}
_HELD: dict[str, pl.DataType] = {
    "seller_id": pl.String(),
    "kind": pl.String(),
    "key": pl.String(),
    "n_sellers": pl.UInt32(),
}
_GIVEN: dict[str, pl.DataType] = {"src": pl.String(), "dst": pl.String(), "relation": pl.String()}


@dataclass(frozen=True)
class Training:
    """What the driver decided before the sellers are scored.

    Attributes
    ----------
    model
        The cross-fitted model, or ``None`` in cold start.
    thresholds
        The decision thresholds.
    warnings
        Messages so far, in the Polars engine's order (:func:`finish_warnings` adds the
        last ones).
    oof
        One row per labelled seller: ``seller_id``, ``oof`` (its out-of-fold score, null
        when none could be made), ``known`` (true).
    """

    model: SellerModel | None
    thresholds: Thresholds
    warnings: list[str]
    oof: pl.DataFrame

    @property
    def cold_start(self) -> bool:
        """True when scores come from ring structure alone."""
        return self.model is None


def anomaly_percentiles(features: DataFrame, sellers: DataFrame) -> DataFrame:
    """``seller_id``, ``anomaly_percentile`` of ``sellers`` among all rows of ``features``.

    :func:`syndicate.features.ring.anomaly_percentiles` (``(rank - 1) / (n - 1)``, ties at
    their average rank) from the distinct scores and their counts: the number of sellers
    scoring below plus the middle of the ties, exact in doubles. Polars divides by a number
    as it multiplies by its reciprocal, and so does this. (The running count is one window
    over the distinct scores: one partition.)
    """
    n = features.count()
    counts = features.groupBy("anomaly_score").agg(F.count(F.lit(1)).alias("ties"))
    running = Window.orderBy("anomaly_score").rowsBetween(Window.unboundedPreceding, -1)
    below = F.coalesce(F.sum("ties").over(running), F.lit(0)).cast("double")
    rank = below + (F.col("ties").cast("double") + 1.0) / 2.0
    ranked = counts.select(
        "anomaly_score",
        ((rank - 1.0) * F.lit(1.0 / float(max(n - 1, 1)))).alias("anomaly_percentile"),
    )
    scored = features.select("seller_id", "anomaly_score").join(sellers, "seller_id", "semi")
    return scored.join(ranked, "anomaly_score").select("seller_id", "anomaly_percentile")


def train(
    features: DataFrame,
    members: DataFrame,
    pairs: DataFrame,
    labels: pl.DataFrame,
    config: Config,
    schema: dict[str, pl.DataType],
    *,
    on_fit: Callable[[], None] | None = None,
) -> tuple[SellerModel | None, list[str]]:
    """Fit the seller model on the driver, as :func:`syndicate.scoring.score_marketplace`
    does, on the labelled sellers' rows collected from Spark.

    ``schema`` is the feature table's Polars schema; ``pairs`` the neighbour pairs between
    labelled sellers (:attr:`syndicate.spark.buckets.ComponentRows.pairs`). Returns the
    model (``None`` when the labels cannot train one: cold start) and the warning about a
    cross-validation group holding too many labels, if any. ``on_fit`` is called after each
    fold model (progress bars).
    """
    warnings: list[str] = []
    if not can_train(labels):
        return None, warnings
    ids = members.sparkSession.createDataFrame(labels.select("seller_id").to_arrow().to_pandas())
    labelled = to_polars(features.join(F.broadcast(ids), "seller_id", "semi"), schema)
    places = to_polars(
        members.join(F.broadcast(ids), "seller_id", "semi"),
        {
            "seller_id": pl.String(),
            "component": pl.String(),
            "community": pl.String(),
            "ring_id": pl.String(),
        },
    )
    groups = cv_groups(Rings(places, pl.DataFrame()))
    _warn_large_group(groups, labels, warnings)
    found = to_polars(pairs, {"scope": pl.String(), "seller_id": pl.String(), "other": pl.String()})
    neighbours = {
        scope: found.filter(pl.col("scope") == scope).select("seller_id", "other")
        for scope in ("nbr1", "nbr2")
    }
    model = fit_configured(labelled, labels, groups, neighbours, config, on_fit)
    return model, warnings


class _ScoreTask:
    def __init__(self, model: Any, output: T.StructType) -> None:
        self.model = model
        self.output = output

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        model: SellerModel = self.model.value
        for batch in batches:
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            scores = model.score(frame) if frame.height else np.zeros(0)
            scored = frame.select("seller_id", pl.Series("full_score", scores, dtype=pl.Float64))
            yield from to_spark_arrow(scored, self.output).to_batches()


def model_scores(features: DataFrame, labels: DataFrame, shared_model: Any) -> DataFrame:
    """``seller_id``, ``full_score``: the full model's score of every unlabelled seller."""
    output = spark_schema({"seller_id": pl.String(), "full_score": pl.Float64()})
    unlabelled = features.join(labels.select("seller_id"), "seller_id", "anti")
    return unlabelled.mapInArrow(_ScoreTask(shared_model, output), output)


def thresholds_and_warnings(
    model: SellerModel | None,
    unlabelled: np.ndarray,
    labels: pl.DataFrame,
    config: Config,
    warnings: list[str],
    previous: Thresholds | None,
) -> Training:
    """The thresholds (and the warnings that come with them), as the Polars engine draws
    them; the out-of-fold table for the buckets."""
    oof_schema = {"seller_id": pl.String(), "oof": pl.Float64(), "known": pl.Boolean()}
    if model is None:
        empty = pl.DataFrame(schema={"seller_id": pl.String()})
        scored = _from_structure(
            empty,
            empty.with_columns(pl.lit(None, dtype=pl.String).alias("ring_id")),
            pl.DataFrame(schema={"ring_id": pl.String(), "structure_score": pl.Float64()}),
            labels,
            config,
            warnings,
        )
        return Training(None, scored.thresholds, warnings, pl.DataFrame(schema=oof_schema))
    oof = model.oof.select(
        "seller_id", pl.col("score").fill_nan(None).alias("oof"), pl.lit(True).alias("known")
    )
    unscored = int(oof["oof"].null_count())
    if unscored:
        warnings.append(
            f"no out-of-fold score for {counted(unscored, 'labelled seller')} (the other folds "
            "held one class only: are all known-bad sellers in one component?); they get their "
            "ring's structure score"
        )
    thresholds = _model_thresholds(model, unlabelled, config, warnings, previous)
    auroc = model.card["cv"]["auroc"]
    if auroc is not None and auroc < WEAK_AUROC:
        warnings.append(
            f"the model barely beats chance (out-of-fold AUROC {auroc:.2f}); its scores and "
            "thresholds carry little information"
        )
    return Training(model, thresholds, warnings, oof.cast(oof_schema))  # type: ignore[arg-type]


def finish_warnings(
    training: Training, labelled_scores: pl.DataFrame, labels: pl.DataFrame, config: Config
) -> list[str]:
    """The last warnings (few known-bad sellers, no threshold reached) and the model card's
    thresholds, once the labelled sellers' final scores are known (``seller_id``,
    ``seller_score``)."""
    warnings = list(training.warnings)
    model, thresholds = training.model, training.thresholds
    if model is None:
        return warnings
    n_bad = int((labels["label"] == 1).sum())
    warnings += threshold_warnings(model, thresholds, labelled_scores, labels, n_bad, config)
    return warnings


def _bucket_linkage(held: pl.DataFrame) -> LinkageGraph:
    """A graph holding a bucket's shared identifiers (all reasons and evidence read)."""
    held = held.cast(_HELD)  # type: ignore[arg-type]
    return LinkageGraph(
        identifiers=held.select("kind", "key", "n_sellers")
        .unique(["kind", "key"])
        .with_columns(pl.lit(False).alias("hub")),
        seller_identifiers=held.select("seller_id", "kind", "key", pl.lit(False).alias("hub")),
        hubs=pl.DataFrame(schema=HUBS_SCHEMA),
        edges=pl.DataFrame(schema={"src": pl.String, "dst": pl.String}),
    )


def decide_bucket(
    sellers: pl.DataFrame,
    rings: pl.DataFrame,
    held: pl.DataFrame,
    given: pl.DataFrame,
    config: Config,
    thresholds: Thresholds,
    model: SellerModel | None,
    *,
    has_created_at: bool,
    use_anomaly: bool,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Scores, decisions and reasons of a bucket's sellers; scores and evidence of its rings.

    ``sellers`` has :data:`DECIDE_SELLERS` (each seller's ring after lineage, time, label,
    anomaly percentile and model scores), ``rings`` the rings' :data:`RING_TABLE` rows,
    ``held`` the bucket's shared identifiers (not hubs) with their holder counts, ``given``
    the given edges between its sellers. Returns ``labels.parquet``'s rows and the scored
    ring rows (:data:`SCORED_RINGS`), computed by the Polars engine's functions:
    :func:`syndicate.features.ring.ring_features`, the trained model's score sources (or
    cold start's), :func:`syndicate.scoring.ring_scores` and its decide-and-explain step.
    """
    members = sellers.select("seller_id", "ring_id")
    times = (
        [pl.col("created_at_us").cast(pl.Datetime("us")).alias("created_at")]
        if has_created_at
        else []
    )
    table = sellers.select("seller_id", *times)
    labels = sellers.filter(pl.col("label").is_not_null()).select(
        "seller_id", pl.col("label").cast(pl.Int8)
    )
    percentiles = (
        sellers.filter(pl.col("anomaly_percentile").is_not_null()).select(
            "seller_id", "anomaly_percentile"
        )
        if use_anomaly
        else None
    )
    found = Rings(members=members, rings=rings.cast(RING_TABLE))  # type: ignore[arg-type]
    ring_table = ring_features(table, found, labels, percentiles=percentiles)
    if model is None:
        scored = _from_structure(table, members, ring_table, labels, config, [])
    else:
        scored = _Scored(
            trained_scores(sellers, members, ring_table),
            ring_table,
            thresholds,
            model,
        )
        scored = _Scored(
            scored.sellers,
            ring_table.join(ring_scores(scored.sellers), on="ring_id", how="left"),
            thresholds,
            model,
        )
    given_edges = given.cast(_GIVEN) if given.height else None  # type: ignore[arg-type]
    decided = _decide_and_explain(
        scored, members, _bucket_linkage(held), labels, given_edges, config, [], None
    )
    return decided.sellers, decided.rings.select(list(SCORED_RINGS))


class _DecideTask:
    """``applyInArrow`` over buckets (and ``mapInArrow`` over the sellers in none)."""

    def __init__(
        self,
        config: Config,
        thresholds: Thresholds,
        model: Any,
        output: T.StructType,
        *,
        has_created_at: bool,
        use_anomaly: bool,
    ) -> None:
        self.config = config
        self.thresholds = thresholds
        self.model = model
        self.output = output
        self.has_created_at = has_created_at
        self.use_anomaly = use_anomaly

    def _decide(
        self, sellers: pl.DataFrame, rings: pl.DataFrame, held: pl.DataFrame, given: pl.DataFrame
    ) -> pa.Table:
        model = self.model.value if self.model is not None else None
        labels, ring_rows = decide_bucket(
            sellers.cast(DECIDE_SELLERS),  # type: ignore[arg-type]
            rings,
            held,
            given,
            self.config,
            self.thresholds,
            model,
            has_created_at=self.has_created_at,
            use_anomaly=self.use_anomaly,
        )
        fields = [field.name for field in self.output.fields]
        parts = [_union(0, "labels", labels, fields), _union(1, "ring", ring_rows, fields)]
        return pa.concat_tables([to_spark_arrow(part, self.output) for part in parts])

    def __call__(self, table: pa.Table) -> pa.Table:
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        part = pl.col("part")
        return self._decide(
            frame.filter(part == 0).select(pl.col("seller").struct.unnest()),
            frame.filter(part == 1).select(pl.col("ring").struct.unnest()),
            frame.filter(part == 2).select(pl.col("held").struct.unnest()),
            frame.filter(part == 3).select(pl.col("given").struct.unnest()),
        )

    def unlinked(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """The sellers in no component: no ring, no identifier, no given edge."""
        for batch in batches:
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            empty_rings = pl.DataFrame(schema=RING_TABLE)
            yield from self._decide(
                frame, empty_rings, pl.DataFrame(schema=_HELD), pl.DataFrame(schema=_GIVEN)
            ).to_batches()


def _union(code: int, name: str, frame: pl.DataFrame, fields: Sequence[str]) -> pl.DataFrame:
    columns = [pl.lit(code, dtype=pl.Int8).alias("part")]
    columns += [
        (pl.struct(frame.columns) if field == name else pl.lit(None)).alias(field)
        for field in fields
        if field != "part"
    ]
    return frame.select(columns) if frame.height else frame.head(0).select(columns)


@dataclass(frozen=True)
class Decided:
    """``labels.parquet``'s rows (every seller) and the scored rings (saved)."""

    labels: DataFrame
    rings: DataFrame


def decide(
    sellers: DataFrame,
    linked: DataFrame,
    ring_rows: DataFrame,
    linkage: SparkLinkage,
    edges: DataFrame | None,
    buckets: ComponentBuckets,
    config: Config,
    training: Training,
    shared_model: Any,
    *,
    has_created_at: bool,
    use_anomaly: bool,
    checkpoint: Literal["reliable", "local"] = "reliable",
) -> Decided:
    """Decide every seller and ring: the linked ones by bucket, the others in batches.

    ``sellers`` holds every seller with the columns of :data:`DECIDE_SELLERS` but
    ``ring_id``; ``linked`` is ``seller_id``, ``ring_id`` (after lineage) of the linked
    sellers; ``ring_rows`` the rings (:data:`RING_TABLE`, after lineage).
    """
    output = T.StructType(
        [
            T.StructField("part", T.ByteType()),
            T.StructField("labels", spark_schema(LABELS_COLUMNS)),
            T.StructField("ring", spark_schema(SCORED_RINGS)),
        ]
    )
    task = _DecideTask(
        config,
        training.thresholds,
        shared_model,
        output,
        has_created_at=has_created_at,
        use_anomaly=use_anomaly,
    )
    bucket_of = buckets.assignment.select("seller_id", "bucket")
    seller_struct = F.struct(
        *[F.col(name).cast(spark_type(dtype)).alias(name) for name, dtype in DECIDE_SELLERS.items()]
    )
    linked_rows = (
        sellers.join(linked, "seller_id")
        .join(bucket_of, "seller_id")
        .select("bucket", F.lit(0).cast("byte").alias("part"), seller_struct.alias("seller"))
    )
    ring_bucket = (
        linked.where(F.col("ring_id").isNotNull())
        .join(bucket_of, "seller_id")
        .select("ring_id", "bucket")
        .distinct()
    )
    ring_struct = F.struct(
        *[F.col(name).cast(spark_type(dtype)).alias(name) for name, dtype in RING_TABLE.items()]
    )
    rings = ring_rows.join(ring_bucket, "ring_id").select(
        "bucket", F.lit(1).cast("byte").alias("part"), ring_struct.alias("ring")
    )
    held = (
        linkage.seller_identifiers.where(~F.col("hub"))
        .join(linkage.identifiers.select("kind", "key", "n_sellers"), ["kind", "key"])
        .join(bucket_of, "seller_id")
    )
    held_struct = F.struct(
        *[F.col(name).cast(spark_type(dtype)).alias(name) for name, dtype in _HELD.items()]
    )
    held_rows = held.select(
        "bucket", F.lit(2).cast("byte").alias("part"), held_struct.alias("held")
    )
    given_struct = F.struct(
        *[F.col(name).cast(spark_type(dtype)).alias(name) for name, dtype in _GIVEN.items()]
    )
    parts = [linked_rows, rings, held_rows]
    if edges is not None:
        given = edges.join(bucket_of.withColumnRenamed("seller_id", "src"), "src").select(
            "bucket", F.lit(3).cast("byte").alias("part"), given_struct.alias("given")
        )
        parts.append(given)
    kinds = {
        "seller": linked_rows.schema["seller"].dataType,
        "ring": rings.schema["ring"].dataType,
        "held": held_rows.schema["held"].dataType,
        "given": spark_schema(_GIVEN),
    }

    def padded(frame: DataFrame) -> DataFrame:
        return frame.select(
            "bucket",
            "part",
            *[
                (F.col(name) if name in frame.columns else F.lit(None).cast(kind)).alias(name)
                for name, kind in kinds.items()
            ],
        )

    union = padded(parts[0])
    for part in parts[1:]:
        union = union.unionByName(padded(part))
    partitions = max(1, min(buckets.n_buckets + buckets.giants, 4 * _parallelism(sellers)))
    by_bucket = (
        union.repartition(partitions, "bucket")
        .groupBy("bucket")
        .applyInArrow(grouped_function(task), output)
    )
    unlinked = (
        sellers.join(linked, "seller_id", "anti")
        .select(
            *[
                (F.lit(None) if name == "ring_id" else F.col(name))
                .cast(spark_type(dtype))
                .alias(name)
                for name, dtype in DECIDE_SELLERS.items()
            ]
        )
        .mapInArrow(task.unlinked, output)
    )
    result = save(by_bucket.unionByName(unlinked), checkpoint)
    return Decided(
        labels=result.where(F.col("part") == 0).select("labels.*"),
        rings=result.where(F.col("part") == 1).select("ring.*"),
    )


def _parallelism(frame: DataFrame) -> int:
    return max(1, frame.sparkSession.sparkContext.defaultParallelism)
