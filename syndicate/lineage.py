"""Stable ring ids across runs: match this run's rings to an earlier run's by members.

A batch job runs every day on a fresh snapshot; an investigator who opened ``ring-x``
yesterday must find it under the same id today, and a ring that absorbed another or fell
apart must say so. :func:`track_rings` compares the member sets of this run's rings
(``current``) with an earlier run's (``previous``) and gives every current ring its id,
a ``status`` and the earlier ids it came from.

Rules (``k`` is the number of sellers a current ring ``c`` and an earlier ring ``p``
share, ``J = k / |c ∪ p|`` their Jaccard similarity):

* ``c`` and ``p`` are **linked** when ``J >= min_jaccard``, or when they share at least
  two sellers and those are at least half of ``p`` (most of ``p`` went into ``c``) or at
  least half of ``c`` (most of ``c`` came from ``p``).
* **Ids.** An earlier id passes to at most one current ring, along a link that either has
  ``J >= min_jaccard`` or is part of a merge or a split: a merge is a current ring into
  which at least half of each of two or more earlier rings went, a split an earlier ring
  from which two or more current rings came at least half. Links are taken greedily from
  the largest ``k`` down (ties: larger ``J``, then the earlier id, then the current ring's
  smallest member), so a merge keeps the id of its largest such contributor and a split
  keeps the id on its largest such part, however many there are (a contributor or part
  that is neither, and below ``min_jaccard``, cannot pass an id).
* **Status.** A ring that kept an id is ``merged`` when it is linked to other earlier
  rings too, else ``grown`` / ``shrunk`` / ``stable`` by its size against the earlier
  ring's. A ring with a new id is ``merged`` when it is linked to two or more earlier
  rings, ``split`` when its one earlier ring is linked to other current rings too (it fell
  apart and this is a part that did not keep the id), and ``new`` otherwise: linked to no
  earlier ring, or to one it overlaps too little to keep its id (``previous_ids`` names
  it).
* ``previous_ids`` lists the linked earlier ids: the kept id first, then by ``k``
  (largest first) and id.
* Earlier rings linked to no current ring are **gone** (:attr:`Lineage.gone`).

New ids are :func:`~syndicate.graphs.communities.ring_id_for` of the ring's smallest
member, as in a run without ``--previous``; if that id is taken (by an earlier ring or a
ring that kept its id), ``ring_id_for("<member>#1")``, ``#2``, ... is used instead. Every
step sorts before it chooses, so the result does not depend on row order, and a run on
the same input as the earlier run keeps every id with status ``stable``.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from syndicate.errors import ConfigError, SchemaError
from syndicate.graphs.communities import ring_id_for

__all__ = ["LINEAGE_SCHEMA", "RING_STATUSES", "Lineage", "track_rings"]

#: The values of ``rings.parquet``'s ``status`` column.
RING_STATUSES = ("new", "stable", "grown", "shrunk", "merged", "split")

#: Columns :func:`track_rings` adds to each ring: name -> (dtype, meaning).
LINEAGE_SCHEMA: dict[str, tuple[pl.DataType, str]] = {
    "status": (pl.String(), "new, stable, grown, shrunk, merged or split (against --previous)"),
    "previous_ids": (
        pl.List(pl.String()),
        "the earlier run's rings it came from: the id it kept first, then by shared members",
    ),
    "members_joined": (pl.Int64(), "members that were in none of the previous_ids rings"),
    "members_left": (pl.Int64(), "members of the earlier ring with this id that are not in it"),
}


@dataclass(frozen=True)
class Lineage:
    """How this run's rings descend from an earlier run's.

    Attributes
    ----------
    rings
        One row per current ring: ``provisional_id`` (the id it was found under),
        ``ring_id`` (its id from now on) and the :data:`LINEAGE_SCHEMA` columns.
    gone
        One row per earlier ring linked to no current ring: ``ring_id``, ``size`` (as
        before) and ``members_in_rings`` (how many of its sellers are in a ring now).
    """

    rings: pl.DataFrame
    gone: pl.DataFrame

    def id_map(self) -> dict[str, str]:
        """Provisional id -> final id."""
        return dict(zip(self.rings["provisional_id"], self.rings["ring_id"], strict=True))

    def counts(self) -> dict[str, int]:
        """Rings per status, and ``gone``, for the run manifest."""
        counts = dict.fromkeys(RING_STATUSES, 0)
        for status, n in self.rings.group_by("status").len().iter_rows():
            counts[status] = n
        return {**counts, "gone": self.gone.height}


def _membership(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    missing = [column for column in ("seller_id", "ring_id") if column not in frame.columns]
    if missing:
        raise SchemaError(f"{name} ring membership lacks columns {missing}")
    return (
        frame.select(pl.col("seller_id").cast(pl.String), pl.col("ring_id").cast(pl.String))
        .filter(pl.col("ring_id").is_not_null())
        .unique()
    )


def _fresh_id(smallest: str, taken: set[str]) -> str:
    candidate, n = ring_id_for(smallest), 0
    while candidate in taken:
        n += 1
        candidate = ring_id_for(f"{smallest}#{n}")
    return candidate


def track_rings(
    current: pl.DataFrame,
    previous: pl.DataFrame | None = None,
    *,
    min_jaccard: float = 0.3,
) -> Lineage:
    """Give this run's rings their ids, statuses and earlier ids.

    Parameters
    ----------
    current
        This run's membership: ``seller_id``, ``ring_id`` (the provisional id; rows with a
        null ``ring_id`` are ignored).
    previous
        The earlier run's membership (its ``labels.parquet``: ``seller_id``, ``ring_id``),
        or ``None`` for a first run: every ring is then ``new``, its id
        :func:`~syndicate.graphs.communities.ring_id_for` of its smallest member.
    min_jaccard
        The Jaccard similarity a ring needs with an earlier ring to keep its id.

    Examples
    --------
    >>> earlier = pl.DataFrame({"seller_id": ["a", "b", "c"], "ring_id": ["ring-1"] * 3})
    >>> now = pl.DataFrame({"seller_id": ["a", "b", "c", "d"], "ring_id": ["r"] * 4})
    >>> track_rings(now, earlier).rings.select("ring_id", "status", "previous_ids").row(0)
    ('ring-1', 'grown', ['ring-1'])
    """
    if not 0 < min_jaccard <= 1:
        raise ConfigError(f"lineage min_jaccard must be in (0, 1]; got {min_jaccard!r}")
    now = _membership(current, "current")
    rings = (
        now.group_by("ring_id")
        .agg(pl.len().alias("size"), pl.col("seller_id").min().alias("smallest"))
        .rename({"ring_id": "provisional_id"})
        .sort("smallest")
    )
    before = _membership(previous, "previous") if previous is not None else now.clear()
    earlier = before.group_by("ring_id").agg(pl.len().alias("earlier_size"))
    links = (
        now.rename({"ring_id": "provisional_id"})
        .join(before, on="seller_id")
        .group_by("provisional_id", "ring_id")
        .agg(pl.len().alias("shared"))
        .join(rings.select("provisional_id", "size", "smallest"), on="provisional_id")
        .join(earlier, on="ring_id")
        .with_columns(
            (pl.col("shared") / (pl.col("size") + pl.col("earlier_size") - pl.col("shared"))).alias(
                "jaccard"
            )
        )
        .with_columns(
            # Most of the earlier ring went into this ring / most of this ring came from it.
            ((pl.col("shared") >= 2) & (2 * pl.col("shared") >= pl.col("earlier_size"))).alias(
                "absorbed"
            ),
            ((pl.col("shared") >= 2) & (2 * pl.col("shared") >= pl.col("size"))).alias("fragment"),
            (pl.col("jaccard") >= min_jaccard).alias("similar"),
        )
        .filter(pl.col("similar") | pl.col("absorbed") | pl.col("fragment"))
        .with_columns(
            (
                pl.col("similar")
                | (pl.col("absorbed") & (pl.col("absorbed").sum().over("provisional_id") >= 2))
                | (pl.col("fragment") & (pl.col("fragment").sum().over("ring_id") >= 2))
            ).alias("can_keep")
        )
        .sort(
            ["shared", "jaccard", "ring_id", "smallest"],
            descending=[True, True, False, False],
        )
    )
    # Greedy over the (few: about one per ring) links, largest overlap first.
    kept: dict[str, str] = {}
    used: set[str] = set()
    for provisional, earlier_id in (
        links.filter("can_keep").select("provisional_id", "ring_id").iter_rows()
    ):
        if provisional not in kept and earlier_id not in used:
            kept[provisional] = earlier_id
            used.add(earlier_id)
    taken = set(earlier["ring_id"].to_list()) | used
    final: dict[str, str] = {}
    for provisional, smallest in rings.select("provisional_id", "smallest").iter_rows():
        if provisional in kept:
            final[provisional] = kept[provisional]
        else:
            final[provisional] = _fresh_id(smallest, taken)
            taken.add(final[provisional])
    kept_frame = pl.DataFrame(
        {"provisional_id": list(kept), "kept_id": list(kept.values())},
        schema={"provisional_id": pl.String, "kept_id": pl.String},
    )
    children = links.group_by("ring_id").agg(pl.len().alias("children"))
    listed = (
        links.join(children, on="ring_id")
        .join(kept_frame, on="provisional_id", how="left")
        .with_columns((pl.col("ring_id") == pl.col("kept_id")).fill_null(False).alias("is_kept"))
        .sort(
            ["provisional_id", "is_kept", "shared", "ring_id"],
            descending=[False, True, True, False],
        )
        .group_by("provisional_id", maintain_order=True)
        .agg(
            pl.col("ring_id").alias("previous_ids"),
            pl.col("earlier_size").first().alias("first_size"),
            pl.col("children").first().alias("first_children"),
        )
    )
    churn = _churn(now, before, links, kept_frame)
    n_links = pl.col("previous_ids").list.len()
    status = (
        pl.when(pl.col("kept_id").is_not_null() & (n_links >= 2))
        .then(pl.lit("merged"))
        .when(pl.col("kept_id").is_not_null() & (pl.col("size") > pl.col("first_size")))
        .then(pl.lit("grown"))
        .when(pl.col("kept_id").is_not_null() & (pl.col("size") < pl.col("first_size")))
        .then(pl.lit("shrunk"))
        .when(pl.col("kept_id").is_not_null())
        .then(pl.lit("stable"))
        .when(n_links >= 2)
        .then(pl.lit("merged"))
        .when((n_links == 1) & (pl.col("first_children") >= 2))
        .then(pl.lit("split"))
        .otherwise(pl.lit("new"))
    )
    table = (
        rings.join(kept_frame, on="provisional_id", how="left")
        .join(listed, on="provisional_id", how="left")
        .join(churn, on="provisional_id", how="left")
        .with_columns(
            pl.col("previous_ids").fill_null(pl.lit([], dtype=pl.List(pl.String))),
            pl.col("provisional_id").replace_strict(final, return_dtype=pl.String).alias("ring_id"),
        )
        .with_columns(status.alias("status"))
        .select(
            "provisional_id",
            "ring_id",
            *(pl.col(name).cast(dtype) for name, (dtype, _) in LINEAGE_SCHEMA.items()),
        )
        .sort("ring_id")
    )
    in_rings = before.join(now.select("seller_id"), on="seller_id", how="semi")
    gone = (
        earlier.join(links.select("ring_id").unique(), on="ring_id", how="anti")
        .join(
            in_rings.group_by("ring_id").agg(pl.len().alias("members_in_rings")),
            on="ring_id",
            how="left",
        )
        .select(
            "ring_id",
            pl.col("earlier_size").cast(pl.Int64).alias("size"),
            pl.col("members_in_rings").fill_null(0).cast(pl.Int64),
        )
        .sort("ring_id")
    )
    return Lineage(rings=table, gone=gone)


def _churn(
    now: pl.DataFrame, before: pl.DataFrame, links: pl.DataFrame, kept: pl.DataFrame
) -> pl.DataFrame:
    """``members_joined`` and ``members_left`` per provisional ring."""
    linked_members = (
        links.select("provisional_id", "ring_id")
        .join(before, on="ring_id")
        .select("provisional_id", "seller_id")
        .unique()
    )
    joined = (
        now.rename({"ring_id": "provisional_id"})
        .join(linked_members, on=["provisional_id", "seller_id"], how="anti")
        .group_by("provisional_id")
        .agg(pl.len().alias("members_joined"))
    )
    left = (
        kept.join(before.rename({"ring_id": "kept_id"}), on="kept_id")
        .join(
            now.rename({"ring_id": "provisional_id"}),
            on=["provisional_id", "seller_id"],
            how="anti",
        )
        .group_by("provisional_id")
        .agg(pl.len().alias("members_left"))
    )
    return (
        now.select(pl.col("ring_id").alias("provisional_id"))
        .unique()
        .join(joined, on="provisional_id", how="left")
        .join(left, on="provisional_id", how="left")
        .with_columns(pl.col("members_joined", "members_left").fill_null(0))
    )
