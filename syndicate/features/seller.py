"""Per-seller linkage and structure features: one row per seller, stable names and dtypes.

Everything is computed with Polars joins and igraph's C routines over the linked sellers;
sellers without links get the values of a seller alone in its own component (degree 0,
component size 1, PageRank 1, ...). :data:`SELLER_FEATURES` is the schema: names, dtypes
and meanings, in column order.

Most columns depend on the seller's connected component only (:func:`component_features`:
the structure, ring, block, onboarding, neighbourhood and label-aware columns), so they can
be computed a bucket of whole components at a time, as the Spark engine does; the others
(identifier counts, the seller's own tabular values, the anomaly score) look at one seller
or at all of them (:func:`seller_features` adds them).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from syndicate.errors import SchemaError
from syndicate.graphs.communities import Rings, seller_graph
from syndicate.graphs.linkage import LinkageGraph

__all__ = [
    "ANOMALY_EXCLUDED",
    "BUILT_IN_KINDS",
    "COMPONENT_FEATURES",
    "NEIGHBOURHOOD_AGGREGATES",
    "SELLER_FEATURES",
    "anomaly_scores",
    "check_feature_names",
    "component_features",
    "feature_schema",
    "finish_features",
    "identifier_counts",
    "neighbour_pairs",
    "seller_features",
    "tabular_columns",
]

#: Kinds with their own identifier-count columns.
BUILT_IN_KINDS: tuple[str, ...] = ("device", "address", "payout", "email", "phone", "ip")

_Schema = dict[str, tuple[pl.DataType, str]]

#: Feature columns: name -> (dtype, meaning). ``seller_id`` comes first.
SELLER_FEATURES: _Schema = {
    **{
        f"n_{kind}": (pl.UInt32(), f"distinct {kind} values the seller lists")
        for kind in BUILT_IN_KINDS
    },
    "n_other_identifiers": (pl.UInt32(), "distinct values of kinds without a column of their own"),
    "n_shared_identifiers": (pl.UInt32(), "identifiers shared with another seller (hubs excluded)"),
    "n_hub_identifiers": (pl.UInt32(), "identifiers held back as hubs (hub exposure)"),
    **{
        f"linked_by_{kind}": (pl.UInt32(), f"linked sellers sharing a {kind} with this one")
        for kind in BUILT_IN_KINDS
    },
    "degree": (pl.UInt32(), "linked sellers"),
    "weighted_degree": (pl.Float64(), "sum of the weights of the seller's edges"),
    "component_size": (pl.UInt32(), "sellers in the seller's connected component (1 if unlinked)"),
    "pagerank": (
        pl.Float64(),
        "weighted PageRank within the component, scaled so the component's sellers average 1",
    ),
    "coreness": (pl.UInt32(), "k-core number (largest k with the seller in the k-core)"),
    "triangles": (pl.UInt32(), "triangles through the seller"),
    "clustering": (pl.Float64(), "local clustering coefficient (0 below degree 2)"),
    "ring_size": (pl.UInt32(), "sellers in the seller's ring (0 if in none)"),
    "ring_density": (pl.Float64(), "edge density of the seller's ring (0 if in none)"),
    "ring_weight_share": (
        pl.Float64(),
        "share of the seller's edge weight that stays inside its ring (0 if in none or unlinked)",
    ),
    "block_size": (pl.UInt32(), "sellers in the seller's dense block (0 if in none)"),
    "block_density": (
        pl.Float64(),
        "density of the seller's dense block (edge weight per node of the bipartite block; "
        "0 if in none)",
    ),
    "ring_onboarding_spread_days": (
        pl.Float64(),
        "days between the first and last known created_at in the seller's ring (0 if in "
        "none; null if fewer than two members' times are known)",
    ),
    "age_vs_ring_median_days": (
        pl.Float64(),
        "days between the seller's created_at and its ring's median (0 if in none; null if "
        "unknown)",
    ),
    **{
        f"{scope}_known_{kind}": (
            pl.UInt32(),
            f"known-{kind} sellers {where}, the seller's own label never counted",
        )
        for scope, where in (
            ("nbr1", "among linked sellers"),
            ("nbr2", "within two hops (the second along the backbone)"),
            ("ring", "in the seller's ring"),
        )
        for kind in ("bad", "good")
    },
    "anomaly_score": (
        pl.Float64(),
        "IsolationForest anomaly score in (0, 1] on the other features (labels never enter): "
        "higher is more unusual; about 0.5 is ordinary",
    ),
}

#: Columns the anomaly score does not look at: the label-aware counts (so no label reaches
#: it) and the score itself.
ANOMALY_EXCLUDED: tuple[str, ...] = (
    *(name for name in SELLER_FEATURES if "_known_" in name),
    "anomaly_score",
)

#: Per numeric sellers column ``x``: the seller's own value ``x`` and these aggregates.
NEIGHBOURHOOD_AGGREGATES: dict[str, str] = {
    "nbr1_mean": "mean over linked sellers (1 hop); 0 if unlinked",
    "nbr1_max": "max over linked sellers (1 hop); 0 if unlinked",
    "nbr2_mean": "mean over sellers within 2 hops (the second along the backbone), the seller "
    "excluded; 0 if unlinked",
}


def tabular_columns(sellers: pl.DataFrame) -> list[str]:
    """The numeric columns of the sellers table: the tabular features, in table order."""
    return [
        name
        for name, dtype in sellers.schema.items()
        if name != "seller_id" and (dtype.is_numeric() or dtype == pl.Boolean)
    ]


#: How many collisions a :func:`check_feature_names` error lists.
_COLLISIONS_SHOWN = 5


def check_feature_names(sellers: pl.DataFrame) -> None:
    """Refuse numeric sellers columns whose feature names collide with other features.

    Feature names are a reserved namespace: ``seller_id`` and every computed feature
    (:data:`SELLER_FEATURES`) are taken, and each numeric sellers column ``x``
    (:func:`tabular_columns`) takes ``x`` and ``x_nbr1_mean``, ``x_nbr1_max``,
    ``x_nbr2_mean`` (:data:`NEIGHBOURHOOD_AGGREGATES`). A column claiming a taken name
    (``degree``; ``x_nbr1_mean`` beside ``x``) would replace that feature without a
    word, so every collision is reported in one error. Only names are compared (no rows
    are read), so the check costs nothing next to the features.

    Raises
    ------
    SchemaError
        Naming each colliding sellers column, the reserved name and what holds it.

    Examples
    --------
    >>> check_feature_names(pl.DataFrame({"seller_id": ["a"], "orders": [3]}))
    >>> check_feature_names(pl.DataFrame({"seller_id": ["a"], "degree": [3]}))
    Traceback (most recent call last):
    ...
    syndicate.errors.SchemaError: sellers: feature names are reserved, ... 'sellers_degree')
    """
    taken: dict[str, str] = {name: f"the computed feature {name!r}" for name in SELLER_FEATURES}
    taken["seller_id"] = "the seller id"
    collisions: list[tuple[str, str]] = []  # (column, message)
    for column in tabular_columns(sellers):
        for suffix in ("", *NEIGHBOURHOOD_AGGREGATES):
            name = f"{column}_{suffix}" if suffix else column
            holder = taken.get(name)
            if holder is None:
                taken[name] = (
                    f"the aggregate {suffix} of column {column!r}"
                    if suffix
                    else f"the numeric column {column!r}"
                )
            elif suffix:
                collisions.append(
                    (column, f"column {column!r} gets the aggregate {name!r}, already {holder}")
                )
            else:
                collisions.append((column, f"column {column!r} is named like {holder}"))
    if collisions:
        listed = "; ".join(message for _, message in collisions[:_COLLISIONS_SHOWN])
        more = len(collisions) - _COLLISIONS_SHOWN
        raise SchemaError(
            f"sellers: feature names are reserved, and {len(collisions)} numeric "
            f"column name(s) collide: {listed}{f'; and {more} more' if more > 0 else ''}; "
            f"rename the column (for example {collisions[0][0]!r} to "
            f"'sellers_{collisions[0][0]}')"
        )


def feature_schema(sellers: pl.DataFrame) -> dict[str, pl.DataType]:
    """Column names and dtypes of :func:`seller_features` for this sellers table.

    Raises :class:`~syndicate.errors.SchemaError` when a sellers column collides with a
    feature name (:func:`check_feature_names`).
    """
    check_feature_names(sellers)
    schema: dict[str, pl.DataType] = {"seller_id": pl.String()}
    schema.update({name: dtype for name, (dtype, _) in SELLER_FEATURES.items()})
    for column in tabular_columns(sellers):
        schema[column] = pl.Float64()
        schema.update({f"{column}_{suffix}": pl.Float64() for suffix in NEIGHBOURHOOD_AGGREGATES})
    return schema


#: The columns of :data:`SELLER_FEATURES` that :func:`component_features` computes (the
#: rest: :func:`identifier_counts` and ``anomaly_score``).
COMPONENT_FEATURES: tuple[str, ...] = tuple(
    name for name in SELLER_FEATURES if not name.startswith("n_") and name != "anomaly_score"
)


def identifier_counts(links: pl.DataFrame, linkage: LinkageGraph) -> pl.DataFrame:
    """Per seller with links: distinct values by kind, shared and hub identifiers.

    ``seller_id``, ``n_<kind>`` for :data:`BUILT_IN_KINDS`, ``n_other_identifiers``,
    ``n_shared_identifiers``, ``n_hub_identifiers`` (null for a seller holding no shared
    identifier; :func:`finish_features` fills them).
    """
    known = pl.col("kind").is_in(list(BUILT_IN_KINDS))
    per_kind = links.group_by("seller_id").agg(
        *[
            pl.col("value").filter(pl.col("kind") == kind).n_unique().alias(f"n_{kind}")
            for kind in BUILT_IN_KINDS
        ],
        pl.struct("kind", "value").filter(~known).n_unique().alias("n_other_identifiers"),
    )
    shared = linkage.seller_identifiers.group_by("seller_id").agg(
        (~pl.col("hub")).sum().alias("n_shared_identifiers"),
        pl.col("hub").sum().alias("n_hub_identifiers"),
    )
    return per_kind.join(shared, on="seller_id", how="left")


def _linked_by_kind(linkage: LinkageGraph) -> pl.DataFrame:
    ends = pl.concat(
        [
            linkage.edges.select(pl.col("src").alias("seller_id"), "kinds"),
            linkage.edges.select(pl.col("dst").alias("seller_id"), "kinds"),
        ]
    )
    return ends.group_by("seller_id").agg(
        pl.col("kinds").list.contains(kind).sum().alias(f"linked_by_{kind}")
        for kind in BUILT_IN_KINDS
    )


def _structure(linkage: LinkageGraph, rings: Rings) -> pl.DataFrame:
    graph, index, numbered = seller_graph(linkage)
    if graph.vcount() == 0:
        return pl.DataFrame(schema={"seller_id": pl.String})
    component = np.asarray(graph.connected_components().membership, dtype=np.int64)
    component_size = np.bincount(component)[component]
    pagerank = np.asarray(graph.pagerank(weights="weight", directed=False), dtype=np.float64)
    # Global PageRank shares the teleport over all n nodes, so a component of s sellers holds
    # s / n of the mass; PageRank within it (summing to 1) is pr * n / s, and scaled to
    # average 1 over its sellers, pr * n.
    pagerank = pagerank * graph.vcount()
    degree = np.asarray(graph.degree(), dtype=np.int64)
    clustering = np.nan_to_num(
        np.asarray(graph.transitivity_local_undirected(mode="zero"), dtype=np.float64)
    )
    triangles = np.rint(clustering * degree * (degree - 1) / 2).astype(np.int64)
    structure = index.sort("node").with_columns(
        pl.Series("degree", degree),
        pl.Series("weighted_degree", graph.strength(weights="weight"), dtype=pl.Float64),
        pl.Series("component_size", component_size),
        pl.Series("pagerank", pagerank),
        pl.Series("coreness", graph.coreness()),
        pl.Series("triangles", triangles),
        pl.Series("clustering", clustering),
    )
    ring_of = rings.members.select("seller_id", "ring_id")
    inside = (
        numbered.join(ring_of.rename({"seller_id": "src"}), on="src")
        .join(ring_of.rename({"seller_id": "dst", "ring_id": "ring_dst"}), on="dst")
        .filter(pl.col("ring_id").is_not_null() & (pl.col("ring_id") == pl.col("ring_dst")))
    )
    weight_inside = (
        pl.concat(
            [
                inside.select(pl.col("src").alias("seller_id"), "weight"),
                inside.select(pl.col("dst").alias("seller_id"), "weight"),
            ]
        )
        .group_by("seller_id")
        .agg(pl.col("weight").sort().sum().alias("weight_inside"))
    )
    ring_table = rings.rings.select(
        "ring_id", pl.col("size").alias("ring_size"), pl.col("density").alias("ring_density")
    )
    return (
        structure.join(ring_of, on="seller_id", how="left")
        .join(ring_table, on="ring_id", how="left")
        .join(weight_inside, on="seller_id", how="left")
        .with_columns(
            (pl.col("weight_inside").fill_null(0.0) / pl.col("weighted_degree"))
            .clip(0.0, 1.0)  # the sums can differ in the last bit
            .alias("ring_weight_share")
        )
        .drop("node", "ring_id", "weight_inside")
    )


def neighbour_pairs(linkage: LinkageGraph) -> dict[str, pl.DataFrame]:
    """The ``seller_id``, ``other`` pairs whose labels the ``nbr1_*`` and ``nbr2_*`` counts use."""
    if linkage.edges.height == 0:
        empty = pl.DataFrame(schema={"seller_id": pl.String, "other": pl.String})
        return {"nbr1": empty, "nbr2": empty}
    one_hop, two_hop = linkage.hops
    return {"nbr1": one_hop, "nbr2": two_hop}


def _neighbourhood(sellers: pl.DataFrame, linkage: LinkageGraph) -> pl.DataFrame:
    """Mean and max of each tabular column over 1-hop, mean over 2-hop neighbours."""
    columns = tabular_columns(sellers)
    if not columns or linkage.edges.height == 0:
        return pl.DataFrame(schema={"seller_id": pl.String})
    hops = linkage.coded_hops  # computed once per graph, on integer seller codes
    values = (
        hops.nodes.to_frame()
        .with_row_index("__syndicate_code__")  # a prefix no input column may have
        .join(sellers.select("seller_id", *columns), on="seller_id", how="left")
        .sort("__syndicate_code__")
        .select(pl.col(columns).cast(pl.Float64).fill_null(float("nan")))
        .to_numpy()
    )
    parts = []
    for scope, pairs, aggregates in (
        ("nbr1", hops.one, ("mean", "max")),
        ("nbr2", hops.two, ("mean",)),
    ):
        sellers_of, stats = _segment_stats(pairs, values)
        parts.append(
            pl.DataFrame(
                {
                    "seller_id": hops.nodes.gather(sellers_of),
                    **{
                        f"{column}_{scope}_{name}": pl.Series(stats[name][:, i]).fill_nan(None)
                        for name in aggregates
                        for i, column in enumerate(columns)
                    },
                }
            )
        )
    return parts[0].join(parts[1], on="seller_id", how="left")


def _segment_stats(
    pairs: pl.DataFrame, values: np.ndarray
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Per seller ``a`` of the pairs (sorted by ``a``): mean and max of its partners' values.

    ``values[b]`` is the row of seller ``b`` (NaN: missing, skipped). Sums run over each
    seller's partners in ``b`` order, in one pass of numpy's ``reduceat``: the same on every
    run and for any number of threads (a parallel group-by adds in the order its threads
    meet the rows). A seller whose partners all miss a value gets NaN.
    """
    a = pairs["a"].to_numpy()
    if len(a) == 0:
        empty = np.zeros((0, values.shape[1]))
        return a, {"mean": empty, "max": empty}
    starts = np.flatnonzero(np.concatenate([[True], a[1:] != a[:-1]]))
    gathered = values[pairs["b"].to_numpy()]
    present = ~np.isnan(gathered)
    sums = np.add.reduceat(np.where(present, gathered, 0.0), starts, axis=0)
    counts = np.add.reduceat(present.astype(np.int64), starts, axis=0)
    mean = np.divide(sums, counts, out=np.full_like(sums, np.nan), where=counts > 0)
    return a[starts], {"mean": mean, "max": np.fmax.reduceat(gathered, starts, axis=0)}


