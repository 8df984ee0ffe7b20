"""Alerts on hand-built series whose answer is worked out in each test."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syndicate.errors import ConfigError, SchemaError
from syndicate.monitor.alerts import (
    EVALUATION_SCHEMA,
    METRIC_DIRECTIONS,
    RATE_METRICS,
    AlertSettings,
    evaluate_history,
)
from syndicate.monitor.history import HISTORY_SCHEMA

MONDAY = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def widen(runs: int) -> float:
    """The spread's widening for a baseline that is the median of ``runs`` runs."""
    return math.sqrt(1 + math.pi / (2 * runs))


def history_of(
    metric: str,
    numerators: list[float],
    denominators: list[float] | None = None,
    *,
    kind: str | None = None,
    segment: str | None = None,
) -> pl.DataFrame:
    """One series, one run a day from a Monday; rates when denominators are given."""
    rows = []
    for day, numerator in enumerate(numerators):
        denominator = None if denominators is None else denominators[day]
        if denominator is None:
            value: float | None = numerator
        else:
            value = numerator / denominator if denominator else None
        rows.append(
            {
                "as_of": MONDAY + timedelta(days=day),
                "run": f"runs/day-{day:02d}",
                "metric": metric,
                "segment_kind": kind,
                "segment": segment,
                "numerator": float(numerator),
                "denominator": denominator,
                "value": value,
            }
        )
    return pl.DataFrame(rows, schema=HISTORY_SCHEMA)


def last(evaluations: pl.DataFrame) -> dict[str, object]:
    return evaluations.sort("as_of").row(-1, named=True)


def test_catalogue_directions_and_rates() -> None:
    assert METRIC_DIRECTIONS["bad_seller_onboarding_rate"] == "up"
    assert METRIC_DIRECTIONS["label_coverage"] == "down"
    assert METRIC_DIRECTIONS["syndicate_rate"] == "both"
    assert RATE_METRICS.issubset(METRIC_DIRECTIONS)
    assert "rings_new" not in RATE_METRICS


def test_flat_count_then_jump_alerts_up_with_its_score() -> None:
    # Eight runs of 10 new rings, then 40. Baseline: median 10, MAD 0. The spread is the
    # largest floor: sqrt(10) (Poisson) beats 0.05 * 10 and 1, widened for a median of 8
    # runs. The score is 30 / that; it is above 2 * z = 8, so the alert is high.
    evaluations = evaluate_history(history_of("rings_new", [10] * 8 + [40]))
    row = last(evaluations)
    expected = 30 / (math.sqrt(10) * widen(8))
    assert row["status"] == "alert"
    assert row["direction"] == "up"
    assert row["baseline"] == 10.0
    assert row["score"] == pytest.approx(expected)
    assert expected > 8
    assert row["severity"] == "high"
    assert row["incident"] == "rings_new|2026-03-10T02:00:00Z"
    assert row["value"] > row["upper"]
    # The quiet runs before: the first 7 have too little history, the 8th is ok.
    statuses = evaluations.get_column("status").to_list()
    assert statuses == ["insufficient_history"] * 7 + ["ok", "alert"]


def test_flat_rate_then_jump_alerts_with_a_tiny_binomial_tail() -> None:
    # 1% of 2,000 new sellers for 8 runs, then 5%. MAD 0: the spread is the rate floor
    # 0.0005 (= 0.05 * 0.01 too), widened for 8 runs; score 0.04 / that.
    history = history_of("bad_seller_onboarding_rate", [20] * 8 + [100], [2000.0] * 9)
    row = last(evaluate_history(history))
    assert row["status"] == "alert"
    assert row["score"] == pytest.approx(0.04 / (0.0005 * widen(8)))
    assert row["p_value"] < 1e-20
    assert row["severity"] == "high"


def test_the_same_jump_on_a_tiny_denominator_does_not_alert() -> None:
    # The same 1% baseline, then 1 of 20 new sellers (5%): the robust score is the same as
    # above, but 1 or more of 20 at 1% happens with probability 1 - 0.99^20 = 0.182.
    history = history_of("bad_seller_onboarding_rate", [20] * 8 + [1], [2000.0] * 8 + [20.0])
    row = last(evaluate_history(history, AlertSettings(min_excess=0)))
    assert row["score"] == pytest.approx(0.04 / (0.0005 * widen(8)))
    assert row["p_value"] == pytest.approx(1 - 0.99**20)
    assert row["status"] == "ok"
    # And at 20,000 new sellers (1,000 of them bad) it does.
    history = history_of("bad_seller_onboarding_rate", [20] * 8 + [1000], [2000.0] * 8 + [20000.0])
    assert last(evaluate_history(history))["status"] == "alert"


