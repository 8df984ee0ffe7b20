"""The data contract: load the four input tables, check them and refuse bad rows.

Problems that make a run meaningless stop it with an :class:`~syndicate.errors.InputError`
that names the table, the column and the first offending rows. Problems with single rows
do not stop a batch: the row is refused, counted and written to ``rejects`` with a reason
(see :data:`REJECT_REASONS`). Nothing is dropped silently.

Row numbers (in messages and in ``rejects.row``) are 0-based positions in the table as
given; in a CSV file with a header, row ``r`` is on line ``r + 2``.

Link values are normalised here (:func:`syndicate.graphs.normalise.normalise_links`), so
the links that identify nobody (a placeholder such as ``n/a``, a phone of too few digits)
are refused and written down with the rest; validated links carry their ``key``.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from syndicate.config import MAX_WEIGHT, Config, normalise_kind
from syndicate.errors import SchemaError
from syndicate.graphs.normalise import normalise_links
from syndicate.io import TableSource, to_polars

__all__ = [
    "CONTRACT",
    "EARLIEST_CREATED_AT",
    "REJECTS_SCHEMA",
    "REJECT_REASONS",
    "MarketplaceInputs",
    "TableSpec",
    "load_inputs",
]

_ROW = "__syndicate_row__"
_TABLE = "__syndicate_table__"
_REASON = "__syndicate_reason__"
_SHOW = 5  # offending rows quoted in an error message


@dataclass(frozen=True)
class TableSpec:
    """Required and optional columns of one input table."""

    required: tuple[str, ...]
    optional: tuple[str, ...]


#: The data contract of design.md, table by table.
CONTRACT: dict[str, TableSpec] = {
    "sellers": TableSpec(required=("seller_id",), optional=("created_at", "label")),
    "links": TableSpec(required=("seller_id", "kind", "value"), optional=("seen_at",)),
    "edges": TableSpec(required=("src", "dst"), optional=("relation", "weight")),
    "labels": TableSpec(required=("seller_id", "label"), optional=("source",)),
}

#: Why a row can be refused. Every refused row lands in ``rejects`` with one of these.
REJECT_REASONS: dict[str, str] = {
    "null_seller_id": "seller id (seller_id, src or dst) is null or empty",
    "null_kind": "link kind is null or empty",
    "null_value": "link value is null or empty",
    "unusable_value": "link value identifies nothing once normalised: nothing is left (only "
    "separators or invisible characters), or a phone has fewer than 7 digits",
    "placeholder_value": "link value is a placeholder of its kind (n/a, unknown, 0.0.0.0, "
    "test@test.com, ...: Config.common_placeholders and Config.placeholders), compared after "
    "normalisation",
    "duplicate_row": "exact duplicate of another row of the same table (after trimming ids; "
    "an edge (b, a) repeats (a, b))",
    "duplicate_seller_id": "another sellers row has the same seller_id; the row that sorts "
    "first over all columns is kept",
    "unknown_seller": "the seller id is not in the sellers table",
    "self_loop": "edge from a seller to itself",
    "invalid_weight": f"edge weight is NaN, infinite, zero, negative or above {MAX_WEIGHT:g} "
    "(a null weight is 1.0)",
    "implausible_created_at": "created_at is before EARLIEST_CREATED_AT (1995-01-01) or more "
    "than a day after the run's time (9999-12-31, 1970-01-01 and other sentinels): the date "
    "is set to null, the seller row is kept (filed under table 'sellers.created_at')",
    "null_label": "label is null",
    "conflicting_label": "the seller is labelled both 0 and 1; all its label rows are refused",
    "duplicate_label": "the seller already has the same label from another row; the row with "
    "the smallest source is kept",
}

#: Columns and dtypes of the ``rejects`` table.
REJECTS_SCHEMA: dict[str, pl.DataType] = {
    "table": pl.String(),
    "row": pl.Int64(),
    "reason": pl.String(),
    "seller_id": pl.String(),
    "record": pl.String(),
}

#: ``created_at`` before this is a sentinel (0001-01-01, 1900-01-01, 1970-01-01), not a date.
EARLIEST_CREATED_AT = datetime(1995, 1, 1)
#: ``created_at`` later than this after the run's time is a sentinel (9999-12-31) too.
_FUTURE_SLACK = timedelta(days=1)

_DATETIME_FORMATS_TZ = ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%#z")
_DATETIME_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
)


@dataclass(frozen=True)
class MarketplaceInputs:
    """Validated input tables, sorted so that row order of the inputs never matters.

    Attributes
    ----------
    sellers
        ``seller_id`` (String, unique), ``created_at`` (Datetime, when given; null where
        implausible) and any other columns as given; numeric ones are tabular features.
        Sorted by ``seller_id``.
    links
        ``seller_id``, ``kind`` (normalised: :func:`syndicate.config.normalise_kind`),
        ``value`` (as given), ``key`` (the normalised identifier, never null, empty or a
        placeholder), ``seen_at`` (when given). Sorted.
    edges
        ``src``, ``dst``, ``relation`` (default ``"edge"``, normalised like a kind),
        ``weight`` (Float64, default 1.0, positive and at most ``MAX_WEIGHT``, 1e6).
    labels
        ``seller_id``, ``label`` (Int8, 1 = known bad, 0 = known good), ``source``. Labels
        come from the labels table and from a ``label`` column of the sellers table
        (source ``"sellers"``); at most one row per seller.
    rejects
        Every refused row: ``table``, ``row``, ``reason``, ``seller_id``, ``record`` (the
        row as JSON).
    """

    sellers: pl.DataFrame
    links: pl.DataFrame
    edges: pl.DataFrame
    labels: pl.DataFrame
    rejects: pl.DataFrame

    def reject_counts(self) -> dict[str, dict[str, int]]:
        """Refused rows counted by table and reason.

        Examples
        --------
        >>> import polars as pl
        >>> inputs = load_inputs(
        ...     pl.DataFrame({"seller_id": ["a", "b"]}),
        ...     pl.DataFrame({"seller_id": ["a", "a", "zz"], "kind": ["ip"] * 3,
        ...                   "value": ["1.2.3.4", "1.2.3.4", "5.6.7.8"]}),
        ... )
        >>> inputs.reject_counts()
        {'links': {'duplicate_row': 1, 'unknown_seller': 1}}
        """
        counts: dict[str, dict[str, int]] = {}
        grouped = self.rejects.group_by("table", "reason").len().sort("table", "reason")
        for table, reason, n in grouped.iter_rows():
            counts.setdefault(table, {})[reason] = n
        return counts


# ---------------------------------------------------------------------------------------
# column checks that stop a run


def _rows_text(rows: Sequence[int], values: Sequence[Any] | None = None, total: int = 0) -> str:
    shown = list(rows[:_SHOW])
    if values is None:
        text = ", ".join(str(r) for r in shown)
    else:
        text = ", ".join(f"{r} ({v!r})" for r, v in zip(shown, values[:_SHOW], strict=False))
    more = total - len(shown)
    return f"rows {text}" + (f" and {more} more" if more > 0 else "")


def _offending(frame: pl.DataFrame, mask: pl.Expr, column: str) -> str:
    bad = frame.filter(mask).select(_ROW, column)
    return _rows_text(bad[_ROW].to_list(), bad[column].to_list(), bad.height)


def _check_columns(frame: pl.DataFrame, table: str, origin: str) -> None:
    spec = CONTRACT[table]
    missing = [name for name in spec.required if name not in frame.columns]
    if not missing:
        return
    hints = []
    for name in missing:
        close = difflib.get_close_matches(name, frame.columns, n=1, cutoff=0.6)
        lowered = [c for c in frame.columns if c.strip().lower() == name]
        guess = lowered or close
        if guess:
            hints.append(f"{guess[0]!r} for {name!r}")
    names = ", ".join(repr(m) for m in missing)
    found = ", ".join(repr(c) for c in frame.columns) or "none"
    hint = f"; did you mean {', '.join(hints)}?" if hints else ""
    plural = "s" if len(missing) > 1 else ""
    raise SchemaError(f"{origin}: missing required column{plural} {names} (found: {found}){hint}")


def _ids_to_string(frame: pl.DataFrame, column: str, origin: str) -> pl.DataFrame:
    """Seller ids become trimmed strings; empty ones become null (refused later)."""
    dtype = frame.schema[column]
    expr = pl.col(column)
    if dtype.is_integer():
        expr = expr.cast(pl.String)
    elif dtype.is_float():
        # pandas turns an integer column with missing values into floats: accept whole numbers.
        fractional = expr.is_not_null() & (
            expr.is_nan() | expr.is_infinite() | (expr.abs() >= 2.0**63) | (expr.round(0) != expr)
        )
        if frame.select(fractional.any()).item():
            where = _offending(frame, fractional, column)
            raise SchemaError(
                f"{origin}: column {column!r} must hold integer or string ids; "
                f"got non-integer numbers at {where}"
            )
        expr = expr.cast(pl.Int64).cast(pl.String)
    elif dtype == pl.Null:
        expr = expr.cast(pl.String)
    elif dtype not in (pl.String, pl.Categorical) and not isinstance(dtype, pl.Enum):
        raise SchemaError(
            f"{origin}: column {column!r} must hold integer or string ids; got dtype {dtype}"
        )
    # Two steps: in one expression the trimmed text would be computed twice.
    frame = frame.with_columns(expr.cast(pl.String).str.strip_chars().alias(column))
    text = pl.col(column)
    return frame.with_columns(pl.when(text == "").then(None).otherwise(text).alias(column))


def _parse_datetime(frame: pl.DataFrame, column: str, origin: str) -> pl.DataFrame:
    """Datetime, Date or ISO-8601 text become naive UTC ``Datetime('us')``."""
    dtype = frame.schema[column]
    col = pl.col(column)
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is not None:
            col = col.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return frame.with_columns(col.cast(pl.Datetime("us")).alias(column))
    if dtype == pl.Date or dtype == pl.Null:
        return frame.with_columns(col.cast(pl.Datetime("us")).alias(column))
    if dtype != pl.String:
        raise SchemaError(
            f"{origin}: column {column!r} must be a datetime, a date or ISO-8601 text "
            f"(e.g. '2024-05-01T12:30:00'); got dtype {dtype}"
        )
    text = col.str.strip_chars()
    attempts = [
        text.str.to_datetime(fmt, strict=False, time_unit="us")
        .dt.convert_time_zone("UTC")
        .dt.replace_time_zone(None)
        for fmt in _DATETIME_FORMATS_TZ
    ] + [text.str.to_datetime(fmt, strict=False, time_unit="us") for fmt in _DATETIME_FORMATS]
    parsed = frame.with_columns(pl.coalesce(attempts).alias("__syndicate_parsed__"))
    blank = text.is_null() | (text == "")
    failed = ~blank & pl.col("__syndicate_parsed__").is_null()
    if parsed.select(failed.any()).item():
        where = _offending(parsed, failed, column)
        raise SchemaError(
            f"{origin}: column {column!r} has values that are not datetimes at {where}; "
            "use ISO-8601 such as '2024-05-01', '2024-05-01 12:30:00' or '2024-05-01T12:30:00Z'"
        )
    return parsed.with_columns(pl.col("__syndicate_parsed__").alias(column)).drop(
        "__syndicate_parsed__"
    )


def _parse_label(frame: pl.DataFrame, column: str, origin: str) -> pl.DataFrame:
    """Labels become Int8 0/1 (null stays null); anything else stops the run."""
    dtype = frame.schema[column]
    col = pl.col(column)
    if dtype == pl.Boolean or dtype == pl.Null:
        return frame.with_columns(col.cast(pl.Int8).alias(column))
    if dtype.is_numeric():
        value = col.cast(pl.Float64)
        value = pl.when(value.is_nan()).then(None).otherwise(value)
    elif dtype == pl.String:
        text = col.str.strip_chars().str.to_lowercase()
        value = (
            pl.when(text.is_null() | (text == ""))
            .then(None)
            .when(text.is_in(["1", "1.0", "true"]))
            .then(1.0)
            .when(text.is_in(["0", "0.0", "false"]))
            .then(0.0)
            .otherwise(-1.0)
        )
    else:
        raise SchemaError(f"{origin}: column {column!r} must be 0 or 1; got dtype {dtype}")
    checked = frame.with_columns(value.alias("__syndicate_label__"))
    bad = pl.col("__syndicate_label__").is_not_null() & ~pl.col("__syndicate_label__").is_in(
        [0.0, 1.0]
    )
    if checked.select(bad.any()).item():
        where = _offending(checked, bad, column)
        raise SchemaError(
            f"{origin}: column {column!r} must be 0 or 1 (1 = known bad, 0 = known good); "
            f"got {where}"
        )
    return checked.with_columns(pl.col("__syndicate_label__").cast(pl.Int8).alias(column)).drop(
        "__syndicate_label__"
    )


def _is_text(dtype: pl.DataType) -> bool:
    """Text, or something that reads as text: integers, categoricals, all-null."""
    return (
        dtype == pl.String
        or dtype.is_integer()
        or dtype == pl.Null
        or isinstance(dtype, pl.Categorical | pl.Enum)
    )


def _text_or_default(frame: pl.DataFrame, column: str, default: str, origin: str) -> pl.DataFrame:
    """An optional text column: trimmed, and ``default`` where missing, null or blank."""
    if column not in frame.columns:
        return frame.with_columns(pl.lit(default).alias(column))
    if not _is_text(frame.schema[column]):
        raise SchemaError(
            f"{origin}: column {column!r} must be text; got dtype {frame.schema[column]}"
        )
    text = pl.col(column).cast(pl.String).str.strip_chars()
    return frame.with_columns(
        pl.when(text.is_null() | (text == "")).then(pl.lit(default)).otherwise(text).alias(column)
    )


def _require_rows(frame: pl.DataFrame, origin: str, what: str = "has no rows") -> None:
    if frame.height == 0:
        raise SchemaError(f"{origin}: table {what}; at least one row is required")


# ---------------------------------------------------------------------------------------
# row-level refusals


class _Refusals:
    """Collects refused rows of all tables, with their reason."""

    def __init__(self) -> None:
        self._parts: list[pl.DataFrame] = []

    def split(
        self,
        frame: pl.DataFrame,
        bad: pl.Expr | pl.Series,
        reason: str,
        table: str,
        id_column: str,
        payload: Sequence[str] | None = None,
    ) -> pl.DataFrame:
        """Remove the rows where ``bad`` holds, record them, return the rest."""
        return self.split_first(frame, [(bad, reason)], table, id_column, payload)

    def split_first(
        self,
        frame: pl.DataFrame,
        checks: Sequence[tuple[pl.Expr | pl.Series, str]],
        table: str,
        id_column: str,
        payload: Sequence[str] | None = None,
    ) -> pl.DataFrame:
        """Remove the rows where one of ``checks`` (mask, reason) holds, each recorded
        with the first reason that holds, and return the rest. The table is filtered once
        for all reasons (each filter of millions of links copies every column)."""
        reason: Any = pl.lit(None, dtype=pl.String)
        for bad, why in reversed(checks):
            held = pl.lit(bad) if isinstance(bad, pl.Series) else bad
            reason = pl.when(held.fill_null(False)).then(pl.lit(why)).otherwise(reason)
        reasons = frame.select(reason).to_series()
        refused = reasons.is_not_null()
        if not refused.any():  # the usual case: no copy of the table
            return frame
        rows = frame.filter(refused).with_columns(reasons.filter(refused).alias(_REASON))
        for why in [why for _, why in checks]:
            part = rows.filter(pl.col(_REASON) == why).drop(_REASON)
            if part.height:
                self.add(part, why, table, id_column, payload)
        return frame.filter(~refused)

    def add(
        self,
        refused: pl.DataFrame,
        reason: str,
        table: str,
        id_column: str,
        payload: Sequence[str] | None = None,
    ) -> None:
        """Record ``refused`` rows; ``record`` holds the ``payload`` columns (default: all)."""
        table_expr = pl.col(_TABLE) if _TABLE in refused.columns else pl.lit(table)
        if payload is None:
            payload = [c for c in refused.columns if c not in (_ROW, _TABLE)]
        self._parts.append(
            refused.select(
                table_expr.alias("table"),
                pl.col(_ROW).cast(pl.Int64).alias("row"),
                pl.lit(reason).alias("reason"),
                pl.col(id_column).cast(pl.String).alias("seller_id"),
                _record(refused, payload).alias("record"),
            )
        )

    def frame(self) -> pl.DataFrame:
        if not self._parts:
            return pl.DataFrame(schema=REJECTS_SCHEMA)
        return pl.concat(self._parts).sort("table", "row", "reason")


def _record(refused: pl.DataFrame, payload: Sequence[str]) -> pl.Expr:
    """The rows as JSON objects. JSON has no NaN or infinity (a plain encoder writes null),
    so a float column holding one is written field by field: those values as the strings
    ``"NaN"``, ``"inf"``, ``"-inf"``, the others as numbers."""
    odd = [
        c
        for c in payload
        if refused.schema[c].is_float()
        and refused.select((pl.col(c).is_nan() | pl.col(c).is_infinite()).any()).item()
    ]
    if not odd:
        return pl.struct(payload).struct.json_encode()
    fields = []
    for column in payload:
        encoded = pl.struct(column).struct.json_encode()
        if column in odd:
            text = pl.struct(pl.col(column).cast(pl.String)).struct.json_encode()
            finite = pl.col(column).is_finite() | pl.col(column).is_null()
            encoded = pl.when(finite).then(encoded).otherwise(text)
        fields.append(encoded.str.slice(1, encoded.str.len_chars() - 2))  # drop { }
    return pl.concat_str(pl.lit("{"), pl.concat_str(fields, separator=","), pl.lit("}"))


def _refuse_duplicates(
    frame: pl.DataFrame,
    refusals: _Refusals,
    table: str,
    id_col: str,
    derived: Sequence[str] = (),
) -> pl.DataFrame:
    """Refuse repeated rows; the rest come back sorted by ``id_col``, the other columns, row.

    Sorting puts copies side by side, so a copy is a row equal (nulls equal nulls) to the
    row before it, and the copy kept is the one with the smallest row number, whatever the
    order of the frame. (A hash table of whole rows is twice as slow on millions of links,
    and callers sort by these columns anyway.) ``derived`` columns (a function of the
    others, such as a link's ``key``) take no part in the comparison.
    """
    ordered, repeat = _sorted_repeats(frame, id_col, derived)
    return refusals.split(
        ordered,
        repeat,
        "duplicate_row",
        table,
        id_col,
        payload=[c for c in frame.columns if c not in (_ROW, _TABLE, *derived)],
    )


def _sorted_repeats(
    frame: pl.DataFrame, id_col: str, derived: Sequence[str] = ()
) -> tuple[pl.DataFrame, pl.Series]:
    """The frame sorted as :func:`_refuse_duplicates` says, and which rows repeat the one
    before them."""
    order = [id_col, *[c for c in frame.columns if c not in (_ROW, id_col, *derived)]]
    ordered = frame.sort([*order, _ROW], nulls_last=True)
    repeat = pl.all_horizontal(pl.col(c).eq_missing(pl.col(c).shift()) for c in order)
    return ordered, ordered.select(repeat & (pl.int_range(pl.len()) > 0)).to_series()


# ---------------------------------------------------------------------------------------
# the four tables


def _prepare(
    source: TableSource | None, table: str, id_columns: Sequence[str]
) -> tuple[pl.DataFrame, str]:
    frame, origin = to_polars(source, table=table, string_columns=(*id_columns, "value", "kind"))
    _check_columns(frame, table, origin)
    reserved = [c for c in frame.columns if c.startswith("__syndicate_")]
    if reserved:
        raise SchemaError(
            f"{origin}: column names starting with '__syndicate_' are reserved; got {reserved[0]!r}"
        )
    objects = [c for c, dtype in frame.schema.items() if dtype == pl.Object]
    if objects:
        raise SchemaError(
            f"{origin}: column {objects[0]!r} holds Python objects; convert it to text or numbers"
        )
    # Bytes cannot be written to the JSON record of a refused row: keep them as hex text.
    binary = [
        pl.col(c).bin.encode("hex") for c, dtype in frame.schema.items() if dtype == pl.Binary
    ]
    return frame.with_columns(binary).with_row_index(_ROW), origin


def _validate_sellers(
    source: TableSource, refusals: _Refusals, latest: datetime
) -> tuple[pl.DataFrame, pl.DataFrame]:
    frame, origin = _prepare(source, "sellers", ("seller_id",))
    _require_rows(frame, origin)
    frame = _ids_to_string(frame, "seller_id", origin)
    if "created_at" in frame.columns:
        frame = _parse_datetime(frame, "created_at", origin)
    if "label" in frame.columns:
        frame = _parse_label(frame, "label", origin)
    frame = _finite_numbers(frame, origin)
    frame = refusals.split(
        frame, pl.col("seller_id").is_null(), "null_seller_id", "sellers", "seller_id"
    )
    # Sorted by id, then every other column: of the rows with one id and different
    # content, the row that sorts first over every column is kept.
    frame = _refuse_duplicates(frame, refusals, "sellers", "seller_id")
    frame = refusals.split(
        frame,
        pl.col("seller_id").eq_missing(pl.col("seller_id").shift()),  # sorted: repeats adjoin
        "duplicate_seller_id",
        "sellers",
        "seller_id",
    )
    _require_rows(frame, origin, "has no valid seller rows after refusing bad rows")
    if "created_at" in frame.columns:
        frame = _null_implausible_dates(frame, refusals, latest)
    labels = pl.DataFrame(schema={_ROW: pl.UInt32, "seller_id": pl.String, "label": pl.Int8})
    if "label" in frame.columns:
        labels = frame.filter(pl.col("label").is_not_null()).select(_ROW, "seller_id", "label")
        frame = frame.drop("label")
    labels = labels.with_columns(
        pl.lit("sellers").alias("source"), pl.lit("sellers.label").alias(_TABLE)
    )
    return frame.drop(_ROW).set_sorted("seller_id"), labels  # sorted by _refuse_duplicates


def _null_implausible_dates(
    frame: pl.DataFrame, refusals: _Refusals, latest: datetime
) -> pl.DataFrame:
    """Sentinel ``created_at`` values (before 1995, after ``latest``) become null; each is
    written down under table ``sellers.created_at`` and the seller row stays."""
    created = pl.col("created_at")
    odd = (created < EARLIEST_CREATED_AT) | (created > latest)
    mask = frame.select(odd.fill_null(False)).to_series()
    if not mask.any():
        return frame
    refused = frame.filter(mask).with_columns(pl.lit("sellers.created_at").alias(_TABLE))
    refusals.add(refused, "implausible_created_at", "sellers.created_at", "seller_id")
    return frame.with_columns(pl.when(mask).then(None).otherwise(created).alias("created_at"))


#: The largest magnitude a tabular value may have (the model works in float32).
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _finite_numbers(frame: pl.DataFrame, origin: str) -> pl.DataFrame:
    """NaN in a float column means missing (null); infinite or float32-overflowing values stop."""
    floats = [c for c, dtype in frame.schema.items() if dtype.is_float() and c != "label"]
    if not floats:
        return frame
    frame = frame.with_columns(pl.col(floats).fill_nan(None))
    for column in floats:
        huge = pl.col(column).is_infinite() | (pl.col(column).abs() > _FLOAT32_MAX)
        if frame.select(huge.any()).item():
            raise SchemaError(
                f"{origin}: column {column!r} holds infinite or too large values (beyond "
                f"±{_FLOAT32_MAX:.3g}) in {_offending(frame, huge, column)}"
            )
    return frame


def _refuse_unknown(
    frame: pl.DataFrame,
    columns: Sequence[str],
    known: pl.Series,
    refusals: _Refusals,
    table: str,
    payload: Sequence[str] | None = None,
) -> pl.DataFrame:
    for column in columns:
        frame = refusals.split(
            frame, ~_is_known(frame[column], known), "unknown_seller", table, column, payload
        )
    return frame


def _is_known(ids: pl.Series, known: pl.Series) -> pl.Series:
    """Whether each id is in ``known``.

    Sorted ids (links, sorted by seller) against the sorted seller ids are looked up once
    per distinct id, by binary search: 3x faster than a hash lookup of millions of rows.
    """
    if known.len() == 0 or ids.null_count() or not (ids.is_sorted() and known.is_sorted()):
        return ids.is_in(known.implode())
    starts = ids.ne_missing(ids.shift())
    distinct = ids.filter(starts)
    at = known.search_sorted(distinct).clip(0, known.len() - 1)
    found = known.gather(at) == distinct
    return found.gather(starts.cast(pl.UInt32).cum_sum() - 1)


def _kinds(column: str) -> pl.Expr:
    """Kinds (or relations) normalised by :func:`~syndicate.config.normalise_kind`, the rule
    of config keys. A handful of spellings over millions of rows: each distinct one is
    normalised once, in Python, so the column and the config cannot disagree."""
    return pl.col(column).cast(pl.String).map_batches(_kind_names, return_dtype=pl.String)


def _kind_names(kinds: pl.Series) -> pl.Series:
    spellings = kinds.unique().drop_nulls()
    names = pl.Series([normalise_kind(kind) for kind in spellings.to_list()], dtype=pl.String)
    return kinds.replace_strict(spellings, names, default=None, return_dtype=pl.String)


def _validate_links(
    source: TableSource, known: pl.Series, refusals: _Refusals, config: Config
) -> pl.DataFrame:
    frame, origin = _prepare(source, "links", ("seller_id",))
    _require_rows(frame, origin)
    frame = _ids_to_string(frame, "seller_id", origin)
    for column in ("kind", "value"):
        dtype = frame.schema[column]
        if not _is_text(dtype):
            raise SchemaError(f"{origin}: column {column!r} must be text; got dtype {dtype}")
    frame = frame.with_columns(_kinds("kind").alias("kind"), pl.col("value").cast(pl.String))
    if "seen_at" in frame.columns:
        frame = _parse_datetime(frame, "seen_at", origin)
    columns = [c for c in ("seller_id", "kind", "value", "seen_at") if c in frame.columns]
    frame = frame.select(_ROW, *columns)
    empty_kind = pl.col("kind").is_null() | (pl.col("kind") == "")
    empty_value = pl.col("value").is_null() | ~pl.col("value").str.contains(r"\S")  # or spaces
    checks = [
        (pl.col("seller_id").is_null(), "null_seller_id"),
        (empty_kind, "null_kind"),
        (empty_value, "null_value"),
    ]
    frame = refusals.split_first(frame, checks, "links", "seller_id")
    # Normalised before the duplicates are sorted out, so the order it leaves (grouped by
    # kind) costs nothing; `key` is derived from kind and value and is not compared.
    frame = normalise_links(
        frame,
        placeholders=config.placeholders,
        common_placeholders=config.common_placeholders,
    )
    unusable = pl.col("key").is_null() | (pl.col("key") == "")
    checks = [(unusable, "unusable_value"), (pl.col("placeholder"), "placeholder_value")]
    frame = refusals.split_first(frame, checks, "links", "seller_id", columns)
    frame = frame.drop("placeholder")
    # Every reason but a repeat is a function of the row alone, so copies of a row share
    # it: refusing repeats and unknown sellers in one pass (repeats first) refuses the same
    # rows as one pass after the other.
    frame, repeat = _sorted_repeats(frame, "seller_id", derived=("key",))
    unknown = ~_is_known(frame["seller_id"], known)
    frame = refusals.split_first(
        frame,
        [(repeat, "duplicate_row"), (unknown, "unknown_seller")],
        "links",
        "seller_id",
        columns,
    )
    # Sorted by `columns` (duplicates are found by sorting).
    return frame.select("seller_id", "kind", "value", "key", *columns[3:])


def _validate_edges(
    source: TableSource | None, known: pl.Series, refusals: _Refusals
) -> pl.DataFrame:
    schema = {"src": pl.String, "dst": pl.String, "relation": pl.String, "weight": pl.Float64}
    if source is None:
        return pl.DataFrame(schema=schema)
    frame, origin = _prepare(source, "edges", ("src", "dst"))
    frame = _ids_to_string(_ids_to_string(frame, "src", origin), "dst", origin)
    frame = _text_or_default(frame, "relation", "edge", origin)
    relation = _kinds("relation")  # like a link's kind; nothing left (invisible only): "edge"
    frame = frame.with_columns(
        pl.when(relation == "").then(pl.lit("edge")).otherwise(relation).alias("relation")
    )
    if "weight" not in frame.columns:
        frame = frame.with_columns(pl.lit(1.0).alias("weight"))
    weight_type = frame.schema["weight"]
    if weight_type == pl.String:  # CSV: blank or header-only columns are read as text
        text = pl.col("weight").str.strip_chars()
        number = pl.when(text == "").then(None).otherwise(text).cast(pl.Float64, strict=False)
        not_number = text.is_not_null() & (text != "") & number.is_null()
        if frame.select(not_number.any()).item():
            where = _offending(frame, not_number, "weight")
            raise SchemaError(f"{origin}: column 'weight' must be numeric; got {where}")
        frame = frame.with_columns(number.alias("weight"))
    elif not (weight_type.is_numeric() or weight_type == pl.Null):
        raise SchemaError(f"{origin}: column 'weight' must be numeric; got dtype {weight_type}")
    # A null weight takes the default, as a null relation does.
    frame = frame.with_columns(pl.col("weight").cast(pl.Float64).fill_null(1.0)).select(
        _ROW, *schema
    )
    null_end = pl.col("src").is_null() | pl.col("dst").is_null()
    frame = refusals.split(frame, null_end, "null_seller_id", "edges", "src")
    weight = pl.col("weight")
    # NaN fails both comparisons; the bound keeps sums finite in float32 too.
    bad_weight = ~((weight > 0) & (weight <= MAX_WEIGHT))
    frame = refusals.split(frame, bad_weight, "invalid_weight", "edges", "src")
    frame = refusals.split(frame, pl.col("src") == pl.col("dst"), "self_loop", "edges", "src")
    # Edges are undirected: (b, a) is the same edge as (a, b), and a repeat of it.
    frame = frame.with_columns(
        pl.min_horizontal("src", "dst").alias("src"), pl.max_horizontal("src", "dst").alias("dst")
    )
    frame = _refuse_duplicates(frame, refusals, "edges", "src")
    frame = _refuse_unknown(frame, ["src", "dst"], known, refusals, "edges")
    return frame.drop(_ROW)  # sorted by its columns (duplicates are found by sorting)


def _validate_labels(
    source: TableSource | None,
    from_sellers: pl.DataFrame,
    known: pl.Series,
    refusals: _Refusals,
) -> pl.DataFrame:
    columns = [_ROW, "seller_id", "label", "source", _TABLE]
    parts = [from_sellers.select(columns)]
    if source is not None:
        frame, origin = _prepare(source, "labels", ("seller_id",))
        frame = _ids_to_string(frame, "seller_id", origin)
        frame = _parse_label(frame, "label", origin)
        frame = _text_or_default(frame, "source", "labels", origin)
        frame = frame.with_columns(pl.lit("labels").alias(_TABLE)).select(columns)
        frame = refusals.split(
            frame, pl.col("seller_id").is_null(), "null_seller_id", "labels", "seller_id"
        )
        frame = refusals.split(
            frame, pl.col("label").is_null(), "null_label", "labels", "seller_id"
        )
        frame = _refuse_duplicates(
            frame.drop(_TABLE), refusals, "labels", "seller_id"
        ).with_columns(pl.lit("labels").alias(_TABLE))
        frame = _refuse_unknown(frame, ["seller_id"], known, refusals, "labels")
        parts.append(frame.select(columns))
    merged = pl.concat(parts)
    conflict = pl.col("label").n_unique().over("seller_id") > 1
    merged = refusals.split(merged, conflict, "conflicting_label", "labels", "seller_id")
    ordered = merged.sort("seller_id", "source", _TABLE, _ROW)
    merged = refusals.split(
        ordered, ~pl.col("seller_id").is_first_distinct(), "duplicate_label", "labels", "seller_id"
    )
    return merged.select("seller_id", "label", "source").sort("seller_id")


def load_inputs(
    sellers: TableSource,
    links: TableSource,
    edges: TableSource | None = None,
    labels: TableSource | None = None,
    *,
    config: Config | None = None,
    as_of: datetime | None = None,
) -> MarketplaceInputs:
    """Load and validate the input tables of a run.

    Each table may be a path (``.parquet``, ``.csv``, ``.ndjson``), a Polars DataFrame or
    LazyFrame, or a pandas DataFrame. ``sellers`` and ``links`` are required and must have
    rows; ``edges`` and ``labels`` are optional (no labels is the cold-start case).

    ``config`` supplies the placeholders that links may not use (default: the built-in
    lists). ``as_of`` is the run's time (naive UTC, or aware; default: now): a
    ``created_at`` more than a day after it, or before :data:`EARLIEST_CREATED_AT`, is a
    sentinel and becomes null (reason ``implausible_created_at``).

    Raises
    ------
    InputFileError
        A file is missing, has an unknown extension or cannot be read.
    SchemaError
        A required column is missing (all are named at once), a column has the wrong type
        (``label`` not 0/1, ``created_at`` not a datetime, ...), or a required table is
        empty.

    Examples
    --------
    >>> import polars as pl
    >>> inputs = load_inputs(
    ...     sellers=pl.DataFrame({"seller_id": [2, 1, 3]}),
    ...     links=pl.DataFrame({"seller_id": [1, 2, 9], "kind": ["Device"] * 3,
    ...                         "value": ["d1", "d1", "d2"]}),
    ...     labels=pl.DataFrame({"seller_id": [1], "label": [1]}),
    ... )
    >>> inputs.sellers["seller_id"].to_list()
    ['1', '2', '3']
    >>> inputs.links.rows()
    [('1', 'device', 'd1', 'd1'), ('2', 'device', 'd1', 'd1')]
    >>> inputs.rejects.select("table", "row", "reason", "seller_id").rows()
    [('links', 2, 'unknown_seller', '9')]
    """
    refusals = _Refusals()
    cfg = config or Config()
    now = as_of if as_of is not None else datetime.now(UTC)
    if now.tzinfo is not None:
        now = now.astimezone(UTC).replace(tzinfo=None)
    seller_frame, seller_labels = _validate_sellers(sellers, refusals, now + _FUTURE_SLACK)
    known = seller_frame["seller_id"]
    link_frame = _validate_links(links, known, refusals, cfg)
    edge_frame = _validate_edges(edges, known, refusals)
    label_frame = _validate_labels(labels, seller_labels, known, refusals)
    return MarketplaceInputs(
        sellers=seller_frame,
        links=link_frame,
        edges=edge_frame,
        labels=label_frame,
        rejects=refusals.frame(),
    )
