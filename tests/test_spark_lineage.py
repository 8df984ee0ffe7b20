"""Ring ids against an earlier run in Spark: :func:`syndicate.lineage.track_rings`'s ids.

Two rings found now (provisional ids from their smallest members) against an earlier run:
ring ``x`` of ``a, b, c`` is now ``a, b, c, d`` (grown, keeps ``x``), and ``e, f, g`` is
new. Members and ring rows are renamed in Spark as the lineage says, and the ring table
gets its lineage columns; without an earlier run every ring is new with all its members
joined, as ``track_rings`` says too.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from spark_support import module_session, require_spark

require_spark()

from pyspark.sql import functions as F  # noqa: E402

from syndicate.config import Config  # noqa: E402
from syndicate.graphs.communities import ring_id_for  # noqa: E402
from syndicate.lineage import LINEAGE_SCHEMA, track_rings  # noqa: E402
from syndicate.spark.arrow import spark_schema, spark_type, to_polars  # noqa: E402
from syndicate.spark.buckets import RING_TABLE  # noqa: E402
from syndicate.spark.pipeline import _lineage, _with_lineage  # noqa: E402
from syndicate.spark.scoring import SCORED_RINGS  # noqa: E402

spark = module_session()

NOW = {"a": ring_id_for("a"), "b": ring_id_for("a"), "c": ring_id_for("a"), "d": ring_id_for("a")}
NOW |= {"e": ring_id_for("e"), "f": ring_id_for("e"), "g": ring_id_for("e"), "h": None}
EARLIER = pl.DataFrame({"seller_id": ["a", "b", "c", "z"], "ring_id": ["ring-x"] * 3 + [None]})
LINEAGE = {"ring_id": pl.String(), **{name: dtype for name, (dtype, _) in LINEAGE_SCHEMA.items()}}


def scored(rings: Any) -> Any:
    """The ring rows as scoring leaves them (the columns it adds left null)."""
    return rings.select(
        *[
            F.col(name) if name in RING_TABLE else F.lit(None).cast(spark_type(dtype)).alias(name)
            for name, dtype in SCORED_RINGS.items()
        ]
    )


def frames(spark: Any) -> tuple[Any, Any]:
    members = spark.createDataFrame(
        [(seller, seller, seller, ring) for seller, ring in NOW.items()],
        "seller_id string, component string, community string, ring_id string",
    )
    rows = [
        (ring, size, 0, 1.0, 0.0, size, ["device"], ["leiden"], None)
        for ring, size in ((ring_id_for("a"), 4), (ring_id_for("e"), 3))
    ]
    rings = spark.createDataFrame(rows, spark_schema(RING_TABLE))
    return members, rings


def test_rings_keep_the_ids_they_match(spark: Any) -> None:
    members, rings = frames(spark)
    renamed, renamed_rings, lineage = _lineage(members, rings, EARLIER, Config())
    assert lineage is not None
    current = pl.DataFrame({"seller_id": list(NOW), "ring_id": list(NOW.values())})
    expected = track_rings(current.drop_nulls(), EARLIER)
    assert lineage.rings.equals(expected.rings)
    got = to_polars(renamed.select("seller_id", "ring_id"), dict(current.schema)).sort("seller_id")
    new = ring_id_for("e")
    assert got["ring_id"].to_list() == ["ring-x"] * 4 + [new] * 3 + [None]
    ids = sorted(row["ring_id"] for row in renamed_rings.collect())
    assert ids == sorted(["ring-x", new])
    table = to_polars(_with_lineage(scored(renamed_rings), lineage, spark), LINEAGE).sort("ring_id")
    statuses = dict(zip(table["ring_id"], table["status"], strict=True))
    assert statuses == {"ring-x": "grown", new: "new"}


def test_a_first_run_has_only_new_rings(spark: Any) -> None:
    members, rings = frames(spark)
    _, renamed_rings, lineage = _lineage(members, rings, None, Config())
    assert lineage is None
    table = to_polars(_with_lineage(scored(renamed_rings), None, spark), LINEAGE).sort("ring_id")
    current = pl.DataFrame({"seller_id": list(NOW), "ring_id": list(NOW.values())}).drop_nulls()
    expected = track_rings(current, None).rings.drop("provisional_id").select(list(LINEAGE))
    assert table.equals(expected.sort("ring_id"))
