"""``syndicate monitor``: run folders in, ``history.parquet``, ``alerts.parquet`` and
``dashboard.html`` out.

Runs are read in any order and ordered by their as-of time (:mod:`syndicate.monitor.history`),
every metric series is tested against its trailing baseline
(:func:`syndicate.monitor.alerts.evaluate_history`), each alert gets its root cause
(:func:`syndicate.monitor.alerts.explain_alerts`; only the rings of runs that alert are
read), and the dashboard is drawn (:mod:`syndicate.monitor.dashboard`). The three files are
written atomically; files of those names that syndicate did not write are never replaced.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from syndicate.config import Config
from syndicate.errors import InputError
from syndicate.io import (
    ensure_output_dir,
    record_written,
    refuse_foreign_files,
    write_parquet_atomic,
)
from syndicate.monitor.alerts import AlertSettings, evaluate_history
from syndicate.monitor.dashboard import DASHBOARD, write_dashboard
from syndicate.monitor.history import read_history, run_rings
from syndicate.monitor.rootcause import explain_alerts

__all__ = [
    "CAUSES",
    "DECISION_METRICS",
    "MONITOR_OUTPUTS",
    "MonitorResult",
    "alert_settings",
    "monitor_runs",
    "replay_causes",
    "threshold_moves",
]

#: What ``syndicate monitor --out DIR`` writes.
MONITOR_OUTPUTS = ("history.parquet", "alerts.parquet", DASHBOARD)


@dataclass(frozen=True)
class MonitorResult:
    """The monitor's frames and where they went; ``latest_alerts`` are the latest run's."""

    history: pl.DataFrame
    evaluations: pl.DataFrame
    alerts: pl.DataFrame
    runs: pl.DataFrame
    paths: dict[str, Path]

    @property
    def latest_alerts(self) -> pl.DataFrame:
        if self.runs.height == 0:
            return self.alerts.head(0)
        latest = self.runs["run"][-1]
        return self.alerts.filter(pl.col("run") == latest)


def alert_settings(config: Config) -> AlertSettings:
    """The alert knobs of ``config``'s ``[monitor]`` section (``alert_<name>`` fields)."""
    return config.alert_settings()


#: Metrics that count decisions: a move of the thresholds moves them, sellers unchanged.
DECISION_METRICS = frozenset(
    {
        "syndicate_rate",
        "review_rate",
        "bad_seller_onboarding_rate",
        "matured_syndicate_known_bad",
        "matured_syndicate_known_good",
        "matured_review_known_bad",
        "matured_review_known_good",
    }
)


def threshold_moves(alerts: pl.DataFrame, runs: pl.DataFrame, window: int) -> pl.DataFrame:
    """Alerts on decision metrics say when the thresholds moved within the baseline window.

    A decision rate that rises because a threshold fell is a change in the decisions, not
    in the sellers: the explanation gains "; the review threshold moved from 0.761 to
    0.649 on 2026-01-15 (run …), a change in the decisions rather than in the sellers".
    """
    if alerts.height == 0 or runs.height < 2:
        return alerts
    order = runs["run"].to_list()
    position = {run: i for i, run in enumerate(order)}
    values = {name: runs[f"{name}_threshold"].to_list() for name in ("syndicate", "review")}
    explanations = []
    for metric, run, text in alerts.select("metric", "run", "explanation").iter_rows():
        end = position.get(run)
        moves = []
        if metric in DECISION_METRICS and end is not None:
            for name, series in values.items():
                for i in range(end, max(0, end - window), -1):
                    before, after = series[i - 1], series[i]
                    if before is not None and after is not None and before != after:
                        moves.append(
                            f"the {name} threshold moved from {before:.3f} to {after:.3f} on "
                            f"{runs['as_of'][i]:%Y-%m-%d} (run {order[i]})"
                        )
                        break
        if moves:
            text = f"{text}; {' and '.join(moves)}: a change in the decisions, not in the sellers"
        explanations.append(text)
    return alerts.with_columns(pl.Series("explanation", explanations, dtype=pl.String))