def _onboarding(sellers: pl.DataFrame, rings: Rings) -> pl.DataFrame:
    """The ring's creation-time spread and the seller's age relative to the ring median."""
    if "created_at" not in sellers.columns:
        return pl.DataFrame(schema={"seller_id": pl.String})
    day_us = 86_400 * 1_000_000
    created = sellers.select("seller_id", pl.col("created_at").dt.epoch("us").alias("t"))
    in_ring = rings.members.filter(pl.col("ring_id").is_not_null()).select("seller_id", "ring_id")
    known = pl.col("t").count().over("ring_id") >= 2  # one known time says nothing
    # Times the reciprocal (as Polars divides a column of two rows or more; a bucket of
    # components may have one ring member's row): see syndicate.features.ring.
    return (
        in_ring.join(created, on="seller_id")
        .with_columns(
            pl.when(known)
            .then((pl.col("t").max() - pl.col("t").min()).over("ring_id") * (1.0 / day_us))
            .alias("ring_onboarding_spread_days"),
            pl.when(known)
            .then((pl.col("t") - pl.col("t").median().over("ring_id")) * (1.0 / day_us))
            .alias("age_vs_ring_median_days"),
        )
        .select("seller_id", "ring_onboarding_spread_days", "age_vs_ring_median_days")
    )


