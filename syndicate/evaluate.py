"""Evaluation against ground truth: ring recovery, seller and ring metrics of a run.

:func:`ring_recovery` matches found rings to true ones by Jaccard similarity of members;
:func:`evaluate_run` measures a whole run folder (what ``syndicate evaluate`` reports).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from sklearn.metrics import (
    adjusted_rand_score,
    average_precision_score,
    normalized_mutual_info_score,
    precision_recall_curve,
    roc_auc_score,
)

from syndicate.errors import InputFileError, SchemaError
from syndicate.io import TableSource, read_table, to_polars
from syndicate.model import recall_at_k
from syndicate.terminal import counted

__all__ = [
    "Evaluation",
    "RingRecovery",
    "best_matches",
    "evaluate_run",
    "ring_recovery",
    "threshold_table",
    "truth_groups",
]


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


# --- evaluating a run against ground truth -------------------------------------------------

#: Score thresholds of the threshold table (the run's own thresholds are added).
THRESHOLD_GRID = tuple(round(0.05 * i, 2) for i in range(1, 20))

#: Cut-offs of recall at K (the number of truly bad sellers is added).
RECALL_KS = (100, 1000)


@dataclass(frozen=True)
class Evaluation:
    """What ``syndicate evaluate`` measured: ``metrics`` (``metrics.json``) and tables.

    Attributes
    ----------
    metrics
        Seller-level, ring-level and false-positive figures (plain data, JSON-ready).
    thresholds
        The threshold table: ``threshold``, ``n_flagged``, ``precision``, ``recall``,
        ``f1`` for flagging every seller whose score is at least ``threshold``.
    false_positives
        Truly good sellers that were not cleared, highest score first: ``seller_id``,
        ``ring_id``, ``seller_score``, ``decision``, ``legit_group``, ``bound_by`` (kinds
        shared with ring-mates), ``holds_hub``, ``reasons``.
    curve
        The PR curve (``precision``, ``recall``) and the scores of bad and good sellers,
        for the report's charts.
    """

    metrics: dict[str, Any]
    thresholds: pl.DataFrame
    false_positives: pl.DataFrame
    curve: dict[str, np.ndarray]


def truth_table(
    truth: pl.DataFrame, *, origin: str = "truth", with_ring: bool = True
) -> pl.DataFrame:
    """A checked truth table: ``seller_id``, ``ring`` (``with_ring``), ``is_bad`` (Boolean),
    ``legit_group`` (text or null). Messages start with ``origin``.

    Raises
    ------
    SchemaError
        A needed column is missing, ``is_bad`` is not Boolean or 0/1 or is null, or a
        seller is listed twice.
    """
    needed = ("seller_id", "ring", "is_bad") if with_ring else ("seller_id", "is_bad")
    missing = [c for c in needed if c not in truth.columns]
    if missing:
        raise SchemaError(
            f"{origin} table lacks columns {missing} (needs {', '.join(needed)}; "
            f"got {truth.columns})"
        )
    bad = truth["is_bad"]
    if bad.dtype != pl.Boolean and (
        not bad.dtype.is_integer() or not bad.drop_nulls().is_in([0, 1]).all()
    ):
        raise SchemaError(f"{origin} column 'is_bad' must be boolean or 0/1; got {bad.dtype}")
    if bad.null_count():
        rows = truth.with_row_index("row").filter(pl.col("is_bad").is_null())["row"].head(5)
        raise SchemaError(f"{origin} column 'is_bad' is null in rows {rows.to_list()}")
    legit = (
        pl.col("legit_group").cast(pl.String)
        if "legit_group" in truth.columns
        else pl.lit(None, pl.String).alias("legit_group")
    )
    table = truth.select(
        pl.col("seller_id").cast(pl.String).str.strip_chars(),
        *([pl.col("ring").cast(pl.String)] if with_ring else []),
        pl.col("is_bad").cast(pl.Boolean),
        legit,
    )
    duplicated = table.filter(pl.col("seller_id").is_duplicated())["seller_id"].sort()
    if duplicated.len():
        raise SchemaError(f"{origin} lists seller {duplicated[0]!r} more than once")
    return table


def _prf(tp: int, n_flagged: int, n_bad: int) -> dict[str, Any]:
    precision = tp / n_flagged if n_flagged else None
    recall = tp / n_bad if n_bad else None
    f1 = (
        2 * precision * recall / (precision + recall)
        if precision is not None and recall is not None and precision + recall > 0
        else None
    )
    return {
        "n_flagged": n_flagged,
        "true_positives": tp,
        "false_positives": n_flagged - tp,
        "false_negatives": n_bad - tp,
        "precision": _round(precision),
        "recall": _round(recall),
        "f1": _round(f1),
    }


def _round(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), 6)


def _ranking(y: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    both = len(np.unique(y)) == 2
    n_bad = int(y.sum())
    ks = sorted({*(k for k in RECALL_KS if k < len(y)), n_bad} - {0})
    return {
        "n": len(y),
        "n_bad": n_bad,
        "auroc": _round(roc_auc_score(y, scores)) if both else None,
        "auprc": _round(average_precision_score(y, scores)) if both else None,
        "recall_at_k": {str(k): _round(recall_at_k(y, scores, k)) for k in ks},
    }


def threshold_table(
    y: np.ndarray, scores: np.ndarray, thresholds: Sequence[float] = THRESHOLD_GRID
) -> pl.DataFrame:
    """Precision, recall, F1 and number flagged when every score >= a threshold is flagged.

    Examples
    --------
    >>> table = threshold_table(np.array([1, 0, 1, 0]), np.array([0.9, 0.8, 0.4, 0.1]), [0.5])
    >>> table.row(0)
    (0.5, 2, 0.5, 0.5, 0.5)
    """
    ordered = np.sort(scores)
    bad_scores = np.sort(scores[y == 1])
    n_bad = int(y.sum())
    grid = np.asarray(sorted(set(thresholds)), dtype=float)
    n_flagged = len(ordered) - np.searchsorted(ordered, grid, side="left")
    tp = len(bad_scores) - np.searchsorted(bad_scores, grid, side="left")
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(n_flagged > 0, tp / np.maximum(n_flagged, 1), np.nan)
        recall = tp / n_bad if n_bad else np.full(len(grid), np.nan)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return pl.DataFrame(
        {
            "threshold": grid,
            "n_flagged": n_flagged.astype(np.int64),
            "precision": precision,
            "recall": recall,
            "f1": np.where(np.isnan(precision) | np.isnan(recall), np.nan, f1),
        }
    ).with_columns(pl.col("precision", "recall", "f1").fill_nan(None))


def _partition_scores(found: pl.DataFrame, truth: pl.DataFrame) -> dict[str, Any]:
    """ARI and NMI of found rings against true rings, on sellers in either.

    A seller in no ring (found or true) is its own cluster, so merging two rings, splitting
    one or missing members all cost.
    """
    true_rings = truth.filter(pl.col("ring").is_not_null()).select("seller_id", "ring")
    universe = pl.concat([found["seller_id"], true_rings["seller_id"]]).unique().sort()
    table = (
        universe.to_frame()
        .join(found, on="seller_id", how="left")
        .join(true_rings, on="seller_id", how="left")
        .with_columns(
            pl.coalesce("ring_id", pl.lit("solo:") + pl.col("seller_id")).alias("found"),
            pl.coalesce("ring", pl.lit("solo:") + pl.col("seller_id")).alias("true"),
        )
    )
    if table.height < 2:
        return {"n_sellers": table.height, "ari": None, "nmi": None}
    return {
        "n_sellers": table.height,
        "ari": _round(adjusted_rand_score(table["true"], table["found"])),
        "nmi": _round(normalized_mutual_info_score(table["true"], table["found"])),
    }


def _false_positives(
    labels: pl.DataFrame, identifiers: pl.DataFrame | None
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Truly good sellers who were flagged, with what bound them, and counts by cause."""
    flagged = labels.filter(~pl.col("is_bad") & (pl.col("decision") != "clear"))
    bound = pl.DataFrame(
        schema={"seller_id": pl.String, "bound_by": pl.List(pl.String), "holds_hub": pl.Boolean}
    )
    if identifiers is not None and identifiers.height and flagged.height:
        held = identifiers.join(flagged.select("seller_id", "ring_id"), on=["seller_id", "ring_id"])
        shared = (
            identifiers.filter(~pl.col("hub"))
            .group_by("ring_id", "kind", "key")
            .agg(pl.len().alias("members"))
            .filter(pl.col("members") >= 2)
        )
        bound = (
            held.join(shared, on=["ring_id", "kind", "key"], how="left")
            .group_by("seller_id")
            .agg(
                pl.col("kind")
                .filter(pl.col("members").is_not_null())
                .unique()
                .sort()
                .alias("bound_by"),
                pl.col("hub").any().alias("holds_hub"),
            )
        )
    table = (
        flagged.join(bound, on="seller_id", how="left")
        .with_columns(
            pl.col("bound_by").fill_null(pl.lit([], dtype=pl.List(pl.String))),
            pl.col("holds_hub").fill_null(False),
        )
        .select(
            "seller_id",
            "ring_id",
            "seller_score",
            "decision",
            "legit_group",
            "bound_by",
            "holds_hub",
            "reasons",
        )
        .sort(["seller_score", "seller_id"], descending=[True, False])
    )
    group_kind = (
        pl.when(pl.col("legit_group").is_null())
        .then(pl.lit("none"))
        .otherwise(pl.col("legit_group").str.extract(r"^([A-Za-z_]+)", 1).fill_null("other"))
    )
    by_group = dict(table.group_by(group_kind.alias("group")).len().sort("group").iter_rows())
    by_kind = dict(
        table.select(pl.col("bound_by").explode().drop_nulls().alias("kind"))
        .group_by("kind")
        .len()
        .sort("kind")
        .iter_rows()
    )
    summary = {
        "n": table.height,
        "by_decision": dict(table.group_by("decision").len().sort("decision").iter_rows()),
        "by_legit_group": by_group,
        "by_binding_kind": by_kind,
        "in_no_ring": int(table["ring_id"].is_null().sum()),
        "holding_a_hub": int(table["holds_hub"].sum()),
    }
    return table, summary


