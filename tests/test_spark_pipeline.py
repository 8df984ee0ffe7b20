"""The Spark engine end to end: ``syndicate run --engine spark`` gives the default engine's run.

A 20,000-seller synthetic marketplace, with given edges (some to refuse: a bad weight, a
self-loop, a repeat, an unknown seller), is written as Parquet files for the default engine
and as folders of part files in shuffled order for Spark. The default engine runs in a
subprocess with ``OMP_NUM_THREADS=1`` (igraph's PageRank uses OpenMP, and this process may
have loaded igraph already; pyspark gives its Python workers one thread a task). Spark
runs in the shared local session with small buckets of components
(``spark.syndicate.bucketSellers`` = 60: about 40 hash buckets, and the components over 60
sellers each alone), so the per-component work is spread as on a cluster.

Both run folders hold identical rings (members and ids), decisions, reasons, scores,
features (PageRank to 1e-9: igraph normalises over the graph it is given), hubs, metrics,
pages and manifest counts, thresholds and warnings; refused rows are the same but for their
row numbers (not ported).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from spark_support import module_session, require_spark

require_spark()

from syndicate.cli import main  # noqa: E402
from syndicate.io import file_sha256  # noqa: E402
from syndicate.spark.buckets import BUCKET_SELLERS_KEY  # noqa: E402
from syndicate.synth import generate_marketplace  # noqa: E402

spark = module_session()

N_SELLERS = 20_000
BUCKET_SELLERS = 60
AS_OF = ["--as-of", "2026-06-01T00:00:00Z"]
TABLES = ("labels", "rings", "features", "hubs", "metrics", "rings_gone")


def given_edges(ids: pl.Series) -> pl.DataFrame:
    """400 random pairs (8% with a negative weight: over 5% of the table refused, so a
    warning), then a self-loop, a repeat of the first pair the other way round, and an edge
    from an unknown seller."""
    rng = np.random.default_rng(5)
    pairs = rng.integers(0, ids.len(), size=(400, 2))
    weight = rng.choice([0.5, 1.0, 2.0, -1.0], size=400, p=[0.3, 0.4, 0.22, 0.08])
    weight[0] = 1.0
    edges = pl.DataFrame(
        {
            "src": ids.gather(pairs[:, 0]),
            "dst": ids.gather(pairs[:, 1]),
            "relation": rng.choice(["Referral", "same_bank ", "shared_login"], size=400),
            "weight": weight,
        }
    )
    odd = pl.DataFrame(
        {
            "src": [ids[3], edges["dst"][0], "nobody"],
            "dst": [ids[3], edges["src"][0], ids[0]],
            "relation": ["referral", edges["relation"][0], "referral"],
            "weight": [1.0, 1.0, 1.0],
        }
    )
    return pl.concat([edges, odd])


@pytest.fixture(scope="module")
def runs(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The default engine's run folder and the Spark engine's, on the same marketplace."""
    root = tmp_path_factory.mktemp("spark-parity")
    market = generate_marketplace(n_sellers=N_SELLERS, seed=5)
    tables = {
        "sellers": market.sellers,
        "links": market.links,
        "labels": market.labels,
        "edges": given_edges(market.sellers["seller_id"]),
    }
    files, folders = [], []
    for name, table in tables.items():
        table.write_parquet(root / f"{name}.parquet")
        folder = root / f"{name}-parts"
        folder.mkdir()
        shuffled = table.sample(fraction=1.0, shuffle=True, seed=3)
        for i, part in enumerate(shuffled.iter_slices(table.height // 3 + 1)):
            part.write_parquet(folder / f"part-{i:05d}.parquet")
        files += [f"--{name}", str(root / f"{name}.parquet")]
        folders += [f"--{name}", str(folder)]
    # The default engine first, in its own process: it runs beside Spark.
    command = [sys.executable, "-m", "syndicate.cli", "run", *files, *AS_OF, "--quiet"]
    default = subprocess.Popen(
        [*command, "--out", str(root / "local")],
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        stderr=subprocess.PIPE,
        text=True,
    )
    spark.conf.set(BUCKET_SELLERS_KEY, str(BUCKET_SELLERS))
    try:
        argv = ["run", *folders, "--out", str(root / "spark"), *AS_OF, "--quiet"]
        assert main([*argv, "--engine", "spark", "--spark-master", "local[2]"]) == 0
    finally:
        spark.conf.unset(BUCKET_SELLERS_KEY)
    _, errors = default.communicate(timeout=600)
    assert default.returncode == 0, errors
    return root / "local", root / "spark"


def differing(got: pl.DataFrame, expected: pl.DataFrame) -> dict[str, list[Any]]:
    """The columns that differ, each with its first differing rows (row, got, expected)."""
    found = {}
    for name in expected.columns:
        if not got[name].equals(expected[name]):
            both = pl.DataFrame({"got": got[name], "expected": expected[name]}).with_row_index()
            odd = both.filter(pl.col("got").ne_missing(pl.col("expected")))
            found[name] = odd.head(3).rows()
    return found


def manifest(folder: Path) -> dict[str, Any]:
    facts: dict[str, Any] = json.loads((folder / "run.json").read_text())
    return facts


def test_the_work_is_spread_over_buckets_and_giants(runs: tuple[Path, Path]) -> None:
    facts = manifest(runs[1])["spark"]
    assert facts["buckets"] >= 20 and facts["giant_components"] >= 2, facts
    assert facts["largest_component"] > BUCKET_SELLERS and facts["master"] == "local[2]"
    assert facts["linked_sellers"] == manifest(runs[0])["counts"]["linked_sellers"]


@pytest.mark.parametrize("name", TABLES)
def test_the_tables_are_identical(runs: tuple[Path, Path], name: str) -> None:
    local, spark_folder = runs
    expected = pl.read_parquet(local / f"{name}.parquet")
    got = pl.read_parquet(spark_folder / f"{name}.parquet")
    assert got.schema == expected.schema and got.height == expected.height
    if name == "features":  # PageRank: igraph normalises over the graph it is given
        gap = ((got["pagerank"] - expected["pagerank"]).abs() / expected["pagerank"]).max()
        assert isinstance(gap, float) and gap <= 1e-9, gap
        got, expected = got.drop("pagerank"), expected.drop("pagerank")
    assert differing(got, expected) == {}


def test_rings_decisions_and_scores(runs: tuple[Path, Path]) -> None:
    # What the issue asks of the engines, said outright (the tables are identical anyway).
    local, spark_folder = runs
    expected = pl.read_parquet(local / "labels.parquet")
    got = pl.read_parquet(spark_folder / "labels.parquet")
    rings = pl.read_parquet(local / "rings.parquet")
    assert rings.height > 300 and expected["decision"].n_unique() == 3
    assert got.select("seller_id", "ring_id", "decision").equals(
        expected.select("seller_id", "ring_id", "decision")
    )
    for score in ("seller_score", "ring_score"):
        gap = (got[score] - expected[score]).abs().max()
        assert gap is None or gap <= 1e-6, (score, gap)


def test_pages_model_and_manifest(runs: tuple[Path, Path]) -> None:
    local, spark_folder = runs
    pages = sorted(path.name for path in (local / "viz" / "rings").iterdir())
    assert len(pages) == 50
    assert sorted(path.name for path in (spark_folder / "viz" / "rings").iterdir()) == pages
    for table in ("members", "identifiers", "relations"):
        expected = pl.read_parquet(local / "viz" / "data" / f"{table}.parquet")
        got = pl.read_parquet(spark_folder / "viz" / "data" / f"{table}.parquet")
        assert got.height and differing(got, expected) == {}, table
    assert (spark_folder / "model" / "model.npz").is_file()  # the forest, as plain arrays
    # The driver trains on the same rows: the same trees, the same bytes.
    assert file_sha256(spark_folder / "model" / "model.npz") == file_sha256(
        local / "model" / "model.npz"
    )
    before, after = manifest(local), manifest(spark_folder)
    assert after["engine"] == "spark" and "engine" not in before
    for key in ("counts", "lineage", "thresholds", "warnings", "rejects", "as_of"):
        assert after[key] == before[key], key
    assert before["warnings"]  # the refused edges are over 5% of the table
    assert [step["step"] for step in after["steps"]] == [step["step"] for step in before["steps"]]
    links = after["inputs"]["links"]
    assert links["files"] == 3 and links["rows_kept"] == before["inputs"]["links"]["rows_kept"]


def test_refused_rows_but_their_row_numbers(runs: tuple[Path, Path]) -> None:
    local, spark_folder = runs
    key = ["table", "reason", "seller_id"]
    expected = pl.read_parquet(local / "rejects.parquet")
    got = pl.read_parquet(spark_folder / "rejects.parquet")
    assert got.schema == expected.schema and got["row"].null_count() == got.height
    assert got.select(key).sort(key).equals(expected.select(key).sort(key))
    edges = set(expected.filter(pl.col("table") == "edges")["reason"])
    assert edges == {"duplicate_row", "invalid_weight", "self_loop", "unknown_seller"}
