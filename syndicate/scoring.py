"""Seller and ring scores, decisions and reasons.

With labels (at least two known-bad and two known-good sellers) the seller model scores
every seller: labelled sellers get out-of-fold scores, the rest the full model's. A ring's
score is the mean of the upper half of its members' scores (:func:`ring_scores`), so a
ring is judged by its most suspicious half and one stray member neither makes nor breaks
it. Without labels (cold start) every ring gets :func:`syndicate.features.ring.structure_score`
and its members share it; a warning says so.

Decisions (``syndicate`` / ``review`` / ``clear``) compare a score with two thresholds:
from config if set, else the lowest scores whose out-of-fold precision reaches
``syndicate_precision`` and ``review_precision``, else (cold start) the cold-start
thresholds. Each seller not cleared gets up to three reasons naming the identifiers that
bind it, values masked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
import polars as pl

from syndicate._prefetch import import_in_background
from syndicate.config import Config
from syndicate.errors import InputFileError
from syndicate.features.ring import ring_features
from syndicate.features.seller import neighbour_pairs
from syndicate.graphs.communities import Rings
from syndicate.graphs.linkage import LinkageGraph
from syndicate.model import (
    BAD_RATE_FLOOR,
    BadRate,
    SellerClassifier,
    SellerModel,
    Thresholds,
    choose_bad_rate,
    feature_matrix,
    fit_seller_model,
    still_supported,
    thresholds_from_pr,
)
from syndicate.strategies.apply import HITS_SCHEMA, apply_decisions
from syndicate.terminal import counted

#: A model from :func:`syndicate.model.load_model`: the estimator and its card.
SavedModel: TypeAlias = tuple[SellerClassifier, dict[str, Any]]

__all__ = [
    "LABELS_SCHEMA",
    "MAX_REASONS",
    "Scores",
    "fit_configured",
    "mask_value",
    "ring_scores",
    "score_marketplace",
    "seller_reasons",
]

logger = logging.getLogger("syndicate.scoring")

#: Below this out-of-fold AUROC a warning says the model barely beats chance.
WEAK_AUROC = 0.6

#: Reasons per seller, and evidence strings per ring, at most.
MAX_REASONS = 3

#: Columns of ``labels.parquet``: name -> (dtype, meaning).
LABELS_SCHEMA: dict[str, tuple[pl.DataType, str]] = {
    "seller_id": (pl.String(), "the seller"),
    "ring_id": (pl.String(), "the seller's ring (null if in none)"),
    "seller_score": (pl.Float64(), "probability-like score in [0, 1] that the seller is bad"),
    "score_source": (
        pl.String(),
        "out_of_fold (labelled seller, model blind to its component), model, structure "
        "or saved_model (scored by --model)",
    ),
    "ring_score": (pl.Float64(), "score of the seller's ring (null if in none)"),
    "decision": (
        pl.String(),
        "syndicate, review or clear: the strongest of model_decision and the decisions of "
        "the active strategies that fired on the seller",
    ),
    "decision_source": (
        pl.String(),
        "what decided: model, cold_start (structure scores) or strategy:<name>",
    ),
    "model_decision": (pl.String(), "the model's decision, from seller_score and the thresholds"),
    "strategies": (
        pl.List(pl.String()),
        "every strategy that fired on the seller, shadow ones included, in file order",
    ),
    "reasons": (pl.List(pl.String()), "up to 3 masked identifiers binding the seller"),
}


@dataclass(frozen=True)
class Scores:
    """Everything scoring produced.

    Attributes
    ----------
    sellers
        One row per seller with the columns of :data:`LABELS_SCHEMA` (``labels.parquet``).
    rings
        One row per ring: structure figures and :data:`syndicate.features.ring.RING_FEATURES`,
        ``mean_seller_score``, ``ring_score``, ``decision``, ``evidence``.
    thresholds
        The thresholds the decisions used.
    model
        The seller model trained by this run, or ``None`` (cold start, or a saved model).
    warnings
        Messages for the run manifest (also logged).
    """

    sellers: pl.DataFrame
    rings: pl.DataFrame
    thresholds: Thresholds
    model: SellerModel | None
    warnings: list[str] = field(default_factory=list)
    saved_model: SavedModel | None = None

    @property
    def cold_start(self) -> bool:
        """True when scores come from structure alone."""
        return self.model is None and self.saved_model is None

    @property
    def model_source(self) -> str:
        """``trained`` (on this run's labels), ``saved_model`` or ``cold_start``."""
        if self.model is not None:
            return "trained"
        return "saved_model" if self.saved_model is not None else "cold_start"


def mask_value(key: pl.Expr) -> pl.Expr:
    """``…`` and the last four letters or digits of a normalised value, never over half.

    An email keeps its domain, masking the part before ``@``; a short value shows at most
    half of its letters and digits (``abc`` shows ``…c``).

    Examples
    --------
    >>> pl.select(mask_value(pl.lit("GB29 NWBK 6016 1331 4821"))).item()
    '…4821'
    >>> pl.select(mask_value(pl.lit("jane.smith@example.com"))).item()
    '…mith@example.com'
    """
    local = key.str.extract(r"^(.*)@[^@]*$", 1)
    domain = key.str.extract(r"(@[^@]*)$", 1)
    alnum = pl.coalesce(local, key).str.replace_all(r"[^\p{L}\p{N}]", "")
    shown = pl.min_horizontal(pl.lit(4), alnum.str.len_chars() // 2)  # never over half
    return pl.lit("…") + alnum.str.tail(shown) + domain.fill_null("")


def ring_scores(members: pl.DataFrame) -> pl.DataFrame:
    """Per ring, the mean of the upper half (rounded up) of its members' scores.

    ``members`` holds ``ring_id`` and ``seller_score``; a ring of 5 averages its 3 top
    scores.

    Examples
    --------
    >>> members = pl.DataFrame({"ring_id": ["r"] * 3, "seller_score": [0.1, 0.9, 0.5]})
    >>> ring_scores(members).rows()
    [('r', 0.7, 0.5)]
    """
    return (
        members.filter(pl.col("ring_id").is_not_null())
        .group_by("ring_id")
        .agg(
            pl.col("seller_score")
            .sort(descending=True)
            .slice(0, (pl.len() + 1) // 2)
            .mean()
            .alias("ring_score"),
            pl.col("seller_score").sort().mean().alias("mean_seller_score"),
        )
        .sort("ring_id")
    )


def _kind_weight(config: Config) -> pl.Expr:
    return (
        pl.col("kind")
        .replace_strict(dict(config.kind_weights), default=config.default_kind_weight)
        .cast(pl.Float64)
    )


def _known_bad(labels: pl.DataFrame | None) -> pl.DataFrame:
    if labels is None:
        return pl.DataFrame(schema={"seller_id": pl.String, "bad": pl.UInt32})
    return labels.select("seller_id", (pl.col("label") == 1).cast(pl.UInt32).alias("bad"))


def seller_reasons(
    flagged: pl.Series,
    linkage: LinkageGraph,
    labels: pl.DataFrame | None,
    edges: pl.DataFrame | None,
    config: Config,
) -> pl.DataFrame:
    """Up to :data:`MAX_REASONS` strings per flagged seller naming what binds it.

    Candidates are the seller's shared identifiers (hubs excluded) and the relations of
    given ``edges``; they rank by known-bad sellers on the other side, then kind weight,
    then how many sellers share them. The seller's own label is never counted.

    Returns ``seller_id``, ``reasons`` for the flagged sellers that have candidates.
    """
    bad = _known_bad(labels)
    flagged_frame = flagged.to_frame("seller_id").unique()
    shared = linkage.seller_identifiers.filter(~pl.col("hub")).select("seller_id", "kind", "key")
    own = shared.join(flagged_frame, on="seller_id", how="semi")
    bad_per_identifier = (
        shared.join(own.select("kind", "key").unique(), on=["kind", "key"], how="semi")
        .join(bad, on="seller_id", how="inner")
        .group_by("kind", "key")
        .agg(pl.col("bad").sum().alias("bad_total"))
    )
    identifiers = (
        own.join(linkage.identifiers.select("kind", "key", "n_sellers"), on=["kind", "key"])
        .join(bad_per_identifier, on=["kind", "key"], how="left")
        .join(bad.rename({"bad": "own_bad"}), on="seller_id", how="left")
        .select(
            "seller_id",
            "kind",
            "key",
            mask_value(pl.col("key")).alias("shown"),
            (pl.col("n_sellers") - 1).cast(pl.Int64).alias("others"),
            (pl.col("bad_total").fill_null(0) - pl.col("own_bad").fill_null(0))
            .cast(pl.Int64)
            .alias("others_bad"),
        )
    )
    parts = [identifiers]
    if edges is not None and edges.height:
        ends = pl.concat(
            [
                edges.select(
                    pl.col("src").alias("seller_id"), pl.col("dst").alias("other"), "relation"
                ),
                edges.select(
                    pl.col("dst").alias("seller_id"), pl.col("src").alias("other"), "relation"
                ),
            ]
        ).join(flagged_frame, on="seller_id", how="semi")
        ends = ends.unique(["seller_id", "relation", "other"])  # repeated edges count once
        relations = (
            ends.join(bad.rename({"seller_id": "other"}), on="other", how="left")
            .group_by("seller_id", pl.col("relation").alias("kind"))
            .agg(
                pl.col("other").n_unique().cast(pl.Int64).alias("others"),
                pl.col("bad").fill_null(0).sum().cast(pl.Int64).alias("others_bad"),
            )
            .with_columns(pl.lit("").alias("key"), pl.lit(None, dtype=pl.String).alias("shown"))
            .select(identifiers.columns)
        )
        parts.append(relations)
    candidates = pl.concat(parts).with_columns(_kind_weight(config).alias("kind_weight"))
    sharers = pl.when(pl.col("others") == 1).then(pl.lit("seller")).otherwise(pl.lit("sellers"))
    known = (
        pl.when(pl.col("others_bad") > 0)
        .then(pl.format(" ({} known bad)", pl.col("others_bad")))
        .otherwise(pl.lit(""))
    )
    text = (
        pl.when(pl.col("shown").is_null())
        .then(pl.format("linked by {} to {} ", pl.col("kind"), pl.col("others")))
        .otherwise(
            pl.format("{} {} shared with {} ", pl.col("kind"), pl.col("shown"), pl.col("others"))
        )
        + sharers
        + known
    )
    return (
        candidates.sort(
            ["seller_id", "others_bad", "kind_weight", "others", "kind", "key"],
            descending=[False, True, True, True, False, False],
        )
        .group_by("seller_id", maintain_order=True)
        .head(MAX_REASONS)
        .group_by("seller_id", maintain_order=True)
        .agg(text.alias("reasons"))
    )


def _ring_evidence(
    rings_table: pl.DataFrame, members: pl.DataFrame, linkage: LinkageGraph, config: Config
) -> pl.DataFrame:
    """Per ring: the top identifiers binding its members, onboarding and known-bad counts."""
    in_ring = members.filter(pl.col("ring_id").is_not_null()).select("seller_id", "ring_id")
    binding = (
        linkage.seller_identifiers.filter(~pl.col("hub"))
        .join(in_ring, on="seller_id")
        .group_by("ring_id", "kind", "key")
        .agg(pl.len().alias("holders"))
        .filter(pl.col("holders") >= 2)
        .with_columns(_kind_weight(config).alias("kind_weight"))
        .sort(
            ["ring_id", "holders", "kind_weight", "kind", "key"],
            descending=[False, True, True, False, False],
        )
        .group_by("ring_id", maintain_order=True)
        .head(MAX_REASONS)
        .join(rings_table.select("ring_id", "size"), on="ring_id")
        .group_by("ring_id", maintain_order=True)
        .agg(
            pl.format(
                "{} {} shared by {} of {} members",
                pl.col("kind"),
                mask_value(pl.col("key")),
                pl.col("holders"),
                pl.col("size"),
            ).alias("identifiers")
        )
    )
    extra = rings_table.select(
        "ring_id",
        pl.when(pl.col("onboarding_spread_days").is_not_null())
        .then(
            pl.format(
                "onboarded within {} day{}",
                days := pl.col("onboarding_spread_days").ceil().cast(pl.Int64),
                pl.when(days == 1).then(pl.lit("")).otherwise(pl.lit("s")),
            )
        )
        .alias("onboarding"),
        pl.when(pl.col("n_known_bad") > 0)
        .then(
            pl.format("{} known-bad member", pl.col("n_known_bad"))
            + pl.when(pl.col("n_known_bad") > 1).then(pl.lit("s")).otherwise(pl.lit(""))
        )
        .alias("known_bad"),
    )
    return (
        rings_table.select("ring_id")
        .join(binding, on="ring_id", how="left")
        .join(extra, on="ring_id", how="left")
        .select(
            "ring_id",
            pl.concat_list(
                pl.col("identifiers").fill_null(pl.lit([], dtype=pl.List(pl.String))),
                pl.col("onboarding"),
                pl.col("known_bad"),
            )
            .list.drop_nulls()
            .alias("evidence"),
        )
    )


#: A warning is given when one cross-validation group holds more than this share of labels.
LARGE_GROUP_SHARE = 0.2


def cv_groups(rings: Rings) -> pl.DataFrame:
    """``seller_id``, ``group``: each linked seller's ring, else its community.

    Rings and communities are bounded in size (``max_ring_size``), unlike connected
    components, which popular identifiers can grow to thousands of sellers.
    """
    return rings.members.select(
        "seller_id", pl.coalesce("ring_id", pl.concat_str(pl.lit("c:"), "community")).alias("group")
    )


def _warn_large_group(groups: pl.DataFrame, labels: pl.DataFrame, warnings: list[str]) -> None:
    counted = (
        labels.select("seller_id")
        .join(groups, on="seller_id", how="left")
        .with_columns(pl.col("group").fill_null(pl.col("seller_id")))
        .group_by("group")
        .agg(pl.len().alias("n"))
        .sort(["n", "group"], descending=[True, False])
    )
    if counted.height and counted["n"][0] > LARGE_GROUP_SHARE * labels.height:
        group, n = counted.row(0)
        warnings.append(
            f"one cross-validation group ({group}) holds {n} of the {labels.height} labelled "
            "sellers (over a fifth): its fold's out-of-fold scores and the thresholds drawn "
            "from them are less reliable; lower rings.max_ring_size to split it"
        )


def can_train(labels: pl.DataFrame | None) -> bool:
    """Whether the labels hold the two known-bad and two known-good sellers training needs."""
    n_bad, n_good = _usable_labels(labels)
    return n_bad >= 2 and n_good >= 2


def _usable_labels(labels: pl.DataFrame | None) -> tuple[int, int]:
    if labels is None or labels.height == 0:
        return 0, 0
    return int((labels["label"] == 1).sum()), int((labels["label"] == 0).sum())


@dataclass(frozen=True)
class _Scored:
    """What one score source hands to the shared tail: scores, ring table, thresholds."""

    sellers: pl.DataFrame  # seller_id, seller_score, score_source, ring_id
    rings: pl.DataFrame  # ring features with ring_score and mean_seller_score
    thresholds: Thresholds
    model: SellerModel | None = None


def score_marketplace(
    sellers: pl.DataFrame,
    linkage: LinkageGraph,
    rings: Rings,
    features: pl.DataFrame,
    labels: pl.DataFrame | None,
    config: Config,
    edges: pl.DataFrame | None = None,
    saved_model: SavedModel | None = None,
    on_fit: Callable[[], None] | None = None,
    previous_thresholds: Thresholds | None = None,
) -> Scores:
    """Score every seller and ring, decide, and give reasons.

    One function per score source makes the scores and thresholds — a saved model
    (:func:`_from_saved_model`), a model trained on the labels (:func:`_from_trained_model`)
    or ring structure alone (:func:`_from_structure`, cold start) — and one shared tail
    (:func:`_decide_and_explain`) turns them into decisions, reasons and evidence.

    Parameters
    ----------
    sellers, labels, edges
        Validated tables (:func:`syndicate.load_inputs`); ``labels`` may be ``None``.
    linkage, rings, features
        The graph, rings and seller features of the same inputs.
    config
        Model, threshold and cold-start settings.
    saved_model
        A model from :func:`syndicate.load_model` (estimator and card) to score with
        instead of training one: every seller gets its score (``score_source``
        ``saved_model``), and the thresholds come from config or else from the card.
    on_fit
        Called after each fold model is trained (``cv_folds`` of them), for progress bars.
    """
    warnings: list[str] = []
    members = rings.members.select("seller_id", "ring_id")
    anomaly = (
        features.select("seller_id", "anomaly_score")
        if config.anomaly_trees and "anomaly_score" in features.columns
        else None
    )
    table = ring_features(sellers, rings, labels, anomaly)
    if saved_model is not None:
        scored = _from_saved_model(saved_model, features, members, table, labels, config, warnings)
    elif can_train(labels):
        assert labels is not None
        scored = _from_trained_model(
            features,
            linkage,
            rings,
            members,
            table,
            labels,
            config,
            warnings,
            on_fit,
            previous_thresholds,
        )
    else:
        scored = _from_structure(sellers, members, table, labels, config, warnings)
    for message in warnings:
        logger.warning(message)
    return _decide_and_explain(
        scored, members, linkage, labels, edges, config, warnings, saved_model
    )


def _from_saved_model(
    saved_model: SavedModel,
    features: pl.DataFrame,
    members: pl.DataFrame,
    table: pl.DataFrame,
    labels: pl.DataFrame | None,
    config: Config,
    warnings: list[str],
) -> _Scored:
    """Scores from a model an earlier run trained (``--model``)."""
    n_bad, n_good = _usable_labels(labels)
    seller_table, thresholds = _score_saved(saved_model, features, members, config, warnings)
    if n_bad + n_good == 0:
        warnings.append(
            "scoring with a saved model without labels: the label-aware features "
            "(known-bad neighbours) are all zero, unlike in training; give the labels "
            "you have with --labels"
        )
    else:
        warnings.append(
            "scores come from a saved model: labelled sellers' scores are not out-of-fold "
            "(the model may have been trained on their labels)"
        )
    rings_table = table.join(ring_scores(seller_table), on="ring_id", how="left")
    return _Scored(seller_table, rings_table, thresholds)


def fit_configured(
    features: pl.DataFrame,
    labels: pl.DataFrame,
    groups: pl.DataFrame,
    neighbours: Mapping[str, pl.DataFrame],
    config: Config,
    on_fit: Callable[[], None] | None = None,
) -> SellerModel:
    """:func:`syndicate.model.fit_seller_model` with the learner, folds and importance of
    ``config`` (both engines train through it)."""
    return fit_seller_model(
        features,
        labels,
        groups,
        neighbours=neighbours,
        estimator=SellerClassifier(
            learner=config.learner,
            n_estimators=config.n_estimators,
            min_samples_leaf=config.min_samples_leaf,
            max_samples=config.max_tree_rows,
            n_jobs=config.n_jobs,
            random_state=config.seed,
        ),
        n_folds=config.cv_folds,
        importance_repeats=config.importance_repeats,
        importance=config.importance,
        seed=config.seed,
        on_fit=on_fit,
    )


def _from_trained_model(
    features: pl.DataFrame,
    linkage: LinkageGraph,
    rings: Rings,
    members: pl.DataFrame,
    table: pl.DataFrame,
    labels: pl.DataFrame,
    config: Config,
    warnings: list[str],
    on_fit: Callable[[], None] | None,
    previous_thresholds: Thresholds | None = None,
) -> _Scored:
    """Scores from a model cross-fitted on this run's labels (thresholds: see
    :func:`_model_thresholds`; an earlier run's are kept while the labels support them)."""
    if config.learner == "gradient_boosting":  # saved with skops: 0.2-0.8 s, hidden by the fit
        import_in_background("skops.io")
    n_bad, _ = _usable_labels(labels)
    groups = cv_groups(rings)
    _warn_large_group(groups, labels, warnings)
    model = fit_configured(features, labels, groups, neighbour_pairs(linkage), config, on_fit)
    # Labelled sellers get out-of-fold scores (or their ring's), never the full model's:
    # only the others are predicted.
    to_predict = features.join(model.oof.select("seller_id"), on="seller_id", how="anti")
    predicted = model.score(to_predict) if to_predict.height else np.zeros(0)
    scored = features.select("seller_id").join(
        to_predict.select("seller_id", pl.Series("full_score", predicted, dtype=pl.Float64)),
        on="seller_id",
        how="left",
    )
    oof = model.oof.select(
        "seller_id", pl.col("score").fill_nan(None).alias("oof"), pl.lit(True).alias("known")
    )
    seller_table = trained_scores(scored.join(oof, on="seller_id", how="left"), members, table)
    unscored = int(oof["oof"].null_count())
    if unscored:
        warnings.append(
            f"no out-of-fold score for {counted(unscored, 'labelled seller')} (the other folds "
            "held one class only: are all known-bad sellers in one component?); they get their "
            "ring's structure score"
        )
    rings_table = table.join(ring_scores(seller_table), on="ring_id", how="left")
    unlabelled = seller_table.filter(pl.col("score_source") == "model")["seller_score"]
    thresholds = _model_thresholds(
        model, unlabelled.to_numpy(), config, warnings, previous_thresholds
    )
    auroc = model.card["cv"]["auroc"]
    if auroc is not None and auroc < WEAK_AUROC:
        warnings.append(
            f"the model barely beats chance (out-of-fold AUROC {auroc:.2f}); its scores and "
            "thresholds carry little information"
        )
    warnings += threshold_warnings(model, thresholds, seller_table, labels, n_bad, config)
    return _Scored(seller_table, rings_table, thresholds, model)


def trained_scores(
    sellers: pl.DataFrame, members: pl.DataFrame, ring_table: pl.DataFrame
) -> pl.DataFrame:
    """``seller_id``, ``seller_score``, ``score_source``, ``ring_id`` of a trained model's
    run from ``sellers`` (``seller_id``, ``full_score``, ``oof``, ``known``): a labelled
    seller's out-of-fold score; a labelled seller without one (its fold could not be
    trained) falls back on its ring's structure score, never on a model that saw its label;
    the full model's score for the rest. Both engines call it."""
    structure = members.join(
        ring_table.select("ring_id", "structure_score"), on="ring_id", how="left"
    )
    return (
        sellers.select("seller_id", "full_score", "oof", "known")
        .join(structure, on="seller_id", how="left")
        .select(
            "seller_id",
            pl.when(pl.col("oof").is_not_null())
            .then(pl.col("oof"))
            .when(pl.col("known"))
            .then(pl.col("structure_score").fill_null(0.0))
            .otherwise(pl.col("full_score"))
            .alias("seller_score"),
            pl.when(pl.col("oof").is_not_null())
            .then(pl.lit("out_of_fold"))
            .when(pl.col("known"))
            .then(pl.lit("structure"))
            .otherwise(pl.lit("model"))
            .alias("score_source"),
            "ring_id",
        )
    )


def threshold_warnings(
    model: SellerModel,
    thresholds: Thresholds,
    seller_table: pl.DataFrame,
    labels: pl.DataFrame,
    n_bad: int,
    config: Config,
) -> list[str]:
    """The warnings the thresholds call for (few known-bad sellers behind them, no threshold
    reached), once the labelled sellers' final scores are known (``seller_table``:
    ``seller_id``, ``seller_score``); writes the thresholds into the model card. Both
    engines call it, so they warn alike."""
    warnings = []
    if thresholds.few_known_bad:
        warnings.append(_few_known_bad_warning(thresholds, seller_table, labels, n_bad, config))
    if thresholds.syndicate is None or thresholds.review is None:
        missing = " nor review" if thresholds.review is None else ""
        warnings.append(
            f"no threshold reaches the target out-of-fold precision: no seller is decided "
            f"syndicate{missing} (set syndicate_threshold / review_threshold to choose)"
        )
    rate = thresholds.bad_rate
    model.card["thresholds"] = {
        "syndicate": thresholds.syndicate,
        "review": thresholds.review,
        "source": thresholds.source,
        "syndicate_precision": config.syndicate_precision,
        "review_precision": config.review_precision,
        "bad_rate": None if rate is None else rate.value,
        "bad_rate_source": None if rate is None else rate.source,
        "bad_rate_estimate": None if rate is None else rate.estimate,
        "bad_rate_bound": None if rate is None else rate.bound,
        "bad_rate_bound_from": None if rate is None else rate.bound_from,
        "n_known_bad": thresholds.n_known_bad,
        "few_known_bad": thresholds.few_known_bad,
    }
    return warnings


def _describe_bad_rate(rate: BadRate | None) -> str:
    """The bad rate the thresholds assumed, in words, for warnings."""
    if rate is None:
        return "no bad rate (one class only)"
    if rate.source == "config":
        return f"bad rate {rate.value:.3g} (set in config)"
    if rate.source == "bound":
        return (
            f"bad rate {rate.value:.3g} (the estimate {rate.estimate:.3g} capped at the "
            f"upper bound from the {rate.bound_from})"
        )
    if rate.source == "unidentified":
        return "no bad-rate estimate (the out-of-fold scores do not separate the classes)"
    if rate.source == "labelled_share":
        return f"bad rate {rate.value:.3g} (the labelled share: no unlabelled seller)"
    return f"estimated bad rate {rate.value:.3g} (upper bound {rate.bound:.3g})"


def _few_known_bad_warning(
    thresholds: Thresholds,
    seller_table: pl.DataFrame,
    labels: pl.DataFrame,
    n_bad: int,
    config: Config,
) -> str:
    """What thresholds drawn from few known-bad sellers rest on, whom they flag, the fix."""
    decided = (
        seller_table.join(labels.filter(pl.col("label") == 0), on="seller_id", how="semi")
        .select(thresholds.decide(pl.col("seller_score")).alias("decision"))["decision"]
        .value_counts()
    )
    counts = dict(decided.iter_rows())
    flagged = [
        f"{counts[decision]} {decision}"
        for decision in ("syndicate", "review")
        if counts.get(decision, 0)
    ]
    good = f"; they decide known-good sellers {' and '.join(flagged)}" if flagged else ""
    scored = thresholds.n_known_bad if thresholds.n_known_bad is not None else n_bad
    of = "" if scored == n_bad else f" with an out-of-fold score (of {n_bad} labelled)"
    return (
        f"the decision thresholds (syndicate {_shown(thresholds.syndicate)}, review "
        f"{_shown(thresholds.review)}) are drawn from only {scored} known-bad sellers{of} (fewer "
        f"than decisions.min_known_bad_for_thresholds = {config.min_known_bad_for_thresholds}) "
        f"and {_describe_bad_rate(thresholds.bad_rate)}, so they are unreliable{good}; add "
        "known-bad labels, or set decisions.bad_rate, or decisions.syndicate_threshold and "
        "review_threshold, in config"
    )


def _shown(threshold: float | None) -> str:
    return "none" if threshold is None else f"{threshold:.3f}"


def _from_structure(
    sellers: pl.DataFrame,
    members: pl.DataFrame,
    table: pl.DataFrame,
    labels: pl.DataFrame | None,
    config: Config,
    warnings: list[str],
) -> _Scored:
    """Cold start: every ring member gets its ring's structure score."""
    n_bad, n_good = _usable_labels(labels)
    warnings.append(
        f"cold start: the labels hold {n_bad} known-bad and {n_good} known-good sellers "
        "(at least 2 of each are needed to train), so ring scores come from structure "
        "alone and every ring member gets its ring's score"
    )
    rings_table = table.with_columns(
        pl.col("structure_score").alias("ring_score"),
        pl.col("structure_score").alias("mean_seller_score"),
    )
    seller_table = (
        sellers.select("seller_id")
        .join(members, on="seller_id", how="left")
        .join(rings_table.select("ring_id", "ring_score"), on="ring_id", how="left")
        .select(
            "seller_id",
            pl.col("ring_score").fill_null(0.0).alias("seller_score"),
            pl.lit("structure").alias("score_source"),
            "ring_id",
        )
    )
    thresholds = Thresholds(
        syndicate=config.cold_syndicate_threshold,
        review=config.cold_review_threshold,
        source="cold_start",
    )
    return _Scored(seller_table, rings_table, thresholds)


def _decide_and_explain(
    scored: _Scored,
    members: pl.DataFrame,
    linkage: LinkageGraph,
    labels: pl.DataFrame | None,
    edges: pl.DataFrame | None,
    config: Config,
    warnings: list[str],
    saved_model: SavedModel | None,
) -> Scores:
    """The shared tail: decisions from the thresholds, reasons, ring evidence."""
    thresholds = scored.thresholds
    seller_table = apply_decisions(
        scored.sellers.join(
            scored.rings.select("ring_id", "ring_score"), on="ring_id", how="left"
        ).with_columns(thresholds.decide(pl.col("seller_score")).alias("decision")),
        pl.DataFrame(schema=HITS_SCHEMA),
    )
    flagged = seller_table.filter(pl.col("decision") != "clear")["seller_id"]
    reasons = seller_reasons(flagged, linkage, labels, edges, config)
    seller_table = (
        seller_table.join(reasons, on="seller_id", how="left")
        .with_columns(pl.col("reasons").fill_null(pl.lit([], dtype=pl.List(pl.String))))
        .select(pl.col(name).cast(dtype) for name, (dtype, _) in LABELS_SCHEMA.items())
        .sort("seller_id")
    )
    table = apply_decisions(
        scored.rings.with_columns(thresholds.decide(pl.col("ring_score")).alias("decision")),
        pl.DataFrame(schema={"ring_id": pl.String, **HITS_SCHEMA}).drop("seller_id"),
        key="ring_id",
        model_source=pl.lit(
            "cold_start" if scored.model is None and saved_model is None else "model"
        ),
    )
    table = table.join(_ring_evidence(table, members, linkage, config), on="ring_id", how="left")
    return Scores(
        sellers=seller_table,
        rings=table.sort("ring_id"),
        thresholds=thresholds,
        model=scored.model,
        warnings=warnings,
        saved_model=saved_model,
    )


def _score_saved(
    saved: SavedModel,
    features: pl.DataFrame,
    members: pl.DataFrame,
    config: Config,
    warnings: list[str],
) -> tuple[pl.DataFrame, Thresholds]:
    """Seller scores and thresholds from a model trained by an earlier run."""
    estimator, card = saved
    names = card.get("feature_names")
    if not (isinstance(names, list) and all(isinstance(name, str) for name in names)):
        raise InputFileError("the saved model's card has no list of feature_names")
    missing = [name for name in names if name not in features.columns]
    if missing:
        raise InputFileError(
            f"the saved model was trained with feature columns this run does not have: "
            f"{missing[:5]} (a numeric column of the sellers table it was trained on, or a "
            "feature of another syndicate version); give the same sellers columns or retrain"
        )
    if len(names) != estimator.n_features_in_:
        raise InputFileError(
            f"the saved model's card names {len(names)} features but the model takes "
            f"{estimator.n_features_in_}: the model folder is inconsistent; retrain"
        )
    scored = features.select("seller_id").with_columns(
        pl.Series(
            "seller_score",
            estimator.bad_score(feature_matrix(features, names, for_prediction=True)),
            pl.Float64,
        ),
        pl.lit("saved_model").alias("score_source"),
    )
    seller_table = scored.join(members, on="seller_id", how="left")
    saved_thresholds = card.get("thresholds")
    if not isinstance(saved_thresholds, dict):
        saved_thresholds = {}

    def pick(name: str, fixed: float | None) -> float | None:
        if fixed is not None:
            return fixed
        value = saved_thresholds.get(name)
        return float(value) if isinstance(value, int | float) and 0 <= value <= 1 else None

    syndicate = pick("syndicate", config.syndicate_threshold)
    review = pick("review", config.review_threshold)
    if syndicate is None or review is None:
        lacking = [n for n, v in (("syndicate", syndicate), ("review", review)) if v is None]
        warnings.append(
            f"the saved model's card holds no usable {' nor '.join(lacking)} threshold: no "
            "seller gets that decision (set syndicate_threshold / review_threshold)"
        )
    if syndicate is not None and review is not None and review > syndicate:
        review = syndicate
    source = (
        "config"
        if config.syndicate_threshold is not None or config.review_threshold is not None
        else "saved_model"
    )
    return seller_table, Thresholds(syndicate=syndicate, review=review, source=source)


def _model_thresholds(
    model: SellerModel,
    unlabelled: np.ndarray,
    config: Config,
    warnings: list[str],
    previous: Thresholds | None = None,
) -> Thresholds:
    """Thresholds from config where set, else from the prior-adjusted out-of-fold curve.

    The bad rate is the configured one, else the classify-and-count estimate capped at
    what the labels support (:func:`syndicate.model.choose_bad_rate`). Thresholds drawn
    from fewer known-bad sellers than ``min_known_bad_for_thresholds`` are marked
    ``few_known_bad`` (the caller warns).
    """
    oof = model.oof.filter(pl.col("score").is_not_nan())
    labels = oof["label"].to_numpy().astype(np.int64)
    scores = oof["score"].to_numpy()
    n_bad = int(labels.sum())
    rate: BadRate | None = None
    if len(np.unique(labels)) < 2:
        from_pr = Thresholds(None, None, "oof_pr_curve")
        if config.bad_rate is not None:
            rate = BadRate(config.bad_rate, "config")
    else:
        rate = choose_bad_rate(labels, scores, unlabelled, config.bad_rate)
        _warn_bad_rate(rate, labels, warnings)
        from_pr = thresholds_from_pr(
            labels,
            scores,
            config.syndicate_precision,
            config.review_precision,
            bad_rate=rate.value,
        )
    drawn_from_labels = config.syndicate_threshold is None or config.review_threshold is None
    few = drawn_from_labels and n_bad < config.min_known_bad_for_thresholds
    if config.syndicate_threshold is None and config.review_threshold is None:
        if previous is not None and rate is not None and config.keep_thresholds:
            from_pr = _kept(from_pr, previous, labels, scores, rate.value, config)
        return Thresholds(
            from_pr.syndicate, from_pr.review, from_pr.source, rate, n_bad, few, from_pr.kept
        )
    syndicate = (
        config.syndicate_threshold if config.syndicate_threshold is not None else from_pr.syndicate
    )
    review = config.review_threshold if config.review_threshold is not None else from_pr.review
    if syndicate is not None and review is None:
        review = syndicate  # whoever reaches syndicate is at least for review
    if syndicate is not None and review is not None and review > syndicate:
        warnings.append(
            f"review threshold {review:.3f} lies above the syndicate threshold "
            f"{syndicate:.3f}; review is lowered to it"
        )
        review = syndicate
    return Thresholds(syndicate, review, "config", rate, n_bad, few)


def _kept(
    fresh: Thresholds,
    previous: Thresholds,
    labels: np.ndarray,
    scores: np.ndarray,
    bad_rate: float,
    config: Config,
) -> Thresholds:
    """``fresh``, with each of ``previous``' thresholds these labels still support kept.

    A threshold is kept when its precision on this run's out-of-fold scores is consistent
    with its target (:func:`syndicate.model.still_supported`), so decisions do not jump
    with every day's draw of labels; one the labels contradict is replaced.
    """
    if previous.source not in ("oof_pr_curve", "previous_run"):
        return fresh
    chosen = {"syndicate": fresh.syndicate, "review": fresh.review}
    targets = {"syndicate": config.syndicate_precision, "review": config.review_precision}
    kept = []
    for name, earlier in (("syndicate", previous.syndicate), ("review", previous.review)):
        if earlier is None or chosen[name] is None:
            continue
        if still_supported(labels, scores, earlier, targets[name], bad_rate=bad_rate):
            chosen[name] = earlier
            kept.append(name)
    syndicate, review = chosen["syndicate"], chosen["review"]
    if syndicate is not None and review is not None and review > syndicate:
        review = syndicate
    source = "previous_run" if kept else fresh.source
    return Thresholds(syndicate, review, source, kept=tuple(kept))


def _warn_bad_rate(rate: BadRate, labels: np.ndarray, warnings: list[str]) -> None:
    """Say when the bad rate of the thresholds is not a plain estimate."""
    if rate.source == "estimated" and rate.value <= BAD_RATE_FLOOR:
        warnings.append(
            "the estimated bad rate among unlabelled sellers is about 0 (out-of-fold "
            "scores run above the full model's), so thresholds come out high; set "
            "bad_rate in config if you know it"
        )
    elif rate.source == "bound":
        assert rate.estimate is not None and rate.bound is not None
        warnings.append(
            f"the estimated bad rate among unlabelled sellers, {rate.estimate:.3g}, is above "
            f"what the labels support: the thresholds use the upper bound {rate.bound:.3g} "
            f"(from the {rate.bound_from}; see syndicate.model.bad_rate_bound); set bad_rate "
            "in config if you know it"
        )
    elif rate.source == "unidentified":
        n_bad = int(labels.sum())
        warnings.append(
            "the out-of-fold scores do not separate known-bad from known-good sellers, so "
            "the bad rate among unlabelled sellers cannot be estimated (the labelled share, "
            f"{n_bad} of {len(labels)}, only bounds it from above): the thresholds assume "
            "it is about 0, so a decision needs a score above every known-good seller's; "
            "set bad_rate or the thresholds in config"
        )