def evaluate_run(
    run: str | os.PathLike[str], truth: TableSource, *, examples: int = 20
) -> Evaluation:
    """Measure a run folder against ground truth (``seller_id``, ``ring``, ``is_bad``).

    Parameters
    ----------
    run
        A folder written by ``syndicate run`` (or ``syndicate demo``).
    truth
        The truth table (a path or a frame): ``seller_id``, ``ring`` (null if in none),
        ``is_bad`` (boolean or 0/1), optionally ``legit_group`` (``household-…``,
        ``business-…``), as ``syndicate synth`` writes it.
    examples
        How many false positives the report lists.

    Raises
    ------
    InputFileError, SchemaError
        The run folder or the truth table is missing or malformed; the message says which.
    """
    folder = Path(run)
    labels_path = folder / "labels.parquet"
    if not labels_path.is_file():
        raise InputFileError(f"{labels_path}: not found (is {str(folder)!r} a run folder?)")
    labels = _run_labels(read_table(labels_path, table="run labels"), labels_path)
    rings = _read_checked(
        folder / "rings.parquet", "run rings", ("ring_id", "ring_score", "decision")
    )
    identifiers_path = folder / "viz" / "data" / "identifiers.parquet"
    identifiers = (
        _read_checked(
            identifiers_path, "viz/data/identifiers", ("ring_id", "seller_id", "kind", "key", "hub")
        )
        if identifiers_path.is_file()
        else None
    )
    frame, origin = to_polars(truth, table="truth", string_columns=("seller_id", "ring"))
    known = truth_table(frame)
    joined = labels.join(known, on="seller_id", how="inner")
    not_in_truth = labels.height - joined.height
    if joined.height == 0:
        raise SchemaError(f"{origin}: no seller of the run is in the truth table")
    y = joined["is_bad"].cast(pl.Int8).to_numpy()
    scores = joined["seller_score"].to_numpy()
    n_bad = int(y.sum())
    decided = {
        "syndicate": joined["decision"] == "syndicate",
        "syndicate_or_review": joined["decision"] != "clear",
    }
    unlabelled = (
        joined.filter(pl.col("score_source") != "out_of_fold")
        if "score_source" in joined.columns
        else joined
    )
    seller = {
        **_ranking(y, scores),
        "not_in_truth": not_in_truth,
        "decisions": {
            name: _prf(int((flag & joined["is_bad"]).sum()), int(flag.sum()), n_bad)
            for name, flag in decided.items()
        },
        "unlabelled": _ranking(
            unlabelled["is_bad"].cast(pl.Int8).to_numpy(), unlabelled["seller_score"].to_numpy()
        ),
    }
    found = labels.filter(pl.col("ring_id").is_not_null()).select("seller_id", "ring_id")
    true_rings, legit = truth_groups(known)
    recovery = ring_recovery(found, true_rings, legit if legit.height else None)
    ring = {
        "n_found": recovery.n_found_rings,
        "n_true": recovery.n_true_rings,
        "recovered": recovery.n_recovered,
        "recall": _round(recovery.recall),
        "precision": _round(recovery.precision),
        "jaccard_threshold": recovery.threshold,
        **_partition_scores(found, known),
        **_ring_decisions(found, rings, known),
        "by_detector": _by_detector(found, rings, true_rings, legit if legit.height else None),
    }
    run_thresholds = [t for t in _run_thresholds(folder) if 0 <= t <= 1]
    table = threshold_table(y, scores, [*THRESHOLD_GRID, *run_thresholds])
    false_positives, fp_summary = _false_positives(joined, identifiers)
    if len(np.unique(y)) == 2:
        precision, recall, _ = precision_recall_curve(y, scores)
    else:
        precision, recall = np.ones(1), np.zeros(1)
    metrics = {
        "run": str(folder),
        "truth": origin,
        "seller": seller,
        "ring": ring,
        "false_positives": {
            **fp_summary,
            "examples": _json_rows(false_positives.head(examples)),
        },
        "thresholds": _json_rows(table),
        "run_thresholds": run_thresholds,
    }
    curve = {
        "precision": precision,
        "recall": recall,
        "bad_scores": scores[y == 1],
        "good_scores": scores[y == 0],
    }
    return Evaluation(metrics, table, false_positives, curve)


