"""The tables ring pages are drawn from, kept in a run folder under ``viz/data/``.

``members``: one row per ring member (``ring_id``, ``seller_id``, ``seller_score``,
``decision``, ``reasons``, ``created_at``, ``known_label``). ``identifiers``: the shared
identifiers ring members hold (``ring_id``, ``seller_id``, ``kind``, ``key``, ``hub``,
``n_sellers``). ``relations``: given edges between members of one ring (``ring_id``,
``src``, ``dst``, ``relation``).

:func:`masked_view_data` replaces every identifier value (``key``) with a number and adds
``shown``, the masked value pages show: a folder drawn with ``--mask`` holds no value in
any of its files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from syndicate.errors import InputFileError
from syndicate.io import read_table, write_parquet_atomic
from syndicate.scoring import mask_value

__all__ = [
    "VIEW_FILES",
    "RingViewData",
    "masked_view_data",
    "read_view_data",
    "view_data",
    "write_view_data",
]

#: The tables of ``viz/data/`` and the columns each must hold.
VIEW_FILES: dict[str, tuple[str, ...]] = {
    "members": (
        "ring_id",
        "seller_id",
        "seller_score",
        "decision",
        "reasons",
        "created_at",
        "known_label",
    ),
    "identifiers": ("ring_id", "seller_id", "kind", "key", "hub", "n_sellers"),
    "relations": ("ring_id", "src", "dst", "relation"),
}
_FILES = tuple(VIEW_FILES)


@dataclass(frozen=True)
class RingViewData:
    """What the ring pages show, for every ring."""

    members: pl.DataFrame
    identifiers: pl.DataFrame
    relations: pl.DataFrame


def view_data(
    labels: pl.DataFrame,
    sellers: pl.DataFrame,
    known: pl.DataFrame | None,
    seller_identifiers: pl.DataFrame,
    identifiers: pl.DataFrame,
    hubs: pl.DataFrame,
    edges: pl.DataFrame | None,
) -> RingViewData:
    """Build the view tables from a run's frames (see the module docstring)."""
    in_ring = labels.filter(pl.col("ring_id").is_not_null())
    created = (
        sellers.select("seller_id", pl.col("created_at").cast(pl.Datetime("us", "UTC")))
        if "created_at" in sellers.columns
        else sellers.select("seller_id", pl.lit(None, pl.Datetime("us", "UTC")).alias("created_at"))
    )
    label_of = (
        known.select("seller_id", pl.col("label").cast(pl.Int8).alias("known_label"))
        if known is not None
        else pl.DataFrame(schema={"seller_id": pl.String, "known_label": pl.Int8})
    )
    members = (
        in_ring.select("ring_id", "seller_id", "seller_score", "decision", "reasons")
        .join(created, on="seller_id", how="left")
        .join(label_of, on="seller_id", how="left")
        .sort("ring_id", "seller_id")
    )
    counts = pl.concat(
        [
            identifiers.select("kind", "key", pl.col("n_sellers").cast(pl.UInt32)),
            hubs.select("kind", "key", pl.col("n_sellers").cast(pl.UInt32)),
        ]
    ).unique(["kind", "key"])
    held = (
        seller_identifiers.join(members.select("ring_id", "seller_id"), on="seller_id")
        .join(counts, on=["kind", "key"], how="left")
        .select("ring_id", "seller_id", "kind", "key", "hub", "n_sellers")
        .sort("ring_id", "kind", "key", "seller_id")
    )
    relations = pl.DataFrame(
        schema={"ring_id": pl.String, "src": pl.String, "dst": pl.String, "relation": pl.String}
    )
    if edges is not None and edges.height:
        ring_of = members.select("seller_id", "ring_id")
        relations = (
            edges.select("src", "dst", "relation")
            .join(ring_of.rename({"seller_id": "src"}), on="src")
            .join(ring_of.rename({"seller_id": "dst", "ring_id": "ring_dst"}), on="dst")
            .filter(pl.col("ring_id") == pl.col("ring_dst"))
            .select("ring_id", "src", "dst", "relation")
            .unique()
            .sort("ring_id", "src", "dst", "relation")
        )
    return RingViewData(members, held, relations)


def masked_view_data(data: RingViewData) -> RingViewData:
    """``data`` with no identifier value left: ``key`` numbered, ``shown`` masked.

    Keys are replaced by their rank among all ``(kind, key)`` pairs, zero-padded, so they
    sort as the values did and pages drawn from the masked tables are the masked pages of
    the raw ones. Seller ids, reasons (masked already) and relations are kept. Data masked
    already is returned as it is.

    Examples
    --------
    >>> import polars as pl
    >>> raw = RingViewData(
    ...     members=pl.DataFrame({"ring_id": ["r"]}),
    ...     identifiers=pl.DataFrame({"ring_id": ["r", "r"], "seller_id": ["a", "b"],
    ...         "kind": ["phone"] * 2, "key": ["+44 7700 900123"] * 2, "hub": [False] * 2,
    ...         "n_sellers": [2, 2]}),
    ...     relations=pl.DataFrame({"ring_id": []}),
    ... )
    >>> masked_view_data(raw).identifiers.select("key", "shown").rows()
    [('0', '…0123'), ('0', '…0123')]
    """
    held = data.identifiers
    if "shown" in held.columns:
        return data
    rank = pl.struct("kind", "key").rank("dense") - 1
    width = len(str(max(held.select(pl.struct("kind", "key").n_unique()).item() - 1, 0)))
    masked = held.with_columns(
        rank.cast(pl.String).str.zfill(width).alias("key"), mask_value(pl.col("key")).alias("shown")
    )
    return RingViewData(data.members, masked, data.relations)


def write_view_data(data: RingViewData, folder: str | os.PathLike[str]) -> Path:
    """Write the three tables to ``folder`` (``viz/data`` of a run); returns the folder."""
    target = Path(folder)
    for name in _FILES:
        write_parquet_atomic(getattr(data, name), target / f"{name}.parquet")
    return target


def looks_like_view_table(path: Path) -> bool:
    """Whether ``path`` is one of the tables :func:`write_view_data` writes (by its columns)."""
    columns = VIEW_FILES.get(path.stem)
    if columns is None or path.suffix != ".parquet":
        return False
    try:
        schema = pl.read_parquet_schema(path)
    except (OSError, pl.exceptions.PolarsError):
        return False
    return set(columns) <= set(schema) <= {*columns, "shown"}


def read_view_data(folder: str | os.PathLike[str]) -> RingViewData:
    """Read the tables written by :func:`write_view_data`."""
    source = Path(folder)
    frames = {}
    for name in _FILES:
        path = source / f"{name}.parquet"
        if not path.is_file():
            raise InputFileError(f"{path}: not found (is this a run folder written by syndicate?)")
        frames[name] = read_table(path, table=f"viz/data/{name}")
    return RingViewData(**frames)
