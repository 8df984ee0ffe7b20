"""The seller linkage graph in Spark: distinct links, hub hold-back, pair expansion, weights.

The rules are those of :func:`syndicate.graphs.linkage.build_linkage`, stage for stage, in
DataFrame operations only:

1. **Distinct links.** Links with a usable key (not null, not empty, not a placeholder:
   links without ``key`` are normalised first, by :func:`syndicate.spark.normalise_links`)
   become distinct ``(seller_id, kind, key)`` rows; identifiers held by one seller are
   dropped.
2. **Hubs.** An identifier held by more sellers than its kind's limit is a hub
   (``kind_limit``). If the rest would still expand to more than ``max_pairs`` seller pairs,
   the most shared are held back too (``pair_budget``), largest first, ties by kind and key:
   the pair counts are summed per size on the driver (a few dozen sizes), which gives the
   size where the cut falls and how many identifiers of that size go, and those are the
   first by ``(kind, key)`` (one sorted ``offset``/``limit`` finds the last of them). No
   window over the whole table.
3. **Pairs.** The kept identifiers joined with themselves on ``(kind, key)``, ``src < dst``
   (string order, as in Polars: both compare UTF-8 bytes).
4. **Weights.** Each identifier adds ``kind_weight / (n - 1)`` (or ``/ log2(n)``); given
   edges add ``weight * kind_weight(relation)``. A pair's terms are collected, sorted and
   summed with Kahan's compensation (:func:`kahan_sum`), so the sum does not depend on row
   order or partitioning, and equals Polars' sum of the sorted terms bit for bit (a
   grouped float sum in Polars is a Kahan sum). With ``pair_weighting = "log"`` a term's
   ``log2`` is the JVM's logarithm, which may differ from Rust's in the last bit.

Outputs are unordered DataFrames (sort them to compare).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import chain

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from syndicate.config import Config
from syndicate.spark.normalise import normalise_links

__all__ = ["SparkLinkage", "build_linkage", "hold_back_hubs", "kahan_sum", "shared_identifiers"]


@dataclass(frozen=True)
class SparkLinkage:
    """The seller graph of a run, as Spark DataFrames (columns as in
    :class:`syndicate.graphs.linkage.LinkageGraph`).

    Attributes
    ----------
    identifiers
        One row per shared identifier: ``kind``, ``key``, ``n_sellers``, ``hub``.
    seller_identifiers
        ``seller_id``, ``kind``, ``key``, ``hub``: one row per distinct seller–identifier
        pair of a shared identifier.
    hubs
        Identifiers held back: ``kind``, ``key``, ``n_sellers``, ``reason``.
    edges
        One row per linked pair, ``src < dst``: ``src``, ``dst``, ``weight``, ``n_shared``,
        ``kinds`` (sorted distinct kinds or relations), ``backbone``.
    """

    identifiers: DataFrame
    seller_identifiers: DataFrame
    hubs: DataFrame
    edges: DataFrame
    persisted: tuple[DataFrame, ...] = ()

    def unpersist(self) -> None:
        """Release the intermediate tables :func:`build_linkage` kept in memory."""
        for frame in self.persisted:
            frame.unpersist()


def _by_kind(
    table: Mapping[str, float] | Mapping[str, int], default: float, column: str = "kind"
) -> Column:
    """The entry of ``table`` for the kind in ``column``, or ``default``."""
    if not table:
        return F.lit(default)
    lookup = F.create_map(*(F.lit(x) for x in chain.from_iterable(sorted(table.items()))))
    return F.coalesce(lookup[F.col(column)], F.lit(default))


def shared_identifiers(links: DataFrame, config: Config | None = None) -> DataFrame:
    """The shared part of the bipartite graph, with the size of each identifier.

    ``seller_id``, ``kind``, ``key``, ``n_sellers``: distinct seller–identifier pairs of the
    identifiers held by two sellers or more. ``links`` carries ``seller_id``, ``kind`` and
    ``key`` (validated links), or ``value`` (normalised here, unusable links left out, as
    :func:`syndicate.graphs.linkage.identifier_table` does).
    """
    cfg = config or Config()
    if "key" not in links.columns:
        keyed = normalise_links(links.select("seller_id", "kind", "value"), config=cfg)
        usable = F.col("key").isNotNull() & (F.col("key") != "") & ~F.col("placeholder")
        links = keyed.where(usable)
    holders = Window.partitionBy("kind", "key")
    return (
        links.select("seller_id", "kind", "key")
        .distinct()
        .withColumn("n_sellers", F.count(F.lit(1)).over(holders))
        .where(F.col("n_sellers") >= 2)
    )


def hold_back_hubs(stats: DataFrame, config: Config) -> DataFrame:
    """``stats`` with ``reason``: ``kind_limit``, ``pair_budget`` or null (kept).

    The same rule as the Polars engine: over the kind's limit; then, in the order
    ``n_sellers`` descending, kind, key, every identifier not yet held back while the
    identifiers from it to the end of the list would expand to more than ``max_pairs``
    pairs.
    """
    limits = {kind: config.hub_limit(kind) for kind in config.hub_limits}
    limit = _by_kind(limits, config.default_hub_limit)
    marked = stats.withColumn("reason", F.when(F.col("n_sellers") > limit, F.lit("kind_limit")))
    sizes = (
        marked.where(F.col("reason").isNull())
        .groupBy("n_sellers")
        .agg(F.count(F.lit(1)).alias("count"))
        .collect()
    )
    # From the smallest size up: `after` is the pairs of the identifiers after this size in
    # the list (smaller ones); the cut falls in the first size that no longer fits.
    after = 0
    cut: tuple[int, int] | None = None  # (size, how many of that size are held back)
    for size, count in sorted((int(r["n_sellers"]), int(r["count"])) for r in sizes):
        pairs = size * (size - 1) // 2
        if after + pairs * count > config.max_pairs:
            fitting = max(0, (config.max_pairs - after) // pairs)
            cut = (size, count - min(count, fitting))
            break
        after += pairs * count
    if cut is None:
        return marked
    size, held = cut
    kept = F.col("reason").isNull()
    budget = kept & (F.col("n_sellers") > size)
    if held:
        last = (
            marked.where(kept & (F.col("n_sellers") == size))
            .select("kind", "key")
            .orderBy("kind", "key")
            .offset(held - 1)
            .first()
        )
        assert last is not None  # `held` is at most the number of identifiers of that size
        upto = F.struct("kind", "key") <= F.struct(F.lit(last["kind"]), F.lit(last["key"]))
        budget = budget | (kept & (F.col("n_sellers") == size) & upto)
    return marked.withColumn(
        "reason", F.when(budget, F.lit("pair_budget")).otherwise(F.col("reason"))
    )


def kahan_sum(values: Column) -> Column:
    """The sum of an array of doubles, term by term with Kahan's compensation.

    This is how Polars sums a group of floats (``group_by(...).agg(pl.col(x).sum())``),
    bit for bit: ``y = x - c; t = s + y; c = (t - s) - y; s = t`` from ``s = c = 0``.
    """
    start = F.struct(F.lit(0.0).cast("double").alias("s"), F.lit(0.0).cast("double").alias("c"))

    def step(state: Column, value: Column) -> Column:
        y = value - state["c"]
        t = state["s"] + y
        return F.struct(t.alias("s"), ((t - state["s"]) - y).alias("c"))

    return F.aggregate(values, start, step, lambda state: state["s"])


def _pair_weight(kind_weight: Column, n_sellers: Column, config: Config) -> Column:
    if config.pair_weighting == "log":
        return kind_weight / (F.ln(n_sellers) / math.log(2.0))
    return kind_weight / (n_sellers - F.lit(1.0))


def build_linkage(
    links: DataFrame, edges: DataFrame | None = None, config: Config | None = None
) -> SparkLinkage:
    """Build the seller graph from links (and optional given edges), as Polars
    :func:`syndicate.graphs.linkage.build_linkage` does.

    ``links``: ``seller_id``, ``kind``, ``key`` (validated) or ``value``. ``edges``:
    validated given edges (``src < dst``, ``relation``, ``weight``). Two small Spark jobs
    run on the way (the pair counts per size, and at most one sorted lookup for the pair
    budget); the returned DataFrames are lazy.
    """
    cfg = config or Config()
    # Persisted: each is read by several outputs (and the self-join reads `bipartite` twice).
    bipartite = shared_identifiers(links, cfg).persist()
    stats = bipartite.select("kind", "key", "n_sellers").distinct()
    marked = hold_back_hubs(stats, cfg).persist()
    hubs = marked.where(F.col("reason").isNotNull()).select("kind", "key", "n_sellers", "reason")
    kept = marked.where(F.col("reason").isNull())
    kind_weight = _by_kind(cfg.kind_weights, cfg.default_kind_weight).cast("double")
    shared = bipartite.join(kept.select("kind", "key"), on=["kind", "key"]).select(
        "seller_id",
        "kind",
        "key",
        _pair_weight(kind_weight, F.col("n_sellers").cast("double"), cfg).alias("weight"),
        (F.col("n_sellers") > cfg.popular_limit).alias("popular"),
    )
    other = shared.select(
        F.col("seller_id").alias("dst"),
        F.col("kind").alias("other_kind"),
        F.col("key").alias("other_key"),
    )
    pairs = (
        shared.join(
            other,
            (shared["kind"] == other["other_kind"]) & (shared["key"] == other["other_key"]),
        )
        .where(F.col("seller_id") < F.col("dst"))
        .select(F.col("seller_id").alias("src"), "dst", "kind", "weight", "popular")
    )
    if edges is not None:
        relation_weight = _by_kind(cfg.kind_weights, cfg.default_kind_weight, "relation")
        given = edges.select(
            F.least("src", "dst").alias("src"),
            F.greatest("src", "dst").alias("dst"),
            F.col("relation").alias("kind"),
            (F.col("weight").cast("double") * relation_weight.cast("double")).alias("weight"),
            F.lit(False).alias("popular"),
        )
        pairs = pairs.unionByName(given)
    seller_edges = pairs.groupBy("src", "dst").agg(
        # Sorted, then summed as Polars sums a group: the float sum ignores row order.
        kahan_sum(F.array_sort(F.collect_list("weight"))).alias("weight"),
        F.count(F.lit(1)).alias("n_shared"),
        F.array_sort(F.collect_set("kind")).alias("kinds"),
        F.bool_or(~F.col("popular")).alias("backbone"),
    )
    identifiers = marked.select(
        "kind", "key", "n_sellers", F.col("reason").isNotNull().alias("hub")
    )
    seller_identifiers = (
        bipartite.drop("n_sellers")
        .join(identifiers.select("kind", "key", "hub"), on=["kind", "key"])
        .select("seller_id", "kind", "key", "hub")
    )
    return SparkLinkage(
        identifiers=identifiers,
        seller_identifiers=seller_identifiers,
        hubs=hubs,
        edges=seller_edges,
        persisted=(bipartite, marked),
    )