def _label_counts(labels: pl.DataFrame, linkage: LinkageGraph, rings: Rings) -> pl.DataFrame:
    """Known-bad and known-good counts around each seller, never its own label.

    Neighbour pairs never pair a seller with itself, and a ring's count subtracts the
    seller's own label, so changing a seller's label cannot change its own row.
    """
    known = labels.select(
        pl.col("seller_id").alias("other"),
        (pl.col("label") == 1).cast(pl.UInt32).alias("bad"),
        (pl.col("label") == 0).cast(pl.UInt32).alias("good"),
    )
    parts = []
    if linkage.edges.height:
        hops = linkage.coded_hops
        coded = (
            hops.nodes.to_frame()
            .with_row_index("b")
            .join(known.rename({"other": "seller_id"}), on="seller_id")
            .drop("seller_id")
        )
        for scope, pairs in (("nbr1", hops.one), ("nbr2", hops.two)):
            counts = (
                pairs.join(coded, on="b")
                .group_by("a")
                .agg(
                    pl.col("bad").sum().alias(f"{scope}_known_bad"),
                    pl.col("good").sum().alias(f"{scope}_known_good"),
                )
            )
            parts.append(
                counts.select(hops.nodes.gather(counts["a"]).alias("seller_id"), pl.exclude("a"))
            )
    own = known.rename({"other": "seller_id"})
    ring = (
        rings.members.filter(pl.col("ring_id").is_not_null())
        .select("seller_id", "ring_id")
        .join(own, on="seller_id", how="left")
        .with_columns(pl.col("bad", "good").fill_null(0))
        .select(
            "seller_id",
            (pl.col("bad").sum().over("ring_id") - pl.col("bad")).alias("ring_known_bad"),
            (pl.col("good").sum().over("ring_id") - pl.col("good")).alias("ring_known_good"),
        )
    )
    frame = ring
    for part in parts:
        frame = frame.join(part, on="seller_id", how="full", coalesce=True)
    return frame


