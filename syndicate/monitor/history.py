"""Many run folders as one history: ``history.parquet``, ordered by as-of time.

Each run folder contributes its ``metrics.parquet`` rows with the run's ``as_of`` (from
``run.json``) and the folder as given (``run``). Folders may come in any order; two runs of
one as-of time keep the order of their names.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from syndicate.errors import InputFileError
from syndicate.monitor.metrics import METRICS_SCHEMA
from syndicate.runfolder import pending_commits

__all__ = ["HISTORY_SCHEMA", "History", "manifest_as_of", "read_history", "run_rings"]

HISTORY_SCHEMA: dict[str, pl.DataType] = {
    "as_of": pl.Datetime("us", "UTC"),
    "run": pl.String(),
    **METRICS_SCHEMA,
}


@dataclass(frozen=True)
class History:
    """The metrics of every run (:data:`HISTORY_SCHEMA`) and one row per run.

    ``runs``: ``run``, ``as_of``, ``folder`` (the run folder as a path), and the decision
    thresholds the run used (``syndicate_threshold``, ``review_threshold``).
    """

    metrics: pl.DataFrame
    runs: pl.DataFrame


def _thresholds(folder: Path) -> tuple[float | None, float | None]:
    """The decision thresholds a run used (None where it recorded none)."""
    try:
        recorded = json.loads((folder / "run.json").read_text(encoding="utf-8"))["thresholds"]
        found = (recorded.get("syndicate"), recorded.get("review"))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None, None
    return tuple(  # type: ignore[return-value]
        float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None for v in found
    )


def manifest_as_of(manifest: Mapping[str, Any], where: str | os.PathLike[str]) -> datetime:
    """The as-of time a ``run.json`` records, aware (a naive time is UTC).

    Raises
    ------
    InputFileError
        It records none (a run of a syndicate before monitoring), or not an ISO 8601 time;
        the message names ``where``.
    """
    recorded = manifest.get("as_of")
    if not isinstance(recorded, str):
        raise InputFileError(
            f"{where}: has no as_of (written by a syndicate before monitoring); run "
            "syndicate run into it again"
        )
    try:
        moment = datetime.fromisoformat(recorded)
    except ValueError as exc:
        raise InputFileError(f"{where}: as_of {recorded!r} is not an ISO 8601 time") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _as_of(folder: Path) -> datetime:
    manifest = folder / "run.json"
    try:
        recorded = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputFileError(f"{manifest}: cannot be read as a run manifest ({exc})") from exc
    if not isinstance(recorded, dict):
        raise InputFileError(f"{manifest}: cannot be read as a run manifest (not an object)")
    return manifest_as_of(recorded, manifest)


def read_history(folders: Sequence[str | os.PathLike[str]]) -> History:
    """Read the runs' metrics into one history.

    Raises
    ------
    InputFileError
        A folder is missing, is not a finished run folder or has no ``metrics.parquet``.
    """
    if not folders:
        raise InputFileError("no run folders given")
    seen: set[Path] = set()
    for given in folders:
        folder = Path(given)
        if not folder.is_dir():
            what = "is a file, not a run folder" if folder.exists() else "does not exist"
            raise InputFileError(f"run folder {str(folder)!r} {what}")
        if folder.resolve() in seen:
            raise InputFileError(f"run folder {str(folder)!r} is given twice")
        seen.add(folder.resolve())
    parts, runs = [], []
    for given in folders:
        folder = Path(given)
        if pending_commits(folder):
            raise InputFileError(
                f"{str(folder)!r} holds an unfinished run (interrupted while writing); run "
                "syndicate run into it again to finish it first"
            )
        metrics = folder / "metrics.parquet"
        if not metrics.is_file():
            raise InputFileError(
                f"{metrics}: not found (is {str(folder)!r} a run folder of syndicate with "
                "monitoring? run syndicate run into it again)"
            )
        as_of = _as_of(folder)
        try:
            table = pl.read_parquet(metrics)
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise InputFileError(f"{metrics}: cannot be read ({exc})") from exc
        missing = [column for column in METRICS_SCHEMA if column not in table.columns]
        if missing:
            raise InputFileError(f"{metrics}: lacks columns {missing}")
        name = str(given)
        parts.append(
            table.select(
                pl.lit(as_of).cast(HISTORY_SCHEMA["as_of"]).alias("as_of"),
                pl.lit(name).alias("run"),
                *(pl.col(column).cast(dtype) for column, dtype in METRICS_SCHEMA.items()),
            )
        )
        syndicate, review = _thresholds(folder)
        runs.append(
            {
                "run": name,
                "as_of": as_of,
                "folder": str(folder),
                "syndicate_threshold": syndicate,
                "review_threshold": review,
            }
        )
    history = pl.concat(parts).sort(
        ["as_of", "run", "metric", "segment_kind", "segment"], nulls_last=False
    )
    run_table = pl.DataFrame(
        runs,
        schema={
            "run": pl.String,
            "as_of": HISTORY_SCHEMA["as_of"],
            "folder": pl.String,
            "syndicate_threshold": pl.Float64,
            "review_threshold": pl.Float64,
        },
    ).sort(["as_of", "run"])
    return History(history, run_table)


def run_rings(folder: str | os.PathLike[str]) -> pl.DataFrame:
    """A run's ``rings.parquet`` with ``page``: its ring page relative to the run folder
    (``viz/rings/<ring_id>.html``), null where none was drawn."""
    path = Path(folder)
    rings = pl.read_parquet(path / "rings.parquet")
    pages = {p.stem for p in (path / "viz" / "rings").glob("*.html")}
    return rings.with_columns(
        pl.when(pl.col("ring_id").is_in(sorted(pages)))
        .then(pl.concat_str(pl.lit("viz/rings/"), pl.col("ring_id"), pl.lit(".html")))
        .otherwise(None)
        .alias("page")
    )
