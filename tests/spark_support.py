"""What the Spark test modules share: the skip rule and the session fixture.

Spark tests skip, with the reason, only when Java or pyspark is missing (``.ci/run``
installs both). Each module gets the session from its ``spark`` fixture; Spark runs one
context per process, so the JVM started by the first module serves the others too.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest


def require_spark() -> None:
    """Skip the calling test module unless pyspark and a Java runtime are present."""
    pytest.importorskip("pyspark", reason="pyspark is not installed (pip install -e '.[spark]')")
    java_home = os.environ.get("JAVA_HOME")
    has_java = shutil.which("java") is not None or (
        java_home is not None and os.path.exists(os.path.join(java_home, "bin", "java"))
    )
    if not has_java:
        pytest.skip(
            "no Java runtime for Spark (Debian: apt-get install openjdk-17-jre-headless)",
            allow_module_level=True,
        )


def _session() -> Iterator[Any]:
    """The lean local session (``local[2]``), checkpoints in a temporary directory."""
    from syndicate.spark.session import local_session

    with tempfile.TemporaryDirectory(prefix="syndicate-spark-test-") as checkpoints:
        session = local_session(app="syndicate-tests", checkpoint_dir=checkpoints)
        yield session
        session.catalog.clearCache()


def module_session() -> Any:
    """A module-scoped ``spark`` fixture: ``spark = module_session()`` in a test module."""
    return pytest.fixture(scope="module", name="spark")(_session)
