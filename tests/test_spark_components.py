"""Connected components by large-star / small-star: hand-built graphs, and igraph's answer
on the pair graph of the synthetic marketplace."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import igraph as ig
import polars as pl
from spark_support import module_session, require_spark

require_spark()

from syndicate.config import Config  # noqa: E402
from syndicate.graphs.linkage import build_linkage  # noqa: E402
from syndicate.spark.components import connected_components, seller_codes  # noqa: E402
from syndicate.synth import generate_marketplace  # noqa: E402
from syndicate.validation import load_inputs  # noqa: E402

spark = module_session()


def _labels(spark: Any, edges: list[tuple[int, int]], **options: Any) -> tuple[dict[int, int], int]:
    frame = spark.createDataFrame(edges, "src long, dst long")
    found = connected_components(frame, **options)
    return {row["node"]: row["component"] for row in found.labels.collect()}, found.iterations


def test_hand_built_graphs(spark: Any) -> None:
    # One call over five graphs at once (one Spark run; node ids kept apart):
    #   a path 14-12-15-11-13 (ids out of order): one component named 11;
    #   a star centred on 25 with leaves 21..24 and 26: one component named 21;
    #   two triangles 31-32-33 and 36-37-38 joined by nothing, and an isolated pair 41-40
    #   given three times and in both directions: components 31, 36 and 40;
    #   a self-loop on 50 alone: its own component;
    #   a chain of 16 nodes 100-115 whose ids zig-zag (100, 115, 101, 114, ...): each node's
    #   smallest neighbour is far from the minimum, so the stars need several rounds.
    path = [(14, 12), (12, 15), (15, 11), (11, 13)]
    star = [(25, leaf) for leaf in (21, 22, 23, 24, 26)]
    triangles = [(31, 32), (32, 33), (33, 31), (36, 37), (37, 38), (38, 36)]
    pair = [(41, 40), (40, 41), (41, 40)]
    order = [100 + (i // 2 if i % 2 == 0 else 15 - i // 2) for i in range(16)]
    chain = list(pairwise(order))
    labels, iterations = _labels(spark, [*path, *star, *triangles, *pair, (50, 50), *chain])
    expected = {
        **dict.fromkeys((11, 12, 13, 14, 15), 11),
        **dict.fromkeys((21, 22, 23, 24, 25, 26), 21),
        **dict.fromkeys((31, 32, 33), 31),
        **dict.fromkeys((36, 37, 38), 36),
        40: 40,
        41: 40,
        50: 50,
        **dict.fromkeys(range(100, 116), 100),
    }
    assert labels == expected
    assert iterations >= 3


def test_equal_to_igraph_on_the_marketplace_pair_graph(spark: Any) -> None:
    market = generate_marketplace(n_sellers=3000, seed=1)
    inputs = load_inputs(market.sellers, market.links, labels=market.labels)
    edges = build_linkage(inputs.links, None, Config()).edges.select("src", "dst")
    sellers = pl.concat([edges["src"], edges["dst"]]).unique().sort()
    index = {seller: i for i, seller in enumerate(sellers.to_list())}
    graph = ig.Graph(n=len(index), edges=[(index[a], index[b]) for a, b in edges.iter_rows()])
    membership = graph.connected_components().membership
    expected_groups: dict[int, set[str]] = {}
    for seller, component in zip(sellers.to_list(), membership, strict=True):
        expected_groups.setdefault(component, set()).add(seller)

    pairs = spark.createDataFrame(edges.to_pandas())
    codes = seller_codes(pairs.select("src").union(pairs.select("dst")), "src", checkpoint="local")
    coded = (
        pairs.join(codes.withColumnsRenamed({"seller_id": "src", "node": "a"}), on="src")
        .join(codes.withColumnsRenamed({"seller_id": "dst", "node": "b"}), on="dst")
        .select("a", "b")
    )
    found = connected_components(coded, src="a", dst="b", checkpoint="local")
    named = found.labels.join(codes, on="node").join(
        codes.withColumnsRenamed({"seller_id": "component_seller", "node": "component"}),
        on="component",
    )
    groups: dict[str, set[str]] = {}
    for row in named.select("seller_id", "component_seller").collect():
        groups.setdefault(row["component_seller"], set()).add(row["seller_id"])
    assert sorted(map(sorted, groups.values())) == sorted(map(sorted, expected_groups.values()))
    # Each component is named by its smallest seller id, as the Polars engine names them.
    assert all(name == min(members) for name, members in groups.items())
    assert len(groups) > 50