def component_features(
    sellers: pl.DataFrame,
    linkage: LinkageGraph,
    rings: Rings,
    labels: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The features of the linked sellers that depend on their connected component alone.

    The columns of :data:`COMPONENT_FEATURES` (those without labels only when ``labels``
    is empty or ``None``) and, for each numeric column ``x`` of ``sellers``, the
    neighbourhood aggregates ``x_nbr1_mean``, ``x_nbr1_max``, ``x_nbr2_mean``; one row
    per linked seller of ``linkage``, nulls where a part has nothing to say (a seller in
    no ring, no block, no labelled neighbour): :func:`finish_features` fills them.

    Every column of a seller is computed from its component (its edges, the identifiers
    its sellers share, their ``sellers`` rows and labels), so ``linkage`` may be a bucket
    of whole components (:mod:`syndicate.components`) and the rows come out as in the
    whole graph. (``pagerank`` is igraph's on the graph given, scaled by its vertex count:
    equal to about 1e-12 relative whatever the other components of the bucket.)

    Parameters
    ----------
    sellers
        ``seller_id``, ``created_at`` when known, and the tabular columns; rows of sellers
        that are not linked are ignored.
    linkage, rings
        The graph (or a bucket of its components) and :func:`syndicate.find_rings` on it.
    labels
        ``seller_id``, ``label``; a seller's own label never enters its own row.
    """
    base = linkage.node_order.select("seller_id")
    parts = [
        _linked_by_kind(linkage),
        _structure(linkage, rings),
        _onboarding(sellers, rings),
        _neighbourhood(sellers, linkage),
        _blocks(rings),
    ]
    if labels is not None and labels.height:
        parts.append(_label_counts(labels, linkage, rings))
    for part in parts:
        if part.width > 1:
            base = base.join(part, on="seller_id", how="left")
    return base


def finish_features(frame: pl.DataFrame, sellers: pl.DataFrame) -> pl.DataFrame:
    """The feature table from its joined parts: every column filled, typed and in order.

    ``frame`` holds one row per seller: ``seller_id``, the seller's own tabular columns,
    and whatever :func:`identifier_counts` and :func:`component_features` gave (their
    nulls, and columns they left out, are filled: ``component_size`` and ``pagerank`` with
    1, the onboarding columns of a ring member stay null, the rest get 0). Returns the
    columns of :func:`feature_schema` in its order, cast to its dtypes, ``anomaly_score``
    left at 0 (:func:`seller_features` computes it over all the rows). Row by row: a batch
    of rows is finished as in the whole table.
    """
    defaults = {"component_size": 1, "pagerank": 1.0}
    # Unknown onboarding times of ring members stay null (the forest handles missing
    # values); sellers in no ring get 0.
    in_ring_only = ("ring_onboarding_spread_days", "age_vs_ring_median_days")
    own = tabular_columns(sellers)
    schema = feature_schema(sellers)
    missing = [pl.lit(None).alias(name) for name in schema if name not in frame.columns]
    if missing:
        frame = frame.with_columns(missing)
    in_ring = pl.col("ring_size").fill_null(0) > 0

    def finished(name: str, dtype: pl.DataType) -> pl.Expr:
        if name == "seller_id" or name in own:
            return pl.col(name).cast(dtype)
        if name in in_ring_only:
            return pl.when(in_ring).then(pl.col(name)).otherwise(0.0).cast(dtype).alias(name)
        return pl.col(name).fill_null(defaults.get(name, 0)).cast(dtype).alias(name)

    return frame.select(finished(name, dtype) for name, dtype in schema.items())


def seller_features(
    sellers: pl.DataFrame,
    links: pl.DataFrame,
    linkage: LinkageGraph,
    rings: Rings,
    labels: pl.DataFrame | None = None,
    *,
    seed: int = 0,
    anomaly_trees: int = 50,
) -> pl.DataFrame:
    """The linkage and structure features of every seller, sorted by ``seller_id``.

    Parameters
    ----------
    sellers, links
        Validated tables (:func:`syndicate.load_inputs`).
    linkage, rings
        :func:`syndicate.build_linkage` and :func:`syndicate.find_rings` on them.
    labels
        Validated labels (``seller_id``, ``label``) for the label-aware counts; none (cold
        start) gives zeros. A seller's own label never enters its own row.
    seed, anomaly_trees
        Seed and number of trees of the IsolationForest behind ``anomaly_score`` (0 trees:
        the score is left at 0.5 for everyone).

    Returns
    -------
    pl.DataFrame
        ``seller_id``, the columns of :data:`SELLER_FEATURES`, then for each numeric column
        ``x`` of ``sellers`` (:func:`tabular_columns`) the seller's own ``x`` and
        ``x_nbr1_mean``, ``x_nbr1_max``, ``x_nbr2_mean`` (:data:`NEIGHBOURHOOD_AGGREGATES`);
        names and dtypes as :func:`feature_schema` gives them. One row per seller.
        A seller's own missing tabular value stays null, and so do the onboarding columns
        of a ring member whose times are unknown; every other column is filled.

    Notes
    -----
    The columns that depend on a seller's component come from :func:`component_features`
    (over the whole graph here: one bucket), the same function the Spark engine runs on
    each bucket of components; :func:`identifier_counts`, :func:`finish_features` and
    :func:`anomaly_scores` are the rest.
    """
    check_feature_names(sellers)  # before any work: names only
    frame = (
        sellers.select("seller_id", *tabular_columns(sellers))
        .join(identifier_counts(links, linkage), on="seller_id", how="left")
        .join(component_features(sellers, linkage, rings, labels), on="seller_id", how="left")
    )
    table = finish_features(frame, sellers).sort("seller_id")
    return table.with_columns(
        pl.Series("anomaly_score", anomaly_scores(table, seed=seed, n_trees=anomaly_trees))
    )


def _blocks(rings: Rings) -> pl.DataFrame:
    return rings.blocks.select("seller_id", "block_size", "block_density")


def anomaly_scores(features: pl.DataFrame, *, seed: int = 0, n_trees: int = 100) -> np.ndarray:
    """IsolationForest anomaly scores in (0, 1] of the rows of a feature table.

    Uses every column but ``seller_id`` and :data:`ANOMALY_EXCLUDED`; missing values are
    replaced by the column's median. The forest is seeded, fitted on at most 256 rows per
    tree, and scores are computed in blocks of rows on two threads (each row's score does
    not depend on the blocks), so they are the same on every run.
    """
    from concurrent.futures import ThreadPoolExecutor

    from sklearn.ensemble import IsolationForest

    columns = [c for c in features.columns if c != "seller_id" and c not in ANOMALY_EXCLUDED]
    if n_trees == 0 or features.height < 2 or not columns:
        return np.full(features.height, 0.5)
    frame = features.select(pl.col(columns).cast(pl.Float32))
    # Medians only where values are missing: a median sorts its column, 40 of them ~0.6 s.
    gaps = [name for name, n in zip(columns, frame.null_count().row(0), strict=True) if n]
    if gaps:
        frame = frame.with_columns(pl.col(gaps).fill_null(pl.col(gaps).median()).fill_null(0.0))
    matrix = frame.fill_nan(0.0).to_numpy(order="c")  # rows walk down trees: row-major
    forest = IsolationForest(
        n_estimators=n_trees, max_samples=min(256, features.height), random_state=seed
    ).fit(matrix)
    blocks = np.array_split(np.arange(features.height), max(1, features.height // 100_000))
    with ThreadPoolExecutor(max_workers=2) as pool:
        parts = list(pool.map(lambda rows: forest.score_samples(matrix[rows]), blocks))
    return -np.concatenate(parts)
