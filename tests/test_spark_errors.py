"""``--engine spark`` where it cannot run: exit 2, a message naming what is missing, no
traceback, no output folder. These start no JVM, and the missing-pyspark case runs whether
pyspark is installed or not (it is hidden from a child interpreter)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest

from syndicate.cli import main


@pytest.fixture
def inputs(tmp_path: Path) -> list[str]:
    pl.DataFrame({"seller_id": ["a", "b"]}).write_parquet(tmp_path / "sellers.parquet")
    links = pl.DataFrame({"seller_id": ["a", "b"], "kind": "ip", "value": "1.2.3.4"})
    links.write_parquet(tmp_path / "links.parquet")
    return [
        "--sellers",
        str(tmp_path / "sellers.parquet"),
        "--links",
        str(tmp_path / "links.parquet"),
    ]


def test_without_pyspark(inputs: list[str], tmp_path: Path) -> None:
    out = tmp_path / "run"
    code = textwrap.dedent(
        f"""
        import sys
        sys.modules["pyspark"] = None  # as if the spark extra were not installed
        from syndicate.cli import main
        raise SystemExit(main(["run", *{inputs!r}, "--out", {str(out)!r}, "--engine", "spark"]))
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 2, done.stderr
    assert "error: --engine spark: syndicate.spark needs pyspark" in done.stderr
    assert "syndicate[spark]" in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()


def test_without_java(
    inputs: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    spark_job = pytest.importorskip("syndicate.spark.job", reason="pyspark is not installed")
    monkeypatch.setattr(spark_job, "_java", lambda: None)
    out = tmp_path / "run"
    assert main(["run", *inputs, "--out", str(out), "--engine", "spark", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "needs a Java 17 runtime" in err and "Traceback" not in err
    assert not out.exists()


def test_spark_master_needs_the_spark_engine(
    inputs: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert main(["run", *inputs, "--out", str(out), "--spark-master", "local[2]", "--quiet"]) == 2
    assert "--spark-master needs --engine spark" in capsys.readouterr().err
    assert not out.exists()