#: The ring detectors of ``syndicate run`` (values of ``rings.parquet``'s ``detectors``).
DETECTORS = ("leiden", "dense_block")


def _ring_detectors(rings: pl.DataFrame) -> tuple[pl.DataFrame, str | None]:
    """``ring_id``, ``detectors`` (a sorted list of strings) per ring of ``rings.parquet``.

    An older run folder has no ``detectors`` column: all its rings came from Leiden, which
    the returned note says.
    """
    if "detectors" not in rings.columns:
        note = (
            "rings.parquet has no 'detectors' column (a run folder from before dense-block "
            "detection): every ring is counted as found by leiden"
        )
        return rings.select(
            pl.col("ring_id").cast(pl.String), pl.lit(["leiden"]).alias("detectors")
        ), note
    column = rings["detectors"]
    if column.dtype == pl.String:
        detectors = pl.concat_list(pl.col("detectors"))
    elif isinstance(column.dtype, pl.List) and column.dtype.inner in (pl.String, pl.Null):
        detectors = pl.col("detectors").cast(pl.List(pl.String))
    else:
        raise InputFileError(
            f"rings.parquet: column 'detectors' must be a list of strings; got {column.dtype}"
        )
    table = rings.select(
        pl.col("ring_id").cast(pl.String),
        detectors.list.eval(pl.element().drop_nulls()).list.unique().list.sort(),
    )
    return table, None


