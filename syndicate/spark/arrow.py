"""Column types between the engines: Polars schemas as Spark schemas, and Arrow batches.

The Spark engine's tables carry the columns of the Polars engine's, in the same order;
types map as Spark has them (:func:`spark_type`): ``UInt32`` counts become ``long``,
``Int8`` labels ``byte``, naive ``Datetime`` a ``timestamp_ntz``. :func:`to_polars`
takes a Spark-side table back to the Polars schema exactly (the values are the same).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import polars as pl
import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql import types as T
from pyspark.sql.pandas.types import to_arrow_schema

from syndicate.errors import SchemaError

__all__ = [
    "arrow_schema",
    "grouped_function",
    "polars_dtype",
    "spark_schema",
    "spark_type",
    "to_polars",
    "to_spark_arrow",
]


def spark_type(dtype: pl.DataType) -> T.DataType:
    """The Spark type that holds a Polars dtype's values (unsigned ones in a wider type).

    Examples
    --------
    >>> spark_type(pl.List(pl.UInt32()))
    ArrayType(LongType(), True)
    """
    if dtype == pl.String:
        return T.StringType()
    if dtype == pl.Boolean:
        return T.BooleanType()
    if dtype == pl.Float64:
        return T.DoubleType()
    if dtype == pl.Float32:
        return T.FloatType()
    if dtype == pl.Int8:
        return T.ByteType()
    if dtype in (pl.Int16, pl.UInt8):
        return T.ShortType()
    if dtype in (pl.Int32, pl.UInt16):
        return T.IntegerType()
    if dtype in (pl.Int64, pl.UInt32):
        return T.LongType()
    if dtype == pl.Date:
        return T.DateType()
    if isinstance(dtype, pl.Datetime):
        return T.TimestampType() if dtype.time_zone else T.TimestampNTZType()
    if isinstance(dtype, pl.List):
        inner = dtype.inner
        return T.ArrayType(spark_type(inner() if isinstance(inner, type) else inner))
    raise SchemaError(f"no Spark type for the Polars dtype {dtype}")


def spark_schema(schema: Mapping[str, pl.DataType]) -> T.StructType:
    """A Spark schema with the columns of a Polars schema, in order."""
    return T.StructType([T.StructField(name, spark_type(dtype)) for name, dtype in schema.items()])


def polars_dtype(dtype: T.DataType) -> pl.DataType:
    """The Polars dtype of a Spark column (what Arrow gives back for it).

    Examples
    --------
    >>> polars_dtype(T.LongType())
    Int64
    """
    simple: dict[type[T.DataType], pl.DataType] = {
        T.StringType: pl.String(),
        T.BooleanType: pl.Boolean(),
        T.DoubleType: pl.Float64(),
        T.FloatType: pl.Float32(),
        T.ByteType: pl.Int8(),
        T.ShortType: pl.Int16(),
        T.IntegerType: pl.Int32(),
        T.LongType: pl.Int64(),
        T.DateType: pl.Date(),
        T.TimestampType: pl.Datetime("us", "UTC"),
        T.TimestampNTZType: pl.Datetime("us"),
        T.NullType: pl.Null(),
    }
    for kind, polars in simple.items():
        if isinstance(dtype, kind):
            return polars
    if isinstance(dtype, T.DecimalType):
        return pl.Float64()
    if isinstance(dtype, T.ArrayType):
        return pl.List(polars_dtype(dtype.elementType))
    raise SchemaError(f"no Polars dtype for the Spark type {dtype.simpleString()}")


def arrow_schema(schema: T.StructType) -> pa.Schema:
    """The Arrow schema Spark expects of an Arrow UDF's result for ``schema``."""
    return to_arrow_schema(schema)


def to_spark_arrow(frame: pl.DataFrame, schema: T.StructType) -> pa.Table:
    """``frame`` (columns of ``schema``, in order) as the Arrow table Spark expects."""
    return frame.select(schema.fieldNames()).to_arrow().cast(arrow_schema(schema))


def to_polars(frame: DataFrame, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """Collect a Spark DataFrame to the driver with the Polars dtypes of ``schema``.

    Time zones are taken off (Spark gives timestamps in UTC; the Polars engine's are naive
    UTC).
    """
    table = pl.from_arrow(frame.select(list(schema)).toArrow())
    assert isinstance(table, pl.DataFrame)
    naive = [
        pl.col(name).dt.replace_time_zone(None)
        for name, dtype in table.schema.items()
        if isinstance(dtype, pl.Datetime) and dtype.time_zone
    ]
    return table.with_columns(naive).cast(dict(schema))  # type: ignore[arg-type]


def grouped_function(task: Callable[[pa.Table], pa.Table]) -> Callable[[pa.Table], pa.Table]:
    """``task`` as a plain function with Arrow type hints, for ``applyInArrow``.

    pyspark (4.3) reads the eval type off the function's type hints and fails on a
    callable object.
    """

    def apply(table: pa.Table) -> pa.Table:
        return task(table)

    return apply