def test_min_excess_needs_enough_sellers_above_the_baseline() -> None:
    # 0.1% of 1,000 new sellers for 8 runs (1 a run), then 10: 9 sellers over the one
    # expected. The score (0.009 / (0.0005 * widen(8)) = 16) and the binomial tail
    # (P(X >= 10) for 1,000 at 0.1%, about 1e-7) would alert; min_excess = 10 holds it.
    history = history_of("ring_onboarding_rate", [1] * 8 + [10], [1000.0] * 9)
    row = last(evaluate_history(history))
    assert row["score"] == pytest.approx(0.009 / (0.0005 * widen(8)))
    assert row["p_value"] < 1e-6
    assert row["status"] == "ok"
    assert last(evaluate_history(history, AlertSettings(min_excess=9)))["status"] == "alert"
    # 30 of 1,000 is 29 over: an alert with the default.
    history = history_of("ring_onboarding_rate", [1] * 8 + [30], [1000.0] * 9)
    assert last(evaluate_history(history))["status"] == "alert"


def test_a_rise_in_a_metric_watched_downwards_does_not_alert() -> None:
    # Label coverage matters when it falls (a labels feed outage): 10% → 20% is good news.
    history = history_of("label_coverage", [1000] * 8 + [2000], [10000.0] * 9)
    row = last(evaluate_history(history))
    assert row["direction"] == "up"
    assert row["status"] == "ok"
    falls = history_of("label_coverage", [1000] * 8 + [500], [10000.0] * 9)
    row = last(evaluate_history(falls))
    assert (row["direction"], row["status"]) == ("down", "alert")
    # An override watches it upwards.
    override = AlertSettings(directions={"label_coverage": "up"})
    assert last(evaluate_history(history, override))["status"] == "alert"
    assert last(evaluate_history(falls, override))["status"] == "ok"


def test_fewer_than_min_history_earlier_runs_is_insufficient_history() -> None:
    history = history_of("rings_new", [10, 10, 10, 40])
    evaluations = evaluate_history(history)
    assert evaluations.get_column("status").to_list() == ["insufficient_history"] * 4
    assert evaluations.get_column("incident").null_count() == 4
    first = evaluations.row(0, named=True)
    assert first["baseline"] is None and first["score"] is None
    # Three earlier runs suffice with min_history = 3.
    row = last(evaluate_history(history, AlertSettings(min_history=3)))
    assert row["status"] == "alert"
    assert row["score"] == pytest.approx(30 / (math.sqrt(10) * widen(3)))


def test_a_flat_series_with_zero_mad_does_not_alert_on_noise() -> None:
    # 100 hubs for 10 runs, then 104. MAD 0; the spread is the largest floor:
    # sqrt(100) = 10 (beats 0.05 * 100 = 5 and 1); score 4 / (10 * widen(10)).
    row = last(evaluate_history(history_of("hub_identifiers", [100] * 10 + [104])))
    assert row["score"] == pytest.approx(4 / (10 * widen(10)))
    assert row["status"] == "ok"
    # Without floors the same move is infinitely many spreads... floors are what hold it.
    bare = AlertSettings(mad_floor=0, mad_floor_count=1e-9, poisson_floor=False, min_rel_effect=0)
    assert (
        last(evaluate_history(history_of("hub_identifiers", [100] * 10 + [104]), bare))["status"]
        == "alert"
    )


def test_weekday_baseline_absorbs_a_weekly_pattern() -> None:
    # 1,000 new sellers a day, 3,000 on Saturdays (day 5, 12, 19, 26, 33 from a Monday).
    values = [3000.0 if day % 7 == 5 else 1000.0 for day in range(34)]
    history = history_of("new_sellers", values)
    saturday = MONDAY + timedelta(days=33)
    # With 33 earlier runs over 33 days and 4 earlier Saturdays, the baseline is the
    # Saturdays' median, 3,000: score 0.
    row = evaluate_history(history).filter(pl.col("as_of") == saturday).row(0, named=True)
    assert row["status"] == "ok"
    assert row["baseline"] == 3000.0
    assert row["score"] == 0.0
    # Without it, the last 28 runs hold 4 Saturdays: median 1,000, MAD 0, spread the 5%
    # floor (50, beats sqrt(1000)), widened for 28 runs.
    flat = evaluate_history(history, AlertSettings(weekday=False))
    row = flat.filter(pl.col("as_of") == saturday).row(0, named=True)
    assert row["baseline"] == 1000.0
    assert row["score"] == pytest.approx(2000 / (50 * widen(28)))
    assert row["status"] == "alert"
    # Before three weeks of history the window baseline is used either way (day 19).
    early = evaluate_history(history).filter(pl.col("as_of") == MONDAY + timedelta(days=19))
    assert early.get_column("baseline").item() == 1000.0


