"""Evaluation against ground truth: ring recovery by Jaccard matching of members."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

__all__ = ["RingRecovery", "best_matches", "ring_recovery", "truth_groups"]


def best_matches(found: pl.DataFrame, groups: pl.DataFrame) -> pl.DataFrame:
    """For every pair of overlapping found ring and true group, their Jaccard index.

    Parameters
    ----------
    found
        ``seller_id``, ``ring_id``: the sellers of each found ring.
    groups
        ``seller_id``, ``group``: the sellers of each true group.

    Returns
    -------
    pl.DataFrame
        ``group``, ``ring_id``, ``both`` (shared sellers), ``n_true``, ``n_found``,
        ``jaccard``; only pairs that share a seller.
    """
    overlap = (
        groups.join(found, on="seller_id").group_by("group", "ring_id").agg(pl.len().alias("both"))
    )
    n_true = groups.group_by("group").agg(pl.len().alias("n_true"))
    n_found = found.group_by("ring_id").agg(pl.len().alias("n_found"))
    return (
        overlap.join(n_true, on="group")
        .join(n_found, on="ring_id")
        .with_columns(
            (pl.col("both") / (pl.col("n_true") + pl.col("n_found") - pl.col("both"))).alias(
                "jaccard"
            )
        )
        .sort("group", "ring_id")
    )


@dataclass(frozen=True)
class RingRecovery:
    """How well found rings recover true rings.

    ``recall``: share of true rings whose best-matching found ring has Jaccard at least
    ``threshold``. ``precision``: share of found rings matching a true ring *or a legit
    group* (household, business) at that threshold, so fragments, merges of several groups
    and hub-glued blobs count against it.
    """

    recall: float  # NaN when there is no true ring
    precision: float  # NaN when no ring was found
    n_recovered: int
    n_true_rings: int
    n_found_rings: int
    threshold: float


def ring_recovery(
    found: pl.DataFrame,
    true_rings: pl.DataFrame,
    legit_groups: pl.DataFrame | None = None,
    *,
    threshold: float = 0.5,
) -> RingRecovery:
    """Recall and precision of found rings by Jaccard matching of their members.

    Examples
    --------
    >>> found = pl.DataFrame({"seller_id": list("abcdefg"), "ring_id": list("XXXYYZZ")})
    >>> truth = pl.DataFrame({"seller_id": list("abcd"), "group": list("rrrr")})
    >>> legit = pl.DataFrame({"seller_id": list("fg"), "group": ["household-1"] * 2})
    >>> result = ring_recovery(found, truth, legit)
    >>> result.recall, result.precision  # X matches r (3/4); Z matches the household; Y none
    (1.0, 0.6666666666666666)
    """
    groups = true_rings.select("seller_id", "group")
    recall_hits = (
        best_matches(found, groups).filter(pl.col("jaccard") >= threshold)["group"].n_unique()
    )
    n_true = groups["group"].n_unique()
    every_group = (
        groups
        if legit_groups is None
        else pl.concat([groups, legit_groups.select("seller_id", "group")])
    )
    precision_hits = (
        best_matches(found, every_group)
        .filter(pl.col("jaccard") >= threshold)["ring_id"]
        .n_unique()
    )
    n_found = found["ring_id"].n_unique()
    return RingRecovery(
        recall=recall_hits / n_true if n_true else float("nan"),
        precision=precision_hits / n_found if n_found else float("nan"),
        n_recovered=recall_hits,
        n_true_rings=n_true,
        n_found_rings=n_found,
        threshold=threshold,
    )


def truth_groups(truth: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split a truth table (``seller_id``, ``ring``, ``legit_group``) into ring and legit groups."""
    rings = truth.filter(pl.col("ring").is_not_null()).select(
        "seller_id", pl.col("ring").alias("group")
    )
    legit = truth.filter(pl.col("legit_group").is_not_null()).select(
        "seller_id", pl.col("legit_group").alias("group")
    )
    return rings, legit
