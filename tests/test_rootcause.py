"""Root cause: mix and rate effects, the rings behind an alert, the plain sentence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from syndicate.monitor.alerts import ALERTS_SCHEMA, evaluate_history
from syndicate.monitor.rootcause import decompose_rate_change, explain_alerts, ring_drivers

MONDAY = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
LAST = MONDAY + timedelta(days=8)
SCHEMA = {
    "as_of": pl.Datetime("us", "UTC"),
    "run": pl.String,
    "metric": pl.String,
    "segment_kind": pl.String,
    "segment": pl.String,
    "numerator": pl.Float64,
    "denominator": pl.Float64,
    "value": pl.Float64,
}


def run(day: int) -> str:
    return f"runs/day-{day:02d}"


def rows(
    metric: str,
    kind: str | None,
    segment: str | None,
    numerators: list[float],
    denominators: list[float | None],
    *,
    first_day: int = 0,
) -> list[dict[str, object]]:
    out = []
    for offset, (numerator, denominator) in enumerate(zip(numerators, denominators, strict=True)):
        day = first_day + offset
        value = numerator if denominator is None else numerator / denominator
        out.append(
            {
                "as_of": MONDAY + timedelta(days=day),
                "run": run(day),
                "metric": metric,
                "segment_kind": kind,
                "segment": segment,
                "numerator": float(numerator),
                "denominator": denominator,
                "value": value,
            }
        )
    return out


def frame(*parts: list[dict[str, object]]) -> pl.DataFrame:
    return pl.DataFrame([row for part in parts for row in part], schema=SCHEMA)


BAD = "bad_seller_onboarding_rate"


def attack_history() -> tuple[pl.DataFrame, dict[str, pl.DataFrame]]:
    """0.8% of 1,000 new sellers for 8 runs; then 61 of 1,190, 52 of them in 4 new rings.

    Categories: toys 4 of 500 a run, then 56 of 690; other 4 of 500, then 5 of 500. A stable
    ring holds 2 new syndicate sellers every run (so the metric has ring rows throughout).
    """
    history = frame(
        rows(BAD, None, None, [8] * 8 + [61], [1000.0] * 8 + [1190.0]),
        rows(BAD, "category", "toys", [4] * 8 + [56], [500.0] * 8 + [690.0]),
        rows(BAD, "category", "other", [4] * 8 + [5], [500.0] * 9),
        rows(BAD, "ring", "ring-s", [2] * 9, [1000.0] * 8 + [1190.0]),
        rows(BAD, "ring", "ring-a", [15], [1190.0], first_day=8),
        rows(BAD, "ring", "ring-b", [14], [1190.0], first_day=8),
        rows(BAD, "ring", "ring-c", [12], [1190.0], first_day=8),
        rows(BAD, "ring", "ring-d", [11], [1190.0], first_day=8),
    )
    rings = pl.DataFrame(
        {
            "ring_id": ["ring-a", "ring-b", "ring-c", "ring-d", "ring-s"],
            "status": ["new", "new", "new", "new", "stable"],
            "size": [15, 14, 12, 11, 30],
            "ring_score": [0.9, 0.9, 0.8, 0.8, 0.5],
            "page": [f"viz/rings/ring-{x}.html" for x in "abcd"] + [None],
        }
    )
    return history, {run(8): rings}


def test_decomposition_of_two_segments_adds_up() -> None:
    # Baseline: books 10 of 500 and toys 10 of 500 (shares 0.5 / 0.5, rates 2% / 2%).
    # Now: books 10 of 500, toys 60 of 1,500 (shares 0.25 / 0.75, rates 2% / 4%).
    # mix:  books (0.25 - 0.5) * 0.02 = -0.005; toys (0.75 - 0.5) * 0.02 = +0.005
    # rate: books 0.25 * 0 = 0;               toys 0.75 * (0.04 - 0.02) = 0.015
    # total: 70 / 2,000 - 20 / 1,000 = 0.035 - 0.02 = 0.015 = the sum of the four.
    kind = {"segment_kind": ["category"] * 2, "segment": ["books", "toys"]}
    before = pl.DataFrame({**kind, "numerator": [10.0, 10.0], "denominator": [500.0, 500.0]})
    after = pl.DataFrame({**kind, "numerator": [10.0, 60.0], "denominator": [500.0, 1500.0]})
    split = decompose_rate_change(before, after)
    assert split.get_column("segment").to_list() == ["toys", "books"]
    toys, books = split.rows(named=True)
    assert toys["mix_effect"] == pytest.approx(0.005)
    assert toys["rate_effect"] == pytest.approx(0.015)
    assert books["mix_effect"] == pytest.approx(-0.005)
    assert books["rate_effect"] == pytest.approx(0.0)
    assert (toys["baseline_share"], toys["current_share"]) == pytest.approx((0.5, 0.75))
    assert (toys["baseline_rate"], toys["current_rate"]) == pytest.approx((0.02, 0.04))
    total = split.select(pl.col("mix_effect") + pl.col("rate_effect")).sum().item()
    assert total == pytest.approx(0.035 - 0.02)


def test_decomposition_pools_baseline_runs_and_handles_a_new_segment() -> None:
    # Two baseline runs of books 5 of 250 (pooled: 10 of 500, 2%). Now books 10 of 500 and a
    # new segment toys 20 of 500. Toys takes the baseline's overall rate 2% as its rate_b:
    # mix: books (0.5 - 1) * 0.02 = -0.01, toys (0.5 - 0) * 0.02 = 0.01
    # rate: books 0, toys 0.5 * (0.04 - 0.02) = 0.01; total 30 / 1,000 - 0.02 = 0.01.
    kind = {"segment_kind": ["category"], "segment": ["books"]}
    before = pl.concat([pl.DataFrame({**kind, "numerator": [5.0], "denominator": [250.0]})] * 2)
    after = pl.DataFrame(
        {
            "segment_kind": ["category"] * 2,
            "segment": ["books", "toys"],
            "numerator": [10.0, 20.0],
            "denominator": [500.0, 500.0],
        }
    )
    split = {row["segment"]: row for row in decompose_rate_change(before, after).rows(named=True)}
    assert split["toys"]["baseline_rate"] is None
    assert split["toys"]["mix_effect"] == pytest.approx(0.01)
    assert split["toys"]["rate_effect"] == pytest.approx(0.01)
    assert split["books"]["mix_effect"] == pytest.approx(-0.01)
    assert sum(r["mix_effect"] + r["rate_effect"] for r in split.values()) == pytest.approx(0.01)


def test_ring_drivers_rank_by_holds_and_join_the_rings_table() -> None:
    history, rings = attack_history()
    ring_rows = history.filter((pl.col("segment_kind") == "ring") & (pl.col("run") == run(8)))
    drivers = ring_drivers(ring_rows, rings[run(8)])
    assert drivers.rows() == [
        ("ring-a", "new", 15.0, 15, "viz/rings/ring-a.html"),
        ("ring-b", "new", 14.0, 14, "viz/rings/ring-b.html"),
        ("ring-c", "new", 12.0, 12, "viz/rings/ring-c.html"),
        ("ring-d", "new", 11.0, 11, "viz/rings/ring-d.html"),
        ("ring-s", "stable", 2.0, 30, None),
    ]


def test_an_attack_is_driven_by_the_new_rings() -> None:
    history, rings = attack_history()
    alerts = explain_alerts(evaluate_history(history), history, rings)
    assert alerts.schema == pl.Schema(dict(ALERTS_SCHEMA))
    whole = alerts.filter(pl.col("segment_kind").is_null()).row(0, named=True)
    # The rise over what 0.8% predicts: 61 - 0.008 * 1,190 = 51.5 sellers. The new rings,
    # most holding first, reach it at the fourth: 15 + 14 + 12 + 11 = 52.
    assert whole["explanation"] == (
        "bad_seller_onboarding_rate rose from 0.8% to 5.1% (61 of 1,190 new sellers): driven "
        "by 4 new rings holding 52 of 61 new syndicate sellers (ring-a, ring-b, ring-c, ring-d)"
    )
    assert [d["ring_id"] for d in whole["drivers"]] == [
        "ring-a",
        "ring-b",
        "ring-c",
        "ring-d",
        "ring-s",
    ]
    assert whole["drivers"][0]["page"] == "viz/rings/ring-a.html"
    assert whole["first_as_of"] == LAST
    # Its segments add up to the pooled change, 61 / 1,190 - 8,000 / 1,000,000.
    effects = sum(s["mix_effect"] + s["rate_effect"] for s in whole["segments"])
    assert effects == pytest.approx(61 / 1190 - 0.008)
    assert whole["segments"][0]["segment"] == "toys"
    # The category's own alert names the marketplace's new rings as context: toys' rise is
    # 56 - 0.008 * 690 = 50.5, reached by the same four rings.
    toys = alerts.filter(pl.col("segment") == "toys").row(0, named=True)
    assert toys["explanation"] == (
        "bad_seller_onboarding_rate for the category toys rose from 0.8% to 8.1% (56 of 690 new "
        "sellers); marketplace-wide, 4 new rings hold 52 of 61 new syndicate sellers (ring-a, "
        "ring-b, ring-c, ring-d)"
    )
    assert alerts.filter(pl.col("segment") == "other").height == 0


def test_a_run_missing_from_the_rings_mapping_still_gets_ring_ids() -> None:
    history, _ = attack_history()
    alerts = explain_alerts(evaluate_history(history), history, {})
    whole = alerts.filter(pl.col("segment_kind").is_null()).row(0, named=True)
    assert [d["ring_id"] for d in whole["drivers"]][:2] == ["ring-a", "ring-b"]
    assert whole["drivers"][0]["status"] is None
    # Their statuses are unknown: any of them may be news.
    assert whole["explanation"].endswith(
        "driven by 4 rings holding 52 of 61 new syndicate sellers (ring-a, ring-b, ring-c, ring-d)"
    )


def spread_history(bad: tuple[int, int, int]) -> pl.DataFrame:
    """0.8% of 1,000 for 8 runs over categories A (400), B (300), C (300) holding 4, 3 and 1;
    then 1,200 new sellers (480, 360, 360) with ``bad`` per category. A stable ring holds 2."""
    total = float(sum(bad))
    return frame(
        rows(BAD, None, None, [8] * 8 + [total], [1000.0] * 8 + [1200.0]),
        rows(BAD, "category", "A", [4] * 8 + [bad[0]], [400.0] * 8 + [480.0]),
        rows(BAD, "category", "B", [3] * 8 + [bad[1]], [300.0] * 8 + [360.0]),
        rows(BAD, "category", "C", [1] * 8 + [bad[2]], [300.0] * 8 + [360.0]),
        rows(BAD, "ring", "ring-s", [2] * 9, [1000.0] * 8 + [1200.0]),
    )


def whole_alert(history: pl.DataFrame, rings: dict[str, pl.DataFrame]) -> dict[str, object]:
    evaluations = evaluate_history(history)
    alerts = explain_alerts(evaluations, history, rings)
    return alerts.filter(pl.col("segment_kind").is_null()).row(0, named=True)


STABLE = {run(8): pl.DataFrame({"ring_id": ["ring-s"], "status": ["stable"], "size": [30]})}


def test_a_move_spread_across_categories_with_no_ring_behind_it() -> None:
    # 14, 13, 13 of 480, 360, 360: shares unchanged (mix 0); rate effects
    # A 0.4 * (14/480 - 0.01) = 0.00767, B 0.3 * (13/360 - 0.01) = 0.00783,
    # C 0.3 * (13/360 - 1/300) = 0.00983 of a total 40/1,200 - 0.008 = 0.02533: the largest
    # is 39%, under half. The stable ring is no news.
    alert = whole_alert(spread_history((14, 13, 13)), STABLE)
    assert alert["explanation"] == (
        "bad_seller_onboarding_rate rose from 0.8% to 3.3% (40 of 1,200 new sellers): "
        "spread across categories; no ring behind it"
    )
    segments = {s["segment"]: s for s in alert["segments"]}
    assert segments["C"]["rate_effect"] == pytest.approx(0.3 * (13 / 360 - 1 / 300))
    assert sum(s["mix_effect"] for s in segments.values()) == pytest.approx(0.0)


def test_a_move_mostly_in_one_category_rate_effect() -> None:
    # 41, 3, 2: A's rate effect 0.4 * (41/480 - 0.01) = 0.0302 of a total
    # 46/1,200 - 0.008 = 0.0303: A is the cause, by its rate.
    alert = whole_alert(spread_history((41, 3, 2)), STABLE)
    assert alert["explanation"] == (
        "bad_seller_onboarding_rate rose from 0.8% to 3.8% (46 of 1,200 new sellers): "
        "mostly the category A (rate effect: its rate rose from 1.0% to 8.5%); no ring behind it"
    )


def test_a_move_mostly_in_one_category_mix_effect() -> None:
    # Baseline: A 10 of 100 (10%), B 9 of 900 (1%). Now A 40 of 400, B 9 of 900: rates
    # unchanged, A's share 10% → 30.8%: mix A (400/1,300 - 0.1) * 0.1 = 0.0208 of a total
    # 49/1,300 - 0.019 = 0.0187.
    history = frame(
        rows(BAD, None, None, [19] * 8 + [49], [1000.0] * 8 + [1300.0]),
        rows(BAD, "category", "A", [10] * 8 + [40], [100.0] * 8 + [400.0]),
        rows(BAD, "category", "B", [9] * 9, [900.0] * 9),
    )
    alert = whole_alert(history, {})
    assert alert["explanation"] == (
        "bad_seller_onboarding_rate rose from 1.9% to 3.8% (49 of 1,300 new sellers): mostly the "
        "category A (mix effect: its share of new sellers grew from 10.0% to 30.8%)"
    )
    a = next(s for s in alert["segments"] if s["segment"] == "A")
    assert a["mix_effect"] == pytest.approx((400 / 1300 - 0.1) * 0.1)
    assert a["rate_effect"] == pytest.approx(0.0)
    assert alert["drivers"] == []


def test_a_count_alert_names_the_rings_of_its_status() -> None:
    # 3 new rings a run, then 12: spread sqrt(3) * widen(8) = 1.89, score 4.75.
    history = frame(rows("rings_new", None, None, [3] * 8 + [12], [None] * 9))
    rings = pl.DataFrame(
        {
            "ring_id": ["ring-x", "ring-y", "ring-z", "ring-s"],
            "status": ["new", "new", "new", "stable"],
            "size": [12, 7, 5, 40],
            "page": ["viz/rings/ring-x.html", None, None, None],
        }
    )
    alerts = explain_alerts(evaluate_history(history), history, {run(8): rings})
    alert = alerts.row(0, named=True)
    assert alert["explanation"] == (
        "rings_new rose from 3 to 12: largest first, ring-x (12 sellers), ring-y (7 sellers), "
        "ring-z (5 sellers)"
    )
    assert [d["ring_id"] for d in alert["drivers"]] == ["ring-x", "ring-y", "ring-z"]
    assert alert["segments"] == []


def test_a_count_alert_names_the_segment_that_moved_it() -> None:
    # A legit campaign: new sellers 1,000 → 4,000, all of the 3,000 more in category B.
    history = frame(
        rows("new_sellers", None, None, [1000] * 8 + [4000], [None] * 9),
        rows("new_sellers", "category", "A", [800] * 9, [None] * 9),
        rows("new_sellers", "category", "B", [200] * 8 + [3200], [None] * 9),
    )
    alerts = explain_alerts(evaluate_history(history), history, {})
    whole = alerts.filter(pl.col("segment_kind").is_null()).row(0, named=True)
    assert whole["explanation"] == (
        "new_sellers rose from 1,000 to 4,000: mostly the category B (from 200 to 3,200)"
    )


def test_no_alerts_give_an_empty_frame_of_the_contract() -> None:
    history = frame(rows("rings_new", None, None, [3] * 9, [None] * 9))
    alerts = explain_alerts(evaluate_history(history), history, {})
    assert alerts.height == 0
    assert alerts.schema == pl.Schema(dict(ALERTS_SCHEMA))
