"""``syndicate run --engine spark``: the batch job's pipeline on Spark, the run folder as ever.

:func:`syndicate.job.run_job` keeps everything it does around the pipeline — the locked
run folder, the staging and commit, ``metrics.parquet``, the pages, ``run.json`` — and hands
the pipeline itself here: the input files (Parquet files or folders of part files, CSV,
NDJSON) are read by Spark, :func:`syndicate.spark.run_spark` runs on them, and its tables
come back to the driver as a :class:`syndicate.pipeline.PipelineResult`, so the run folder
is written by the same code as the default engine's, with the same columns and dtypes.

What the driver collects: the run folder's tables (``labels`` and ``features``: one row per
seller; ``rings``, ``hubs``), the validated sellers, labels and given edges (for
``metrics.parquet``, the pages and the manifest), the refused rows, the linked sellers'
places and the ring members' identifiers (for the pages). The links stay in Spark (the
result holds their count). For tables too large for one machine, call
:func:`~syndicate.spark.run_spark` and write its DataFrames with Spark.

Not ported: ``--model`` (scoring with a saved model) and strategies.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import polars as pl
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from syndicate.config import Config
from syndicate.errors import InputError, InputFileError
from syndicate.graphs.communities import Rings
from syndicate.graphs.linkage import HUBS_SCHEMA, LinkageGraph
from syndicate.io import SUPPORTED_SUFFIXES, file_sha256
from syndicate.lineage import track_rings
from syndicate.model import Thresholds
from syndicate.pipeline import PipelineResult
from syndicate.progress import Reporter
from syndicate.scoring import Scores
from syndicate.spark.arrow import to_polars
from syndicate.spark.buckets import RING_TABLE
from syndicate.spark.pipeline import SparkRun, run_spark
from syndicate.spark.scoring import LABELS_COLUMNS, SCORED_RINGS
from syndicate.spark.session import local_session
from syndicate.validation import REJECTS_SCHEMA, MarketplaceInputs

__all__ = [
    "DRIVER_MEMORY",
    "check_spark_run",
    "fingerprint",
    "pipeline_result",
    "read_table",
    "run_spark_files",
]

#: The JVM heap of a local session started by ``syndicate run --engine spark`` (Spark's
#: ``spark.driver.memory``; ``SYNDICATE_SPARK_DRIVER_MEMORY`` overrides it).
DRIVER_MEMORY = "3g"


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and os.path.exists(os.path.join(home, "bin", "java")):
        return os.path.join(home, "bin", "java")
    return shutil.which("java")


def check_spark_run(*, model: Any = None, strategies: Any = None) -> None:
    """Refuse, before anything is read or made, what the Spark engine cannot run.

    Raises
    ------
    InputError
        No Java runtime, or a saved model or strategies (not ported to Spark yet).
    """
    if _java() is None:
        raise InputError(
            "--engine spark needs a Java 17 runtime (no java on PATH or under JAVA_HOME; "
            "Debian: apt-get install openjdk-17-jre-headless)"
        )
    if model is not None:
        raise InputError("--model is not supported with --engine spark yet; train instead")
    if strategies is not None:
        raise InputError("strategies are not supported with --engine spark yet")


def read_table(spark: SparkSession, path: Path, table: str) -> DataFrame:
    """An input table as a Spark DataFrame: a Parquet file or folder, CSV or NDJSON.

    CSV is read with a header and inferred types, but ids, kinds and values as text (so
    ``007`` keeps its zeros), as the default engine reads them.

    Raises
    ------
    InputFileError
        An unknown extension, or a file Spark cannot read; the message names the file.
    """
    suffix = path.suffix.lower()
    reader = "parquet" if path.is_dir() else SUPPORTED_SUFFIXES.get(suffix)
    if reader is None:
        known = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise InputFileError(
            f"{table} file {str(path)!r}: unsupported extension {suffix or '(none)'!r}; "
            f"syndicate reads {known} (and folders of Parquet files)"
        )
    try:
        if reader == "parquet":
            return spark.read.parquet(str(path))
        if reader == "ndjson":
            return spark.read.json(str(path))
        csv = spark.read.option("header", True).option("inferSchema", True)
        inferred = csv.csv(str(path)).schema
        text = {"seller_id", "src", "dst", "kind", "value", "relation", "source"}
        schema = T.StructType(
            [
                T.StructField(field.name, T.StringType()) if field.name in text else field
                for field in inferred.fields
            ]
        )
        return spark.read.option("header", True).schema(schema).csv(str(path))
    except Exception as exc:  # Spark raises its own analysis errors for unreadable files
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputFileError(f"{table} file {str(path)!r} cannot be read: {reason}") from exc


def fingerprint(path: Path) -> dict[str, Any]:
    """``run.json``'s facts of an input: path, bytes, sha256 (a folder: of its files'
    sha256 and relative names, in name order)."""
    if not path.is_dir():
        return {"path": str(path), "bytes": path.stat().st_size, "sha256": file_sha256(path)}
    files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".", "_")))
    digest = hashlib.sha256()
    for file in files:
        digest.update(f"{file.relative_to(path)}\0{file_sha256(file)}\n".encode())
    size = sum(file.stat().st_size for file in files)
    return {"path": str(path), "bytes": size, "sha256": digest.hexdigest(), "files": len(files)}


def _sellers(run: SparkRun) -> pl.DataFrame:
    """The validated sellers (``created_at`` a time again)."""
    table = pl.from_arrow(run.inputs.sellers.toArrow())
    assert isinstance(table, pl.DataFrame)
    if run.inputs.has_created_at:
        table = table.with_columns(pl.col("created_at").cast(pl.Datetime("us")))
    return table.sort("seller_id")


def pipeline_result(run: SparkRun, config: Config) -> PipelineResult:
    """The Spark run's tables on the driver, as the default engine's result holds them."""
    labels = to_polars(run.labels, LABELS_COLUMNS).sort("seller_id")
    scored = to_polars(run.rings.select(*SCORED_RINGS), SCORED_RINGS).sort("ring_id")
    features = to_polars(run.features, run.feature_schema).sort("seller_id")
    hubs = to_polars(run.hubs, {name: dtype() for name, dtype in HUBS_SCHEMA.items()})
    hubs = hubs.sort("kind", "key")
    place = {"seller_id": pl.String(), "component": pl.String(), "community": pl.String()}
    members = to_polars(run.members, {**place, "ring_id": pl.String()}).sort("seller_id")
    ring_members = run.members.where(F.col("ring_id").isNotNull()).select("seller_id")
    held = run.linkage.seller_identifiers.join(ring_members, "seller_id", "semi")
    seller_identifiers = to_polars(
        held,
        {"seller_id": pl.String(), "kind": pl.String(), "key": pl.String(), "hub": pl.Boolean()},
    ).sort("seller_id", "kind", "key")
    identifiers = to_polars(
        run.linkage.identifiers.join(held.select("kind", "key").distinct(), ["kind", "key"]),
        {"kind": pl.String(), "key": pl.String(), "n_sellers": pl.UInt32(), "hub": pl.Boolean()},
    ).sort("kind", "key")
    known = to_polars(
        run.inputs.labels, {"seller_id": pl.String(), "label": pl.Int8(), "source": pl.String()}
    ).sort("seller_id")
    edge_schema: dict[str, pl.DataType] = {
        "src": pl.String(),
        "dst": pl.String(),
        "relation": pl.String(),
        "weight": pl.Float64(),
    }
    edges = (
        to_polars(run.inputs.edges, edge_schema).sort("src", "dst", "relation", "weight")
        if run.inputs.edges is not None
        else pl.DataFrame(schema=edge_schema)
    )
    refused = to_polars(
        run.inputs.refused,
        {
            "table": pl.String(),
            "reason": pl.String(),
            "seller_id": pl.String(),
            "record": pl.String(),
        },
    )
    rejects = (
        refused.with_columns(pl.lit(None, dtype=pl.Int64).alias("row"))
        .select(list(REJECTS_SCHEMA))
        .sort("table", "reason", "seller_id", "record", nulls_last=True)
    )
    # The links stay in Spark: the driver keeps their count (columns of nulls, no memory).
    links = pl.DataFrame(
        {name: pl.repeat(None, run.counts["links"], eager=True) for name in ("seller_id", "kind")}
    )
    inputs = MarketplaceInputs(
        sellers=_sellers(run), links=links, edges=edges, labels=known, rejects=rejects
    )
    lineage = run.lineage or track_rings(
        members.filter(pl.col("ring_id").is_not_null()).select("seller_id", "ring_id"),
        None,
        min_jaccard=config.lineage_min_jaccard,
    )
    rings = Rings(members=members, rings=scored.select(list(RING_TABLE)))
    linkage = LinkageGraph(
        identifiers=identifiers,
        seller_identifiers=seller_identifiers,
        hubs=hubs,
        edges=pl.DataFrame(schema={"src": pl.String, "dst": pl.String}),
    )
    scores = Scores(
        sellers=labels,
        rings=scored,
        thresholds=run.thresholds,
        model=run.model,
        warnings=list(run.warnings),
    )
    return PipelineResult(
        inputs=inputs,
        config=config,
        linkage=linkage,
        rings_found=rings,
        features=features,
        scores=scores,
        lineage=lineage,
        timings=dict(run.timings),
        engine_facts=run.facts,
    )


def run_spark_files(
    given: dict[str, Path],
    config: Config,
    reporter: Reporter,
    *,
    previous: pl.DataFrame | None,
    previous_thresholds: Thresholds | None,
    as_of: Any,
    master: str | None,
) -> PipelineResult:
    """Read the input files with Spark, run :func:`run_spark` and collect its result.

    A local session (``master``, default ``local[2]``) gets the lean settings and
    :data:`DRIVER_MEMORY`; another master gets its settings from the cluster's
    ``spark-defaults.conf``. Checkpoints go to a temporary folder, removed at the end, and
    the session is stopped.
    """
    chosen = master or "local[2]"
    memory = os.environ.get("SYNDICATE_SPARK_DRIVER_MEMORY", DRIVER_MEMORY)
    running = SparkSession.getActiveSession()  # a session of the caller's: used, not stopped
    earlier = running.sparkContext.getCheckpointDir() if running is not None else None
    with tempfile.TemporaryDirectory(prefix="syndicate-spark-checkpoints-") as checkpoints:
        try:
            spark = local_session(
                master=chosen,
                checkpoint_dir=checkpoints,
                settings={"spark.driver.memory": memory} if chosen.startswith("local") else {},
            )
        except Exception as exc:  # the JVM would not start: Java too old, a bad master URL
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(
                f"--engine spark could not start Spark with master {chosen!r}: {reason}"
            ) from exc
        try:
            tables = {name: read_table(spark, path, name) for name, path in given.items()}
            run = run_spark(
                spark,
                tables["sellers"],
                tables["links"],
                labels=tables.get("labels"),
                edges=tables.get("edges"),
                config=config,
                previous=previous,
                previous_thresholds=previous_thresholds,
                as_of=as_of,
                checkpoint="reliable",
                reporter=reporter,
            )
            result = pipeline_result(run, config)
            result.engine_facts["master"] = spark.sparkContext.master
            return result
        finally:
            if running is None:
                spark.stop()
            else:
                spark.catalog.clearCache()
                if earlier is not None:
                    spark.sparkContext.setCheckpointDir(earlier)
