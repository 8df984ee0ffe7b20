"""The Spark engine end to end: the same rings, decisions and scores as the default engine.

A 20,000-seller synthetic marketplace (with given edges, some of them refused) is written
to Parquet; the default engine runs on the files in a subprocess with ``OMP_NUM_THREADS=1``
(igraph's PageRank uses OpenMP, and this process may have loaded igraph already; Spark's
Python workers get one thread a task from pyspark itself), and :func:`run_spark` reads the
same files in the shared local session, in small buckets of components so that the
per-component work runs on many buckets and some components are buckets of their own.
Rings (members and ids), decisions, reasons and scores come out identical; every feature
too but PageRank (igraph normalises over the graph it is given: 1e-9 relative here).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from spark_support import module_session, require_spark

require_spark()

from syndicate.spark import SparkRun, run_spark  # noqa: E402
from syndicate.spark.arrow import to_polars  # noqa: E402
from syndicate.synth import generate_marketplace  # noqa: E402

spark = module_session()

AS_OF = datetime(2026, 6, 1)
N_SELLERS = 20_000
#: Small buckets: about 25 hash buckets, and the components over 60 sellers alone.
BUCKET_SELLERS = 60

#: The default engine on the files, in a process of its own with one OpenMP thread.
DEFAULT_ENGINE = textwrap.dedent(
    """
    import json, sys
    from datetime import datetime
    from pathlib import Path
    from syndicate.config import Config
    from syndicate.pipeline import run_pipeline
    from syndicate.validation import load_inputs

    folder = Path(sys.argv[1])
    inputs = load_inputs(
        folder / "sellers.parquet", folder / "links.parquet", folder / "edges.parquet",
        folder / "labels.parquet", as_of=datetime.fromisoformat(sys.argv[2]),
    )
    result = run_pipeline(inputs, Config())
    out = folder / "default"
    out.mkdir()
    result.labels.write_parquet(out / "labels.parquet")
    result.rings.write_parquet(out / "rings.parquet")
    result.features.write_parquet(out / "features.parquet")
    result.linkage.hubs.write_parquet(out / "hubs.parquet")
    facts = {
        "rejects": inputs.reject_counts(),
        "warnings": result.warnings,
        "thresholds": result.scores.thresholds.as_dict(),
        "linked": result.rings_found.members.height,
    }
    (out / "facts.json").write_text(json.dumps(facts))
    """
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The marketplace as Parquet files, with given edges (a few to refuse)."""
    path = tmp_path_factory.mktemp("spark-parity")
    market = generate_marketplace(n_sellers=N_SELLERS, seed=5)
    ids = market.sellers["seller_id"]
    rng = np.random.default_rng(5)
    pairs = rng.integers(0, ids.len(), size=(400, 2))
    edges = pl.DataFrame(
        {
            "src": ids.gather(pairs[:, 0]),
            "dst": ids.gather(pairs[:, 1]),
            "relation": rng.choice(["Referral", "same_bank ", "shared_login"], size=400),
            "weight": rng.choice([0.5, 1.0, 2.0, -1.0], size=400, p=[0.3, 0.4, 0.25, 0.05]),
        }
    ).with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(1.0).otherwise("weight").alias("weight")
    )
    odd = pl.DataFrame(  # an unknown seller, a self-loop, (b, a) repeating (a, b)
        {
            "src": ["nobody", ids[3], edges["dst"][0]],
            "dst": [ids[0], ids[3], edges["src"][0]],
            "relation": ["referral", "referral", edges["relation"][0]],
            "weight": [1.0, 1.0, edges["weight"][0]],
        }
    )
    market.sellers.write_parquet(path / "sellers.parquet")
    market.links.write_parquet(path / "links.parquet")
    market.labels.write_parquet(path / "labels.parquet")
    pl.concat([edges, odd]).write_parquet(path / "edges.parquet")
    return path


