"""The whole job on validated inputs: graph, rings, features, model, scores, outputs.

:func:`run_pipeline` returns Polars frames; :func:`write_outputs` writes them as in
design.md (every file atomically).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from syndicate.config import Config
from syndicate.errors import SchemaError
from syndicate.features import check_feature_names, seller_features
from syndicate.graphs.communities import Rings, find_rings
from syndicate.graphs.linkage import LinkageGraph, build_linkage
from syndicate.io import write_parquet_atomic
from syndicate.lineage import LINEAGE_SCHEMA, Lineage, track_rings
from syndicate.model import Thresholds, save_model
from syndicate.progress import Reporter
from syndicate.scoring import SavedModel, Scores, can_train, score_marketplace, seller_reasons
from syndicate.strategies.apply import apply_decisions, apply_ring_decisions, strategy_hits
from syndicate.strategies.file import StrategySet
from syndicate.terminal import counted
from syndicate.validation import REJECT_REASONS, MarketplaceInputs
from syndicate.viz.data import RingViewData, view_data
from syndicate.viz.pages import write_viz

__all__ = [
    "REFUSED_TABLES",
    "REJECTED_SHARE_WARNING",
    "RINGS_COLUMNS",
    "PipelineResult",
    "canonical_id",
    "cause_of",
    "reject_warnings",
    "ring_view_data",
    "run_pipeline",
    "spelled_differently",
    "table_warnings",
    "unlinked_error",
    "write_outputs",
]

logger = logging.getLogger("syndicate.pipeline")

#: A table with more than this share of its rows refused gets a warning naming the cause.
REJECTED_SHARE_WARNING = 0.05

#: Column order of ``rings.parquet``.
RINGS_COLUMNS = (
    "ring_id",
    "size",
    "ring_score",
    "decision",
    "decision_source",
    "model_decision",
    "strategies",
    "n_known_bad",
    "n_known_good",
    "n_labeled",
    "structure_score",
    "mean_seller_score",
    "n_edges",
    "density",
    "weight",
    "mean_edge_weight",
    "component_size",
    "kinds",
    "detectors",
    "block_density",
    "onboarding_spread_days",
    "onboarding_mad_days",
    "evidence",
    *LINEAGE_SCHEMA,
)


@dataclass(frozen=True)
class PipelineResult:
    """The frames of one run.

    ``labels`` is ``labels.parquet`` (one row per seller), ``rings`` is ``rings.parquet``
    (one row per ring, columns :data:`RINGS_COLUMNS`), ``features`` is
    ``features.parquet``; ``scores`` holds the model, thresholds and warnings.
    ``engine_facts`` is what another engine than the default reports of its run (for
    ``run.json``).
    """

    inputs: MarketplaceInputs
    config: Config
    linkage: LinkageGraph
    rings_found: Rings
    features: pl.DataFrame
    scores: Scores
    lineage: Lineage
    timings: dict[str, float] = field(default_factory=dict)
    input_warnings: tuple[str, ...] = ()
    strategies: StrategySet | None = None
    strategy_hits: pl.DataFrame | None = None
    engine_facts: dict[str, Any] = field(default_factory=dict)

    @property
    def labels(self) -> pl.DataFrame:
        """One row per seller: score, ring, decision, reasons."""
        return self.scores.sellers

    @property
    def rings(self) -> pl.DataFrame:
        """One row per ring, scored, with evidence, status and the earlier ids."""
        lineage = self.lineage.rings.drop("provisional_id")
        return self.scores.rings.join(lineage, on="ring_id", how="left").select(RINGS_COLUMNS)

    @property
    def warnings(self) -> list[str]:
        """Warnings for the run manifest: the inputs (:func:`reject_warnings`), then scoring."""
        return [*self.input_warnings, *self.scores.warnings]


def run_pipeline(
    inputs: MarketplaceInputs,
    config: Config | None = None,
    reporter: Reporter | None = None,
    *,
    previous: pl.DataFrame | None = None,
    saved_model: SavedModel | None = None,
    previous_thresholds: Thresholds | None = None,
    strategies: StrategySet | None = None,
) -> PipelineResult:
    """Build the graph, find rings, compute features, train and score.

    With at least two known-bad and two known-good labels the seller model is trained;
    otherwise scores come from ring structure (cold start, with a warning).

    Parameters
    ----------
    previous
        An earlier run's membership (``seller_id``, ``ring_id``: its ``labels.parquet``):
        rings keep the earlier ids they match (:func:`syndicate.lineage.track_rings`).
    saved_model
        Score with this model (:func:`syndicate.load_model`) instead of training one.
    previous_thresholds
        The earlier run's thresholds: each is kept while this run's labels still support
        its precision target (``decisions.keep_thresholds``).
    strategies
        Strategies to apply after the model (:mod:`syndicate.strategies`): a seller's
        decision is the strongest of the model's and its active strategies'.
    """
    config = config or Config()
    report = reporter or Reporter(quiet=True)
    _refuse_unlinked(inputs)
    check_feature_names(inputs.sellers)  # before the graph: a clash is found in a second
    input_warnings = tuple(reject_warnings(inputs))
    for message in input_warnings:
        logger.warning(message)
    with report.step("Building the seller graph"):
        linkage = build_linkage(inputs.links, inputs.edges, config)
    with report.step("Finding rings"):
        found = find_rings(linkage, config)
        lineage = track_rings(
            found.members.select("seller_id", "ring_id"),
            previous,
            min_jaccard=config.lineage_min_jaccard,
        )
        rings = _renamed(found, lineage.id_map())
    with report.step("Computing seller features"):
        features = seller_features(
            inputs.sellers,
            inputs.links,
            linkage,
            rings,
            inputs.labels,
            seed=config.seed,
            anomaly_trees=config.anomaly_trees,
        )
    step = "Scoring with the saved model" if saved_model else "Training the model and scoring"
    fits = config.cv_folds if saved_model is None and can_train(inputs.labels) else None
    with report.step(step, total=fits) as running:
        scores = score_marketplace(
            inputs.sellers,
            linkage,
            rings,
            features,
            inputs.labels,
            config,
            inputs.edges,
            saved_model=saved_model,
            on_fit=running.advance,
            previous_thresholds=previous_thresholds,
        )
    hits = None
    if strategies is not None:
        with report.step("Applying strategies"):
            scores, hits = apply_strategies(
                scores, features, lineage, strategies, linkage, inputs, config
            )
    return PipelineResult(
        inputs,
        config,
        linkage,
        rings,
        features,
        scores,
        lineage,
        dict(report.timings),
        input_warnings,
        strategies,
        hits,
    )


def apply_strategies(
    scores: Scores,
    features: pl.DataFrame,
    lineage: Lineage,
    strategies: StrategySet,
    linkage: LinkageGraph,
    inputs: MarketplaceInputs,
    config: Config,
) -> tuple[Scores, pl.DataFrame]:
    """The scores with the strategies' decisions, and where each strategy fired.

    Ring-scope conditions read the ring's row of ``rings.parquet`` (lineage included).
    Sellers a strategy flags that the model cleared get their reasons here.
    """
    rings = scores.rings.join(lineage.rings.drop("provisional_id"), on="ring_id", how="left")
    model_labels = scores.sellers.drop("decision_source", "model_decision", "strategies")
    hits = strategy_hits(strategies, features, model_labels, rings)
    sellers = apply_decisions(model_labels, hits, strategies)
    flagged = sellers.filter(
        (pl.col("model_decision") == "clear") & (pl.col("decision") != "clear")
    )["seller_id"]
    if flagged.len():
        reasons = seller_reasons(flagged, linkage, inputs.labels, inputs.edges, config)
        sellers = sellers.update(reasons, on="seller_id", how="left")
    ring_table = apply_ring_decisions(
        scores.rings.drop("decision_source", "model_decision", "strategies"),
        hits,
        strategies,
        cold_start=scores.cold_start,
    )
    columns = [name for name in scores.sellers.columns]
    updated = dataclasses.replace(
        scores,
        sellers=sellers.select(columns),
        rings=ring_table.select(scores.rings.columns),
    )
    return updated, hits


# ---------------------------------------------------------------------------------------
# what validation refused, and why it probably happened

#: Input tables whose refused rows are weighed against the rows kept. Labels refused from
#: the sellers table's ``label`` column (table ``sellers.label``) count as labels.
REFUSED_TABLES: dict[str, tuple[str, ...]] = {
    "sellers": ("sellers",),
    "links": ("links",),
    "edges": ("edges",),
    "labels": ("labels", "sellers.label"),
}


def canonical_id(column: pl.Expr) -> pl.Expr:
    """A seller id with the differences of spelling that exports introduce taken out.

    Spaces around it, case, a ``.0`` suffix (an integer read as a float) and leading zeros
    (an integer column against a text one: ``1`` against ``01``).

    Examples
    --------
    >>> pl.select(canonical_id(pl.lit(" 0042.0 "))).item()
    '42'
    """
    text = column.str.strip_chars().str.to_lowercase().str.replace(r"\.0+$", "")
    return text.str.replace(r"^0+(\d)", "$1")


_canonical_id = canonical_id


def spelled_differently(unknown: pl.Series, known: pl.DataFrame) -> tuple[str, str] | None:
    """An id refused as unknown that names a seller once spelling is ignored, with that seller.

    ``unknown`` holds the distinct ids refused as ``unknown_seller``; ``known`` has
    ``canonical`` (:func:`canonical_id`) and ``known``, the smallest seller id of each
    canonical spelling, for the spellings among ``unknown``'s (or all). Returned only when
    at least half of the refused ids match a seller so: then the tables write one id in two
    ways, rather than holding sellers of another snapshot.
    """
    refused = (
        unknown.drop_nulls()
        .unique()
        .sort()
        .to_frame("seller_id")
        .with_columns(canonical_id(pl.col("seller_id")).alias("canonical"))
    )
    if refused.height == 0:
        return None
    matched = refused.join(known.select("canonical", "known"), on="canonical").sort("seller_id")
    if matched.height == 0 or 2 * matched.height < refused.height:
        return None
    their, ours = matched.row(0)[0], matched.row(0)[2]
    return str(their), str(ours)


def _spelled_differently(
    inputs: MarketplaceInputs, tables: tuple[str, ...]
) -> tuple[str, str] | None:
    """:func:`spelled_differently` of the ids ``tables`` refused as unknown."""
    unknown = inputs.rejects.filter(
        pl.col("table").is_in(list(tables)) & (pl.col("reason") == "unknown_seller")
    )["seller_id"]
    if unknown.drop_nulls().len() == 0:
        return None
    known = (
        inputs.sellers.select("seller_id")
        .with_columns(canonical_id(pl.col("seller_id")).alias("canonical"))
        .sort("seller_id")
        .unique("canonical", keep="first", maintain_order=True)
        .rename({"seller_id": "known"})
    )
    return spelled_differently(unknown, known)


def cause_of(
    table: str,
    reason: str,
    *,
    spelled: tuple[str, str] | None = None,
    examples: Sequence[str] = (),
) -> str:
    """Why a table's rows were mostly refused for ``reason``, and what to do about it.

    For ``unknown_seller``: ``spelled`` is :func:`spelled_differently`'s answer and
    ``examples`` the first refused ids in order (three are shown).
    """
    if reason == "unknown_seller":
        if spelled is not None:
            their, ours = spelled
            return (
                f"their seller ids look like the sellers table's ids written another way "
                f"({table} {their!r}, sellers {ours!r}: leading zeros, case, spaces or a "
                "'.0' suffix, as when one table stores ids as numbers and the other as "
                "text); write seller_id the same way in every table"
            )
        shown = ", ".join(repr(example) for example in list(examples)[:3])
        return (
            f"their seller ids are not in the sellers table (e.g. {shown}): are the sellers "
            f"and {table} tables from the same snapshot?"
        )
    if reason == "duplicate_row":
        return "the table repeats rows: was it exported or appended twice?"
    return REJECT_REASONS.get(reason, reason)


def _likely_cause(inputs: MarketplaceInputs, table: str, reason: str) -> str:
    """:func:`cause_of`, with the refused ids read off ``inputs``."""
    if reason != "unknown_seller":
        return cause_of(table, reason)
    tables = REFUSED_TABLES[table]
    examples = (
        inputs.rejects.filter(pl.col("table").is_in(list(tables)) & (pl.col("reason") == reason))[
            "seller_id"
        ]
        .drop_nulls()
        .unique()
        .sort()
        .head(3)
        .to_list()
    )
    return cause_of(table, reason, spelled=_spelled_differently(inputs, tables), examples=examples)


def reject_warnings(inputs: MarketplaceInputs, share: float = REJECTED_SHARE_WARNING) -> list[str]:
    """A warning for each input table with more than ``share`` of its rows refused.

    Each names the reasons with their counts and the likely cause of the main one; ids
    refused as ``unknown_seller`` that match a seller once leading zeros, case, spaces and
    a ``.0`` suffix are ignored are called out as ids written differently in two tables.
    When no link survived but given edges did, that is said too (with neither, the run
    stops: see :func:`run_pipeline`).

    Examples
    --------
    >>> import polars as pl
    >>> from syndicate.validation import load_inputs
    >>> inputs = load_inputs(
    ...     pl.DataFrame({"seller_id": [1, 2, 3]}),
    ...     pl.DataFrame({"seller_id": ["01", "2", "3"], "kind": ["ip"] * 3,
    ...                   "value": ["1.2.3.4"] * 3}),
    ... )
    >>> print(reject_warnings(inputs)[0])  # doctest: +NORMALIZE_WHITESPACE
    33.3% of the links rows were refused (1 row of 3: unknown_seller 1); their seller ids
    look like the sellers table's ids written another way (links '01', sellers '1':
    leading zeros, case, spaces or a '.0' suffix, as when one table stores ids as numbers
    and the other as text); write seller_id the same way in every table
    """
    kept = {
        "sellers": inputs.sellers.height,
        "links": inputs.links.height,
        "edges": inputs.edges.height,
        "labels": inputs.labels.height,
    }
    return table_warnings(
        inputs.reject_counts(),
        kept,
        lambda table, reason: _likely_cause(inputs, table, reason),
        share=share,
    )


def table_warnings(
    counts: Mapping[str, Mapping[str, int]],
    kept: Mapping[str, int],
    cause: Callable[[str, str], str],
    *,
    share: float = REJECTED_SHARE_WARNING,
) -> list[str]:
    """:func:`reject_warnings` from the refused rows' counts by table and reason, the rows
    kept by table and ``cause(table, main_reason)`` (each engine reads the refused ids its
    own way)."""
    warnings = []
    for table, parts in REFUSED_TABLES.items():
        reasons: dict[str, int] = {}
        for part in parts:
            for reason, n in counts.get(part, {}).items():
                reasons[reason] = reasons.get(reason, 0) + n
        refused = sum(reasons.values())
        total = refused + kept.get(table, 0)
        if refused == 0 or refused <= share * total:
            continue
        ranked = sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
        listed = ", ".join(f"{reason} {n:,}" for reason, n in ranked)
        message = (
            f"{refused / total:.1%} of the {table} rows were refused "
            f"({counted(refused, 'row')} of {total:,}: {listed}); "
            f"{cause(table, ranked[0][0])}"
        )
        if table == "links" and kept.get("links", 0) == 0:
            message = (
                f"no link survived validation, so only the given edges link sellers: {message}"
            )
        warnings.append(message)
    return warnings


def unlinked_error(
    counts: Mapping[str, Mapping[str, int]], cause: Callable[[str, str], str]
) -> SchemaError:
    """The error of a run whose links were all refused and that has no given edge."""
    reasons = counts.get("links", {})
    refused = sum(reasons.values())
    ranked = sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
    listed = ", ".join(f"{reason} {n:,}" for reason, n in ranked)
    because = cause("links", ranked[0][0]) if ranked else "the table is empty"
    return SchemaError(
        f"links: no row survived validation ({counted(refused, 'row')} refused: "
        f"{listed or 'none'}), and no given edge links sellers, so no ring can be found; "
        f"{because}"
    )


def _refuse_unlinked(inputs: MarketplaceInputs) -> None:
    """Stop when validation refused every link and no given edge is left.

    Nothing would link two sellers: the run would find no ring and decide every seller
    clear, which a batch job would publish over yesterday's labels. Like a sellers table
    with no valid row, that is bad input (exit 2); the earlier run folder stays as it was.
    """
    if inputs.links.height or inputs.edges.height:
        return
    raise unlinked_error(
        inputs.reject_counts(), lambda table, reason: _likely_cause(inputs, table, reason)
    )


def _renamed(rings: Rings, ids: dict[str, str]) -> Rings:
    """``rings`` with every ring id replaced by its final id (after lineage)."""
    if all(key == value for key, value in ids.items()):
        return rings
    rename = pl.col("ring_id").replace_strict(ids, default=None, return_dtype=pl.String)
    return Rings(
        members=rings.members.with_columns(rename),
        rings=rings.rings.with_columns(rename).sort("ring_id"),
        blocks=rings.blocks,
    )


def write_outputs(
    result: PipelineResult,
    out: str | os.PathLike[str],
    *,
    top_pages: int = 50,
    on_page: Callable[[], None] | None = None,
) -> dict[str, Path]:
    """Write ``labels``, ``rings``, ``features``, ``hubs``, ``rejects``, ``model/``, ``viz/``.

    ``model/`` (``model.npz``, or ``model.skops`` for gradient boosting, and
    ``model_card.json``) is written only when a model was trained (not in cold start).
    ``viz/`` holds ``index.html``, a page per ring for the ``top_pages`` rings by score,
    ``data/`` (the tables ``syndicate viz`` redraws pages from) and the listing of what it
    wrote there (:data:`syndicate.viz.pages.LISTING`). Returns the paths by name.
    """
    folder = Path(out)
    # The tables and the model are written by Polars and numpy, which release the GIL,
    # while the pages (mostly Python) are drawn: on two cores the step takes about the
    # longer of the two instead of their sum.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="syndicate-write") as pool:
        tables = pool.submit(_write_tables, result, folder)
        pages = write_viz(
            result.rings,
            ring_view_data(result),
            folder / "viz",
            top=top_pages,
            seed=result.config.seed,
            on_page=on_page,
        )
        paths = tables.result()
    paths["viz"] = pages.index
    return paths


def _write_tables(result: PipelineResult, folder: Path) -> dict[str, Path]:
    """The output tables and, when one was trained, the model: their paths by name."""
    paths = {
        "labels": write_parquet_atomic(result.labels, folder / "labels.parquet"),
        "rings": write_parquet_atomic(result.rings, folder / "rings.parquet"),
        "features": write_parquet_atomic(result.features, folder / "features.parquet"),
        "hubs": write_parquet_atomic(result.linkage.hubs, folder / "hubs.parquet"),
        "rejects": write_parquet_atomic(result.inputs.rejects, folder / "rejects.parquet"),
    }
    if result.scores.model is not None:
        paths["model"] = save_model(result.scores.model, folder / "model")["model"].parent
    return paths


def ring_view_data(result: PipelineResult) -> RingViewData:
    """The tables the ring pages are drawn from (written under ``viz/data/``)."""
    return view_data(
        result.labels,
        result.inputs.sellers,
        result.inputs.labels,
        result.linkage.seller_identifiers,
        result.linkage.identifiers,
        result.linkage.hubs,
        result.inputs.edges,
    )
