"""The Spark linkage graph equals the Polars one: hubs, identifiers, pairs, weights.

On the synthetic marketplace (3k sellers, validated as the pipeline does), with the default
config and with one tight enough for every hub rule to bite (a kind limit, and a pair budget
that cuts through the identifiers of one size), from validated keys and from raw values.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from spark_support import module_session, require_spark

require_spark()

from syndicate.config import Config  # noqa: E402
from syndicate.graphs.linkage import build_linkage as polars_build_linkage  # noqa: E402
from syndicate.spark.linkage import build_linkage  # noqa: E402
from syndicate.synth import generate_marketplace  # noqa: E402
from syndicate.validation import MarketplaceInputs, load_inputs  # noqa: E402

spark = module_session()


@pytest.fixture(scope="module")
def inputs() -> MarketplaceInputs:
    market = generate_marketplace(n_sellers=3000, seed=1)
    return load_inputs(market.sellers, market.links, labels=market.labels)


def _to_polars(frame: Any, order: list[str]) -> pl.DataFrame:
    table = pl.from_arrow(frame.toArrow())
    assert isinstance(table, pl.DataFrame)
    return table.sort(order)


def _spark_links(spark: Any, links: pl.DataFrame) -> Any:
    # Reversed rows and several partitions: nothing may depend on the order rows come in.
    return spark.createDataFrame(links.reverse().to_pandas()).repartition(3)


def _assert_same_graph(spark_graph: Any, polars_graph: Any, weight_gap: float = 0.0) -> None:
    for name, order in (
        ("hubs", ["kind", "key"]),
        ("identifiers", ["kind", "key"]),
        ("seller_identifiers", ["seller_id", "kind", "key"]),
    ):
        expected = getattr(polars_graph, name).sort(order)
        got = _to_polars(getattr(spark_graph, name), order).select(expected.columns)
        assert got.cast(dict(expected.schema)).equals(expected), name
    expected = polars_graph.edges
    got = _to_polars(spark_graph.edges, ["src", "dst"]).select(expected.columns)
    exact = ["src", "dst", "n_shared", "kinds", "backbone"]
    assert got.select(exact).cast(expected.select(exact).schema).equals(expected.select(exact))
    # Weights bit for bit (weight_gap 0): both engines add a pair's sorted terms with Kahan's
    # compensation (Polars' grouped float sum; syndicate.spark.linkage.kahan_sum).
    gap = (got["weight"] - expected["weight"]).abs().max()
    assert isinstance(gap, float) and gap <= weight_gap, gap


def test_linkage_of_validated_links_equals_polars(spark: Any, inputs: MarketplaceInputs) -> None:
    config = Config()
    polars_graph = polars_build_linkage(inputs.links, None, config)
    links = inputs.links.select("seller_id", "kind", "key")
    spark_graph = build_linkage(_spark_links(spark, links), None, config)
    assert polars_graph.edges.height > 1000
    _assert_same_graph(spark_graph, polars_graph)


def test_tight_hub_rules_and_raw_values_equal_polars(spark: Any, inputs: MarketplaceInputs) -> None:
    # Raw values (normalised inside build_linkage by each engine), a low IP limit, the log
    # weighting, and a pair budget that falls inside the identifiers of one size: ties of
    # size are cut by (kind, key) in both engines.
    # A kind without a weight, limit or rule of its own rides along (default weight, default
    # limit, the plain rule): loyalty cards shared by sellers 3 by 3.
    sellers = inputs.sellers["seller_id"].head(30)
    cards = pl.DataFrame(
        {
            "seller_id": sellers,
            "kind": "loyalty_card",
            "value": [f" Card-{i // 3} " for i in range(sellers.len())],
        }
    )
    raw = pl.concat([inputs.links.select("seller_id", "kind", "value"), cards])
    loose = polars_build_linkage(raw, None, Config(hub_limits={"ip": 8}))
    sizes = loose.identifiers.filter(~pl.col("hub"))["n_sellers"].cast(pl.Int64)
    sizes = sizes.sort(descending=True)
    counts = sizes.value_counts()
    tied = counts.filter(pl.col("count") >= 3)["n_sellers"].max()
    # The budget is every pair after the first identifier of size `tied` (in the hold-back
    # order): that one goes, the other identifiers of its size stay.
    first = sizes.to_list().index(tied)
    budget = int((sizes.slice(first + 1) * (sizes.slice(first + 1) - 1) // 2).sum())
    config = Config(hub_limits={"ip": 8}, max_pairs=budget, pair_weighting="log")
    polars_graph = polars_build_linkage(raw, None, config)
    reasons = set(polars_graph.hubs["reason"])
    assert reasons == {"kind_limit", "pair_budget"}, reasons
    assert "loyalty_card" in polars_graph.identifiers["kind"].to_list()
    of_tied_size = polars_graph.identifiers.filter(pl.col("n_sellers") == tied)
    assert of_tied_size["hub"].sum() == 1 and of_tied_size.height >= 3
    spark_graph = build_linkage(_spark_links(spark, raw), None, config)
    # The log weighting's log2 is the JVM's logarithm against Rust's: the last bit may differ.
    _assert_same_graph(spark_graph, polars_graph, weight_gap=1e-12)