@pytest.fixture(scope="module")
def default(folder: Path) -> dict[str, Any]:
    """The default engine's tables and facts (started first, it runs beside Spark)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(
        [sys.executable, "-c", DEFAULT_ENGINE, str(folder), AS_OF.isoformat()],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    _, errors = process.communicate(timeout=600)
    assert process.returncode == 0, errors
    out = folder / "default"
    tables: dict[str, Any] = {
        name: pl.read_parquet(out / f"{name}.parquet")
        for name in ("labels", "rings", "features", "hubs")
    }
    tables["facts"] = json.loads((out / "facts.json").read_text())
    return tables


@pytest.fixture(scope="module")
def spark_run(spark: Any, folder: Path, default: dict[str, Any]) -> SparkRun:
    read = spark.read.parquet
    return run_spark(
        spark,
        read(str(folder / "sellers.parquet")),
        read(str(folder / "links.parquet")),
        labels=read(str(folder / "labels.parquet")),
        edges=read(str(folder / "edges.parquet")),
        as_of=AS_OF,
        bucket_sellers=BUCKET_SELLERS,
        checkpoint="local",
    )


def differing(got: pl.DataFrame, expected: pl.DataFrame, key: str) -> dict[str, list[Any]]:
    """The columns that differ, each with the first rows' keys and both values."""
    found = {}
    for name in expected.columns:
        if not got[name].equals(expected[name]):
            both = pl.DataFrame({key: expected[key], "got": got[name], "expected": expected[name]})
            odd = both.filter(pl.col("got").ne_missing(pl.col("expected")))
            found[name] = odd.head(3).rows()
    return found


def collected(frame: Any, like: pl.DataFrame, key: str) -> pl.DataFrame:
    """A Spark table on the driver with the default engine's dtypes, sorted by ``key``."""
    table = to_polars(frame, dict(like.schema))
    assert table.columns == like.columns
    return table.sort(key)


def test_the_run_is_spread_over_buckets_and_giants(spark_run: SparkRun) -> None:
    buckets = spark_run.buckets
    assert buckets.n_buckets >= 20 and buckets.giants >= 2, buckets
    assert buckets.largest > BUCKET_SELLERS


def test_rings_are_identical(spark_run: SparkRun, default: dict[str, Any]) -> None:
    expected = default["rings"].sort("ring_id")
    rings = collected(spark_run.rings, expected, "ring_id")
    assert expected.height > 300
    assert rings["ring_id"].to_list() == expected["ring_id"].to_list()
    assert differing(rings, expected, "ring_id") == {}
    members = default["labels"].select("seller_id", "ring_id").sort("seller_id")
    got = collected(spark_run.labels.select("seller_id", "ring_id"), members, "seller_id")
    assert got.equals(members)


def test_decisions_are_identical_and_scores_equal(
    spark_run: SparkRun, default: dict[str, Any]
) -> None:
    expected = default["labels"].sort("seller_id")
    labels = collected(spark_run.labels, expected, "seller_id")
    assert labels.height == N_SELLERS
    exact = [name for name in expected.columns if name not in ("seller_score", "ring_score")]
    assert differing(labels.select(exact), expected.select(exact), "seller_id") == {}
    assert expected["decision"].value_counts().height == 3  # syndicate, review and clear
    for name in ("seller_score", "ring_score"):
        gap = (labels[name] - expected[name]).abs().max()
        assert gap is None or gap <= 1e-6, (name, gap)
    facts = default["facts"]
    assert spark_run.thresholds.as_dict() == facts["thresholds"]
    assert spark_run.warnings == facts["warnings"]


def test_features_are_identical_but_pagerank(spark_run: SparkRun, default: dict[str, Any]) -> None:
    expected = default["features"].sort("seller_id")
    features = collected(spark_run.features, expected, "seller_id")
    assert differing(features.drop("pagerank"), expected.drop("pagerank"), "seller_id") == {}
    gap = ((features["pagerank"] - expected["pagerank"]).abs() / expected["pagerank"]).max()
    assert isinstance(gap, float) and gap <= 1e-9, gap


def test_hubs_refusals_and_counts_are_the_default_engines(
    spark_run: SparkRun, default: dict[str, Any]
) -> None:
    expected = default["hubs"].sort("kind", "key")
    assert collected(spark_run.hubs, expected, "kind").sort("kind", "key").equals(expected)
    facts = default["facts"]
    rejects = spark_run.inputs.reject_counts()
    assert rejects == facts["rejects"]
    assert set(rejects["edges"]) == {
        "duplicate_row",
        "invalid_weight",
        "self_loop",
        "unknown_seller",
    }
    assert spark_run.buckets.linked == facts["linked"]
