"""The demo: a synthetic marketplace with ground truth through the whole batch job."""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Imported where used: ``syndicate --help`` reads DEMO_SELLERS and nothing else here.
    from syndicate.evaluate import RingRecovery
    from syndicate.monitor.watch import MonitorResult
    from syndicate.pipeline import PipelineResult
    from syndicate.progress import Reporter
    from syndicate.synth import Marketplace
    from syndicate.validation import MarketplaceInputs

__all__ = ["DailyDemoResult", "DemoResult", "run_daily_demo", "run_demo"]

#: Default marketplace size of ``syndicate demo``: the full job stays well under a minute.
DEMO_SELLERS = 100_000


@dataclass(frozen=True)
class DemoResult:
    """Where the demo wrote its files, and what it found."""

    out: Path
    input_files: dict[str, Path]
    outputs: dict[str, Path]
    market: Marketplace
    inputs: MarketplaceInputs
    pipeline: PipelineResult
    recovery: RingRecovery
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, object]:
        """Counts worth printing: sellers, links, labels, planted structure, rejects."""
        truth = self.market.truth
        legit = truth["legit_group"].drop_nulls()
        return {
            "sellers": self.inputs.sellers.height,
            "links": self.inputs.links.height,
            "labels": self.inputs.labels.height,
            "known_bad": int(self.inputs.labels["label"].sum()),
            "planted_rings": truth["ring"].drop_nulls().n_unique(),
            "ring_members": truth["ring"].drop_nulls().len(),
            "households": legit.filter(legit.str.starts_with("household-")).n_unique(),
            "businesses": legit.filter(legit.str.starts_with("business-")).n_unique(),
            "rejected_rows": self.inputs.rejects.height,
            "hubs": self.pipeline.linkage.hubs.height,
            "linked_sellers": self.pipeline.rings_found.members.height,
            "rings_found": self.pipeline.rings.height,
            "planted_rings_recovered": self.recovery.n_recovered,
            "ring_recall": _finite_or_none(self.recovery.recall),
            "ring_precision": _finite_or_none(self.recovery.precision),
            **self.scoring_summary(),
        }

    def scoring_summary(self) -> dict[str, object]:
        """Decisions, thresholds, cross-validated metrics and how the flags compare with truth."""
        import polars as pl

        labels = self.pipeline.labels
        decisions = labels["decision"].value_counts().sort("decision")
        flagged = labels.filter(pl.col("decision") != "clear").join(
            self.market.truth.select("seller_id", "is_bad"), on="seller_id"
        )
        model = self.pipeline.scores.model
        thresholds = self.pipeline.scores.thresholds
        return {
            "cold_start": model is None,
            "decisions": dict(decisions.iter_rows()),
            "rings_decided_syndicate": int((self.pipeline.rings["decision"] == "syndicate").sum()),
            "threshold_syndicate": thresholds.syndicate,
            "threshold_review": thresholds.review,
            "cv_auroc": None if model is None else model.card["cv"]["auroc"],
            "cv_auprc": None if model is None else model.card["cv"]["auprc"],
            "flagged_truly_bad": _finite_or_none(
                int(flagged["is_bad"].sum()) / flagged.height if flagged.height else math.nan
            ),
            "warnings": self.pipeline.warnings,
        }


def _finite_or_none(value: float) -> float | None:
    """A rounded metric, or None (JSON null) when undefined (no rings planted or found)."""
    return None if math.isnan(value) else round(value, 4)


