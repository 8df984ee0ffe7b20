"""The growing marketplace: one input folder per day (``syndicate synth --days``)."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from syndicate.cli import main
from syndicate.daily import (
    DAILY_CATEGORIES,
    DaysConfig,
    MarketplaceHistory,
    day_folder_name,
    generate_days,
    write_days,
)
from syndicate.errors import ConfigError, InputFileError

SMALL = DaysConfig(
    days=8,
    base_sellers=5000,
    seed=3,
    attack_day=5,
    attack_rings=3,
    benign_day=3,
    benign_factor=4.0,
)


@pytest.fixture(scope="module")
def history() -> MarketplaceHistory:
    return generate_days(SMALL)


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def _new_on(history: MarketplaceHistory, day: int) -> pl.DataFrame:
    """Sellers (with their truth) created on ``day``."""
    frame = history.sellers.hstack(history.truth.drop("seller_id"))
    return frame.filter(pl.col("day") == day)


def test_days_end_at_midnight_utc_from_a_monday(history: MarketplaceHistory) -> None:
    assert DaysConfig().start == date(2026, 1, 5) and DaysConfig().start.weekday() == 0
    assert history.as_of(0) == datetime(2026, 1, 5, 23, 59, 59, tzinfo=UTC)
    assert history.as_of(7) == datetime(2026, 1, 12, 23, 59, 59, tzinfo=UTC)
    # defaults: attack on the third-last day, campaign on the sixth-last
    assert (DaysConfig().attack_day, DaysConfig().benign_day) == (11, 8)
    assert (DaysConfig(days=4).attack_day, DaysConfig(days=4).benign_day) == (1, None)
    assert day_folder_name(3, 14) == "day-03" and day_folder_name(3, 365) == "day-003"


def test_ids_are_stable_and_each_day_extends_the_day_before(history: MarketplaceHistory) -> None:
    days = list(history.markets())
    assert [m.sellers.height for m in days] == sorted(m.sellers.height for m in days)
    assert days[0].sellers.height > SMALL.base_sellers * 0.9  # the base is there on day 0
    for before, after in itertools.pairwise(days):
        n, k = before.sellers.height, before.link_truth.height
        assert after.sellers.height > n
        # the same rows for the sellers both days hold, in the same order
        assert_frame_equal(after.sellers.head(n), before.sellers)
        assert_frame_equal(after.truth.head(n), before.truth)
        assert_frame_equal(after.link_truth.head(k), before.link_truth)
        assert_frame_equal(after.links.head(k), before.links.head(k))
        # labels only arrive: every label of a day is still there the next day
        assert before.labels.join(
            after.labels, on=list(before.labels.columns), how="anti"
        ).is_empty()
    last = days[-1]
    assert last.sellers["seller_id"].is_unique().all()
    assert last.sellers["seller_id"].to_list() == sorted(last.sellers["seller_id"].to_list())
    assert set(last.sellers["category"]) == set(DAILY_CATEGORIES)
    assert list(last.truth.columns) == ["seller_id", "ring", "is_bad", "legit_group"]


def test_a_day_holds_the_sellers_created_by_its_end(history: MarketplaceHistory) -> None:
    for day in range(SMALL.days):
        market = history.day(day)
        as_of = _naive(history.as_of(day))
        assert market.sellers["created_at"].max() <= as_of  # type: ignore[operator]
        later = history.sellers["created_at"].slice(market.sellers.height)
        assert later.is_empty() or later.min() > as_of  # type: ignore[operator]
        # every link belongs to a seller of the day (or is dirt for validation to refuse)
        owners = market.links["seller_id"]
        known = owners.is_in(market.sellers["seller_id"].implode()) | owners.str.starts_with(
            "gone-"
        )
        assert known.all()
        assert market.links["seen_at"].max() <= as_of  # type: ignore[operator]
    # times of day follow a daily curve: more sign-ups in the afternoon than at night
    daily = history.sellers.filter(pl.Series(history.truth["cohort"] == "daily"))
    hours = daily["created_at"].dt.hour()
    assert (hours == 15).sum() > 3 * (hours == 3).sum()


def test_labels_arrive_only_after_the_delay() -> None:
    history = generate_days(SMALL, label_delay_days=(2.0, 2.0), attack_day=None)
    created = history.sellers.select("seller_id", "created_at")
    all_labels = history.labels.filter(~pl.col("seller_id").str.starts_with("gone-"))
    for day in (0, 4, 7):
        as_of = _naive(history.as_of(day))
        labels = history.day(day).labels.filter(~pl.col("seller_id").str.starts_with("gone-"))
        dated = labels.join(created, on="seller_id", how="left")
        assert dated["created_at"].null_count() == 0
        assert (dated["created_at"] + timedelta(days=2) <= as_of).all()
        due = all_labels.join(created, on="seller_id").filter(
            pl.col("created_at") + timedelta(days=2) <= as_of
        )
        assert sorted(due["seller_id"]) == sorted(labels["seller_id"])
    # sellers of the last two days have no label yet; older ones some
    last = history.day(SMALL.days - 1)
    young = last.sellers.filter(pl.col("created_at") > _naive(history.as_of(SMALL.days - 3)))
    assert not young["seller_id"].is_in(last.labels["seller_id"].implode()).any()
    assert last.labels.height > 100
    # a label says what the truth says (the generator's labels are true)
    joined = last.labels.join(last.truth, on="seller_id")
    assert (joined["label"] == joined["is_bad"].cast(pl.Int8)).all()


def test_the_attack_rings_onboard_within_hours_on_the_attack_day(
    history: MarketplaceHistory,
) -> None:
    attack = history.sellers.hstack(history.truth.drop("seller_id")).filter(
        pl.col("cohort") == "attack"
    )
    assert len(history.attack_rings) == SMALL.attack_rings
    assert sorted(attack["ring"].unique()) == list(history.attack_rings)
    assert (attack["day"] == SMALL.attack_day).all()
    times = attack["created_at"]
    assert times.max() - times.min() <= timedelta(hours=SMALL.attack_window_hours)  # type: ignore[operator]
    sizes = attack.group_by("ring").len()["len"]
    low, high = SMALL.attack_ring_size
    assert sizes.min() >= low and sizes.max() <= high  # type: ignore[operator]
    # the rings are new that day: none of their members onboards on another day
    members = history.truth.filter(pl.col("ring").is_in(list(history.attack_rings)))
    assert members.height == attack.height
    # and they share identifiers as planted rings do
    on_day = history.day(SMALL.attack_day).link_truth
    ring_links = on_day.filter(
        pl.col("seller_id").is_in(attack["seller_id"].implode()) & (pl.col("role") == "ring")
    )
    assert ring_links["seller_id"].n_unique() == attack.height
    shared = ring_links.group_by("identifier").len().filter(pl.col("len") >= 2)
    assert shared.height >= SMALL.attack_rings
    # a quiet day before has far fewer new ring members than the attack day
    quiet = _new_on(history, SMALL.attack_day - 1)["ring"].is_not_null().sum()
    loud = _new_on(history, SMALL.attack_day)["ring"].is_not_null().sum()
    assert loud >= quiet + attack.height


def test_the_benign_day_brings_several_times_the_sellers_and_no_rings(
    history: MarketplaceHistory,
) -> None:
    counts = [_new_on(history, day).height for day in range(SMALL.days)]
    quiet = sorted(c for day, c in enumerate(counts) if day not in (3, 5))
    usual = quiet[len(quiet) // 2]
    assert counts[SMALL.benign_day] >= 3 * usual  # type: ignore[index]
    campaign = _new_on(history, SMALL.benign_day).filter(pl.col("cohort") == "campaign")  # type: ignore[arg-type]
    # whole households and businesses up to the target: a few short of 3 quiet days' worth
    target = round(3 * SMALL.quiet_day_sellers)
    assert target - 8 <= campaign.height <= target
    assert campaign["ring"].null_count() == campaign.height
    assert not campaign["is_bad"].any()
    assert campaign["legit_group"].drop_nulls().len() > 0  # with the usual honest sharing
    assert history.truth.filter(pl.col("cohort") == "campaign").height == campaign.height
    # ring members arrive that day as on any other
    on_benign = _new_on(history, SMALL.benign_day)  # type: ignore[arg-type]
    assert on_benign.filter(pl.col("cohort") == "daily")["ring"].is_not_null().sum() <= max(
        _new_on(history, day)["ring"].is_not_null().sum() for day in range(SMALL.days)
    )


def test_quiet_days_do_not_trend() -> None:
    history = generate_days(days=20, base_sellers=5000, attack_day=None, benign_day=None, seed=11)
    counts = [row["new_sellers"] for row in history.describe()["day"]]
    first, second = sum(counts[:10]), sum(counts[10:])
    assert abs(first - second) < 0.15 * first
    assert 0.8 * 10 * 50 < first < 1.2 * 10 * 50  # 1% of the base a day
    assert history.truth.filter(pl.col("cohort").is_in(["attack", "campaign"])).is_empty()


def test_the_same_seed_gives_the_same_history(history: MarketplaceHistory) -> None:
    again = generate_days(SMALL)
    for day in (0, SMALL.days - 1):
        a, b = history.day(day), again.day(day)
        for name in ("sellers", "links", "labels", "truth", "link_truth"):
            assert_frame_equal(getattr(a, name), getattr(b, name))
    assert again.describe() == history.describe()
    other = generate_days(SMALL, seed=4)
    assert not other.day(0).sellers.equals(history.day(0).sellers)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"days": 0}, r"days must be an integer of at least 1; got 0"),
        ({"base_sellers": 50}, r"base_sellers must be an integer of at least 100; got 50"),
        ({"daily_share": 0.2}, r"daily_share must be a number in \(0.0, 0.05\]; got 0.2"),
        ({"daily_share": 0}, r"daily_share must be a number in \(0.0, 0.05\]; got 0"),
        ({"daily_noise": float("nan")}, r"daily_noise must be a number in \[0.0, 1.0\]; got nan"),
        ({"label_delay_days": (5, 2)}, r"label_delay_days must be \(low, high\) with 0 <= low"),
        ({"label_delay_days": 3}, r"label_delay_days must be a pair \(low, high\) of numbers"),
        ({"attack_ring_size": (1, 4)}, r"attack_ring_size must be \(low, high\) with 2 <= low"),
        ({"attack_ring_size": (5.5, 8)}, r"attack_ring_size must be a pair .* of integers"),
        ({"attack_rings": 0}, r"attack_rings must be an integer of at least 1; got 0"),
        ({"attack_day": 8}, r"attack_day must be a day of the history \(0 to 7.*got 8"),
        ({"benign_day": "monday"}, r"benign_day must be a day number or None; got 'monday'"),
        ({"benign_day": 5}, r"attack_day and benign_day must be different days; both are 5"),
        ({"attack_window_hours": 30}, r"attack_window_hours must be a number in \(0.0, 24.0\]"),
        ({"attack_category": "cars"}, r"attack_category must be one of fashion, electronics"),
        ({"benign_factor": 0.5}, r"benign_factor must be a number in \[1.0, 100.0\]; got 0.5"),
        ({"start": datetime(2026, 1, 5)}, r"start must be a date \(day 0\)"),
        ({"market": {"ring_share": 0.1}}, r"market must be a SynthConfig"),
    ],
)
def test_config_errors_name_the_field(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        DaysConfig(**{**SMALL.__dict__, **overrides})  # type: ignore[arg-type]


def test_generate_errors_name_the_problem() -> None:
    with pytest.raises(ConfigError, match="unknown DaysConfig fields: sellers"):
        generate_days(sellers=10)
    with pytest.raises(ConfigError, match=r"attack_rings=40 needs as many planted rings of 5-12"):
        generate_days(SMALL, attack_rings=40)


def test_write_days_writes_every_folder_and_days_json(
    history: MarketplaceHistory, tmp_path: Path
) -> None:
    folders = write_days(history, tmp_path)
    assert [f.name for f in folders] == [f"day-{d:02d}" for d in range(SMALL.days)]
    for day in (0, SMALL.days - 1):
        market = history.day(day)
        for name in ("sellers", "links", "labels", "truth", "link_truth"):
            assert_frame_equal(
                pl.read_parquet(folders[day] / f"{name}.parquet"), getattr(market, name)
            )
    described = json.loads((tmp_path / "days.json").read_text())
    assert described["attack_day"] == 5 and described["benign_day"] == 3
    assert described["attack_rings"] == list(history.attack_rings)
    assert described["day"][0]["as_of"] == "2026-01-05T23:59:59Z"
    assert described["day"][0]["weekday"] == "Monday"
    assert [row["sellers"] for row in described["day"]] == [
        history.day(d).sellers.height for d in range(SMALL.days)
    ]
    assert described["day"][5]["attack_sellers"] > 0
    assert described["day"][3]["campaign_sellers"] > 0
    start, end = (datetime.fromisoformat(t) for t in described["attack_window"])
    assert timedelta(0) < end - start <= timedelta(hours=4)
    # written again over its own files: fine; over a file it did not write: refused
    write_days(history, tmp_path)
    foreign = tmp_path / "other"
    (foreign / "day-01").mkdir(parents=True)
    (foreign / "day-01" / "links.parquet").write_text("mine")
    with pytest.raises(InputFileError, match="did not write it"):
        write_days(history, foreign)
    assert not (foreign / "day-00").exists() and not (foreign / "days.json").exists()


def test_cli_writes_the_day_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "history"
    argv = ["synth", "--days", "4", "--sellers", "3000", "--out", str(out), "--seed", "2"]
    assert main([*argv, "--attack-day", "off", "--benign-day", "1", "--quiet"]) == 0
    printed = capsys.readouterr()
    assert printed.err == ""
    assert "syndicate synth: 4 day folders, " in printed.out
    assert "on the last day (2026-01-08), no attack day, campaign on day 1" in printed.out
    assert sorted(p.name for p in out.iterdir()) == [
        ".syndicate-written.json",
        "day-00",
        "day-01",
        "day-02",
        "day-03",
        "days.json",
    ]
    described = json.loads((out / "days.json").read_text())
    assert described["attack_day"] is None and described["attack_rings"] == []
    expected = generate_days(days=4, base_sellers=3000, seed=2, attack_day=None, benign_day=1)
    assert_frame_equal(pl.read_parquet(out / "day-03" / "sellers.parquet"), expected.day(3).sellers)
    # -1 switches the attack off too; the defaults put it on the third-last day
    assert main([*argv, "--attack-day", "-1", "-q"]) == 0
    assert json.loads((out / "days.json").read_text())["benign_day"] is None  # 4 - 6 < 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--attack-day", "2"], "--attack-day needs --days"),
        (["--days", "4", "--attack-day", "9"], "attack_day must be a day of the history"),
        (["--days", "4", "--benign-day", "-2"], "expected a day number from 0, or -1/off"),
        (["--days", "0"], "argument --days: expected at least 1; got 0"),
        (["--days", "4", "--preset", "real-like"], "--days applies to --preset marketplace"),
    ],
)
def test_cli_refuses_bad_days(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["synth", "--sellers", "3000", "--out", str(tmp_path), *argv]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.slow
def test_two_consecutive_days_run_with_previous(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    history = generate_days(days=2, base_sellers=2000, seed=5, attack_day=-1, attack_rings=1)
    folders = write_days(history, tmp_path / "input")
    runs = [tmp_path / "run-00", tmp_path / "run-01"]
    for day, (folder, run) in enumerate(zip(folders, runs, strict=True)):
        argv = ["run", "--out", str(run), "--quiet", "--top", "2"]
        for table in ("sellers", "links", "labels"):
            argv += [f"--{table}", str(folder / f"{table}.parquet")]
        if day:
            argv += ["--previous", str(runs[0])]
        assert main(argv) == 0, capsys.readouterr().err
    statuses = pl.read_parquet(runs[1] / "rings.parquet")["status"]
    assert (statuses == "stable").sum() > 0  # the rings of day 0 keep their ids on day 1
    assert (statuses == "new").sum() > 0  # the attack ring (at least) is new
    labels = pl.read_parquet(runs[1] / "labels.parquet")
    assert labels.height == history.day(1).sellers.height
