"""The data contract in Spark: the rows :func:`syndicate.load_inputs` keeps, and why others go.

Each table goes through the Polars engine's checks in the same order, so a row is refused
once, for the first reason that holds (:data:`syndicate.validation.REJECT_REASONS`):

* **sellers**: ids made trimmed strings (integers as text, whole floats as integers),
  ``created_at`` read as a time (implausible ones set to null, the row kept), a ``label``
  column read as 0/1 and moved to the labels, NaN in a float column made null; then
  ``null_seller_id``, ``duplicate_row`` (over every column), ``duplicate_seller_id`` (the
  row that sorts first over every column, nulls last, is kept);
* **links**: ``null_seller_id``, ``null_kind`` (kinds named by
  :func:`syndicate.config.normalise_kind`), ``null_value``, ``unusable_value``,
  ``placeholder_value`` (keys by :func:`syndicate.spark.normalise_links`),
  ``duplicate_row``, ``unknown_seller``;
* **edges**: ``null_seller_id``, ``invalid_weight``, ``self_loop``, ``duplicate_row`` (an
  edge ``(b, a)`` repeats ``(a, b)``), ``unknown_seller``;
* **labels** (the labels table and the sellers' ``label`` column): ``null_seller_id``,
  ``null_label``, ``duplicate_row``, ``unknown_seller``, ``conflicting_label``,
  ``duplicate_label`` (the smallest source is kept).

Problems that stop a run raise :class:`~syndicate.errors.SchemaError` naming the table and
column, as in the Polars engine (without its row numbers: a Spark table has no row order).

Not ported yet: times and weights given as text (``created_at``, ``seen_at``, ``weight``
must be timestamps, dates or numbers; text ``seen_at`` is compared as text when looking
for duplicate links), the hints of misspelt column names, and the ``row`` numbers of
refused rows (the Spark engine's ``rejects`` has ``row`` null and ``record`` in Spark's
JSON).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from syndicate.config import MAX_WEIGHT, Config
from syndicate.errors import SchemaError
from syndicate.spark.components import save
from syndicate.spark.normalise import normalise_kinds, normalise_links, strip_text
from syndicate.validation import CONTRACT, EARLIEST_CREATED_AT

__all__ = ["REFUSED_COLUMNS", "SparkInputs", "validate_inputs"]

#: Columns of :attr:`SparkInputs.refused`: one row per refused input row.
REFUSED_COLUMNS = ("table", "reason", "seller_id", "record")

_FLOAT32_MAX = 3.4028234663852886e38
_DAY_US = 86_400 * 1_000_000
_REASON = "__syndicate_reason__"


@dataclass(frozen=True)
class SparkInputs:
    """Validated input tables as Spark DataFrames (see :class:`syndicate.MarketplaceInputs`).

    Attributes
    ----------
    sellers
        ``seller_id`` (string, unique), ``created_at`` when given (*long*: microseconds
        since 1970 in UTC, null where implausible) and the other columns as given.
    links
        ``seller_id``, ``kind`` (named), ``value``, ``key``.
    edges
        ``src < dst``, ``relation``, ``weight``; ``None`` without an edges table.
    labels
        ``seller_id``, ``label`` (byte: 1 known bad, 0 known good), ``source``.
    refused
        One row per refused input row: :data:`REFUSED_COLUMNS`.
    has_created_at
        Whether the sellers table has ``created_at``.
    """

    sellers: DataFrame
    links: DataFrame
    edges: DataFrame | None
    labels: DataFrame
    refused: DataFrame
    has_created_at: bool

    def reject_counts(self) -> dict[str, dict[str, int]]:
        """Refused rows counted by table and reason (one Spark job)."""
        counts: dict[str, dict[str, int]] = {}
        rows = self.refused.groupBy("table", "reason").count().collect()
        for row in sorted(rows, key=lambda r: (r["table"], r["reason"])):
            counts.setdefault(row["table"], {})[row["reason"]] = int(row["count"])
        return counts


def _check_columns(frame: DataFrame, table: str) -> None:
    missing = [name for name in CONTRACT[table].required if name not in frame.columns]
    if missing:
        names = ", ".join(repr(name) for name in missing)
        found = ", ".join(repr(name) for name in frame.columns) or "none"
        plural = "s" if len(missing) > 1 else ""
        raise SchemaError(f"{table}: missing required column{plural} {names} (found: {found})")
    reserved = [name for name in frame.columns if name.startswith("__syndicate_")]
    if reserved:
        raise SchemaError(
            f"{table}: column names starting with '__syndicate_' are reserved; got {reserved[0]!r}"
        )


def _first_values(frame: DataFrame, bad: Column, column: str) -> str:
    shown = [row[0] for row in frame.where(bad).select(column).limit(5).collect()]
    return ", ".join(repr(value) for value in shown)


def _ids(frame: DataFrame, column: str, table: str) -> Column:
    """Seller ids as trimmed strings, null where empty (as the Polars engine reads them)."""
    dtype = frame.schema[column].dataType
    value = F.col(column)
    if isinstance(dtype, T.IntegralType):
        text = value.cast("string")
    elif isinstance(dtype, T.FractionalType):
        fractional = value.isNotNull() & (
            F.isnan(value)
            | (F.abs(value) >= F.lit(2.0**63))
            | (F.round(value, 0) != value)
            | (F.abs(value) == F.lit(float("inf")))
        )
        if not frame.where(fractional).isEmpty():
            raise SchemaError(
                f"{table}: column {column!r} must hold integer or string ids; got non-integer "
                f"numbers such as {_first_values(frame, fractional, column)}"
            )
        text = value.cast("long").cast("string")
    elif isinstance(dtype, T.StringType | T.NullType):
        text = value.cast("string")
    else:
        raise SchemaError(
            f"{table}: column {column!r} must hold integer or string ids; got type "
            f"{dtype.simpleString()}"
        )
    trimmed = strip_text(text)
    return F.when(trimmed != "", trimmed)


def _epoch_us(frame: DataFrame, column: str, table: str) -> Column:
    """A time column as microseconds since 1970 (naive times are UTC, as in Polars)."""
    dtype = frame.schema[column].dataType
    value = F.col(column)
    if isinstance(dtype, T.TimestampType):
        return F.unix_micros(value)
    if isinstance(dtype, T.TimestampNTZType):
        epoch = F.to_timestamp_ntz(F.lit("1970-01-01 00:00:00"))
        return F.timestamp_diff("MICROSECOND", epoch, value)
    if isinstance(dtype, T.DateType):
        return F.unix_date(value).cast("long") * F.lit(_DAY_US)
    if isinstance(dtype, T.NullType):
        return value.cast("long")
    raise SchemaError(
        f"{table}: column {column!r} must be a timestamp or a date for the Spark engine; got "
        f"type {dtype.simpleString()} (times given as text are not read by the Spark engine "
        "yet: cast the column to a timestamp)"
    )


def _label(frame: DataFrame, column: str, table: str) -> Column:
    """A label column as 0/1 bytes (null stays null); anything else stops the run."""
    dtype = frame.schema[column].dataType
    value = F.col(column)
    if isinstance(dtype, T.BooleanType | T.NullType):
        number = value.cast("double")
    elif isinstance(dtype, T.NumericType):
        number = F.when(~F.isnan(value.cast("double")), value.cast("double"))
    elif isinstance(dtype, T.StringType):
        text = F.lower(strip_text(value))
        number = (
            F.when(text.isNull() | (text == ""), F.lit(None).cast("double"))
            .when(text.isin("1", "1.0", "true"), F.lit(1.0))
            .when(text.isin("0", "0.0", "false"), F.lit(0.0))
            .otherwise(F.lit(-1.0))
        )
    else:
        raise SchemaError(
            f"{table}: column {column!r} must be 0 or 1; got type {dtype.simpleString()}"
        )
    bad = number.isNotNull() & ~number.isin(0.0, 1.0)
    if not frame.where(bad).isEmpty():
        raise SchemaError(
            f"{table}: column {column!r} must be 0 or 1 (1 = known bad, 0 = known good); "
            f"got {_first_values(frame, bad, column)}"
        )
    return number.cast("byte")


def _text(frame: DataFrame, column: str, table: str) -> Column:
    dtype = frame.schema[column].dataType
    if not isinstance(dtype, T.StringType | T.IntegralType | T.NullType):
        raise SchemaError(
            f"{table}: column {column!r} must be text; got type {dtype.simpleString()}"
        )
    return F.col(column).cast("string")


def _text_or_default(frame: DataFrame, column: str, default: str, table: str) -> Column:
    if column not in frame.columns:
        return F.lit(default)
    text = strip_text(_text(frame, column, table))
    return F.when(text.isNull() | (text == ""), F.lit(default)).otherwise(text)


def _kind_names(frame: DataFrame, column: str) -> Column:
    """Kinds (or relations) named by :func:`syndicate.config.normalise_kind`; a handful of
    spellings, each named once on the driver (as the Polars engine does)."""
    spellings = [row[0] for row in frame.select(column).distinct().collect()]
    names = normalise_kinds(spellings)
    if not names:
        return F.lit(None).cast("string")
    lookup = F.create_map(*(F.lit(x) for pair in sorted(names.items()) for x in pair))
    return lookup[F.col(column)]


def _record(columns: Sequence[str]) -> Column:
    return F.to_json(F.struct(*columns))


class _Refusals:
    """The refused rows of all tables: ``table``, ``reason``, ``seller_id``, ``record``."""

    def __init__(self, checkpoint: Literal["reliable", "local"]) -> None:
        self.parts: list[DataFrame] = []
        self.checkpoint = checkpoint

    def split(self, frame: DataFrame) -> tuple[DataFrame, DataFrame]:
        """Rows with no reason, and the others (``frame`` is saved once: both read it)."""
        frame = save(frame, self.checkpoint)
        return frame.where(F.col(_REASON).isNull()).drop(_REASON), frame.where(
            F.col(_REASON).isNotNull()
        )

    def add(
        self, refused: DataFrame, table: str | Column, id_column: str, payload: Sequence[str]
    ) -> None:
        name = table if isinstance(table, Column) else F.lit(table)
        self.parts.append(
            refused.select(
                name.alias("table"),
                F.col(_REASON).alias("reason"),
                F.col(id_column).cast("string").alias("seller_id"),
                _record(payload).alias("record"),
            )
        )

    def frame(self, spark_frame: DataFrame) -> DataFrame:
        if not self.parts:
            empty = spark_frame.sparkSession.createDataFrame(
                [], "table string, reason string, seller_id string, record string"
            )
            return empty
        union = self.parts[0]
        for part in self.parts[1:]:
            union = union.unionByName(part)
        return union


def _repeat(columns: Sequence[str], usable: Column) -> Column:
    """True for every usable row but one of each group of equal ``columns`` (nulls equal)."""
    window = Window.partitionBy(*columns, usable).orderBy(*columns)
    return usable & (F.row_number().over(window) > 1)


def _reason(columns: Sequence[str], unknown: Column) -> Column:
    """A row's refusal reason, in the Polars engine's order: its own
    (``__syndicate_row__``), else a repeat of an earlier usable row of equal ``columns``,
    else an unknown seller (``unknown``); null for a kept row."""
    usable = F.col("__syndicate_row__").isNull()
    return F.coalesce(
        F.col("__syndicate_row__"),
        F.when(_repeat(columns, usable), F.lit("duplicate_row")),
        F.when(unknown, F.lit("unknown_seller")),
    )


def _unknown(frame: DataFrame, column: str, known: DataFrame) -> DataFrame:
    """``frame`` with ``__syndicate_unknown__``: whether ``column`` names no kept seller."""
    ids = known.select(F.col("seller_id").alias("__syndicate_id__"), F.lit(False).alias("_u"))
    joined = frame.join(ids, frame[column] == ids["__syndicate_id__"], "left")
    return joined.withColumn("__syndicate_unknown__", F.coalesce("_u", F.lit(True))).drop(
        "__syndicate_id__", "_u"
    )


def _require_rows(frame: DataFrame, table: str, what: str = "has no rows") -> None:
    if frame.isEmpty():
        raise SchemaError(f"{table}: table {what}; at least one row is required")


def _validate_sellers(
    sellers: DataFrame, refusals: _Refusals, latest_us: int
) -> tuple[DataFrame, DataFrame, bool]:
    _check_columns(sellers, "sellers")
    _require_rows(sellers, "sellers")
    frame = sellers.withColumn("seller_id", _ids(sellers, "seller_id", "sellers"))
    has_created_at = "created_at" in frame.columns
    if has_created_at:
        frame = frame.withColumn("created_at", _epoch_us(frame, "created_at", "sellers"))
    if "label" in frame.columns:
        frame = frame.withColumn("label", _label(frame, "label", "sellers"))
    frame = _finite_numbers(frame)
    columns = frame.columns
    others = [c for c in columns if c != "seller_id"]
    has_id = F.col("seller_id").isNotNull()
    # Of a seller's distinct rows, the one that sorts first over every column is kept:
    # copies of one row share a dense rank, so only other content is a duplicate id.
    by_content = Window.partitionBy("seller_id").orderBy(
        *[F.col(c).asc_nulls_last() for c in others]
    )
    reasoned = frame.withColumn(
        _REASON,
        F.when(~has_id, F.lit("null_seller_id"))
        .when(_repeat(columns, has_id), F.lit("duplicate_row"))
        .when(F.dense_rank().over(by_content) > 1, F.lit("duplicate_seller_id")),
    )
    kept, refused = refusals.split(reasoned)
    refusals.add(refused, "sellers", "seller_id", columns)
    _require_rows(kept, "sellers", "has no valid seller rows after refusing bad rows")
    if has_created_at:
        created = F.col("created_at")
        odd = (created < F.lit(_epoch(EARLIEST_CREATED_AT))) | (created > F.lit(latest_us))
        implausible = kept.where(odd).withColumn(_REASON, F.lit("implausible_created_at"))
        refusals.add(implausible, "sellers.created_at", "seller_id", columns)
        kept = kept.withColumn("created_at", F.when(~odd | created.isNull(), created))
    labels = kept.sparkSession.createDataFrame([], "seller_id string, label byte, source string")
    if "label" in kept.columns:
        labels = kept.where(F.col("label").isNotNull()).select(
            "seller_id", "label", F.lit("sellers").alias("source")
        )
        kept = kept.drop("label")
    return kept, labels.withColumn("__syndicate_table__", F.lit("sellers.label")), has_created_at


def _epoch(moment: datetime) -> int:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return int(aware.timestamp()) * 1_000_000 + aware.microsecond


def _finite_numbers(frame: DataFrame) -> DataFrame:
    """NaN in a float column becomes null; infinite or float32-overflowing values stop."""
    floats = [
        field.name
        for field in frame.schema.fields
        if isinstance(field.dataType, T.FloatType | T.DoubleType) and field.name != "label"
    ]
    if not floats:
        return frame
    frame = frame.withColumns({c: F.when(~F.isnan(c), F.col(c)) for c in floats})
    huge = frame.select(
        *[F.max((F.abs(c) > F.lit(_FLOAT32_MAX)).cast("int")).alias(c) for c in floats]
    ).first()
    assert huge is not None
    for column in floats:
        if huge[column]:
            bad = F.abs(F.col(column)) > F.lit(_FLOAT32_MAX)
            raise SchemaError(
                f"sellers: column {column!r} holds infinite or too large values (beyond "
                f"±{_FLOAT32_MAX:.3g}): {_first_values(frame, bad, column)}"
            )
    return frame


def _validate_links(
    links: DataFrame, known: DataFrame, refusals: _Refusals, config: Config
) -> DataFrame:
    _check_columns(links, "links")
    _require_rows(links, "links")
    columns = [c for c in ("seller_id", "kind", "value", "seen_at") if c in links.columns]
    frame = links.select(
        _ids(links, "seller_id", "links").alias("seller_id"),
        _text(links, "kind", "links").alias("kind"),
        _text(links, "value", "links").alias("value"),
        *(["seen_at"] if "seen_at" in columns else []),
    )
    if "seen_at" in columns and not isinstance(frame.schema["seen_at"].dataType, T.StringType):
        frame = frame.withColumn("seen_at", _epoch_us(frame, "seen_at", "links"))
    # Kinds named, keys and placeholder flags (one Spark job collects the kind spellings).
    keyed = normalise_links(frame, config=config)
    value_blank = F.col("value").isNull() | (strip_text(F.col("value")) == "")
    row_reason = (
        F.when(F.col("seller_id").isNull(), F.lit("null_seller_id"))
        .when(F.col("kind").isNull() | (F.col("kind") == ""), F.lit("null_kind"))
        .when(value_blank, F.lit("null_value"))
        .when(F.col("key").isNull() | (F.col("key") == ""), F.lit("unusable_value"))
        .when(F.col("placeholder"), F.lit("placeholder_value"))
    )
    flagged = _unknown(keyed.withColumn("__syndicate_row__", row_reason), "seller_id", known)
    reasoned = flagged.withColumn(_REASON, _reason(columns, F.col("__syndicate_unknown__")))
    kept, refused = refusals.split(reasoned)
    refusals.add(refused, "links", "seller_id", columns)
    return kept.select("seller_id", "kind", "value", "key")


def _validate_edges(
    edges: DataFrame | None, known: DataFrame, refusals: _Refusals
) -> DataFrame | None:
    if edges is None:
        return None
    _check_columns(edges, "edges")
    frame = edges.select(
        _ids(edges, "src", "edges").alias("src"),
        _ids(edges, "dst", "edges").alias("dst"),
        _text_or_default(edges, "relation", "edge", "edges").alias("relation"),
        *([F.col("weight")] if "weight" in edges.columns else [F.lit(1.0).alias("weight")]),
    )
    weight_type = frame.schema["weight"].dataType
    if not isinstance(weight_type, T.NumericType | T.NullType):
        raise SchemaError(
            f"edges: column 'weight' must be numeric for the Spark engine; got type "
            f"{weight_type.simpleString()}"
        )
    named = _kind_names(frame, "relation")
    frame = frame.withColumns(
        {
            "relation": F.when(named == "", F.lit("edge")).otherwise(named),
            "weight": F.coalesce(F.col("weight").cast("double"), F.lit(1.0)),
        }
    )
    weight = F.col("weight")
    payload = ["src", "dst", "relation", "weight"]
    row_reason = (
        F.when(F.col("src").isNull() | F.col("dst").isNull(), F.lit("null_seller_id"))
        .when(~((weight > 0) & (weight <= MAX_WEIGHT)) | F.isnan(weight), F.lit("invalid_weight"))
        .when(F.col("src") == F.col("dst"), F.lit("self_loop"))
    )
    ordered = frame.select(
        F.least("src", "dst").alias("src"),
        F.greatest("src", "dst").alias("dst"),
        "relation",
        "weight",
        row_reason.alias("__syndicate_row__"),
        F.col("src").alias("__syndicate_given_src__"),
        F.col("dst").alias("__syndicate_given_dst__"),
    )
    flagged = _unknown(ordered, "src", known).withColumnRenamed(
        "__syndicate_unknown__", "__syndicate_src__"
    )
    flagged = _unknown(flagged, "dst", known)
    unknown = F.col("__syndicate_src__") | F.col("__syndicate_unknown__")
    reasoned = flagged.withColumn(_REASON, _reason(payload, unknown))
    kept, refused = refusals.split(reasoned)
    # As the Polars engine files them: a row refused for itself as given (its ends not yet
    # ordered), an unknown dst under the dst's id.
    as_given = F.col("__syndicate_row__").isNotNull()
    refused = refused.withColumns(
        {
            "src": F.when(as_given, F.col("__syndicate_given_src__"))
            .when((F.col(_REASON) == "unknown_seller") & ~F.col("__syndicate_src__"), F.col("dst"))
            .otherwise(F.col("src")),
            "dst": F.when(as_given, F.col("__syndicate_given_dst__")).otherwise(F.col("dst")),
        }
    )
    refusals.add(refused, "edges", "src", payload)
    return kept.select(*payload)


def _validate_labels(
    labels: DataFrame | None, from_sellers: DataFrame, known: DataFrame, refusals: _Refusals
) -> DataFrame:
    payload = ["seller_id", "label", "source"]
    merged = from_sellers
    if labels is not None:
        _check_columns(labels, "labels")
        frame = labels.select(
            _ids(labels, "seller_id", "labels").alias("seller_id"),
            _label(labels, "label", "labels").alias("label"),
            _text_or_default(labels, "source", "labels", "labels").alias("source"),
        )
        row_reason = F.when(F.col("seller_id").isNull(), F.lit("null_seller_id")).when(
            F.col("label").isNull(), F.lit("null_label")
        )
        flagged = _unknown(frame.withColumn("__syndicate_row__", row_reason), "seller_id", known)
        reasoned = flagged.withColumn(_REASON, _reason(payload, F.col("__syndicate_unknown__")))
        kept, refused = refusals.split(reasoned)
        refusals.add(refused, "labels", "seller_id", payload)
        merged = merged.unionByName(
            kept.select(*payload, F.lit("labels").alias("__syndicate_table__"))
        )
    per_seller = Window.partitionBy("seller_id")
    first = Window.partitionBy("seller_id").orderBy("source", "__syndicate_table__")
    reasoned = merged.withColumn(
        _REASON,
        F.when(
            F.size(F.collect_set("label").over(per_seller)) > 1, F.lit("conflicting_label")
        ).when(F.row_number().over(first) > 1, F.lit("duplicate_label")),
    )
    kept, refused = refusals.split(reasoned)
    refusals.add(refused, "labels", "seller_id", payload)
    return kept.select(*payload)


def validate_inputs(
    sellers: DataFrame,
    links: DataFrame,
    edges: DataFrame | None = None,
    labels: DataFrame | None = None,
    *,
    config: Config | None = None,
    as_of: datetime | None = None,
    checkpoint: Literal["reliable", "local"] = "reliable",
) -> SparkInputs:
    """Validate the input tables as :func:`syndicate.load_inputs` does (see module notes).

    The kept rows are those the Polars engine keeps; the returned DataFrames are lazy and
    unordered (the tables refused rows are read from are persisted). A few small Spark
    jobs run on the way: the checks that stop a run, and the kind spellings.

    Raises
    ------
    SchemaError
        A required column is missing, a column has the wrong type, a label is not 0/1, a
        float column holds infinite values, or a required table is empty.
    """
    cfg = config or Config()
    now = as_of if as_of is not None else datetime.now(UTC)
    refusals = _Refusals(checkpoint)
    kept_sellers, seller_labels, has_created_at = _validate_sellers(
        sellers, refusals, _epoch(now) + _DAY_US
    )
    # Each table's rows were saved when its refusals were split off: short plans from here.
    known = kept_sellers.select("seller_id")
    kept_links = _validate_links(links, known, refusals, cfg)
    kept_edges = _validate_edges(edges, known, refusals)
    kept_labels = _validate_labels(labels, seller_labels, known, refusals)
    return SparkInputs(
        sellers=kept_sellers,
        links=kept_links,
        edges=kept_edges,
        labels=kept_labels,
        refused=refusals.frame(kept_sellers),
        has_created_at=has_created_at,
    )
