"""Spark normalisation equals the Polars engine's, value for value.

Both engines normalise one shared table of tricky inputs (:mod:`spark_cases`: every value
under every kind spelling, placeholders included) and every Unicode code point, in blocks,
under every kind's rule; the keys, kinds and placeholder flags must be identical.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from spark_cases import KINDS, VALUES
from spark_support import module_session, require_spark

require_spark()

from syndicate.config import Config, normalise_kind  # noqa: E402
from syndicate.graphs.normalise import normalise_links as polars_normalise_links  # noqa: E402
from syndicate.spark.normalise import normalise_links, polars_class  # noqa: E402

spark = module_session()
CONFIG = Config()


def _polars_keys(frame: pl.DataFrame, config: Config | None) -> pl.DataFrame:
    """What validation does: kinds named by normalise_kind, then normalise_links."""
    named = frame.with_columns(pl.col("kind").map_elements(normalise_kind, return_dtype=pl.String))
    flags: dict[str, Any] = (
        {"placeholders": config.placeholders, "common_placeholders": config.common_placeholders}
        if config is not None
        else {}
    )
    return polars_normalise_links(named, **flags).sort("row")


def _spark_keys(spark: Any, frame: pl.DataFrame, config: Config | None) -> pl.DataFrame:
    shuffled = spark.createDataFrame(frame.to_pandas()).repartition(3)
    keyed = normalise_links(shuffled, config=config).toPandas()
    return pl.from_pandas(keyed, schema_overrides={"key": pl.String}).sort("row")


def _mismatches(polars: pl.DataFrame, spark: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    joined = polars.join(spark, on="row", suffix="_spark", how="full", coalesce=True)
    differs = pl.lit(False)
    for column in columns:
        differs = differs | pl.col(column).ne_missing(pl.col(f"{column}_spark"))
    return joined.filter(differs)


def test_tricky_values_normalise_alike_in_both_engines(spark: Any) -> None:
    rows = [
        (row, kind, why, value)
        for row, (kind, (why, value)) in enumerate(
            (kind, case) for kind in KINDS for case in VALUES
        )
    ]
    frame = pl.DataFrame(rows, schema=["row", "kind", "why", "value"], orient="row")
    polars = _polars_keys(frame, CONFIG).with_columns(pl.col("placeholder").fill_null(False))
    keyed = _spark_keys(spark, frame, CONFIG)
    assert keyed.height == frame.height
    bad = _mismatches(polars, keyed, ["kind", "key", "placeholder"])
    assert bad.height == 0, bad.select("why", "kind", "value", "key", "key_spark").rows()[:10]
    # The table exercises what it claims to: placeholders, null and empty keys, NFKC.
    assert keyed["placeholder"].sum() > 50
    assert keyed["key"].null_count() > 0
    assert (keyed["key"] == "").sum() > 0
    assert "dev123" in keyed["key"].to_list()


@pytest.mark.slow
def test_every_code_point_normalises_alike_in_both_engines(spark: Any) -> None:
    # Every code point but the surrogates, in blocks of 512: each one followed by a
    # separator (so the word, digit and white-space rules see them alone), under every
    # built-in rule but the plain one (the e-mail rule's fallback for values without "@");
    # and as they come (combining sequences, NFKC in context) under the payout rule.
    points = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    starts = range(0, len(points), 512)
    spaced = ["".join(f"{chr(c)}{' @+#.'[c % 5]}" for c in points[i : i + 512]) for i in starts]
    blocks = ["".join(map(chr, points[i : i + 512])) for i in starts]
    kinds = ["payout", "email", "phone", "address"]
    pairs = [(kind, value) for kind in kinds for value in spaced]
    pairs += [("payout", value) for value in blocks]
    frame = pl.DataFrame(
        {
            "row": range(len(pairs)),
            "kind": [kind for kind, _ in pairs],
            "value": [value for _, value in pairs],
        }
    )
    bad = _mismatches(_polars_keys(frame, None), _spark_keys(spark, frame, None), ["key"])
    assert bad.height == 0, bad.select("kind", "row").rows()[:10]


def test_character_classes_are_read_off_polars() -> None:
    # Spark's trim and Java's \s know ASCII only; the classes come from Polars' rules.
    space = polars_class("space")
    assert r"\x{3000}" in space and r"\x{A0}" in space and r"\x{20}" in space
    assert r"\x{1C}" not in space  # Python's str.isspace says yes; Polars' strip does not
    assert r"\x{660}-\x{669}" in polars_class("digit")  # Arabic-Indic digits are \d
    assert r"\x{200B}" in polars_class("invisible")
    with pytest.raises(ValueError, match="unknown character class 'nope'"):
        polars_class("nope")