#: Alert causes: our own change of policy (model, thresholds, strategies) or the sellers.
CAUSES = ("policy", "data")


def replay_causes(alerts: pl.DataFrame, runs: pl.DataFrame) -> pl.DataFrame:
    """Each incident on a metric a replay can rebuild gets a ``cause``, and its alerts the split.

    At the incident's first run, when our policy (the model, the thresholds, the strategies:
    :func:`syndicate.monitor.replay.policy_changes`) changed since the run before, the move
    is split by replay (:func:`syndicate.monitor.replay.replay_split`) into our change and
    the data's: ``cause`` is ``policy`` when our change moved the metric the way it went, at
    least as far as the data did and by at least half of the move against the baseline,
    else ``data``; without a change of ours it is ``data``. The replay splits the whole
    marketplace, so an incident is judged by its first whole-marketplace alert; one seen
    only in segments keeps a null ``cause``. The incident's alerts (segments too) gain the
    split's sentence ("+2.10 points from our own change (strategy fast-ring went live),
    +0.30 from the data"). Metrics a replay cannot rebuild, or a replay that fails (a run
    folder without its model), keep a null ``cause`` and say why.
    """
    from syndicate.monitor.replay import (
        MATURED_METRICS,
        REPLAY_METRICS,
        ReplayError,
        policy_changes,
        replay_split,
    )

    if alerts.height == 0 or runs.height < 2:
        return alerts
    folders = runs["folder"].to_list()
    position = {run: i for i, run in enumerate(runs["run"].to_list())}
    # The replay splits the whole marketplace: an incident is judged by its first
    # whole-marketplace alert (one that only ever alerted in a segment is not judged).
    replayable = [*REPLAY_METRICS, *MATURED_METRICS]
    firsts = (
        alerts.filter(pl.col("metric").is_in(replayable) & pl.col("segment_kind").is_null())
        .sort("as_of", "run")
        .group_by("incident", maintain_order=True)
        .agg(pl.col("run").first(), pl.col("metric").first(), pl.col("value", "baseline").first())
    )
    wanted: dict[str, set[str]] = {}
    for run, metric in firsts.select("run", "metric").iter_rows():
        if metric in REPLAY_METRICS:
            wanted.setdefault(run, set()).add(metric)
    matured = _matured_splits(firsts, folders, position)
    said: dict[str, tuple[str | None, str]] = {}
    splits: dict[str, Any] = {}
    for run, metrics in wanted.items():
        index = position.get(run, 0)
        if index == 0:
            continue
        here, before = folders[index], folders[index - 1]
        try:
            if not policy_changes(here, before):
                splits[run] = None
                continue
            splits[run] = replay_split(here, before, metrics=sorted(metrics), strict=True)
        except (ReplayError, InputError, OSError) as exc:
            splits[run] = str(exc)
    for incident, run, metric, value, baseline in firsts.iter_rows():
        if metric in MATURED_METRICS:
            said[incident] = _matured_cause(matured.get(run), metric, value, baseline)
            continue
        split = splits.get(run, "no run before it to replay against")
        if split is None:
            said[incident] = ("data", "")
            continue
        if isinstance(split, str):
            said[incident] = (None, f"; replay not possible: {split}")
            continue
        try:
            part = split.metric(metric)
        except KeyError as exc:
            said[incident] = (None, f"; replay not possible: {exc.args[0]}")
            continue
        cause = _cause(part.policy_effect, part.data_effect, value, baseline)
        said[incident] = (cause, f"; replay against the run before: {split.sentence(metric)}")
    causes = [said.get(incident, (None, "")) for incident in alerts["incident"].to_list()]
    return alerts.with_columns(
        pl.Series("cause", [cause for cause, _ in causes], dtype=pl.String),
        (pl.col("explanation") + pl.Series([text for _, text in causes], dtype=pl.String)).alias(
            "explanation"
        ),
    )


def _cause(policy: float, data: float, value: float | None, baseline: float | None) -> str:
    """``policy`` when our change went the way of the move, at least as far as the data
    did, and covers at least half of the move against the baseline; else ``data``."""
    move = (value or 0.0) - (baseline or 0.0)
    ours = policy if move >= 0 else -policy
    theirs = data if move >= 0 else -data
    return "policy" if ours > 0 and ours >= theirs and ours >= abs(move) / 2 else "data"


