"""The Spark engine's scoring tail on buckets equals :func:`score_marketplace` (no JVM).

:func:`syndicate.spark.scoring.decide_bucket` is what Spark runs on each bucket of
components (and on the sellers in none) once the driver has the thresholds; it is pure
Polars, so it is checked here against the default engine on a 3,000-seller marketplace cut
into buckets, in cold start (no labels: structure scores, the cold-start thresholds) and
with a trained model (out-of-fold scores for the labelled, the full model's for the rest).
The parity test (``test_spark_pipeline.py``) checks the same end to end, with labels.
"""

from __future__ import annotations

import igraph as ig
import numpy as np
import polars as pl
import pytest

pytest.importorskip("pyspark", reason="pyspark is not installed (pip install -e '.[spark]')")

from syndicate.config import Config
from syndicate.features.ring import anomaly_percentiles
from syndicate.features.seller import seller_features
from syndicate.graphs.communities import find_rings
from syndicate.graphs.linkage import LinkageGraph, build_linkage
from syndicate.scoring import Scores, score_marketplace
from syndicate.spark.scoring import (
    DECIDE_SELLERS,
    SCORED_RINGS,
    decide_bucket,
    thresholds_and_warnings,
)
from syndicate.synth import generate_marketplace
from syndicate.validation import MarketplaceInputs, load_inputs

CONFIG = Config()


@pytest.fixture(scope="module")
def inputs() -> MarketplaceInputs:
    market = generate_marketplace(n_sellers=3000, seed=4)
    return load_inputs(market.sellers, market.links, labels=market.labels)


def bucket_of(linkage: LinkageGraph) -> pl.DataFrame:
    """``seller_id``, ``bucket``: components (every edge) hashed into three buckets."""
    index, numbered = linkage.node_order, linkage.numbered_edges
    graph = ig.Graph(n=index.height, edges=numbered.select("a", "b").to_numpy())
    component = np.asarray(graph.connected_components().membership)
    return index.sort("node").select("seller_id", pl.Series("bucket", component % 3))


def decided_in_buckets(
    inputs: MarketplaceInputs, labels: pl.DataFrame, trained: bool
) -> tuple[Scores, pl.DataFrame, pl.DataFrame]:
    """The default engine's scores, and decide_bucket's labels and rings over the buckets."""
    linkage = build_linkage(inputs.links, inputs.edges, CONFIG)
    rings = find_rings(linkage, CONFIG)
    features = seller_features(inputs.sellers, inputs.links, linkage, rings, labels)
    expected = score_marketplace(inputs.sellers, linkage, rings, features, labels, CONFIG)
    model = expected.model if trained else None
    unlabelled = features.join(labels, on="seller_id", how="anti")
    full = (
        unlabelled.select("seller_id", pl.Series("full_score", model.score(unlabelled)))
        if model is not None
        else pl.DataFrame(schema={"seller_id": pl.String, "full_score": pl.Float64})
    )
    training = thresholds_and_warnings(
        model, full["full_score"].to_numpy(), labels, CONFIG, [], None
    )
    in_rings = rings.members.filter(pl.col("ring_id").is_not_null()).select("seller_id")
    percentile = anomaly_percentiles(features.select("seller_id", "anomaly_score"))
    sellers = (
        inputs.sellers.select(
            "seller_id", pl.col("created_at").dt.epoch("us").alias("created_at_us")
        )
        .join(rings.members.select("seller_id", "ring_id"), on="seller_id", how="left")
        .join(labels.select("seller_id", "label"), on="seller_id", how="left")
        .join(percentile.join(in_rings, on="seller_id"), on="seller_id", how="left")
        .join(full, on="seller_id", how="left")
        .join(training.oof, on="seller_id", how="left")
        .with_columns(pl.col("known").fill_null(False))
        .select(list(DECIDE_SELLERS))
        .cast(DECIDE_SELLERS)  # type: ignore[arg-type]
    )
    buckets = bucket_of(linkage)
    ring_bucket = rings.members.join(buckets, on="seller_id").select("ring_id", "bucket").unique()
    held = linkage.seller_identifiers.filter(~pl.col("hub")).join(
        linkage.identifiers.select("kind", "key", "n_sellers"), on=["kind", "key"]
    )
    parts = []
    for bucket in range(3):
        ids = buckets.filter(pl.col("bucket") == bucket).select("seller_id")
        parts.append(
            decide_bucket(
                sellers.join(ids, on="seller_id", how="semi"),
                rings.rings.join(
                    ring_bucket.filter(pl.col("bucket") == bucket), on="ring_id", how="semi"
                ),
                held.join(ids, on="seller_id", how="semi").drop("hub"),
                pl.DataFrame(schema={"src": pl.String, "dst": pl.String, "relation": pl.String}),
                CONFIG,
                training.thresholds,
                model,
                has_created_at=True,
                use_anomaly=True,
            )
        )
    unlinked = sellers.join(buckets, on="seller_id", how="anti")
    parts.append(
        decide_bucket(
            unlinked,
            rings.rings.head(0),
            held.head(0).drop("hub"),
            pl.DataFrame(schema={"src": pl.String, "dst": pl.String, "relation": pl.String}),
            CONFIG,
            training.thresholds,
            model,
            has_created_at=True,
            use_anomaly=True,
        )
    )
    labels_out = pl.concat([labels_part for labels_part, _ in parts]).sort("seller_id")
    rings_out = pl.concat([rings_part for _, rings_part in parts]).sort("ring_id")
    assert training.thresholds == expected.thresholds
    return expected, labels_out, rings_out


@pytest.mark.parametrize("trained", [False, True], ids=["cold-start", "trained"])
def test_buckets_decide_as_the_default_engine(inputs: MarketplaceInputs, trained: bool) -> None:
    labels = inputs.labels if trained else inputs.labels.head(0)
    expected, got_labels, got_rings = decided_in_buckets(inputs, labels, trained)
    assert expected.cold_start is not trained
    assert got_labels.equals(expected.sellers)
    assert got_rings.equals(expected.rings.select(list(SCORED_RINGS)))
    assert (expected.sellers["decision"] != "clear").sum() > 0
