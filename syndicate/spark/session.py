"""A lean local Spark session: for the tests, the benchmarks and (later) ``--engine spark``.

On a cluster, build the session the cluster's way and pass it in; nothing in
:mod:`syndicate.spark` needs more than a ``SparkSession`` with a checkpoint directory.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping

from pyspark.sql import SparkSession

__all__ = ["LEAN_SETTINGS", "local_session"]

#: Settings for a small local session: no UI, few shuffle partitions, a small driver, bound
#: to the loopback interface (no firewall prompts, nothing listening on the network).
LEAN_SETTINGS: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "2",
    "spark.driver.memory": "1g",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    # Small tables: a broadcast join beats a shuffle, and adaptive execution may coalesce.
    "spark.sql.adaptive.enabled": "true",
    "spark.log.level": "ERROR",
    # The text of a plan is built when a frame is cached: bounded, it cannot fill the driver.
    "spark.sql.maxPlanStringLength": "100000",
}


def local_session(
    app: str = "syndicate",
    master: str = "local[2]",
    checkpoint_dir: str | None = None,
    settings: Mapping[str, str] | None = None,
) -> SparkSession:
    """Get (or create) a local Spark session with :data:`LEAN_SETTINGS`.

    ``checkpoint_dir`` is where :func:`syndicate.spark.connected_components` checkpoints
    each iteration (default: a new temporary directory). A session that already runs in
    this process is returned as it is (Spark allows one per JVM), with the checkpoint
    directory set.

    Parameters
    ----------
    app
        The application name shown in logs.
    master
        The Spark master URL; ``local[2]`` uses two cores of this machine.
    checkpoint_dir
        A directory for checkpoints; a fresh temporary one when ``None``.
    settings
        More settings, over :data:`LEAN_SETTINGS` (``spark.driver.memory``, ...); like
        them, they apply when this call starts the session.
    """
    # Spark's own address lookup (which warns when the host name is a loopback address).
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # Python workers (pandas UDFs) run this interpreter, not whatever `python3` is on PATH
    # (which may lack pandas and pyarrow).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app).master(master)
    for key, value in {**LEAN_SETTINGS, **(settings or {})}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setCheckpointDir(
        checkpoint_dir or tempfile.mkdtemp(prefix="syndicate-spark-checkpoints-")
    )
    return spark