def run_demo(
    out: str | os.PathLike[str] = "syndicate-demo",
    *,
    n_sellers: int = DEMO_SELLERS,
    seed: int = 0,
    camouflage: str = "off",
    reporter: Reporter | None = None,
    command: Sequence[str] | None = None,
) -> DemoResult:
    """Generate a marketplace into ``out/input`` and run the batch job on it into ``out``.

    ``camouflage`` names a preset of :data:`syndicate.synth.CAMOUFLAGE_PRESETS` (popular
    identifiers shared by ring members and honest sellers; ``off`` by default).

    The job is :func:`syndicate.job.run_job`, as ``syndicate run`` calls it: the input
    tables are read back from the files written, and ``out`` becomes a full run folder
    (``run.json`` included) beside ``input/`` and ``summary.json``.
    """
    import polars as pl

    from syndicate.config import Config
    from syndicate.evaluate import ring_recovery, truth_groups
    from syndicate.io import write_json_atomic
    from syndicate.job import run_job
    from syndicate.progress import Reporter
    from syndicate.synth import camouflage_config, generate_marketplace, write_marketplace

    report = reporter or Reporter(quiet=True)
    folder = Path(out)
    with report.step(f"Generating a synthetic marketplace of {n_sellers:,} sellers"):
        market = generate_marketplace(camouflage_config(camouflage, n_sellers=n_sellers, seed=seed))
        files = write_marketplace(market, folder / "input")
        files["strategies"] = _write_example_strategies(folder / "input")
    run = run_job(
        sellers=files["sellers"],
        links=files["links"],
        labels=files["labels"],
        out=folder,
        config=Config(seed=seed),
        reporter=report,
        command=command,
        strategies=files["strategies"],
    )
    with report.step("Backtesting the example strategies"):
        from syndicate.strategies.backtest import backtest_runs, write_backtest

        assert run.pipeline.strategies is not None
        tested = backtest_runs([folder], run.pipeline.strategies, truth=files["truth"])
        backtest = write_backtest(tested, folder / "backtest")
    pipeline = run.pipeline
    found = pipeline.rings_found.members.filter(pl.col("ring_id").is_not_null())
    recovery = ring_recovery(found.select("seller_id", "ring_id"), *truth_groups(market.truth))
    outputs = {**run.paths, "backtest": backtest["report"]}
    result = DemoResult(
        folder, files, outputs, market, pipeline.inputs, pipeline, recovery, dict(report.timings)
    )
    summary_path = folder / "summary.json"
    write_json_atomic({"seed": seed, "timings_s": report.timings, **result.summary()}, summary_path)
    outputs["summary.json"] = summary_path
    return result


def _write_example_strategies(folder: Path) -> Path:
    """``folder/strategies.toml``: the example strategies (never over a file of the user's)."""
    from syndicate.io import record_written, refuse_foreign_files, write_text_atomic
    from syndicate.strategies.example import EXAMPLE_STRATEGIES

    refuse_foreign_files(folder, ["strategies.toml"])
    path = write_text_atomic(EXAMPLE_STRATEGIES, folder / "strategies.toml")
    record_written(folder, [path])
    return path


@dataclass(frozen=True)
class DailyDemoResult:
    """The daily demo: the day folders, the run of each day, and the monitor over them."""

    out: Path
    runs: list[Path]
    monitor: MonitorResult
    attack_day: int | None
    benign_day: int | None


def run_daily_demo(
    out: str | os.PathLike[str] = "syndicate-demo",
    *,
    days: int = 14,
    seed: int = 0,
    camouflage: str = "off",
    base_sellers: int | None = None,
    reporter: Reporter | None = None,
) -> DailyDemoResult:
    """A growing marketplace of ``days`` days through the daily job, then the monitor.

    ``out/input/day-NN`` are the day folders (:func:`syndicate.daily.write_days`, with an
    attack day and a benign onboarding campaign); ``out/runs/day-NN`` the run of each day,
    each with ``--previous`` the day before and ``--as-of`` the end of its day;
    ``out/monitor`` holds ``history.parquet``, ``alerts.parquet`` and ``dashboard.html``.
    ``base_sellers`` (default :class:`~syndicate.daily.DaysConfig`'s) sizes the marketplace.
    """
    from syndicate.config import Config
    from syndicate.daily import DaysConfig, generate_days, write_days
    from syndicate.job import run_job
    from syndicate.monitor.watch import monitor_runs
    from syndicate.progress import Reporter
    from syndicate.synth import camouflage_config

    report = reporter or Reporter(quiet=True)
    folder = Path(out)
    with report.step(f"Generating a marketplace over {days} days"):
        shape = DaysConfig(days=days, seed=seed, market=camouflage_config(camouflage))
        if base_sellers is not None:
            shape = dataclasses.replace(shape, base_sellers=base_sellers)
        history = generate_days(shape)
        folders = write_days(history, folder / "input")
    config = Config(seed=seed)
    runs: list[Path] = []
    with report.step(f"Running the daily job on {days} days", total=days) as running:
        quiet = Reporter(quiet=True)
        for day, day_folder in enumerate(folders):
            run = folder / "runs" / day_folder.name
            run_job(
                sellers=day_folder / "sellers.parquet",
                links=day_folder / "links.parquet",
                labels=day_folder / "labels.parquet",
                out=run,
                previous=runs[-1] if runs else None,
                config=config,
                reporter=quiet,
                as_of=history.as_of(day),
                command=["syndicate", "demo", "--days", str(days), "--seed", str(seed)],
            )
            runs.append(run)
            running.advance()
    with report.step("Monitoring the runs"):
        monitored = monitor_runs(runs, folder / "monitor", config)
    described = history.describe()
    return DailyDemoResult(
        folder, runs, monitored, described.get("attack_day"), described.get("benign_day")
    )
