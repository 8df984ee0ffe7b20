"""Buckets of whole components, and the per-component work run on each of them.

The linked sellers' connected components (over every edge; the ring backbone's
components lie inside them) are hashed into ``n`` buckets of about ``bucket_sellers``
sellers; a component larger than that (a giant glued by popular identifiers) gets a
bucket of its own, so it is one task and the others are spread. Each bucket's edges,
shared identifiers and sellers are brought together by one ``groupBy(bucket)`` and handed
to :func:`syndicate.components.component_work` (``applyInArrow``: Arrow tables in and out,
no pandas), the function the single-machine engine runs on the whole graph.

A bucket is a group; Spark's ``applyInPandas``/``applyInArrow`` costs about four times
more with one group per component, and the work of a group does not depend on what else is
in it (see :mod:`syndicate.components.work`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import polars as pl
import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from syndicate.components import BUCKET_EDGES, BUCKET_IDENTIFIERS, component_work
from syndicate.config import Config
from syndicate.features.seller import (
    COMPONENT_FEATURES,
    NEIGHBOURHOOD_AGGREGATES,
    SELLER_FEATURES,
    neighbour_pairs,
)
from syndicate.spark.arrow import (
    grouped_function,
    polars_dtype,
    spark_schema,
    spark_type,
    to_spark_arrow,
)
from syndicate.spark.components import connected_components, save, seller_codes
from syndicate.spark.linkage import SparkLinkage

__all__ = [
    "BUCKET_SELLERS",
    "BUCKET_SELLERS_KEY",
    "MEMBER_COLUMNS",
    "RING_TABLE",
    "ComponentBuckets",
    "ComponentRows",
    "assign_buckets",
    "component_feature_names",
    "component_rows",
]

#: Sellers per bucket the engine aims at; a component larger than this is a bucket alone.
BUCKET_SELLERS = 20_000
#: The session setting that overrides :data:`BUCKET_SELLERS` (``spark-defaults.conf``,
#: ``--conf``, or ``spark.conf.set``).
BUCKET_SELLERS_KEY = "spark.syndicate.bucketSellers"

#: The columns of a ring found by :func:`syndicate.find_rings` (``Rings.rings``).
RING_TABLE: dict[str, pl.DataType] = {
    "ring_id": pl.String(),
    "size": pl.UInt32(),
    "n_edges": pl.UInt32(),
    "density": pl.Float64(),
    "weight": pl.Float64(),
    "component_size": pl.UInt32(),
    "kinds": pl.List(pl.String()),
    "detectors": pl.List(pl.String()),
    "block_density": pl.Float64(),
}

#: Each linked seller's place: ``Rings.members`` and its dense block.
MEMBER_COLUMNS: dict[str, pl.DataType] = {
    "seller_id": pl.String(),
    "component": pl.String(),
    "community": pl.String(),
    "ring_id": pl.String(),
    "block_id": pl.String(),
}

_PAIRS: dict[str, pl.DataType] = {
    "scope": pl.String(),
    "seller_id": pl.String(),
    "other": pl.String(),
}


@dataclass(frozen=True)
class ComponentBuckets:
    """Each linked seller's component and bucket.

    Attributes
    ----------
    assignment
        ``seller_id``, ``component`` (the code of its smallest seller, a long), ``bucket``
        (a long): one row per linked seller; checkpointed.
    linked
        Linked sellers (sellers with an edge).
    n_buckets
        Hash buckets; giants (components over ``bucket_sellers``) come on top.
    giants
        Components with a bucket of their own.
    largest
        Sellers in the largest component.
    iterations
        Rounds of large-star / small-star.
    """

    assignment: DataFrame
    linked: int
    n_buckets: int
    giants: int
    largest: int
    iterations: int


def assign_buckets(
    linkage: SparkLinkage,
    *,
    bucket_sellers: int = BUCKET_SELLERS,
    checkpoint: Literal["reliable", "local"] = "reliable",
) -> ComponentBuckets:
    """Components of the seller graph (every edge), hashed into buckets; giants alone.

    ``n = ceil(linked / bucket_sellers)`` buckets; a component's bucket is
    ``xxhash64(component) mod n``, or ``n + component`` for a component of more than
    ``bucket_sellers`` sellers (its own).
    """
    if bucket_sellers < 1:
        raise ValueError(f"bucket_sellers must be at least 1, got {bucket_sellers!r}")
    edges = linkage.edges
    ends = edges.select(F.col("src").alias("seller_id")).unionByName(
        edges.select(F.col("dst").alias("seller_id"))
    )
    codes = seller_codes(ends, checkpoint=checkpoint)
    pairs = edges.join(codes.toDF("src", "a"), "src").join(codes.toDF("dst", "b"), "dst")
    found = connected_components(pairs, src="a", dst="b", checkpoint=checkpoint)
    per_seller = codes.join(found.labels, "node").select("seller_id", "component")
    sizes = per_seller.groupBy("component").agg(F.count(F.lit(1)).alias("size")).persist()
    summary = sizes.agg(
        F.coalesce(F.sum("size"), F.lit(0)).alias("linked"),
        F.coalesce(F.max("size"), F.lit(0)).alias("largest"),
        F.sum((F.col("size") > bucket_sellers).cast("long")).alias("giants"),
    ).first()
    assert summary is not None
    linked, largest = int(summary["linked"]), int(summary["largest"])
    n_buckets = max(1, math.ceil(linked / bucket_sellers))
    bucket = F.when(F.col("size") > bucket_sellers, F.col("component") + n_buckets).otherwise(
        F.pmod(F.xxhash64("component"), F.lit(n_buckets))
    )
    assignment = per_seller.join(sizes, "component").select(
        "seller_id", "component", bucket.cast("long").alias("bucket")
    )
    assignment = save(assignment, checkpoint)
    sizes.unpersist()
    return ComponentBuckets(
        assignment=assignment,
        linked=linked,
        n_buckets=n_buckets,
        giants=int(summary["giants"] or 0),
        largest=largest,
        iterations=found.iterations,
    )


def component_feature_names(tabular: Sequence[str]) -> dict[str, pl.DataType]:
    """The columns :func:`syndicate.features.component_features` gives, with dtypes."""
    names: dict[str, pl.DataType] = {name: SELLER_FEATURES[name][0] for name in COMPONENT_FEATURES}
    for column in tabular:
        for suffix in NEIGHBOURHOOD_AGGREGATES:
            names[f"{column}_{suffix}"] = pl.Float64()
    return names


@dataclass(frozen=True)
class ComponentRows:
    """What the per-component work gave, bucket by bucket (saved).

    Attributes
    ----------
    members
        One row per linked seller: :data:`MEMBER_COLUMNS` and the component features
        (:func:`component_feature_names`; nulls where a part has nothing to say).
    rings
        One row per ring: :data:`RING_TABLE`.
    pairs
        ``scope`` (``nbr1``, ``nbr2``), ``seller_id``, ``other``: the neighbour pairs of
        labelled sellers with another labelled seller (what training's label shifts need).
    """

    members: DataFrame
    rings: DataFrame
    pairs: DataFrame


class _ComponentTask:
    """The Arrow function Spark runs on each bucket (pickled to the Python workers)."""

    def __init__(
        self,
        config: Config,
        linked_total: int,
        tabular: Sequence[str],
        has_created_at: bool,
        output: T.StructType,
        features: dict[str, pl.DataType],
        tabular_types: dict[str, pl.DataType],
    ) -> None:
        self.config = config
        self.linked_total = linked_total
        self.tabular = list(tabular)
        self.has_created_at = has_created_at
        self.output = output
        self.features = features
        self.tabular_types = tabular_types

    def __call__(self, table: pa.Table) -> pa.Table:
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        part = pl.col("part")
        edges = frame.filter(part == 0).select(pl.col("edge").struct.unnest())
        held = frame.filter(part == 1).select(pl.col("held").struct.unnest())
        rows = frame.filter(part == 2).select(pl.col("seller").struct.unnest())
        own = [
            pl.col(f"c{i}").cast(self.tabular_types[name]).alias(name)
            for i, name in enumerate(self.tabular)
        ]
        created = (
            [pl.col("created_at_us").cast(pl.Datetime("us")).alias("created_at")]
            if self.has_created_at
            else []
        )
        sellers = rows.select("seller_id", *created, *own)
        labels = rows.filter(pl.col("label").is_not_null()).select(
            "seller_id", pl.col("label").cast(pl.Int8)
        )
        work = component_work(
            edges,
            held,
            sellers,
            labels if labels.height else None,
            self.config,
            linked_total=self.linked_total,
        )
        features = work.features
        missing = [
            pl.lit(None, dtype=dtype).alias(name)
            for name, dtype in self.features.items()
            if name not in features.columns
        ]
        members = (
            work.members.join(
                work.blocks.select("seller_id", "block_id"), on="seller_id", how="left"
            )
            .join(features.with_columns(missing), on="seller_id", how="left")
            .select(*MEMBER_COLUMNS, *self.features)
        )
        labelled = labels.select("seller_id")
        pairs = (
            [
                found.join(labelled, on="seller_id", how="semi")
                .join(labelled.rename({"seller_id": "other"}), on="other", how="semi")
                .select(pl.lit(scope).alias("scope"), "seller_id", "other")
                for scope, found in neighbour_pairs(work.linkage).items()
            ]
            if labels.height > 1
            else []
        )
        pair_rows = pl.concat(pairs) if pairs else pl.DataFrame(schema=_PAIRS)
        fields = {field.name: field.dataType for field in self.output.fields}
        parts = [
            _rows(0, "seller", members, fields),
            _rows(1, "ring", work.rings.select(list(RING_TABLE)), fields),
            _rows(2, "pair", pair_rows, fields),
        ]
        return pa.concat_tables(
            [to_spark_arrow(part, self.output) for part in parts if part.height]
            or [to_spark_arrow(parts[0].head(0), self.output)]
        )


def _rows(code: int, name: str, frame: pl.DataFrame, fields: dict[str, T.DataType]) -> pl.DataFrame:
    """``frame`` as the ``name`` struct of union rows with ``part = code``."""
    columns = [pl.lit(code, dtype=pl.Int8).alias("part")]
    for field in fields:
        if field == "part":
            continue
        if field == name:
            columns.append(pl.struct(frame.columns).alias(name))
        else:
            columns.append(pl.lit(None).alias(field))
    return frame.select(columns) if frame.height else frame.head(0).select(columns)


def component_rows(
    linkage: SparkLinkage,
    buckets: ComponentBuckets,
    sellers: DataFrame,
    labels: DataFrame,
    config: Config,
    *,
    tabular: Sequence[str],
    has_created_at: bool,
    checkpoint: Literal["reliable", "local"] = "reliable",
) -> ComponentRows:
    """Run :func:`syndicate.components.component_work` on every bucket of components.

    ``sellers`` are the validated sellers (``created_at`` in microseconds when
    ``has_created_at``; ``tabular`` their numeric columns, in order), ``labels`` the
    validated labels. One shuffle brings each bucket's edges, identifiers and sellers
    together; the result is persisted and split into members, rings and pairs.
    """
    assignment = buckets.assignment
    bucket_of = assignment.select("seller_id", "bucket")
    edge_struct = F.struct(
        *[F.col(name).cast(spark_type(dtype)).alias(name) for name, dtype in BUCKET_EDGES.items()]
    )
    edge_rows = linkage.edges.join(bucket_of.withColumnRenamed("seller_id", "src"), "src").select(
        "bucket", F.lit(0).cast("byte").alias("part"), edge_struct.alias("edge")
    )
    held = (
        linkage.seller_identifiers.where(~F.col("hub"))
        .join(linkage.identifiers.select("kind", "key", "n_sellers"), ["kind", "key"])
        .join(bucket_of, "seller_id")
    )
    held_struct = F.struct(
        *[
            F.col(name).cast(spark_type(dtype)).alias(name)
            for name, dtype in BUCKET_IDENTIFIERS.items()
        ]
    )
    held_rows = held.select(
        "bucket", F.lit(1).cast("byte").alias("part"), held_struct.alias("held")
    )
    labelled = labels.select("seller_id", F.col("label").cast("byte").alias("label"))
    seller_fields = [
        F.col("seller_id"),
        *([F.col("created_at").cast("long").alias("created_at_us")] if has_created_at else []),
        *[F.col(name).alias(f"c{i}") for i, name in enumerate(tabular)],
        F.col("label"),
    ]
    seller_rows = (
        sellers.join(bucket_of, "seller_id")
        .join(labelled, "seller_id", "left")
        .select(
            "bucket", F.lit(2).cast("byte").alias("part"), F.struct(*seller_fields).alias("seller")
        )
    )
    edge_type = edge_rows.schema["edge"].dataType
    held_type = held_rows.schema["held"].dataType
    seller_type = seller_rows.schema["seller"].dataType
    columns = {"edge": edge_type, "held": held_type, "seller": seller_type}

    def union_part(frame: DataFrame, name: str) -> DataFrame:
        return frame.select(
            "bucket",
            "part",
            *[
                (F.col(other) if other == name else F.lit(None).cast(kind)).alias(other)
                for other, kind in columns.items()
            ],
        )

    union = union_part(edge_rows, "edge").unionByName(union_part(held_rows, "held"))
    union = union.unionByName(union_part(seller_rows, "seller"))
    tabular_types = {name: polars_dtype(sellers.schema[name].dataType) for name in tabular}
    features = component_feature_names(tabular)
    output = T.StructType(
        [
            T.StructField("part", T.ByteType()),
            T.StructField("seller", spark_schema({**MEMBER_COLUMNS, **features})),
            T.StructField("ring", spark_schema(RING_TABLE)),
            T.StructField("pair", spark_schema(_PAIRS)),
        ]
    )
    task = _ComponentTask(
        config, buckets.linked, tabular, has_created_at, output, features, tabular_types
    )
    partitions = max(1, min(buckets.n_buckets + buckets.giants, 4 * _parallelism(sellers)))
    result = save(
        union.repartition(partitions, "bucket")
        .groupBy("bucket")
        .applyInArrow(grouped_function(task), output),
        checkpoint,
    )
    return ComponentRows(
        members=result.where(F.col("part") == 0).select("seller.*"),
        rings=result.where(F.col("part") == 1).select("ring.*"),
        pairs=result.where(F.col("part") == 2).select("pair.*"),
    )


def _parallelism(frame: DataFrame) -> int:
    return max(1, frame.sparkSession.sparkContext.defaultParallelism)