def _by_detector(
    found: pl.DataFrame,
    rings: pl.DataFrame,
    true_rings: pl.DataFrame,
    legit: pl.DataFrame | None,
) -> dict[str, Any]:
    """Ring recovery of each detector's rings, of the union, and of rings one detector alone found.

    ``found`` (``seller_id``, ``ring_id``) holds the members of every found ring; the
    detectors of each come from ``rings`` (its ``detectors`` column, or leiden for all when
    it has none). A ring with no detector recorded counts in ``union`` only.
    """
    detectors, note = _ring_detectors(rings)
    ring_ids = found.select("ring_id").unique()
    attributed = ring_ids.join(detectors, on="ring_id", how="left").with_columns(
        pl.col("detectors").fill_null(pl.lit([], dtype=pl.List(pl.String)))
    )
    seen = attributed["detectors"].explode().drop_nulls().unique().to_list()
    known = [d for d in DETECTORS if note is None or d == "leiden"]
    names = [*known, *sorted(set(seen) - set(known))]

    def recovery(ids: pl.Series) -> RingRecovery:
        subset = found.filter(pl.col("ring_id").is_in(ids.implode()))
        return ring_recovery(subset, true_rings, legit)

    def figures(result: RingRecovery) -> dict[str, Any]:
        return {
            "n_found_rings": result.n_found_rings,
            "n_recovered": result.n_recovered,
            "recall": _round(result.recall),
            "precision": _round(result.precision),
        }

    table: dict[str, Any] = {}
    only: dict[str, Any] = {}
    for name in names:
        has = attributed.filter(pl.col("detectors").list.contains(name))["ring_id"]
        table[name] = figures(recovery(has))
        alone = attributed.filter(
            (pl.col("detectors").list.len() == 1) & pl.col("detectors").list.contains(name)
        )["ring_id"]
        result = recovery(alone)
        only[f"{name}_only"] = {
            "n_found_rings": result.n_found_rings,
            "n_matching": round(result.precision * result.n_found_rings)
            if result.n_found_rings
            else 0,
            "precision": _round(result.precision),
        }
    table["union"] = figures(recovery(ring_ids["ring_id"]))
    unattributed = attributed.filter(pl.col("detectors").list.len() == 0).height
    if unattributed:
        missing = (
            f"{counted(unattributed, 'found ring')} without a detector recorded in rings.parquet "
            "count in union only"
        )
        note = missing if note is None else f"{note}; {missing}"
    return {**table, "only": only, "note": note}