def _matured_splits(
    firsts: pl.DataFrame, folders: Sequence[str], position: Mapping[str, int]
) -> dict[str, Any]:
    """Per run with a matured-share incident: its :func:`~syndicate.monitor.replay.matured_split`
    against the two runs before it (None: no change of ours; text: why there is none)."""
    from syndicate.monitor.replay import MATURED_METRICS, ReplayError, matured_split

    wanted: dict[str, set[str]] = {}
    for run, metric in firsts.select("run", "metric").iter_rows():
        if metric in MATURED_METRICS:
            wanted.setdefault(run, set()).add(metric)
    splits: dict[str, Any] = {}
    for run, metrics in wanted.items():
        index = position.get(run, 0)
        if index < 2:
            splits[run] = "no two runs before it to replay the decisions it matures"
            continue
        try:
            splits[run] = matured_split(
                folders[index], folders[index - 1], folders[index - 2], sorted(metrics)
            )
        except (ReplayError, InputError, OSError) as exc:
            splits[run] = str(exc)
    return splits


def _matured_cause(
    split: Any, metric: str, value: float | None, baseline: float | None
) -> tuple[str | None, str]:
    """The cause of a matured-share incident, and the words to add."""
    if split is None:  # no change of ours to the decisions it matures
        return "data", ""
    if isinstance(split, str):
        return None, f"; replay not possible: {split}"
    part = split[metric]
    move = (value or 0.0) - (baseline or 0.0)
    cause = _cause(part.policy_effect, move - part.policy_effect, value, baseline)
    return cause, f"; replay of the decisions it matures: {part.sentence()}"


def _relative(target: Path, start: Path) -> str:
    """``target`` as a link from a page in ``start`` (relative when both are local)."""
    try:
        return Path(os.path.relpath(target.resolve(), start.resolve())).as_posix()
    except ValueError:  # another drive (Windows)
        return target.resolve().as_posix()


def monitor_runs(
    folders: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    config: Config | None = None,
) -> MonitorResult:
    """Read the runs, raise and explain the alerts, write the three outputs into ``out``.

    Raises
    ------
    InputError
        A folder is not a finished run folder with ``metrics.parquet``, or ``out`` holds a
        file of an output's name that syndicate did not write.
    """
    cfg = config or Config()
    folder = Path(out)
    refuse_foreign_files(folder, MONITOR_OUTPUTS)
    history = read_history(folders)
    settings = alert_settings(cfg)
    evaluations = evaluate_history(history.metrics, settings)
    alerting = evaluations.filter(pl.col("status") == "alert")["run"].unique().to_list()
    where = dict(history.runs.select("run", "folder").iter_rows())
    rings = {run: run_rings(where[run]) for run in sorted(alerting)}
    alerts = explain_alerts(evaluations, history.metrics, rings, settings)
    alerts = threshold_moves(alerts, history.runs, settings.window)
    alerts = replay_causes(alerts, history.runs)
    ensure_output_dir(folder)
    runs = history.runs.select(
        "run",
        "as_of",
        pl.col("folder")
        .map_elements(
            lambda run: (
                _relative(Path(run) / "viz" / "index.html", folder)
                if (Path(run) / "viz" / "index.html").is_file()
                else None
            ),
            return_dtype=pl.String,
        )
        .alias("index_page"),
        pl.col("folder")
        .map_elements(
            lambda run: _relative(Path(run) / "viz" / "rings", folder), return_dtype=pl.String
        )
        .alias("ring_pages"),
    )
    paths = {
        "history": write_parquet_atomic(history.metrics, folder / "history.parquet"),
        "alerts": write_parquet_atomic(alerts, folder / "alerts.parquet"),
        "dashboard": write_dashboard(history.metrics, evaluations, alerts, runs, folder),
    }
    record_written(folder, paths.values())
    return MonitorResult(history.metrics, evaluations, alerts, runs, paths)