def test_consecutive_alerts_merge_into_one_incident() -> None:
    # Alerts at runs 8, 9, 11 and 14 (value 40 among 10s; the median stays 10, MAD 0).
    values = [10.0] * 8 + [40, 40, 10, 40, 10, 10, 40]
    evaluations = evaluate_history(history_of("rings_new", values))
    alerts = evaluations.filter(pl.col("status") == "alert")
    assert alerts.height == 4
    day = "rings_new|2026-03-{:02d}T02:00:00Z"
    # incident_gap = 1: run 11 follows run 9 after one quiet run (same incident); run 14
    # comes after two quiet runs (a new one).
    assert alerts.get_column("incident").to_list() == [day.format(10)] * 3 + [day.format(16)]
    strict = evaluate_history(history_of("rings_new", values), AlertSettings(incident_gap=0))
    incidents = strict.filter(pl.col("status") == "alert").get_column("incident").to_list()
    assert incidents == [day.format(10), day.format(10), day.format(13), day.format(16)]


def test_a_move_in_the_marketplace_and_its_segments_is_one_incident() -> None:
    # The whole marketplace alerts at runs 8 and 9, segment "a" at runs 9 and 10, segment
    # "b" at run 13 only: one incident for runs 8-10 (one metric, consecutive runs), and
    # a second at run 13 (two quiet runs later), whatever the segment.
    whole = [10.0] * 8 + [40, 40, 10, 10, 10, 10]
    a = [10.0] * 9 + [40, 40, 10, 10, 10]
    b = [10.0] * 13 + [40]
    history = pl.concat(
        [
            history_of("rings_new", whole),
            history_of("rings_new", a, kind="category", segment="a"),
            history_of("rings_new", b, kind="category", segment="b"),
        ]
    )
    alerts = (
        evaluate_history(history, AlertSettings(segment_correction=False))
        .filter(pl.col("status") == "alert")
        .sort("as_of", "segment", nulls_last=False)
    )
    day = "rings_new|2026-03-{:02d}T02:00:00Z"
    assert alerts.select("segment", "incident").rows() == [
        (None, day.format(10)),
        (None, day.format(10)),
        ("a", day.format(10)),
        ("a", day.format(10)),
        ("b", day.format(15)),
    ]


def test_minimum_relative_effect() -> None:
    # 1,000 sellers flat, then 1,150: with the floors off the score is huge, but a 15%
    # move is below min_rel_effect = 20%.
    bare = AlertSettings(mad_floor=0, poisson_floor=False)
    history = history_of("new_sellers", [1000] * 8 + [1150])
    assert last(evaluate_history(history, bare))["status"] == "ok"
    relaxed = AlertSettings(mad_floor=0, poisson_floor=False, min_rel_effect=0.1)
    row = last(evaluate_history(history, relaxed))
    assert row["status"] == "alert"
    # The band is what would not alert: upper = baseline * 1.1 (the widest rule).
    assert row["upper"] == pytest.approx(1100.0)


def test_minimum_absolute_effect_of_a_rate() -> None:
    # 0.1% of 100,000 flat, then 0.25%: 150 sellers over (binomial tail tiny), 150% up, but
    # 0.15 points is below min_abs_effect_rate = 0.2 points.
    fine = AlertSettings(mad_floor_rate=0.00001)
    history = history_of("bad_seller_onboarding_rate", [100] * 8 + [250], [100000.0] * 9)
    row = last(evaluate_history(history, fine))
    assert row["p_value"] < 1e-20
    assert row["status"] == "ok"
    looser = AlertSettings(mad_floor_rate=0.00001, min_abs_effect_rate=0.001)
    assert last(evaluate_history(history, looser))["status"] == "alert"


