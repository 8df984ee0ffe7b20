"""North-star metrics of one run, worked out by hand; history over run folders."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syndicate.cli import main
from syndicate.errors import InputFileError
from syndicate.monitor.history import read_history, run_rings
from syndicate.monitor.metrics import METRICS, METRICS_SCHEMA, RunFacts, run_metrics
from tests.test_job import run_cli, write_rings

D = datetime
# Eight sellers: a1-a3 in ring A (new status), b1-b2 in ring B (grown), z1-z3 in none.
# New since the previous as-of (Jan 8): a2, a3, b2, z2, z3 (created Jan 9-10).
SELLERS = pl.DataFrame(
    {
        "seller_id": ["a1", "a2", "a3", "b1", "b2", "z1", "z2", "z3"],
        "created_at": [
            *(D(2026, 1, 1), D(2026, 1, 9), D(2026, 1, 10), D(2026, 1, 2)),
            *(D(2026, 1, 9, 5), D(2026, 1, 3), D(2026, 1, 10, 23), D(2026, 1, 10, 1)),
        ],
        "category": ["toys", "toys", "home", "home", "home", "toys", None, "home"],
    }
)
LABELS = pl.DataFrame(
    {
        "seller_id": ["a1", "a2", "a3", "b1", "b2", "z1", "z2", "z3"],
        "ring_id": ["A", "A", "A", "B", "B", None, None, None],
        "decision": [
            *("syndicate", "syndicate", "review", "clear"),
            *("clear", "clear", "clear", "syndicate"),
        ],
    }
)
KNOWN = pl.DataFrame({"seller_id": ["a1", "b2", "z1", "z2"], "label": [1, 1, 0, 1]})
RINGS = pl.DataFrame({"ring_id": ["A", "B"], "status": ["new", "grown"]})
PREVIOUS = pl.DataFrame(
    {
        "seller_id": ["a1", "b1", "b2", "z1", "q"],
        "decision": ["syndicate", "syndicate", "review", "syndicate", "syndicate"],
    }
)


def facts(**changes: object) -> RunFacts:
    base: dict[str, object] = {
        "sellers": SELLERS,
        "labels": LABELS,
        "known": KNOWN,
        "rings": RINGS,
        "rings_gone": 2,
        "hubs": 1,
        "as_of": D(2026, 1, 10, 23, 59, 59, tzinfo=UTC),
        "previous_as_of": D(2026, 1, 8, 23, 59, 59, tzinfo=UTC),
        "previous_decisions": PREVIOUS,
    }
    base.update(changes)
    return RunFacts(**base)  # type: ignore[arg-type]


def whole(metrics: pl.DataFrame) -> dict[str, tuple[float, float | None, float | None]]:
    rows = metrics.filter(pl.col("segment_kind").is_null())
    return {m: (n, d, v) for m, _, _, n, d, v in rows.iter_rows()}


def test_whole_marketplace_metrics_match_the_hand_count() -> None:
    m = whole(run_metrics(facts(), ["category"]))
    assert m["sellers"] == (8, None, 8)
    assert m["new_sellers"] == (5, None, 5)  # a2, a3, b2, z2, z3
    assert m["labels_known"] == (4, None, 4)
    assert m["label_coverage"] == (4, 8, 0.5)
    # New and (syndicate or known bad): a2 (syndicate), b2 (bad), z2 (bad), z3 (syndicate).
    assert m["bad_seller_onboarding_rate"] == (4, 5, 0.8)
    assert m["ring_onboarding_rate"] == (3, 5, 0.6)  # a2, a3, b2
    assert m["sellers_in_rings_rate"] == (5, 8, 5 / 8)
    assert m["syndicate_rate"] == (3, 8, 3 / 8) and m["review_rate"] == (1, 8, 1 / 8)
    assert m["rings"][0] == 2 and m["rings_new"][0] == 1 and m["rings_grown"][0] == 1
    assert m["rings_merged"][0] == 0 and m["rings_gone"][0] == 2 and m["hub_identifiers"][0] == 1
    # Previous run: syndicate a1 (bad now), b1 (no label), z1 (good now), q (gone): 1/4, 1/4.
    assert m["matured_syndicate_known_bad"] == (1, 4, 0.25)
    assert m["matured_syndicate_known_good"] == (1, 4, 0.25)
    assert m["matured_review_known_bad"] == (1, 1, 1.0)  # b2
    without = [name for name in METRICS if "strategy" not in name]  # no strategies file
    assert list(dict.fromkeys(run_metrics(facts())["metric"])) == without


def test_segments_add_up_and_rings_hold_their_part() -> None:
    metrics = run_metrics(facts(), ["category"])
    assert metrics.schema == pl.Schema(METRICS_SCHEMA)
    total = whole(metrics)
    for kind in ("category", "ring_status"):
        rows = metrics.filter(pl.col("segment_kind") == kind)
        for metric in ("bad_seller_onboarding_rate", "ring_onboarding_rate", "syndicate_rate"):
            part = rows.filter(pl.col("metric") == metric)
            assert part["numerator"].sum() == total[metric][0]
            assert part["denominator"].sum() == total[metric][1]
    category = metrics.filter(
        (pl.col("segment_kind") == "category") & (pl.col("metric") == "new_sellers")
    )
    assert dict(category.select("segment", "numerator").iter_rows()) == {
        "(none)": 1,  # z2
        "home": 3,  # a3, b2, z3
        "toys": 1,  # a2
    }
    rings = metrics.filter(pl.col("segment_kind") == "ring")
    assert rings.select("metric", "segment", "numerator", "denominator").rows() == [
        ("bad_seller_onboarding_rate", "A", 1.0, 5.0),  # a2
        ("bad_seller_onboarding_rate", "B", 1.0, 5.0),  # b2
        ("ring_onboarding_rate", "A", 2.0, 5.0),
        ("ring_onboarding_rate", "B", 1.0, 5.0),
        ("syndicate_rate", "A", 2.0, 8.0),  # a1, a2; ring B has none decided syndicate
        ("review_rate", "A", 1.0, 8.0),  # a3
    ]
    # Per ring and category, with the category's denominator (toys: a1, a2, z1; a2 new).
    by_category = metrics.filter(pl.col("segment_kind") == "ring:category")
    assert by_category.select("metric", "segment", "numerator", "denominator").rows() == [
        ("bad_seller_onboarding_rate", "A|toys", 1.0, 1.0),  # a2 of the new a2
        ("bad_seller_onboarding_rate", "B|home", 1.0, 3.0),  # b2 of the new a3, b2, z3
        ("ring_onboarding_rate", "A|home", 1.0, 3.0),  # a3
        ("ring_onboarding_rate", "A|toys", 1.0, 1.0),  # a2
        ("ring_onboarding_rate", "B|home", 1.0, 3.0),  # b2
        ("syndicate_rate", "A|toys", 2.0, 3.0),  # a1, a2 of a1, a2, z1
        ("review_rate", "A|home", 1.0, 4.0),  # a3 of a3, b1, b2, z3
    ]
    by_status = metrics.filter(pl.col("segment_kind") == "ring:ring_status")
    assert by_status.select("metric", "segment", "numerator", "denominator").rows() == [
        ("bad_seller_onboarding_rate", "A|new", 1.0, 2.0),
        ("bad_seller_onboarding_rate", "B|grown", 1.0, 1.0),
        ("ring_onboarding_rate", "A|new", 2.0, 2.0),
        ("ring_onboarding_rate", "B|grown", 1.0, 1.0),
        ("syndicate_rate", "A|new", 2.0, 3.0),
        ("review_rate", "A|new", 1.0, 3.0),
    ]


def test_a_first_run_counts_the_last_day_as_new_and_has_no_matured_precision() -> None:
    m = whole(run_metrics(facts(previous_as_of=None, previous_decisions=None)))
    assert m["new_sellers"][0] == 3  # created after Jan 9 23:59:59: a3, z2, z3
    assert not any(name.startswith("matured") for name in m)


def test_sellers_without_created_at_are_never_new() -> None:
    m = whole(run_metrics(facts(sellers=SELLERS.drop("created_at"))))
    assert m["new_sellers"][0] == 0 and m["bad_seller_onboarding_rate"][2] is None


@settings(max_examples=25, deadline=None)
@given(st.permutations(range(8)))
def test_metrics_do_not_depend_on_row_order(order: list[int]) -> None:
    shuffled = facts(sellers=SELLERS[order], labels=LABELS[order[::-1]])
    assert run_metrics(shuffled, ["category"]).equals(run_metrics(facts(), ["category"]))


def test_runs_write_metrics_and_as_of_and_read_back_as_a_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_rings(tmp_path / "in", {"a": ["a1", "a2", "a3"], "b": ["b1", "b2", "b3"]})
    first, second = tmp_path / "day1", tmp_path / "day2"
    assert run_cli(files, first, "--as-of", "2026-03-02T10:00:00Z") == 0
    assert run_cli(files, second, "--as-of", "2026-03-03", "--previous", str(first)) == 0
    manifest = json.loads((second / "run.json").read_text())
    assert manifest["as_of"] == "2026-03-03T00:00:00+00:00"
    history = read_history([second, first])  # any order
    assert history.runs["run"].to_list() == [str(first), str(second)]
    rings = history.metrics.filter((pl.col("metric") == "rings") & pl.col("segment_kind").is_null())
    assert rings["value"].to_list() == [2.0, 2.0]
    pages = run_rings(second)
    assert pages.filter(pl.col("page").is_not_null()).height == 2
    assert (
        main(["run", "--as-of", "yesterday", "--sellers", "x", "--links", "y", "--out", "z"]) == 2
    )
    assert "expected an ISO 8601 time" in capsys.readouterr().err


def test_history_refuses_what_is_not_a_monitored_run(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="does not exist"):
        read_history([tmp_path / "nope"])
    (tmp_path / "old").mkdir()
    with pytest.raises(InputFileError, match=r"metrics\.parquet: not found"):
        read_history([tmp_path / "old"])
    pl.DataFrame({"metric": ["x"]}).write_parquet(tmp_path / "old" / "metrics.parquet")
    (tmp_path / "old" / "run.json").write_text('{"syndicate_version": "0.1"}')
    with pytest.raises(InputFileError, match="has no as_of"):
        read_history([tmp_path / "old"])
    (tmp_path / "old" / "run.json").write_text('{"as_of": "2026-01-01T00:00:00+00:00"}')
    with pytest.raises(InputFileError, match=r"lacks columns \['segment_kind'"):
        read_history([tmp_path / "old"])
    with pytest.raises(InputFileError, match="given twice"):
        read_history([tmp_path / "old", tmp_path / "old"])
