"""The batch job behind ``syndicate run``: inputs in, a complete run folder out.

A run folder is replaced as a whole or not at all, and a run replaces only what an earlier
run wrote (:mod:`syndicate.runfolder`). A lock file keeps two runs from writing into one
folder at once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import platform
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from syndicate import runfolder
from syndicate.config import Config
from syndicate.errors import InputError, InputFileError
from syndicate.io import (
    ensure_output_dir,
    file_sha256,
    read_table,
    write_bytes_atomic,
    write_json_atomic,
    write_parquet_atomic,
)
from syndicate.modelfile import model_file
from syndicate.runfolder import RUN_OUTPUTS, pending_commits

if TYPE_CHECKING:
    # Imported in run_job: reading a run folder (pending_commits, read_previous) stays cheap.
    from syndicate.model import Thresholds
    from syndicate.pipeline import PipelineResult
    from syndicate.progress import Reporter
    from syndicate.strategies.file import StrategySet

__all__ = ["RUN_OUTPUTS", "RunResult", "pending_commits", "read_previous", "run_job"]

logger = logging.getLogger("syndicate.job")

_RING_ID = r"^ring-[0-9a-f]{12}$"
_PACKAGES = (
    "polars",
    "pyarrow",
    "numpy",
    "python-igraph",
    "leidenalg",
    "networkx",
    "scikit-learn",
    "skops",
    "pyvis",
)


@dataclass(frozen=True)
class RunResult:
    """A finished run: where it went, its frames and its manifest (``run.json``)."""

    out: Path
    pipeline: PipelineResult
    manifest: dict[str, Any]
    paths: dict[str, Path]


def read_previous(folder: str | os.PathLike[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """An earlier run's membership (``seller_id``, ``ring_id``, and ``decision`` and
    ``strategies`` when its ``labels.parquet`` has them) and its ring table.

    Raises
    ------
    InputFileError
        The folder is not a run folder, or its tables lack the columns lineage needs or
        hold ring ids syndicate did not write.
    """
    source = Path(folder)
    if not source.is_dir():
        what = "is a file, not a run folder" if source.exists() else "does not exist"
        raise InputFileError(f"previous run folder {str(source)!r} {what}")
    pending = pending_commits(source)
    if pending:
        raise InputFileError(
            f"previous run folder {str(source)!r} holds an unfinished commit ({pending[0].name}); "
            "run syndicate run into it again to finish it, or remove that folder"
        )
    tables = {}
    needed = {"labels": ("seller_id", "ring_id"), "rings": ("ring_id", "size")}
    for name, columns in needed.items():
        path = source / f"{name}.parquet"
        if not path.is_file():
            raise InputFileError(f"{path}: not found (is {str(source)!r} a syndicate run folder?)")
        table = read_table(path, table=f"previous {name}")
        missing = [column for column in columns if column not in table.columns]
        if missing:
            raise InputFileError(f"{path}: lacks columns {missing}")
        tables[name] = table
    labels = tables["labels"]
    membership = labels.select(
        pl.col("seller_id").cast(pl.String),
        pl.col("ring_id").cast(pl.String),
        *([pl.col("decision").cast(pl.String)] if "decision" in labels.columns else []),
        *(
            [pl.col("strategies").cast(pl.List(pl.String))]
            if "strategies" in labels.columns
            else []
        ),
    )
    rings = tables["rings"].unique(subset="ring_id", keep="first", maintain_order=True)
    odd = pl.concat([membership["ring_id"].drop_nulls(), rings["ring_id"].cast(pl.String)])
    odd = odd.filter(~odd.str.contains(_RING_ID))
    if odd.len():
        raise InputFileError(
            f"{source}: ring id {odd[0]!r} is not one syndicate writes (ring-<12 hex digits>)"
        )
    return membership, rings


def _previous_run(
    previous: str | os.PathLike[str] | None, folder: Path, notes: list[str]
) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """The earlier run to match rings against, or None.

    ``--previous`` naming the output folder before its first run (the first day of a daily
    job) is a first run, with a note; any other folder must be a run folder.
    """
    if previous is None:
        return None
    source = Path(previous)
    first_day = source.is_dir() and source.resolve() == folder.resolve()
    if first_day and not any((source / name).exists() for name in ("labels.parquet", "run.json")):
        notes.append(
            f"--previous {str(source)!r} holds no earlier run yet: every ring is new (first run)"
        )
        return None
    return read_previous(source)


def _fingerprint(path: Path) -> dict[str, Any]:
    return {"path": str(path), "bytes": path.stat().st_size, "sha256": file_sha256(path)}


def _check_inputs_outside_outputs(folder: Path, inputs: dict[str, Path]) -> None:
    """Refuse input files that the run would overwrite (``--out`` holding the inputs)."""
    written = {(folder / name).resolve() for name in RUN_OUTPUTS}
    for name, path in inputs.items():
        resolved = path.resolve()
        if resolved in written or any(parent in written for parent in resolved.parents):
            raise InputFileError(
                f"{name} file {str(path)!r} is one of the files a run writes into "
                f"{str(folder)!r}; move the inputs out of the output folder or choose another --out"
            )


def run_job(
    *,
    sellers: str | os.PathLike[str],
    links: str | os.PathLike[str],
    out: str | os.PathLike[str],
    edges: str | os.PathLike[str] | None = None,
    labels: str | os.PathLike[str] | None = None,
    previous: str | os.PathLike[str] | None = None,
    model: str | os.PathLike[str] | None = None,
    config: Config | None = None,
    reporter: Reporter | None = None,
    command: Sequence[str] | None = None,
    as_of: datetime | None = None,
    strategies: str | os.PathLike[str] | None = None,
    engine: Literal["local", "spark"] = "local",
    spark_master: str | None = None,
) -> RunResult:
    """Run the whole batch job on input files and write a complete run folder to ``out``.

    Parameters
    ----------
    sellers, links, edges, labels
        Input files (Parquet, CSV or NDJSON) as in the data contract.
    out
        The run folder; created if missing. Earlier outputs in it are replaced only when
        this run has written all of its own (see the module docstring).
    previous
        An earlier run folder (may be ``out`` itself): rings keep the ids they match.
    model
        A ``model/`` folder of an earlier run: score with it instead of training.
    config
        Every knob; ``Config()`` by default.
    command
        The command line, recorded in ``run.json``.
    as_of
        The snapshot's time, for ``metrics.parquet`` (new sellers are those created after
        the previous run's as-of); default: the latest ``created_at`` of the sellers, else
        the run's start. Recorded in ``run.json``.
    strategies
        A strategies file applied after the model (default: ``decisions.strategies`` of the
        config, if set). It is checked before the inputs are read, copied into the run
        folder as ``strategies.toml`` and its sha256 and each strategy's hits are recorded
        in ``run.json``.
    engine, spark_master
        ``spark`` runs the pipeline on Apache Spark (:mod:`syndicate.spark.job`; master
        ``local[2]`` by default); the run folder is written as with ``local``.

    Raises
    ------
    InputError
        Bad input, config or folders (the command line exits with status 2).
    """
    from syndicate._prefetch import import_in_background
    from syndicate.progress import Reporter

    # The pipeline's modules (scikit-learn, igraph, pyvis: about 2 s) load while the
    # inputs do; they are imported for real once the inputs are in.
    import_in_background("syndicate.pipeline")
    cfg = config or Config()
    report = reporter or Reporter(quiet=True)
    started, clock = datetime.now(UTC), time.perf_counter()
    files = {"sellers": sellers, "links": links, "edges": edges, "labels": labels}
    given = {name: Path(path) for name, path in files.items() if path is not None}
    for name, path in given.items():  # before --out is made: a refused run leaves nothing
        if not path.exists():
            raise InputFileError(f"{name} file {str(path)!r} does not exist")
    rules = _strategies(strategies, cfg)
    if engine == "spark":
        _check_spark(model, rules)
    fresh = not Path(out).exists()
    folder = ensure_output_dir(out)
    try:
        with runfolder.locked(folder):
            runfolder.recover(folder)
            _check_inputs_outside_outputs(folder, given)
            runfolder.check_owned(folder)
            result, earlier, saved, notes, fingerprints = _run_pipeline(
                given,
                folder,
                cfg,
                report,
                previous=previous,
                model=model,
                started=started,
                strategies=rules,
                engine=engine,
                spark_master=spark_master,
            )
            from syndicate.pipeline import write_outputs

            staging = runfolder.new_staging(folder)
            try:
                pages = min(cfg.top_pages, result.rings.height)
                with report.step("Writing outputs and ring pages", total=pages) as running:
                    write_outputs(result, staging, top_pages=cfg.top_pages, on_page=running.advance)
                    gone = _gone_table(result, earlier[1] if earlier is not None else None)
                    write_parquet_atomic(gone, staging / "rings_gone.parquet")
                    snapshot = _as_of(as_of, result, started)
                    metrics = _metrics(result, cfg, snapshot, previous, earlier)
                    write_parquet_atomic(metrics, staging / "metrics.parquet")
                    if saved is not None and model is not None:
                        shutil.copytree(Path(model), staging / "model")
                    if rules is not None:
                        write_bytes_atomic(rules.data, staging / "strategies.toml")
                produced = [name for name in RUN_OUTPUTS if (staging / name).exists()]
                manifest = _manifest(
                    result,
                    cfg,
                    started=started,
                    seconds=time.perf_counter() - clock,
                    inputs=fingerprints,
                    previous=previous,
                    model=model,
                    command=command,
                    notes=notes,
                    as_of=snapshot,
                    outputs=runfolder.describe_outputs(staging, produced),
                    timings=report.timings,
                )
                saved_file = model_file(staging / "model")
                manifest["model"]["sha256"] = file_sha256(saved_file) if saved_file else None
                if engine != "local":
                    manifest["engine"] = engine
                    manifest[engine] = dict(result.engine_facts)
                write_json_atomic(manifest, staging / "run.json")
                produced.append("run.json")
                runfolder.check_owned(folder)
                runfolder.seal(staging, produced)
            except OSError as exc:  # a full disk, a permission: the user's to fix
                runfolder.remove_staging(staging)
                raise InputFileError(
                    f"cannot write the outputs into {str(folder)!r}: {exc.strerror or exc}"
                    f"{f' ({exc.filename})' if exc.filename else ''}; the earlier outputs there "
                    "are as they were"
                ) from exc
            except BaseException:
                runfolder.remove_staging(staging)
                raise
            runfolder.commit(staging, folder)
    except BaseException:
        if fresh:  # the folder was made for this run: take it away again if nothing is in it
            with contextlib.suppress(OSError):
                (folder / runfolder.LOCK).unlink()
                folder.rmdir()
        raise
    paths = {name: folder / name for name in produced}
    return RunResult(folder, result, manifest, paths)


def _run_pipeline(
    given: dict[str, Path],
    folder: Path,
    cfg: Config,
    report: Reporter,
    *,
    previous: str | os.PathLike[str] | None,
    model: str | os.PathLike[str] | None,
    started: datetime,
    strategies: StrategySet | None = None,
    engine: Literal["local", "spark"] = "local",
    spark_master: str | None = None,
) -> tuple[PipelineResult, Any, Any, list[str], dict[str, Any]]:
    """Read and validate the inputs (and ``--previous``, ``--model``), then run the pipeline."""
    from syndicate.validation import load_inputs

    if engine == "spark":  # the pipeline on Spark; the run folder is written as below
        from syndicate.spark.job import fingerprint, run_spark_files

        said: list[str] = []
        earlier = _previous_run(previous, folder, said)
        for note in said:
            logger.warning(note)
        result = run_spark_files(
            given,
            cfg,
            report,
            previous=earlier[0] if earlier is not None else None,
            previous_thresholds=_previous_thresholds(_previous_manifest(previous, earlier)),
            as_of=started,
            master=spark_master,
        )
        return result, earlier, None, said, {name: fingerprint(p) for name, p in given.items()}

    with report.step("Loading and validating the input tables"):
        notes: list[str] = []
        earlier = _previous_run(previous, folder, notes)
        for note in notes:
            logger.warning(note)
        saved = None
        if model is not None:
            from syndicate.model import load_model

            saved = load_model(Path(model))
        inputs = load_inputs(
            sellers=given["sellers"],
            links=given["links"],
            edges=given.get("edges"),
            labels=given.get("labels"),
            config=cfg,
            as_of=started,
        )
        fingerprints = {name: _fingerprint(path) for name, path in given.items()}
    from syndicate.pipeline import run_pipeline

    result = run_pipeline(
        inputs,
        cfg,
        report,
        previous=earlier[0] if earlier is not None else None,
        saved_model=saved,
        previous_thresholds=_previous_thresholds(_previous_manifest(previous, earlier)),
        strategies=strategies,
    )
    return result, earlier, saved, notes, fingerprints


def _check_spark(model: str | os.PathLike[str] | None, rules: StrategySet | None) -> None:
    """Refuse ``--engine spark`` without pyspark or Java, or with what it cannot run yet."""
    try:
        from syndicate.spark.job import check_spark_run
    except ImportError as exc:
        raise InputError(f"--engine spark: {exc}") from None
    check_spark_run(model=model, strategies=rules)


def _strategies(given: str | os.PathLike[str] | None, cfg: Config) -> StrategySet | None:
    """The strategies file to apply (``--strategies``, else the config's), checked whole."""
    path = given if given is not None else (cfg.strategies or None)
    if path is None:
        return None
    from syndicate.strategies.file import load_strategies

    return load_strategies(path)


def _strategies_facts(result: PipelineResult) -> dict[str, Any] | None:
    """``run.json``'s ``strategies``: the file, its sha256, each strategy's hits."""
    rules, hits = result.strategies, result.strategy_hits
    if rules is None or hits is None:
        return None
    fired = dict(hits.group_by("strategy").len().iter_rows())
    deciding = dict(
        result.labels.filter(pl.col("decision_source").str.starts_with("strategy:"))
        .group_by("decision_source")
        .len()
        .iter_rows()
    )
    facts = rules.describe()
    facts["file"] = "strategies.toml"
    for entry in facts["strategies"]:
        entry["hits"] = int(fired.get(entry["name"], 0))
        entry["decided"] = int(deciding.get(f"strategy:{entry['name']}", 0))
    return facts


def _as_of(given: datetime | None, result: PipelineResult, started: datetime) -> datetime:
    """The snapshot time, aware UTC: as given, else the latest ``created_at``, else the start."""
    if given is not None:
        return given if given.tzinfo else given.replace(tzinfo=UTC)
    sellers = result.inputs.sellers
    latest = sellers["created_at"].max() if "created_at" in sellers.columns else None
    if isinstance(latest, datetime):
        return latest.replace(tzinfo=UTC)  # validation leaves created_at naive UTC
    return started.replace(microsecond=0)


def _previous_manifest(previous: str | os.PathLike[str] | None, earlier: Any) -> dict[str, Any]:
    """The earlier run's ``run.json`` (empty without an earlier run or a readable manifest)."""
    if earlier is None or previous is None:
        return {}
    try:
        manifest = json.loads((Path(previous) / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def _previous_as_of(manifest: dict[str, Any]) -> datetime | None:
    """The earlier run's as-of time (None before syndicate recorded it)."""
    recorded = manifest.get("as_of")
    with contextlib.suppress(ValueError):
        return datetime.fromisoformat(recorded) if isinstance(recorded, str) else None
    return None


def _previous_thresholds(manifest: dict[str, Any]) -> Thresholds | None:
    """The thresholds an earlier run decided with (None when its run.json has none)."""
    from syndicate.model import Thresholds

    recorded = manifest.get("thresholds")
    if not isinstance(recorded, dict):
        return None
    values = (recorded.get("syndicate"), recorded.get("review"), recorded.get("source"))
    numbers = all(v is None or isinstance(v, int | float) for v in values[:2])
    return Thresholds(*values) if numbers and isinstance(values[2], str) else None  # type: ignore[arg-type]


def _metrics(
    result: PipelineResult,
    cfg: Config,
    as_of: datetime,
    previous: str | os.PathLike[str] | None,
    earlier: Any,
) -> pl.DataFrame:
    from syndicate.monitor.metrics import RunFacts, run_metrics

    membership = earlier[0] if earlier is not None else None
    decisions = (
        membership.select(
            "seller_id", "decision", *(["strategies"] if "strategies" in membership.columns else [])
        )
        if membership is not None and "decision" in membership.columns
        else None
    )
    rules = result.strategies
    previous_as_of = _previous_as_of(_previous_manifest(previous, earlier))
    facts = RunFacts(
        sellers=result.inputs.sellers,
        labels=result.labels,
        known=result.inputs.labels,
        rings=result.rings.select("ring_id", "status"),
        rings_gone=result.lineage.gone.height,
        hubs=result.linkage.hubs.height,
        as_of=as_of,
        previous_as_of=previous_as_of,
        previous_decisions=decisions,
        strategies=None if rules is None else tuple(r.name for r in rules.evaluated),
    )
    return run_metrics(facts, cfg.metric_segments)


def _gone_table(result: PipelineResult, earlier_rings: pl.DataFrame | None) -> pl.DataFrame:
    """Earlier rings no ring of this run descends from, with what the earlier run said."""
    gone = result.lineage.gone
    said = {"ring_score": pl.Float64, "decision": pl.String, "n_known_bad": pl.Int64}
    rings = earlier_rings if earlier_rings is not None else pl.DataFrame({"ring_id": []})
    last = rings.select(
        pl.col("ring_id").cast(pl.String),
        *(
            (pl.col(name) if name in rings.columns else pl.lit(None))
            .cast(dtype)
            .alias(f"previous_{name}")
            for name, dtype in said.items()
        ),
    )
    return gone.join(last, on="ring_id", how="left").sort("ring_id")


def _manifest(
    result: PipelineResult,
    config: Config,
    *,
    started: datetime,
    seconds: float,
    inputs: dict[str, Any],
    previous: str | os.PathLike[str] | None,
    model: str | os.PathLike[str] | None,
    command: Sequence[str] | None,
    notes: list[str],
    as_of: datetime,
    outputs: dict[str, Any],
    timings: dict[str, float],
) -> dict[str, Any]:
    from syndicate.model import package_versions

    scores = result.scores
    labels = result.labels
    versions = package_versions(("syndicate", *_PACKAGES))
    card = scores.model.card if scores.model is not None else None
    kept = {
        "sellers": result.inputs.sellers.height,
        "links": result.inputs.links.height,
        "edges": result.inputs.edges.height,
        "labels": result.inputs.labels.height,
    }
    rejected = result.inputs.reject_counts()
    for name, facts in inputs.items():
        facts["rows_kept"] = kept[name]
        facts["rows_rejected"] = sum(rejected.get(name, {}).values())
    decisions = dict(labels["decision"].value_counts().sort("decision").iter_rows())
    rings = result.rings
    return {
        "syndicate_version": versions["syndicate"],
        "status": "ok",
        "started_at": started.isoformat(timespec="seconds"),
        "as_of": as_of.isoformat(timespec="seconds"),
        "wall_seconds": round(seconds, 3),
        "command": list(command) if command is not None else None,
        "versions": versions,
        "platform": {
            "system": platform.system(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
        },
        "config": config.to_mapping(),
        "inputs": inputs,
        "rejects": rejected,
        "previous": None if previous is None else str(previous),
        "model": {
            "source": scores.model_source,
            "path": None if model is None else str(model),
            "cv_auroc": None if card is None else card["cv"]["auroc"],
            "cv_auprc": None if card is None else card["cv"]["auprc"],
        },
        "thresholds": scores.thresholds.as_dict(),
        "strategies": _strategies_facts(result),
        "counts": {
            "sellers": labels.height,
            "linked_sellers": result.rings_found.members.height,
            "sellers_in_rings": int(labels["ring_id"].is_not_null().sum()),
            "rings": rings.height,
            "hubs": result.linkage.hubs.height,
            "seller_decisions": decisions,
            "ring_decisions": dict(rings["decision"].value_counts().sort("decision").iter_rows()),
        },
        "lineage": result.lineage.counts(),
        "steps": [{"step": name, "seconds": seconds} for name, seconds in timings.items()],
        "warnings": [*notes, *result.warnings],
        "outputs": outputs,
    }