def test_a_count_move_below_min_abs_effect_count_does_not_alert() -> None:
    # 0 merged rings for 8 runs, then 2: the floor spread is 1, score 2 / widen(8) < z
    # anyway; with z lowered the 2-ring move is still below min_abs_effect_count = 3.
    history = history_of("rings_merged", [0] * 8 + [2])
    assert last(evaluate_history(history, AlertSettings(z=1.0)))["status"] == "ok"
    assert (
        last(evaluate_history(history_of("rings_merged", [0] * 8 + [3]), AlertSettings(z=1.0)))[
            "status"
        ]
        == "alert"
    )


def test_ring_rows_are_not_evaluated_and_nulls_never_alert() -> None:
    rates = history_of("ring_onboarding_rate", [10] * 9, [1000.0] * 9)
    ring = history_of("ring_onboarding_rate", [5] * 9, [1000.0] * 9, kind="ring", segment="ring-a")
    empty_day = history_of("ring_onboarding_rate", [0], [0.0], kind="category", segment="toys")
    evaluations = evaluate_history(pl.concat([rates, ring, empty_day]))
    assert evaluations.filter(pl.col("segment_kind") == "ring").height == 0
    toys = evaluations.filter(pl.col("segment") == "toys").row(0, named=True)
    assert toys["status"] == "insufficient_history"
    assert evaluations.schema == pl.Schema(dict(EVALUATION_SCHEMA))


def _onboarding_segments(kind: str, names: str, last_of_a: int = 20) -> list[pl.DataFrame]:
    """Nine runs of bad_seller_onboarding_rate per segment: 20 of 2,000 new sellers a day,
    and ``last_of_a`` on the last run of segment ``a``."""
    return [
        history_of(
            "bad_seller_onboarding_rate",
            [20] * 8 + [last_of_a if name == "a" else 20],
            [2000.0] * 9,
            kind=kind,
            segment=name,
        )
        for name in names
    ]


def test_segments_of_one_kind_share_the_p_value() -> None:
    # Five categories at 1% of 2,000; on the last run "a" has 37 bad new sellers: the
    # binomial tail P(X >= 37) = 0.00039 is below p_value = 0.0005 but not below
    # p_value / 5 = 0.0001, the threshold of each of five segments.
    history = pl.concat(_onboarding_segments("category", "abcde", last_of_a=37))
    a = pl.col("segment") == "a"
    row = last(evaluate_history(history).filter(a))
    assert row["p_value"] == pytest.approx(0.00039315, rel=1e-4)
    assert row["status"] == "ok"
    alone = evaluate_history(history, AlertSettings(segment_correction=False))
    assert last(alone.filter(a))["status"] == "alert"
    # The whole marketplace is one test: the same numbers alert there.
    whole = history_of("bad_seller_onboarding_rate", [20] * 8 + [37], [2000.0] * 9)
    assert last(evaluate_history(whole))["status"] == "alert"


def test_every_segment_kind_of_a_metric_shares_one_correction() -> None:
    # Segment "a" of five categories: 39 of 2,000 new sellers against 1% (20 a day before),
    # p = 9.93e-5. Five segments share p_value 0.0005: 1e-4 each, an alert. With five
    # ring-status segments of the same metric beside them, ten rows share it (5e-5 each):
    # the same numbers do not alert, so one more segment kind brings no more alerts.
    categories = _onboarding_segments("category", "abcde", last_of_a=39)
    statuses = _onboarding_segments("ring_status", "vwxyz")
    a = pl.col("segment") == "a"
    alone = last(evaluate_history(pl.concat(categories)).filter(a))
    assert alone["p_value"] == pytest.approx(9.9313e-5, rel=1e-4)
    assert alone["status"] == "alert"
    beside = last(evaluate_history(pl.concat(categories + statuses)).filter(a))
    assert beside["p_value"] == pytest.approx(alone["p_value"], rel=1e-12)
    assert beside["status"] == "ok"


