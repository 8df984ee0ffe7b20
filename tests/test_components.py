"""The per-component stage: a bucket of whole components gives the rows of the whole graph.

:func:`syndicate.components.component_work` is what the Spark engine runs on each hash
bucket of components; the single-machine engine runs its two halves on the whole graph. On
a synthetic marketplace cut into buckets (three hash buckets and the largest component on
its own, as Spark routes a giant component), every ring, member, block and feature comes
out as on the whole graph; PageRank to 1e-10 relative (igraph normalises over the graph it
is given). And the subgraph Leiden gets is built edge for edge as on the whole graph.
"""

from __future__ import annotations

import igraph as ig
import numpy as np
import polars as pl
import pytest

from syndicate.components import BUCKET_IDENTIFIERS, ComponentWork, bucket_linkage, component_work
from syndicate.config import Config
from syndicate.features.seller import component_features
from syndicate.graphs.communities import component_subgraph, find_rings
from syndicate.graphs.linkage import LinkageGraph, build_linkage
from syndicate.synth import generate_marketplace
from syndicate.validation import MarketplaceInputs, load_inputs

CONFIG = Config()


@pytest.fixture(scope="module")
def inputs() -> MarketplaceInputs:
    market = generate_marketplace(n_sellers=4000, seed=7)
    return load_inputs(market.sellers, market.links, labels=market.labels)


@pytest.fixture(scope="module")
def linkage(inputs: MarketplaceInputs) -> LinkageGraph:
    return build_linkage(inputs.links, inputs.edges, CONFIG)


def component_of(linkage: LinkageGraph) -> pl.DataFrame:
    """``seller_id``, ``component``: each linked seller's connected component (all edges)."""
    index, numbered = linkage.node_order, linkage.numbered_edges
    graph = ig.Graph(n=index.height, edges=numbered.select("a", "b").to_numpy())
    return index.sort("node").select(
        "seller_id", pl.Series("component", graph.connected_components().membership)
    )


def buckets(linkage: LinkageGraph, n_buckets: int) -> pl.DataFrame:
    """``seller_id``, ``bucket``: components hashed into ``n_buckets``; the largest alone."""
    components = component_of(linkage)
    largest = components["component"].value_counts(sort=True)["component"][0]
    return components.select(
        "seller_id",
        pl.when(pl.col("component") == largest)
        .then(n_buckets)
        .otherwise(pl.col("component").hash(seed=1) % n_buckets)
        .alias("bucket"),
    )


