"""``syndicate monitor`` and ``syndicate demo --days``: the governance loop end to end."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from syndicate.cli import EXIT_ALERT, EXIT_INPUT, main
from syndicate.demo import run_daily_demo
from syndicate.monitor.metrics import METRICS_SCHEMA

START = datetime(2026, 1, 5, 23, 59, 59, tzinfo=UTC)


def fake_run(folder: Path, day: int, rings_new: float, ring_ids: list[str]) -> Path:
    """A run folder as the monitor reads it: metrics.parquet, run.json, rings.parquet."""
    folder.mkdir(parents=True)
    rows = [("rings_new", None, None, rings_new, None, rings_new)]
    rows += [("ring_onboarding_rate", None, None, 10.0, 1000.0, 0.01)]
    pl.DataFrame(rows, schema=METRICS_SCHEMA, orient="row").write_parquet(
        folder / "metrics.parquet"
    )
    as_of = (START + timedelta(days=day)).isoformat()
    (folder / "run.json").write_text(json.dumps({"syndicate_version": "t", "as_of": as_of}))
    pl.DataFrame(
        {"ring_id": ring_ids, "size": [5] * len(ring_ids), "status": ["new"] * len(ring_ids)},
        schema={"ring_id": pl.String, "size": pl.Int64, "status": pl.String},
    ).write_parquet(folder / "rings.parquet")
    return folder


@pytest.fixture
def history(tmp_path: Path) -> list[Path]:
    # Ten quiet days of 5 new rings, then 40: the robust baseline is 5, the spread its floor
    # (sqrt 5 = 2.24 for a count), so 40 is far beyond z = 4 and every minimum effect.
    counts = [5, 6, 4, 5, 5, 6, 4, 5, 5, 6, 40]
    return [
        fake_run(tmp_path / f"day-{d:02d}", d, n, [f"ring-{d:02d}{i:010d}" for i in range(3)])
        for d, n in enumerate(counts)
    ]


def test_monitor_alerts_on_the_jump_and_fails_only_when_asked(
    tmp_path: Path, history: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "monitor"
    argv = ["monitor", "--out", str(out), "--runs", *map(str, reversed(history))]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("syndicate monitor: 11 runs (2026-01-05 to 2026-01-15), 1 alert,")
    alerts = pl.read_parquet(out / "alerts.parquet")
    assert alerts.select("metric", "run", "direction").rows() == [
        ("rings_new", str(history[-1]), "up")
    ]
    assert pl.read_parquet(out / "history.parquet")["run"].n_unique() == 11
    assert "rings_new" in (out / "dashboard.html").read_text()
    assert main([*argv, "--fail-on-alert", "--quiet"]) == EXIT_ALERT  # its own files: replaced
    quiet_days = ["monitor", "--out", str(tmp_path / "m2"), "--fail-on-alert", "--runs"]
    assert main([*quiet_days, *map(str, history[:-1])]) == 0


def test_monitor_refuses_bad_runs_and_foreign_outputs(
    tmp_path: Path, history: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "monitor"
    out.mkdir()
    (out / "dashboard.html").write_text("<p>my dashboard</p>")
    assert main(["monitor", "--out", str(out), "--runs", *map(str, history)]) == EXIT_INPUT
    assert "dashboard.html' exists and syndicate did not write it" in capsys.readouterr().err
    assert (out / "dashboard.html").read_text() == "<p>my dashboard</p>"
    (history[3] / "metrics.parquet").unlink()
    assert main(["monitor", "--out", str(tmp_path / "m"), "--runs", *map(str, history)]) == 2
    assert "metrics.parquet: not found" in capsys.readouterr().err
    bad = ["monitor", "--out", str(tmp_path / "m"), "--set", "monitor.alert_z=-1", "--runs"]
    assert main([*bad, str(history[0])]) == EXIT_INPUT


def test_the_daily_demo_runs_each_day_on_the_one_before_and_monitors_them(
    tmp_path: Path,
) -> None:
    result = run_daily_demo(tmp_path / "demo", days=2, base_sellers=3000)
    assert [run.name for run in result.runs] == ["day-00", "day-01"]
    second = json.loads((result.runs[1] / "run.json").read_text())
    assert second["as_of"] == "2026-01-06T23:59:59+00:00"
    assert second["previous"] == str(result.runs[0])
    assert result.attack_day is None and result.benign_day is None  # too short a history
    assert (tmp_path / "demo" / "monitor" / "dashboard.html").is_file()
    evaluations = result.monitor.evaluations
    assert set(evaluations["status"]) == {"insufficient_history"}


def test_decision_alerts_name_the_threshold_move_behind_them() -> None:
    from syndicate.monitor.watch import threshold_moves

    runs = pl.DataFrame(
        {
            "run": ["d0", "d1", "d2", "d3"],
            "as_of": [START + timedelta(days=d) for d in range(4)],
            "syndicate_threshold": [0.8, 0.8, 0.8, 0.8],
            "review_threshold": [0.76, 0.76, 0.65, 0.65],  # fell on d2
        }
    )
    alerts = pl.DataFrame(
        {
            "metric": ["review_rate", "ring_onboarding_rate", "review_rate"],
            "run": ["d3", "d3", "d1"],
            "explanation": ["review_rate rose", "ring_onboarding_rate rose", "review_rate fell"],
        }
    )
    explained = threshold_moves(alerts, runs, window=28)["explanation"].to_list()
    assert explained == [
        "review_rate rose; the review threshold moved from 0.760 to 0.650 on 2026-01-07 "
        "(run d2): a change in the decisions, not in the sellers",
        "ring_onboarding_rate rose",  # not a decision metric
        "review_rate fell",  # before the move
    ]
    # Outside the baseline window the move is no longer the explanation.
    assert threshold_moves(alerts, runs, window=1)["explanation"][0] == "review_rate rose"


def test_a_strategy_going_live_on_a_quiet_day_is_our_change_not_the_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Eleven quiet days (no attack, no campaign), the model retrained every day; on day 10 a
    # strategy goes live that decides syndicate every seller next to a known-bad one. The
    # syndicate rate jumps; the monitor says the jump is ours, and --fail-on-alert does not
    # page for it.
    from syndicate.config import Config
    from syndicate.daily import DaysConfig, generate_days, write_days
    from syndicate.job import run_job

    history = generate_days(
        DaysConfig(days=11, base_sellers=2000, attack_day=None, benign_day=None, seed=0)
    )
    days = write_days(history, tmp_path / "input")
    rules = tmp_path / "rules.toml"
    rules.write_text(
        '[[strategy]]\nname = "known-bad-neighbours"\nwhen = "nbr1_known_bad >= 1"\n'
        'action = "syndicate"\n'
    )
    config = Config(n_estimators=20, importance_repeats=0)
    runs: list[Path] = []
    for day, folder in enumerate(days):
        runs.append(
            run_job(
                sellers=folder / "sellers.parquet",
                links=folder / "links.parquet",
                labels=folder / "labels.parquet",
                out=tmp_path / "runs" / folder.name,
                previous=runs[-1] if runs else None,
                as_of=history.as_of(day),
                config=config,
                strategies=rules if day == 10 else None,
            ).out
        )
    out = tmp_path / "monitor"
    argv = ["monitor", "--quiet", "--out", str(out), "--runs", *map(str, runs)]
    assert main([*argv, "--fail-on-alert"]) == 0
    alerts = pl.read_parquet(out / "alerts.parquet")
    jump = alerts.filter(
        (pl.col("metric") == "syndicate_rate") & pl.col("segment_kind").is_null()
    ).row(0, named=True)
    assert jump["run"] == str(runs[10]) and jump["direction"] == "up"
    assert jump["cause"] == "policy"
    assert "from our own change (" in jump["explanation"]
    assert "strategy known-bad-neighbours went live" in jump["explanation"]
    same = alerts.filter(pl.col("incident") == jump["incident"])
    assert set(same["cause"]) == {"policy"}  # its segments too
    replayable = ["syndicate_rate", "review_rate", "bad_seller_onboarding_rate"]
    on_day = alerts.filter((pl.col("run") == str(runs[10])) & pl.col("metric").is_in(replayable))
    assert on_day["cause"].null_count() == 0
    capsys.readouterr()


def test_an_incident_cause_follows_the_replay_split(monkeypatch: pytest.MonkeyPatch) -> None:
    from syndicate.monitor import replay, watch

    # Four incidents on the decision metrics, each first seen on run d1 (d0 before it); the
    # replay's split is set by hand below. r2 is review_rate falling while ours pushed it up.
    runs = pl.DataFrame({"run": ["d0", "d1"], "folder": ["f0", "f1"]})
    alerts = pl.DataFrame(
        {
            "as_of": [START + timedelta(days=1)] * 5,
            "run": ["d1"] * 5,
            "metric": ["syndicate_rate", "syndicate_rate", "review_rate",
                       "bad_seller_onboarding_rate", "review_rate"],
            "segment_kind": [None, "category", None, None, None],
            "segment": [None, "toys", None, None, None],
            "value": [0.05, 0.09, 0.02, 0.10, 0.01],
            "baseline": [0.02, 0.03, 0.01, 0.04, 0.03],  # review_rate: up; the last one: down
            "incident": ["s|1", "s|1", "r|1", "b|1", "r2|1"],
            "explanation": ["e"] * 5,
        }
    )  # fmt: skip

    def part(metric: str, ours: float, theirs: float) -> replay.MetricSplit:
        return replay.MetricSplit(metric, 0, 0, 0, 0, ours, theirs, ours + theirs, None, None)

    split = replay.ReplaySplit(
        "f1",
        "f0",
        ("strategy x went live",),
        (),
        (
            part("syndicate_rate", 0.025, 0.005),  # ours, and 0.025 >= half of the 0.03 move
            part("review_rate", 0.004, 0.001),  # ours the larger, but under half of 0.01
            part("bad_seller_onboarding_rate", 0.01, 0.05),  # the data's
        ),
    )
    monkeypatch.setattr(replay, "policy_changes", lambda run, before: ["strategy x went live"])
    monkeypatch.setattr(replay, "replay_split", lambda run, before, metrics, strict: split)
    out = watch.replay_causes(alerts, runs)
    causes = dict(zip(out["incident"], out["cause"], strict=True))
    assert causes == {"s|1": "policy", "r|1": "data", "b|1": "data", "r2|1": "data"}
    assert (
        "+2.50 points from our own change (strategy x went live), +0.50 from the data"
        in (
            out["explanation"][1]  # the segment alert of the incident says it too
        )
    )
    # Nothing of ours changed: the data's. A replay that cannot run: no cause, and why.
    monkeypatch.setattr(replay, "policy_changes", lambda run, before: [])
    assert set(watch.replay_causes(alerts, runs)["cause"]) == {"data"}

    def fail(run: str, before: str, metrics: object, strict: bool) -> None:
        raise replay.ReplayError("f1: the model file is missing")

    monkeypatch.setattr(replay, "policy_changes", lambda run, before: ["model retrained"])
    monkeypatch.setattr(replay, "replay_split", fail)
    failed = watch.replay_causes(alerts, runs)
    assert failed["cause"].null_count() == 5
    assert failed["explanation"][0] == "e; replay not possible: f1: the model file is missing"
    # An incident seen only in a segment is not judged.
    only_segment = alerts.filter(pl.col("segment_kind").is_not_null())
    assert watch.replay_causes(only_segment, runs)["cause"].to_list() == [None]
