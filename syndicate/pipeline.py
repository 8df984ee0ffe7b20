"""The whole job on validated inputs: graph, rings, features, model, scores, outputs.

:func:`run_pipeline` returns Polars frames; :func:`write_outputs` writes them as in
design.md (every file atomically).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from syndicate.config import Config
from syndicate.features import seller_features
from syndicate.graphs.communities import Rings, find_rings
from syndicate.graphs.linkage import LinkageGraph, build_linkage
from syndicate.io import write_parquet_atomic
from syndicate.lineage import LINEAGE_SCHEMA, Lineage, track_rings
from syndicate.model import save_model
from syndicate.progress import Reporter
from syndicate.scoring import SavedModel, Scores, can_train, score_marketplace
from syndicate.validation import MarketplaceInputs
from syndicate.viz.data import RingViewData, view_data, write_view_data
from syndicate.viz.pages import write_viz

__all__ = ["RINGS_COLUMNS", "PipelineResult", "ring_view_data", "run_pipeline", "write_outputs"]

#: Column order of ``rings.parquet``.
RINGS_COLUMNS = (
    "ring_id",
    "size",
    "ring_score",
    "decision",
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
    """

    inputs: MarketplaceInputs
    config: Config
    linkage: LinkageGraph
    rings_found: Rings
    features: pl.DataFrame
    scores: Scores
    lineage: Lineage
    timings: dict[str, float] = field(default_factory=dict)

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
        """Warnings for the run manifest."""
        return list(self.scores.warnings)


def run_pipeline(
    inputs: MarketplaceInputs,
    config: Config | None = None,
    reporter: Reporter | None = None,
    *,
    previous: pl.DataFrame | None = None,
    saved_model: SavedModel | None = None,
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
    """
    config = config or Config()
    report = reporter or Reporter(quiet=True)
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
        )
    return PipelineResult(
        inputs, config, linkage, rings, features, scores, lineage, dict(report.timings)
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

    ``model/`` (``model.skops``, ``model_card.json``) is written only when a model was
    trained (not in cold start). ``viz/`` holds ``index.html``, a page per ring for the
    ``top_pages`` rings by score, and ``data/`` (the tables ``syndicate viz`` redraws
    pages from). Returns the paths by name.
    """
    folder = Path(out)
    paths = {
        "labels": write_parquet_atomic(result.labels, folder / "labels.parquet"),
        "rings": write_parquet_atomic(result.rings, folder / "rings.parquet"),
        "features": write_parquet_atomic(result.features, folder / "features.parquet"),
        "hubs": write_parquet_atomic(result.linkage.hubs, folder / "hubs.parquet"),
        "rejects": write_parquet_atomic(result.inputs.rejects, folder / "rejects.parquet"),
    }
    if result.scores.model is not None:
        paths["model"] = save_model(result.scores.model, folder / "model")["model"].parent
    data = ring_view_data(result)
    write_view_data(data, folder / "viz" / "data")
    pages = write_viz(
        result.rings,
        data,
        folder / "viz",
        top=top_pages,
        seed=result.config.seed,
        on_page=on_page,
    )
    paths["viz"] = pages.index
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