def bucket_tables(
    linkage: LinkageGraph, inputs: MarketplaceInputs, sellers: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The bucket's edges, identifiers, sellers and labels (``sellers``: its seller ids)."""
    ids = sellers["seller_id"].implode()
    edges = linkage.edges.filter(pl.col("src").is_in(ids))
    held = (
        linkage.seller_identifiers.filter(~pl.col("hub") & pl.col("seller_id").is_in(ids))
        .join(linkage.identifiers.select("kind", "key", "n_sellers"), on=["kind", "key"])
        .select(list(BUCKET_IDENTIFIERS))
    )
    rows = inputs.sellers.filter(pl.col("seller_id").is_in(ids))
    labels = inputs.labels.filter(pl.col("seller_id").is_in(ids))
    # Reversed: nothing may depend on the order rows come in.
    return edges.reverse(), held.reverse(), rows.reverse(), labels.reverse()


def test_buckets_give_the_rows_of_the_whole_graph(
    inputs: MarketplaceInputs, linkage: LinkageGraph
) -> None:
    whole_rings = find_rings(linkage, CONFIG)
    whole_features = component_features(inputs.sellers, linkage, whole_rings, inputs.labels)
    assigned = buckets(linkage, 3)
    total = linkage.node_order.height
    works: list[ComponentWork] = []
    for part in assigned.partition_by("bucket"):
        edges, held, sellers, labels = bucket_tables(linkage, inputs, part)
        works.append(component_work(edges, held, sellers, labels, CONFIG, linked_total=total))
    assert len(works) == 4
    assert whole_rings.rings.height > 50 and whole_rings.blocks.height > 0
    # Leiden split some component into several rings: those are compared too.
    split = (
        whole_rings.members.drop_nulls("ring_id")
        .group_by("component")
        .agg(pl.col("ring_id").n_unique())
    )
    assert split["ring_id"].max() >= 2
    members = pl.concat([work.members for work in works]).sort("seller_id")
    assert members.equals(whole_rings.members)
    rings = pl.concat([work.rings for work in works]).sort("ring_id")
    assert rings.equals(whole_rings.rings)
    blocks = pl.concat([work.blocks for work in works]).sort("seller_id")
    assert blocks.equals(whole_rings.blocks)
    features = pl.concat([work.features for work in works]).sort("seller_id")
    expected = whole_features.sort("seller_id")
    assert features.columns == expected.columns
    assert features.drop("pagerank").equals(expected.drop("pagerank"))
    gap = ((features["pagerank"] - expected["pagerank"]).abs() / expected["pagerank"]).max()
    # igraph solves each component on its own to a tolerance of 1e-10, a graph of fewer
    # than 128 vertices by elimination, then normalises: about 1e-12 apart here.
    assert isinstance(gap, float) and gap <= 1e-10, gap


def test_a_bucket_of_one_component_is_ringed_as_in_the_whole_graph(
    inputs: MarketplaceInputs, linkage: LinkageGraph
) -> None:
    # The largest component alone: igraph's own choice would copy the bucket's graph (the
    # component is all of it); it is built from scratch, as in the whole graph.
    assigned = buckets(linkage, 3)
    alone = assigned.filter(pl.col("bucket") == 3)
    assert alone.height < linkage.node_order.height / 2
    edges, held, sellers, labels = bucket_tables(linkage, inputs, alone)
    work = component_work(
        edges, held, sellers, labels, CONFIG, linked_total=linkage.node_order.height
    )
    expected = find_rings(linkage, CONFIG).members.join(alone, on="seller_id", how="semi")
    assert work.members.equals(expected)


def test_the_subgraph_is_built_as_on_the_whole_graph() -> None:
    # Ten vertices; the component {0, 1, 2, 3, 5} has edges (5, 2) and (3, 1) stored with
    # the larger end first. Copying the graph and deleting the other vertices keeps the
    # stored order: (0,3), (1,2), (0,2) [was (2,0)], (1,3) [was (3,1)], (2,4) [was (5,2)];
    # building it from scratch lists each vertex's edges to larger vertices in turn:
    # (0,2), (1,2), (0,3), (1,3), (2,4). Five of ten vertices (not over half): from
    # scratch, on the whole graph and, given the whole graph's count, in a bucket of the
    # component alone, where igraph's own rule (five of five) would copy.
    edges = [(0, 3), (1, 2), (2, 0), (3, 1), (5, 2), (7, 6), (9, 8)]
    whole = ig.Graph(n=10, edges=edges)
    vertices = np.array([0, 1, 2, 3, 5])
    from_scratch = [(0, 2), (1, 2), (0, 3), (1, 3), (2, 4)]
    assert component_subgraph(whole, vertices, 10).get_edgelist() == from_scratch
    assert whole.induced_subgraph(vertices.tolist()).get_edgelist() == from_scratch
    bucket = ig.Graph(n=5, edges=[(0, 3), (1, 2), (2, 0), (3, 1), (4, 2)])
    everything = np.arange(5)
    assert component_subgraph(bucket, everything, 10).get_edgelist() == from_scratch
    copied = [(0, 3), (1, 2), (0, 2), (1, 3), (2, 4)]
    assert bucket.induced_subgraph(everything.tolist()).get_edgelist() == copied
    # Over half of the whole graph: copied in both.
    assert component_subgraph(bucket, everything, 9).get_edgelist() == copied


def test_bucket_linkage_names_missing_columns() -> None:
    edges = pl.DataFrame({"src": ["a"], "dst": ["b"]})
    held = pl.DataFrame({"seller_id": ["a"], "kind": ["ip"]})
    with pytest.raises(ValueError, match=r"edges\.weight.*identifiers\.key"):
        bucket_linkage(edges, held)
