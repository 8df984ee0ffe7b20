"""Ring detection in two stages: connected components, then Leiden inside large components.

Only sellers with at least one link to another seller are in the graph: singletons never
reach an algorithm. Nodes are numbered by the identifiers their sellers hold (then by
``seller_id``) and ring ids are derived from the ring's smallest member, so results never
depend on input row order or algorithm order, nor on how sellers are named as long as they
hold identifiers: sellers linked only through the ``edges`` table differ by nothing but
their names, and ties among them are broken by ``seller_id``.

Everything here is done component by component: the rings of a connected component depend
on that component alone. So :func:`find_rings` gives the same rings for a *bucket* of whole
components (a :class:`~syndicate.graphs.linkage.LinkageGraph` holding only their edges and
identifiers, as the Spark engine hands it over; see :mod:`syndicate.components`) as for the
whole graph, given ``linked_total``, the number of linked sellers of the whole graph (see
:func:`component_subgraph`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import igraph as ig
import networkx as nx
import numpy as np
import polars as pl

from syndicate.config import Config
from syndicate.graphs.blocks import DenseBlocks, empty_blocks, find_dense_blocks, short_id
from syndicate.graphs.linkage import LinkageGraph

__all__ = [
    "Rings",
    "component_subgraph",
    "find_rings",
    "graph_blocks",
    "ring_graph",
    "ring_id_for",
    "seller_graph",
]


@dataclass(frozen=True)
class Rings:
    """Sellers' components and rings.

    Attributes
    ----------
    members
        One row per linked seller: ``seller_id``, ``component`` (id of its connected
        component), ``community`` (id of its community inside the component) and ``ring_id``
        (null when its community is smaller than ``min_ring_size``).
    rings
        One row per ring: ``ring_id``, ``size``, ``n_edges``, ``density``, ``weight``
        (total edge weight inside), ``component_size`` (of the backbone), ``kinds`` (what
        binds it), ``detectors`` (``leiden`` and/or ``dense_block``) and ``block_density``
        (the density of the dense block that made or matched it; null if none).
    blocks
        One row per seller in a dense block: ``seller_id``, ``block_id``, ``block_size``,
        ``block_density`` (see :mod:`syndicate.graphs.blocks`).
    """

    members: pl.DataFrame
    rings: pl.DataFrame
    blocks: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=BLOCK_MEMBERS))


#: Columns of :attr:`Rings.blocks`.
BLOCK_MEMBERS: dict[str, pl.DataType] = {
    "seller_id": pl.String(),
    "block_id": pl.String(),
    "block_size": pl.UInt32(),
    "block_density": pl.Float64(),
}


#: Rounds of re-splitting communities larger than ``Config.max_ring_size``.
MAX_SPLIT_DEPTH = 4
#: The modularity resolution of those re-splits.
RESPLIT_RESOLUTION = 1.0


def ring_id_for(smallest_member: str) -> str:
    """A ring's id: a short hash of its smallest member id (stable across runs).

    Examples
    --------
    >>> ring_id_for("s000123")
    'ring-bca5d2cc4901'
    """
    return short_id("ring", smallest_member)


def _leiden(graph: ig.Graph, config: Config, resolution: float | None = None) -> np.ndarray:
    """igraph's Leiden on one component, every knob explicit; returns the membership.

    igraph's C implementation is used rather than leidenalg's: on some weighted cliques
    leidenalg's optimiser never returns (seen on the synthetic marketplace). igraph draws
    from the Python generator it is given; a private ``random.Random(seed)`` is installed
    for the call, so results are seeded and global random state is left alone.
    """
    ig.set_random_number_generator(random.Random(config.seed))
    try:
        clustering = graph.community_leiden(
            objective_function=config.leiden_objective,
            weights="weight",
            resolution=config.leiden_resolution if resolution is None else resolution,
            beta=0.01,
            n_iterations=config.leiden_iterations,
        )
    finally:
        ig.set_random_number_generator(random)
    return np.asarray(clustering.membership, dtype=np.int64)


def seller_graph(linkage: LinkageGraph) -> tuple[ig.Graph, pl.DataFrame, pl.DataFrame]:
    """The linked sellers as an undirected, weighted igraph graph.

    Returns the graph, the node index (``seller_id``, ``node``; see
    :attr:`LinkageGraph.node_order`) and the edges with their node numbers (``a``, ``b``)
    beside the columns of ``linkage.edges``, sorted by ``(a, b)``: the edge order of the
    graph.
    """
    index, numbered = linkage.node_order, linkage.numbered_edges
    return _weighted_graph(index.height, numbered), index, numbered


def _weighted_graph(n_nodes: int, edges: pl.DataFrame) -> ig.Graph:
    """An igraph graph of ``edges`` (``a``, ``b``, ``weight``), edges in their row order."""
    graph = ig.Graph(n=n_nodes)
    graph.add_edges(edges.select("a", "b").to_numpy())  # twice as fast as Graph(edges=...)
    graph.es["weight"] = edges["weight"].to_numpy()
    return graph


def component_subgraph(graph: ig.Graph, vertices: np.ndarray, linked_total: int) -> ig.Graph:
    """The subgraph induced by ``vertices`` (sorted), built as on the whole graph.

    igraph builds an induced subgraph in one of two ways, which order its edges
    differently (Leiden's result can follow the edge order): by copying the graph and
    deleting the other vertices when the vertices are more than half of the graph, else
    from scratch. Its ``auto`` choice compares with the graph at hand; here the choice is
    made against ``linked_total``, the linked sellers of the whole run, so a component gets
    the same subgraph, edge for edge, in a bucket of a few components as in the whole
    graph. (The vertices keep their order either way, and the edges of a component are the
    same in both graphs.)
    """
    whole = len(vertices) / max(linked_total, 1) > 0.5  # igraph's auto rule, whole graph
    return graph.induced_subgraph(
        vertices.tolist(), implementation="copy_and_delete" if whole else "create_from_scratch"
    )


def find_rings(
    linkage: LinkageGraph, config: Config | None = None, *, linked_total: int | None = None
) -> Rings:
    """Find rings: components of the linked sellers, split by Leiden where large.

    A component with fewer than ``2 * min_ring_size`` sellers cannot hold two rings and is
    one community; a larger one is handed to Leiden, whose objective decides whether it is
    one ring or several (two cliques joined by a bridge edge are split; one clique is not).

    ``linked_total`` is the number of linked sellers of the whole run when ``linkage``
    holds only some of its components (a bucket: see :mod:`syndicate.components`); the
    rings of each component are then those of the whole graph. Default: the sellers of
    ``linkage``.
    """
    cfg = config or Config()
    index, numbered = linkage.node_order, linkage.numbered_edges
    total = index.height if linked_total is None else linked_total
    backbone = numbered.filter(pl.col("backbone")) if "backbone" in numbered.columns else numbered
    graph = _weighted_graph(index.height, backbone)
    component = np.asarray(graph.connected_components().membership, dtype=np.int64)
    community = component.copy()
    sizes = np.bincount(component) if len(component) else np.zeros(0, dtype=np.int64)
    next_label = len(sizes)
    pending = [
        np.flatnonzero(component == comp) for comp in np.flatnonzero(sizes >= 2 * cfg.min_ring_size)
    ]
    resolution = cfg.leiden_resolution
    for _ in range(MAX_SPLIT_DEPTH):
        too_large: list[np.ndarray] = []
        for vertices in pending:
            split = _leiden(component_subgraph(graph, vertices, total), cfg, resolution)
            if split.max() == 0:
                retry = cfg.leiden_objective == "modularity" and resolution < RESPLIT_RESOLUTION
                if len(vertices) > cfg.max_ring_size and retry:
                    too_large.append(vertices)  # kept whole: try again at resolution 1
                continue
            community[vertices] = next_label + split
            next_label += int(split.max()) + 1
            # A part still larger than a ring can be is split again, as a graph of its own.
            parts = np.bincount(split)
            too_large += [
                vertices[split == part] for part in np.flatnonzero(parts > cfg.max_ring_size)
            ]
        pending = too_large
        # Parts still too large are split at modularity's own resolution (at least 1) as
        # graphs of their own; CPM's resolution does not depend on the graph, so it stays.
        if cfg.leiden_objective == "modularity":
            resolution = max(resolution, RESPLIT_RESOLUTION)
        if not pending:
            break
    members = index.with_columns(
        pl.Series("component_raw", component), pl.Series("community_raw", community)
    )
    blocks = graph_blocks(linkage, cfg)
    members, block_of = _reconcile(members, blocks, cfg.min_ring_size)
    # Name components and communities by their smallest member, never by algorithm order.
    members = members.with_columns(
        pl.col("seller_id").min().over("component_raw").alias("component"),
        pl.col("seller_id").min().over("community_raw").alias("community"),
        pl.len().over("community_raw").alias("community_size"),
        pl.len().over("component_raw").alias("component_size"),
    )
    ring_names = {
        name: ring_id_for(name)
        for name in members.filter(pl.col("community_size") >= cfg.min_ring_size)["community"]
        .unique()
        .to_list()
    }
    members = members.with_columns(
        pl.col("community")
        .replace_strict(ring_names, default=None, return_dtype=pl.String)
        .alias("ring_id")
    )
    rings = _ring_table(numbered, members).join(
        _detectors(members, block_of, blocks), on="ring_id", how="left"
    )
    block_members = blocks.members.join(
        blocks.blocks.select(
            "block_id",
            pl.col("n_sellers").alias("block_size"),
            pl.col("density").alias("block_density"),
        ),
        on="block_id",
    )
    return Rings(
        members=members.select("seller_id", "component", "community", "ring_id").sort("seller_id"),
        rings=rings,
        blocks=block_members.select(list(BLOCK_MEMBERS)).cast(BLOCK_MEMBERS).sort("seller_id"),  # type: ignore[arg-type]
    )


def graph_blocks(linkage: LinkageGraph, config: Config) -> DenseBlocks:
    """The dense blocks of the bipartite graph of shared identifiers (hubs held back)."""
    table = linkage.seller_identifiers.filter(~pl.col("hub")).join(
        linkage.identifiers.select("kind", "key", "n_sellers"), on=["kind", "key"]
    )
    if not config.dense_blocks or table.height == 0:
        return empty_blocks()
    return find_dense_blocks(
        table,
        kind_weights=config.kind_weights,
        default_kind_weight=config.default_kind_weight,
        min_sellers=config.min_ring_size,
        max_sellers=config.max_ring_size,
        min_density=config.block_min_density,
        min_identifier_share=config.block_min_identifier_share,
        eps=config.block_eps,
    )


def _reconcile(
    members: pl.DataFrame, blocks: DenseBlocks, min_ring_size: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Merge the dense blocks into Leiden's communities.

    A block more than half of whose sellers sit in one Leiden ring *matches* it and
    strengthens it: the ring keeps its members. (A block with Jaccard >= 0.5 to a ring
    matches it, unless the ring is exactly the block's half.) A block at least half of whose
    sellers are in no Leiden ring (sellers bound by popular identifiers only, groups Leiden
    left too small) becomes a ring of its own: its sellers leave their communities. A block
    mostly made of several Leiden rings leaves them as they are: density cannot tell two
    rings a seller bridges from one chain-like ring Leiden cut, and on the synthetic
    marketplace trusting the block merged more bridged rings than it mended chains.
    Returns ``members`` with ``community_raw`` updated and the ``block_id`` of each
    community a block made or matched (``community_raw``, ``block_id``, ``made``).
    """
    schema = {"community_raw": pl.Int64, "block_id": pl.String, "made": pl.Boolean}
    if blocks.members.height == 0:
        return members, pl.DataFrame(schema=schema)
    sized = members.with_columns(pl.len().over("community_raw").alias("_size"))
    in_ring = sized.filter(pl.col("_size") >= min_ring_size).select("seller_id", "community_raw")
    size = blocks.members.group_by("block_id").agg(pl.len().alias("n_block"))
    best = (
        blocks.members.join(in_ring, on="seller_id")
        .group_by("block_id", "community_raw")
        .agg(pl.len().alias("inside"))
        .join(size, on="block_id")
        .sort(["block_id", "inside", "community_raw"], descending=[False, True, False])
        .group_by("block_id", maintain_order=True)
        .first()
        .filter(2 * pl.col("inside") > pl.col("n_block"))
        .select("block_id", "community_raw")
    )
    covered = (
        blocks.members.join(in_ring, on="seller_id")
        .group_by("block_id")
        .agg(pl.len().alias("covered"))
        .join(size, on="block_id")
        .filter(2 * pl.col("covered") > pl.col("n_block"))
        .select("block_id")
    )
    # A block mostly made of Leiden's rings but matching none of them (rings a seller
    # bridges, arcs of a chain) leaves Leiden's cut alone: the two cannot be told apart.
    made = blocks.members.join(best, on="block_id", how="anti").join(
        covered, on="block_id", how="anti"
    )
    next_label = int(members["community_raw"].max()) + 1  # type: ignore[arg-type]
    labels = (
        made.select("block_id")
        .unique()
        .sort("block_id")
        .with_row_index("offset")
        .select("block_id", (pl.col("offset").cast(pl.Int64) + next_label).alias("new"))
    )
    moved = made.join(labels, on="block_id").select("seller_id", "new")
    members = (
        members.join(moved, on="seller_id", how="left")
        .with_columns(pl.coalesce("new", "community_raw").alias("community_raw"))
        .drop("new")
    )
    block_of = pl.concat(
        [
            best.with_columns(pl.lit(False).alias("made")),
            labels.select(
                pl.col("new").alias("community_raw"), "block_id", pl.lit(True).alias("made")
            ),
        ],
        how="diagonal",
    ).select(list(schema))
    return members, block_of.cast(schema)  # type: ignore[arg-type]


def _detectors(members: pl.DataFrame, block_of: pl.DataFrame, blocks: DenseBlocks) -> pl.DataFrame:
    """Per ring: ``detectors`` (which found it) and ``block_density`` (null without a block)."""
    rings = (
        members.filter(pl.col("ring_id").is_not_null()).select("ring_id", "community_raw").unique()
    )
    found = (
        rings.join(block_of, on="community_raw", how="left")
        .join(blocks.blocks.select("block_id", "density"), on="block_id", how="left")
        .group_by("ring_id")
        .agg(
            pl.col("density").max().alias("block_density"),
            pl.col("made").fill_null(False).all().alias("made_only"),
            pl.col("block_id").is_not_null().any().alias("has_block"),
        )
    )
    return found.select(
        "ring_id",
        pl.when(pl.col("has_block") & pl.col("made_only"))
        .then(pl.lit(["dense_block"]))
        .when(pl.col("has_block"))
        .then(pl.lit(["dense_block", "leiden"]))
        .otherwise(pl.lit(["leiden"]))
        .alias("detectors"),
        "block_density",
    )


def _ring_table(numbered: pl.DataFrame, members: pl.DataFrame) -> pl.DataFrame:
    in_ring = members.filter(pl.col("ring_id").is_not_null())
    inside = (
        numbered.join(in_ring.select(pl.col("node").alias("a"), pl.col("ring_id")), on="a")
        .join(in_ring.select(pl.col("node").alias("b"), pl.col("ring_id").alias("ring_b")), on="b")
        .filter(pl.col("ring_id") == pl.col("ring_b"))
        .group_by("ring_id")
        .agg(
            pl.len().alias("n_edges"),
            pl.col("weight").sort().sum(),  # sorted: the float sum ignores row order
            pl.col("kinds")
            .list.explode(keep_nulls=False, empty_as_null=False)
            .unique()
            .sort()
            .alias("kinds"),
        )
    )
    sizes = in_ring.group_by("ring_id").agg(
        pl.len().alias("size"), pl.col("component_size").first()
    )
    return (
        sizes.join(inside, on="ring_id", how="left")
        .with_columns(
            pl.col("n_edges").fill_null(0),
            pl.col("weight").fill_null(0.0),
            (2 * pl.col("n_edges") / (pl.col("size") * (pl.col("size") - 1))).alias("density"),
        )
        .select("ring_id", "size", "n_edges", "density", "weight", "component_size", "kinds")
        .sort("ring_id")
    )


def ring_graph(linkage: LinkageGraph, rings: Rings, ring_id: str) -> nx.Graph:
    """One ring as a ``networkx.Graph`` for analysts.

    Nodes are the ring's sellers (attribute ``ring_id``); edges carry ``weight``,
    ``n_shared`` and ``kinds`` (comma-separated binding kinds).
    """
    sellers = rings.members.filter(pl.col("ring_id") == ring_id)["seller_id"]
    if sellers.len() == 0:
        raise KeyError(f"no ring with id {ring_id!r}")
    inside = linkage.edges.filter(
        pl.col("src").is_in(sellers.implode()) & pl.col("dst").is_in(sellers.implode())
    )
    graph = nx.Graph(ring_id=ring_id)
    graph.add_nodes_from((seller, {"ring_id": ring_id}) for seller in sellers.to_list())
    graph.add_edges_from(
        (src, dst, {"weight": weight, "n_shared": n_shared, "kinds": ",".join(kinds)})
        for src, dst, weight, n_shared, kinds in inside.select(
            "src", "dst", "weight", "n_shared", "kinds"
        ).iter_rows()
    )
    return graph