#: The run's decisions (``labels.parquet``'s ``decision``).
DECISIONS = ("syndicate", "review", "clear")


def _rows(frame: pl.DataFrame, mask: pl.Expr) -> list[int]:
    return frame.with_row_index("row").filter(mask)["row"].head(5).to_list()


def _run_labels(labels: pl.DataFrame, path: Path) -> pl.DataFrame:
    """``labels.parquet`` checked and in the dtypes evaluation needs.

    ``seller_id``, ``ring_id``, ``seller_score`` and ``decision`` are required (every
    missing one is named); ids may be integers or strings; ``seller_score`` must be
    numeric, never null or NaN; ``decision`` one of :data:`DECISIONS`. The optional
    ``reasons`` (a list of strings, or one string) becomes an empty list when absent or
    null, and ``score_source`` is used when present.
    """
    missing = [
        c for c in ("seller_id", "ring_id", "seller_score", "decision") if c not in labels.columns
    ]
    if missing:
        raise InputFileError(
            f"{path}: lacks columns {missing} (is it a labels.parquet written by syndicate run?)"
        )
    for column in ("seller_id", "ring_id", "decision", "score_source"):
        dtype = labels.schema.get(column)
        if dtype is not None and not (
            dtype in (pl.String, pl.Null, pl.Categorical) or dtype.is_integer()
        ):
            raise InputFileError(f"{path}: column {column!r} must be text; got {dtype}")
    score_dtype = labels.schema["seller_score"]
    if not (score_dtype.is_numeric() or score_dtype == pl.Null):
        raise InputFileError(f"{path}: column 'seller_score' must be numeric; got {score_dtype}")
    labels = labels.with_columns(
        pl.col("seller_id").cast(pl.String).str.strip_chars(),
        pl.col("ring_id").cast(pl.String),
        pl.col("decision").cast(pl.String),
        pl.col("seller_score").cast(pl.Float64).fill_nan(None),
    )
    unscored = _rows(labels, pl.col("seller_score").is_null())
    if unscored:
        raise InputFileError(f"{path}: seller_score is null or NaN in rows {unscored}")
    outside = _rows(labels, ~pl.col("seller_score").is_between(0.0, 1.0))
    if outside:
        raise InputFileError(f"{path}: seller_score is outside [0, 1] in rows {outside}")
    undecided = _rows(labels, pl.col("decision").is_null() | ~pl.col("decision").is_in(DECISIONS))
    if undecided:
        raise InputFileError(
            f"{path}: decision must be one of {list(DECISIONS)}; not so in rows {undecided}"
        )
    duplicated = _rows(labels, pl.col("seller_id").is_duplicated())
    if duplicated:
        raise InputFileError(f"{path}: seller_id repeats in rows {duplicated}")
    no_reasons = pl.lit([], dtype=pl.List(pl.String))
    reasons_dtype = labels.schema.get("reasons")
    if reasons_dtype is None or reasons_dtype == pl.Null:
        reasons = no_reasons
    elif reasons_dtype == pl.String:
        reasons = pl.concat_list(pl.col("reasons")).list.drop_nulls()
    elif isinstance(reasons_dtype, pl.List) and reasons_dtype.inner in (pl.String, pl.Null):
        reasons = pl.col("reasons").cast(pl.List(pl.String))
    else:
        raise InputFileError(
            f"{path}: column 'reasons' must be a list of strings; got {reasons_dtype}"
        )
    labels = labels.with_columns(reasons.fill_null(no_reasons).alias("reasons"))
    if "score_source" in labels.columns:
        labels = labels.with_columns(pl.col("score_source").cast(pl.String))
    return labels


