"""``syndicate run --engine spark``: the default engine's run folder, from Parquet folders.

A 1,500-seller marketplace is written as single Parquet files (read by the default engine)
and as folders of part files in shuffled order (read by Spark). Both runs go through the
command line; their run folders hold the same tables (``labels``, ``rings``,
``features``, ``hubs``, ``metrics``, ``rings_gone``, the pages' data), the same ring
pages, a model and the same manifest counts. Only ``rejects.parquet`` differs: the Spark
engine has no row numbers and writes the refused row in Spark's JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from spark_support import module_session, require_spark

require_spark()

from syndicate.cli import main  # noqa: E402
from syndicate.synth import generate_marketplace  # noqa: E402

spark = module_session()

TABLES = ("labels", "rings", "features", "hubs", "metrics", "rings_gone")


@pytest.fixture(scope="module")
def runs(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The default engine's run folder and the Spark engine's, on the same marketplace."""
    root = tmp_path_factory.mktemp("spark-cli")
    market = generate_marketplace(n_sellers=1500, seed=11)
    files, folders = [], []
    for name in ("sellers", "links", "labels"):
        table = getattr(market, name)
        table.write_parquet(root / f"{name}.parquet")
        folder = root / f"{name}-parts"
        folder.mkdir()
        shuffled = table.sample(fraction=1.0, shuffle=True, seed=3)
        for i, part in enumerate(shuffled.iter_slices(table.height // 3 + 1)):
            part.write_parquet(folder / f"part-{i:05d}.parquet")
        files += [f"--{name}", str(root / f"{name}.parquet")]
        folders += [f"--{name}", str(folder)]
    common = ["--as-of", "2026-06-01T00:00:00Z", "--quiet"]
    assert main(["run", *files, "--out", str(root / "local"), *common]) == 0
    spark_run = ["run", *folders, "--out", str(root / "spark"), *common]
    assert main([*spark_run, "--engine", "spark", "--spark-master", "local[2]"]) == 0
    return root / "local", root / "spark"


@pytest.mark.parametrize("name", TABLES)
def test_the_tables_are_the_default_engines(runs: tuple[Path, Path], name: str) -> None:
    local, spark_folder = runs
    expected = pl.read_parquet(local / f"{name}.parquet")
    got = pl.read_parquet(spark_folder / f"{name}.parquet")
    assert got.schema == expected.schema
    if name == "features":  # PageRank: igraph normalises over the graph it is given
        gap = ((got["pagerank"] - expected["pagerank"]).abs() / expected["pagerank"]).max()
        assert isinstance(gap, float) and gap <= 1e-9
        got, expected = got.drop("pagerank"), expected.drop("pagerank")
    assert got.equals(expected)


def test_pages_model_and_manifest_are_the_default_engines(runs: tuple[Path, Path]) -> None:
    local, spark_folder = runs
    pages = sorted(path.name for path in (local / "viz" / "rings").iterdir())
    assert (
        pages and sorted(path.name for path in (spark_folder / "viz" / "rings").iterdir()) == pages
    )
    for table in ("members", "identifiers", "relations"):
        expected = pl.read_parquet(local / "viz" / "data" / f"{table}.parquet")
        assert pl.read_parquet(spark_folder / "viz" / "data" / f"{table}.parquet").equals(expected)
    assert (spark_folder / "model" / "model.skops").is_file()
    before = json.loads((local / "run.json").read_text())
    after = json.loads((spark_folder / "run.json").read_text())
    assert after["engine"] == "spark" and "engine" not in before
    for key in ("counts", "lineage", "thresholds", "warnings", "rejects", "as_of"):
        assert after[key] == before[key], key
    assert [step["step"] for step in after["steps"]] == [step["step"] for step in before["steps"]]
    links = after["inputs"]["links"]
    assert links["files"] == 3 and links["rows_kept"] == before["inputs"]["links"]["rows_kept"]


def test_refused_rows_are_the_default_engines_but_row_numbers(runs: tuple[Path, Path]) -> None:
    local, spark_folder = runs
    key = ["table", "reason", "seller_id"]
    expected = pl.read_parquet(local / "rejects.parquet")
    got = pl.read_parquet(spark_folder / "rejects.parquet")
    assert expected.height > 0 and got.schema == expected.schema
    assert got.select(key).sort(key).equals(expected.select(key).sort(key))
    assert got["row"].null_count() == got.height