def test_empty_history_and_schema_errors() -> None:
    empty = pl.DataFrame(schema=HISTORY_SCHEMA)
    assert evaluate_history(empty).schema == pl.Schema(dict(EVALUATION_SCHEMA))
    with pytest.raises(SchemaError, match="numerator, denominator"):
        evaluate_history(empty.drop("numerator", "denominator"))
    doubled = pl.concat([history_of("rings", [1, 2]), history_of("rings", [1, 2])])
    with pytest.raises(SchemaError, match="more than one row"):
        evaluate_history(doubled)
    with pytest.raises(SchemaError, match="as_of must be a datetime"):
        evaluate_history(history_of("rings", [1]).with_columns(pl.lit("x").alias("as_of")))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("min_history", 0, "min_history must be an integer of at least 1; got 0"),
        ("min_history", True, "min_history must be an integer"),
        ("window", 3, r"window must be at least min_history \(7\); got 3"),
        ("weekday_window", 2, "weekday_window must be an integer of at least 3"),
        ("z", 0.0, "z must be a finite positive number; got 0.0"),
        ("z", float("nan"), "z must be a finite positive number"),
        ("mad_floor", -0.1, "mad_floor must be a finite number of at least 0"),
        ("p_value", 1.0, "p_value must be a number between 0 and 1; got 1.0"),
        ("high_p_value", 0.01, r"high_p_value must be at most p_value \(0.0005\)"),
        ("high_factor", 0.5, "high_factor must be at least 1"),
        ("incident_gap", -1, "incident_gap must be an integer of at least 0"),
        ("weekday", "yes", "weekday must be true or false; got 'yes'"),
        ("ring_share", 0.0, r"ring_share must be a number in \(0, 1\]"),
        ("directions", {"syndicate_rate": "sideways"}, r"directions\['syndicate_rate'\]"),
        ("directions", ["up"], "directions must be a table"),
    ],
)
def test_settings_errors_name_the_field(field: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        AlertSettings(**{field: value})  # type: ignore[arg-type]


def test_settings_are_frozen_and_hashable() -> None:
    chosen = AlertSettings(directions={"syndicate_rate": "down"})
    assert hash(chosen) == hash(AlertSettings(directions={"syndicate_rate": "down"}))
    with pytest.raises(AttributeError):
        chosen.z = 3.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        chosen.directions["x"] = "up"  # type: ignore[index]


def _marketplace(days: int) -> pl.DataFrame:
    """A small history with rates, counts, segments and ring rows (fixed numbers)."""
    frames = []
    for c, name in enumerate(["books", "toys", "tools"]):
        numerators = [5 + (day * (c + 3)) % 7 for day in range(days)]
        numerators[-1] += 30 * (c == 1)
        denominators = [400.0 + (day * 37 + c * 11) % 90 for day in range(days)]
        frames.append(
            history_of(
                "bad_seller_onboarding_rate",
                numerators,
                denominators,
                kind="category",
                segment=name,
            )
        )
    frames.append(history_of("rings_new", [3 + (day * 5) % 4 for day in range(days)]))
    frames.append(
        history_of("rings_new", [9.0] * days).with_columns(pl.lit("rings").alias("metric"))
    )
    frames.append(
        history_of(
            "bad_seller_onboarding_rate", [4] * days, [1300.0] * days, kind="ring", segment="r"
        )
    )
    return pl.concat(frames)


@settings(max_examples=25, deadline=None)
@given(st.randoms(use_true_random=False))
def test_row_order_changes_nothing(random: object) -> None:
    history = _marketplace(26)
    expected = evaluate_history(history)
    order = list(range(history.height))
    random.shuffle(order)  # type: ignore[attr-defined]
    shuffled = history[order]
    assert evaluate_history(shuffled).equals(expected)


def test_alerts_lie_outside_the_band() -> None:
    evaluations = evaluate_history(_marketplace(26))
    alerts = evaluations.filter(pl.col("status") == "alert")
    assert alerts.height >= 1
    outside = (pl.col("value") > pl.col("upper")) | (pl.col("value") < pl.col("lower"))
    assert alerts.filter(~outside).height == 0
    judged = evaluations.filter(pl.col("baseline").is_not_null())
    assert (
        judged.filter(
            (pl.col("lower") > pl.col("baseline")) | (pl.col("upper") < pl.col("baseline"))
        ).height
        == 0
    )


def _ring_days(days: dict[int, list[int]], denominator: float = 200.0) -> pl.DataFrame:
    """ring_onboarding_rate of each day: the sum of its rings' sizes, and one row per ring."""
    rows: list[dict[str, object]] = []
    for d, ring_sizes in days.items():
        at, run = MONDAY + timedelta(days=d), f"d{d:02d}"
        n = float(sum(ring_sizes))
        rows.append(
            {"as_of": at, "run": run, "metric": "ring_onboarding_rate", "segment_kind": None,
             "segment": None, "numerator": n, "denominator": denominator,
             "value": n / denominator}
        )  # fmt: skip
        rows += [
            {"as_of": at, "run": run, "metric": "ring_onboarding_rate", "segment_kind": "ring",
             "segment": f"ring-{d:02d}{i}", "numerator": float(size),
             "denominator": denominator, "value": size / denominator}
            for i, size in enumerate(ring_sizes)
        ]  # fmt: skip
    return pl.DataFrame(rows, schema=HISTORY_SCHEMA)


def test_rings_of_a_size_seen_before_are_ring_noise() -> None:
    # Eleven days of 12 of 200 new sellers in rings, as one ring of 8 and four of 1: the
    # trailing clustering is (64 + 4) / 12 = 5.67 and the largest ring so far is 8. A day
    # of five rings of 8 (40 of 200) is clustered (5 * 64) / 40 = 8 in rings no larger than
    # seen before: tested as 40/8 = 5 of 200/8 = 25 at the baseline 6%, p = P(Bin(25, 0.06)
    # >= 5) = 0.0150, no alert. One ring of 40 is larger than any before: counted as a ring
    # of 8 and 32 singletons, (64 + 32) / 40 = 2.4, below the trailing 5.67, which stays:
    # p = I_0.06(40 / 5.67, (200 - 40) / 5.67 + 1) = 0.0041 (the same 40 as singletons
    # would be P(Bin(200, 0.06) >= 40) = 1.8e-11).
    from scipy.special import betainc
    from scipy.stats import binom

    window = {d: [8, 1, 1, 1, 1] for d in range(11)}
    same_size = evaluate_history(_ring_days({**window, 11: [8] * 5}))
    last = same_size.filter(pl.col("run") == "d11").row(0, named=True)
    assert last["p_value"] == pytest.approx(binom.sf(4, 25, 0.06), rel=1e-9)
    assert last["status"] == "ok"
    phi = 68 / 12
    one_big = evaluate_history(_ring_days({**window, 11: [40]}))
    big = one_big.filter(pl.col("run") == "d11").row(0, named=True)
    expected = betainc(40 / phi, (200 - 40) / phi + 1, 0.06)
    assert big["p_value"] == pytest.approx(expected, rel=1e-9)


def test_a_ring_larger_than_any_before_is_not_excused_by_its_size() -> None:
    # The window's rings are of 1 to 3 (largest 3, trailing clustering (9 + 4 + 1) / 6 =
    # 2.33, baseline 6 of 200 = 3%); a day with one ring of 30 and six rings of 1 (36 of
    # 200) counts that ring as one of 3 and 27 singletons: (9 + 33) / 36 = 1.17, so the
    # trailing 2.33 is the dispersion, p = I_0.03(36 / 2.33, (200 - 36) / 2.33 + 1) = 1.7e-8,
    # an alert. Uncapped, its own clustering, (900 + 6) / 36 = 25.2, would have hidden it.
    window = {d: [3, 2, 1] for d in range(11)}
    history = _ring_days({**window, 11: [30, 1, 1, 1, 1, 1, 1]})
    last = evaluate_history(history).filter(pl.col("run") == "d11").row(0, named=True)
    from scipy.special import betainc

    phi = 14 / 6
    assert last["p_value"] == pytest.approx(betainc(36 / phi, (200 - 36) / phi + 1, 0.03), rel=1e-9)
    assert last["status"] == "alert"


def test_sellers_arriving_a_ring_at_a_time_widen_the_rate_test() -> None:
    # 12 of 200 new sellers in rings every day, as 3 rings of 4; then 36 (3 rings of 12).
    # Clustering of the trailing runs: (3 * 4**2) / 12 = 4, so the test is on 36/4 = 9 of
    # 200/4 = 50 at the baseline rate 6%: p = P(Bin(50, 0.06) >= 9) = 0.00267, no alert
    # at p_value 0.0005. The same counts without ring rows (singletons) are p = 3.6e-9.
    from scipy.stats import binom

    def day(d: int, ring_sizes: list[int]) -> list[dict[str, object]]:
        n = float(sum(ring_sizes))
        at = MONDAY + timedelta(days=d)
        rows: list[dict[str, object]] = [
            {"as_of": at, "run": f"d{d:02d}", "metric": "ring_onboarding_rate",
             "segment_kind": None, "segment": None, "numerator": n, "denominator": 200.0,
             "value": n / 200},
        ]  # fmt: skip
        rows += [
            {"as_of": at, "run": f"d{d:02d}", "metric": "ring_onboarding_rate",
             "segment_kind": "ring", "segment": f"ring-{d:02d}{i}", "numerator": float(size),
             "denominator": 200.0, "value": size / 200}
            for i, size in enumerate(ring_sizes)
        ]  # fmt: skip
        return rows

    rows = [row for d in range(11) for row in day(d, [4, 4, 4])] + day(11, [12, 12, 12])
    history = pl.DataFrame(rows, schema=HISTORY_SCHEMA)
    last = evaluate_history(history).filter(pl.col("run") == "d11").row(0, named=True)
    assert last["p_value"] == pytest.approx(binom.sf(8, 50, 0.06), rel=1e-9)
    assert last["status"] == "ok"
    singletons = history.filter(pl.col("segment_kind").is_null())
    alone = evaluate_history(singletons).filter(pl.col("run") == "d11").row(0, named=True)
    assert alone["p_value"] == pytest.approx(binom.sf(35, 200, 0.06), rel=1e-9)
    assert alone["status"] == "alert"


def _category_days(days: dict[int, list[int]], *, ring_segments: bool) -> pl.DataFrame:
    """ring_onboarding_rate with two categories: ``home`` (100 new sellers a day, the given
    rings and nothing else) and ``toys`` (900 new sellers, 90 of them in rings of one)."""
    rows: list[dict[str, object]] = []
    for d, ring_sizes in days.items():
        home = sum(ring_sizes)
        cells: list[tuple[str | None, str | None, float, float]] = [
            (None, None, home + 90, 1000),
            ("category", "home", home, 100),
            ("category", "toys", 90, 900),
        ]
        for i, size in enumerate(ring_sizes):
            cells.append(("ring", f"ring-{d:02d}{i}", size, 1000))
            if ring_segments:
                cells.append(("ring:category", f"ring-{d:02d}{i}|home", size, 100))
        rows += [
            {"as_of": MONDAY + timedelta(days=d), "run": f"d{d:02d}",
             "metric": "ring_onboarding_rate", "segment_kind": kind, "segment": segment,
             "numerator": float(n), "denominator": float(den), "value": n / den}
            for kind, segment, n, den in cells
        ]  # fmt: skip
    return pl.DataFrame(rows, schema=HISTORY_SCHEMA)


def test_a_segment_is_judged_by_the_rings_in_it() -> None:
    # Home onboards one ring of 10 of its 100 new sellers a day (10%), then four rings of
    # 10 (40%); toys stays at 90 singletons of 900. Home's own clustering: trailing 10² / 10
    # = 10, the day's 4 * 10² / 40 = 10 (no ring above the largest so far): tested as
    # 40/10 = 4 of 100/10 = 10 at 10%, p = P(Bin(10, 0.1) >= 4) = 0.0128, no alert. Without
    # the ring:category rows the category takes the marketplace's clustering, diluted by
    # toys' singletons: max(trailing (100 + 90) / 100, the day's (400 + 90) / 130) = 3.77,
    # p = I_0.1(40 / 3.77, (100 - 40) / 3.77 + 1) = 4.8e-5, an alert (2 segments: 2.5e-4).
    from scipy.special import betainc
    from scipy.stats import binom

    days = {d: [10] for d in range(11)} | {11: [10, 10, 10, 10]}
    own = evaluate_history(_category_days(days, ring_segments=True))
    home = own.filter((pl.col("run") == "d11") & (pl.col("segment") == "home")).row(0, named=True)
    assert home["p_value"] == pytest.approx(binom.sf(3, 10, 0.1), rel=1e-9)
    assert home["status"] == "ok"
    assert own.filter(pl.col("segment_kind") == "ring:category").height == 0  # not judged
    toys = own.filter((pl.col("run") == "d11") & (pl.col("segment") == "toys")).row(0, named=True)
    # No ring in toys: binomial (its value did not move, so the tail is the lower one).
    assert toys["p_value"] == pytest.approx(binom.cdf(90, 900, 0.1), rel=1e-9)
    diluted = evaluate_history(_category_days(days, ring_segments=False))
    home = diluted.filter((pl.col("run") == "d11") & (pl.col("segment") == "home")).row(
        0, named=True
    )
    phi = 490 / 130
    assert home["p_value"] == pytest.approx(betainc(40 / phi, 60 / phi + 1, 0.1), rel=1e-9)
    assert home["status"] == "alert"