def _read_checked(path: Path, table: str, columns: Sequence[str]) -> pl.DataFrame:
    if not path.is_file():
        raise InputFileError(f"{path}: not found (is this a run folder written by syndicate?)")
    frame = read_table(path, table=table)
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise InputFileError(f"{path}: lacks columns {missing}")
    return frame


def _json_rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    rows = frame.to_dicts()
    return [{k: (_round(v) if isinstance(v, float) else v) for k, v in row.items()} for row in rows]


def _run_thresholds(folder: Path) -> list[float]:
    manifest = folder / "run.json"
    if not manifest.is_file():
        return []
    try:
        document = json.loads(manifest.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{manifest}: not a readable run manifest ({exc})") from exc
    thresholds = document.get("thresholds") if isinstance(document, dict) else None
    if not isinstance(thresholds, dict):
        return []
    values = [thresholds.get("syndicate"), thresholds.get("review")]
    # Rounded as the threshold table is, so the run's rows can be found in it.
    return [
        round(float(v), 6)
        for v in values
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    ]


def _ring_decisions(
    found: pl.DataFrame, rings: pl.DataFrame, truth: pl.DataFrame
) -> dict[str, Any]:
    """How ring decisions compare with truth: a ring is bad when most members are bad.

    Rings scores use every known label, so the ring AUROC is also given on the rings with
    no labelled member (``n_labeled == 0``), whose scores no label of theirs shaped.
    """
    majority = (
        found.join(truth.select("seller_id", "is_bad"), on="seller_id", how="left")
        .group_by("ring_id")
        .agg((pl.col("is_bad").fill_null(False).mean() > 0.5).alias("bad"))
    )
    table = rings.join(majority, on="ring_id", how="inner")
    if table.height == 0:
        return {"rings_bad": 0, "ring_auroc": None, "ring_auroc_unlabelled": None}
    flagged = table.filter(pl.col("decision") == "syndicate")
    unlabelled = table.filter(pl.col("n_labeled") == 0) if "n_labeled" in table.columns else table

    def auroc(frame: pl.DataFrame) -> float | None:
        y = frame["bad"].cast(pl.Int8).to_numpy()
        if len(np.unique(y)) < 2:
            return None
        return _round(roc_auc_score(y, frame["ring_score"].to_numpy()))

    return {
        "rings_bad": int(table["bad"].sum()),
        "rings_decided_syndicate": flagged.height,
        "rings_decided_syndicate_bad": int(flagged["bad"].sum()),
        "ring_auroc": auroc(table),
        "ring_auroc_unlabelled": auroc(unlabelled),
        "n_unlabelled_rings": unlabelled.height,
    }
