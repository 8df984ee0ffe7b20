"""The governance dashboard: page text on hand-built frames, then the page in Chromium.

The frames follow the monitoring contract's schemas and are built here by hand (no
``alerts.py``): ten daily runs of a marketplace whose bad-seller onboarding rate jumps on
the last day, driven by one new ring, with a hostile category name and a hostile run name.
"""

from __future__ import annotations

import html
import math
import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import polars as pl
import pytest

from syndicate.errors import InputFileError, SchemaError
from syndicate.monitor.dashboard import (
    NORTH_STAR_METRICS,
    SEVERITY_COLOUR,
    render_dashboard,
    write_dashboard,
)
from syndicate.monitor.history import HISTORY_SCHEMA
from tests.conftest import open_page

START = datetime(2026, 3, 1, tzinfo=UTC)
XSS_CATEGORY = "<script>window.__pwned=1</script>"
XSS_RUN = 'runs/<img src=x onerror="window.__pwned=2">'
RATES = {
    "bad_seller_onboarding_rate": 0.02,
    "ring_onboarding_rate": 0.05,
    "sellers_in_rings_rate": 0.10,
    "syndicate_rate": 0.03,
    "matured_syndicate_known_bad": 0.60,
    "review_rate": 0.04,
}
COUNTS = {"rings_new": 3.0, "sellers": 1000.0, "rings": 40.0}

EVALUATION_SCHEMA = {
    **HISTORY_SCHEMA,
    "baseline": pl.Float64,
    "lower": pl.Float64,
    "upper": pl.Float64,
    "score": pl.Float64,
    "direction": pl.String,
    "status": pl.String,
    "severity": pl.String,
    "incident": pl.String,
}
DRIVER = pl.Struct(
    {
        "ring_id": pl.String,
        "status": pl.String,
        "holds": pl.Float64,
        "size": pl.Int64,
        "page": pl.String,
    }
)
SEGMENT = pl.Struct(
    {
        "segment_kind": pl.String,
        "segment": pl.String,
        "baseline_share": pl.Float64,
        "current_share": pl.Float64,
        "baseline_rate": pl.Float64,
        "current_rate": pl.Float64,
        "mix_effect": pl.Float64,
        "rate_effect": pl.Float64,
    }
)
ALERT_SCHEMA = {
    "as_of": pl.Datetime("us", "UTC"),
    "run": pl.String,
    "metric": pl.String,
    "segment_kind": pl.String,
    "segment": pl.String,
    "value": pl.Float64,
    "baseline": pl.Float64,
    "lower": pl.Float64,
    "upper": pl.Float64,
    "score": pl.Float64,
    "direction": pl.String,
    "severity": pl.String,
    "explanation": pl.String,
    "incident": pl.String,
    "first_as_of": pl.Datetime("us", "UTC"),
    "drivers": pl.List(DRIVER),
    "segments": pl.List(SEGMENT),
}
RUNS_SCHEMA = {
    "run": pl.String,
    "as_of": pl.Datetime("us", "UTC"),
    "index_page": pl.String,
    "ring_pages": pl.String,
}


def run_name(day: int, n_days: int) -> str:
    return XSS_RUN if day == n_days - 2 else f"runs/day-{day:03d}"


def market(
    n_days: int = 10, *, jump: bool = True, extra_metrics: int = 0
) -> dict[str, pl.DataFrame]:
    """History, evaluations, alerts and runs of ``n_days`` daily runs.

    Each rate wobbles around its level (+0.1 point on odd days); on the last day (when
    ``jump``) the bad-seller onboarding rate is 9% against a baseline of 2.05%: one high
    alert on the whole marketplace and one medium alert in the hostile category. The
    matured metrics are absent on the first run, as the contract says.
    """
    history: list[tuple[Any, ...]] = []
    evaluations: list[tuple[Any, ...]] = []
    extra = {f"metric_{k:02d}": 10.0 + k for k in range(extra_metrics)}
    for day in range(n_days):
        as_of, run = START + timedelta(days=day), run_name(day, n_days)
        last = day == n_days - 1
        for metric, level in {**RATES, **COUNTS, **extra}.items():
            if metric.startswith("matured") and day == 0:
                continue
            is_rate = metric in RATES
            value = level + (0.001 if is_rate else 1.0) * (day % 2)
            if jump and last and metric == "bad_seller_onboarding_rate":
                value = 0.09
            denominator = 200.0 if is_rate else None
            numerator = value * 200.0 if is_rate else value
            history.append((as_of, run, metric, None, None, numerator, denominator, value))
            segments: list[tuple[str, float]] = []
            if metric == "bad_seller_onboarding_rate":
                toys = 0.02 if not last or not jump else 0.03
                hostile = 0.02 if not last or not jump else 0.15
                segments = [("toys", toys), (XSS_CATEGORY, hostile)]
                for segment, rate in segments:
                    history.append(
                        (as_of, run, metric, "category", segment, rate * 100, 100.0, rate)
                    )
            rows = [(None, None, value), *(("category", s, r) for s, r in segments)]
            for kind, segment, shown in rows:
                enough = day >= 3
                baseline = (level + (0.0005 if is_rate else 0.5)) if enough else None
                width = 0.01 if is_rate else 2.0
                lower = None if baseline is None else baseline - width
                upper = None if baseline is None else baseline + width
                status = "insufficient_history"
                severity = incident = direction = None
                if baseline is not None:
                    status = "ok"
                    if shown > upper:  # type: ignore[operator]
                        status, direction = "alert", "up"
                        severity = "high" if kind is None else "medium"
                        incident = f"{metric}/{kind or 'all'}/{segment or ''}/{day}"
                evaluations.append(
                    (
                        as_of,
                        run,
                        metric,
                        kind,
                        segment,
                        None,
                        None,
                        shown,
                        baseline,
                        lower,
                        upper,
                        None,
                        direction,
                        status,
                        severity,
                        incident,
                    )
                )
    evaluation_frame = pl.DataFrame(evaluations, schema=EVALUATION_SCHEMA, orient="row")
    alerts = evaluation_frame.filter(pl.col("status") == "alert").sort("segment_kind")
    drivers = [
        {
            "ring_id": "R-0001",
            "status": "new",
            "holds": 10.0,
            "size": 12,
            "page": "viz/rings/R-0001.html",
        },
        {"ring_id": "R-0002", "status": "grown", "holds": 2.0, "size": 30, "page": None},
    ]
    decomposition = [
        {
            "segment_kind": "category",
            "segment": XSS_CATEGORY,
            "baseline_share": 0.5,
            "current_share": 0.5,
            "baseline_rate": 0.02,
            "current_rate": 0.15,
            "mix_effect": 0.0,
            "rate_effect": 0.065,
        },
        {
            "segment_kind": "category",
            "segment": "toys",
            "baseline_share": 0.5,
            "current_share": 0.5,
            "baseline_rate": 0.02,
            "current_rate": 0.03,
            "mix_effect": 0.0,
            "rate_effect": 0.005,
        },
    ]
    alert_frame = pl.DataFrame(
        [
            {
                **{k: row[k] for k in ALERT_SCHEMA if k in row},
                "explanation": (
                    "driven by 1 new ring holding 10 of 18 new syndicate sellers"
                    if row["segment_kind"] is None
                    else "spread across rings; no ring behind it"
                ),
                "first_as_of": row["as_of"],
                "drivers": drivers if row["segment_kind"] is None else [],
                "segments": decomposition if row["segment_kind"] is None else [],
            }
            for row in alerts.iter_rows(named=True)
        ],
        schema=ALERT_SCHEMA,
    )
    runs = pl.DataFrame(
        [
            (
                run_name(day, n_days),
                START + timedelta(days=day),
                f"{run_name(day, n_days)}/viz/index.html",
                f"{run_name(day, n_days)}/viz/rings",
            )
            for day in range(n_days)
        ],
        schema=RUNS_SCHEMA,
        orient="row",
    )
    return {
        "history": pl.DataFrame(history, schema=HISTORY_SCHEMA, orient="row"),
        "evaluations": evaluation_frame,
        "alerts": alert_frame,
        "runs": runs,
    }


def render(frames: dict[str, pl.DataFrame]) -> str:
    return render_dashboard(
        frames["history"], frames["evaluations"], frames["alerts"], frames["runs"]
    )


def charts(page: str) -> dict[str, str]:
    """Each chart's SVG text by its metric."""
    found = re.findall(r'<svg [^>]*class="chart" data-metric="([^"]+)".*?</svg>', page, re.S)
    bodies = re.findall(r'(<svg [^>]*class="chart".*?</svg>)', page, re.S)
    return dict(zip(found, bodies, strict=True))


@pytest.fixture(scope="module")
def frames() -> dict[str, pl.DataFrame]:
    return market()


@pytest.fixture(scope="module")
def page(frames: dict[str, pl.DataFrame]) -> str:
    return render(frames)


# --- the page's text ------------------------------------------------------------------------


def test_the_frames_are_what_the_tests_say(frames: dict[str, pl.DataFrame]) -> None:
    # Two alerts on the last day: the whole marketplace (high) and the hostile category.
    assert frames["alerts"].select("segment", "severity").rows() == [
        (None, "high"),
        (XSS_CATEGORY, "medium"),
    ]


def test_every_north_star_metric_has_a_chart_first_in_catalogue_order(page: str) -> None:
    drawn = list(charts(page))
    assert drawn[: len(NORTH_STAR_METRICS)] == list(NORTH_STAR_METRICS)
    # Then the other whole-marketplace metrics, by name, as small multiples.
    assert drawn[len(NORTH_STAR_METRICS) :] == ["review_rate", "rings", "sellers"]
    big, small = charts(page)["rings_new"], charts(page)["sellers"]
    assert 'width="560"' in big and 'width="300"' in small


def test_each_chart_draws_its_series_and_a_band_where_the_baseline_exists(page: str) -> None:
    for metric, svg in charts(page).items():
        assert svg.count('class="series"') == 1, metric
        # Baselines from day 3 on: one stretch, so one band polygon with 7 runs each side.
        bands = re.findall(r'<polygon class="band" points="([^"]+)"', svg)
        assert len(bands) == 1, metric
        assert len(bands[0].split()) == 2 * 7, metric
    # Rates read as percentages on the axis, counts as counts; dates on the time axis.
    rate, count = charts(page)["bad_seller_onboarding_rate"], charts(page)["rings_new"]
    assert re.findall(r">(\d+%)</text>", rate) == ["2%", "4%", "6%", "8%"]
    assert re.findall(r">(\d+)</text>", count) == ["2", "3", "4", "5"]
    # A daily job (one time of day): the axis gives the day alone.
    assert re.findall(r">(Mar \d\d)</text>", rate)[::4] == ["Mar 01", "Mar 10"]


def test_alert_markers_are_the_alerts_coloured_by_severity(
    page: str, frames: dict[str, pl.DataFrame]
) -> None:
    markers = re.findall(r'<(circle|polygon) class="alert-marker"[^>]*fill="([^"]+)"', page)
    assert len(markers) == frames["alerts"].height == 2
    # The whole-marketplace alert is a dot on the series, the segment alert a triangle.
    assert sorted(markers) == [
        ("circle", SEVERITY_COLOUR["high"]),
        ("polygon", SEVERITY_COLOUR["medium"]),
    ]
    svg = charts(page)["bad_seller_onboarding_rate"]
    assert svg.count('class="alert-marker"') == 2
    # Tooltips say what and why; each marker links to its row in the alerts table.
    assert "9.00% vs baseline 2.05%" in svg and "driven by 1 new ring" in svg
    for number in (1, 2):
        assert f'href="#alert-{number}"' in svg and f"id='alert-{number}'" in page


def test_latest_run_against_its_baseline(page: str) -> None:
    table = page[
        page.index("<table id='latest'>") : page.index("</table>", page.index("id='latest'"))
    ]
    row = re.search(r"<tr data-metric='bad_seller_onboarding_rate'>(.*?)</tr>", table).group(1)  # type: ignore[union-attr]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
    assert cells == ["9.00%", "2.05%", "1.05% – 3.05%", "alert (high)", "▲"]
    rings_new = re.search(r"<tr data-metric='rings_new'>(.*?)</tr>", table).group(1)  # type: ignore[union-attr]
    assert re.findall(r"<td[^>]*>(.*?)</td>", rings_new) == ["4", "3.5", "1.5 – 5.5", "ok", "▲"]
    assert table.count("<tr data-metric=") == len(NORTH_STAR_METRICS)


def test_header_names_the_latest_run_its_alerts_and_a_verdict(page: str) -> None:
    header = page[page.index("<header>") : page.index("</header>")]
    assert "runs/day-009" in header and "2026-03-10" in header
    assert "<b>2 alerts</b> in the latest run" in header
    assert "<b>2 open incidents</b>" in header
    assert "Attention: bad seller onboarding rate above its baseline." in header
    assert 'href="runs/day-009/viz/index.html"' in header


def test_alerts_table_with_drill_down_drivers_linked_to_their_ring_pages(page: str) -> None:
    alerts = page[page.index("<table id='alerts'>") :]
    first = alerts[alerts.index("id='alert-1'") : alerts.index("id='alert-2'")]
    assert "driven by 1 new ring holding 10 of 18 new syndicate sellers" in first
    assert "<details>" in first and "2 driver rings, 2 segments" in first
    # R-0001 has a page: linked under the alert's run's ring_pages; R-0002 has none.
    assert '<a class="ring" href="runs/day-009/viz/rings/R-0001.html">R-0001</a>' in first
    assert "R-0002" in first and "R-0002.html" not in first
    # Holds 10 of the metric's 18 sellers (9% of 200 new sellers).
    assert "10 (56% of 18)" in first
    # Segment decomposition: shares, rates and effects in percentage points.
    assert "50.0% → 50.0%" in first and "2.00% → 15.0%" in first and "+6.50 pp" in first
    second = alerts[alerts.index("id='alert-2'") :]
    assert "No ring behind it." in second and "No segment decomposition." in second


def test_runs_link_to_their_index_pages_latest_first(
    page: str, frames: dict[str, pl.DataFrame]
) -> None:
    runs = page[page.index("<table id='runs'>") :]
    hrefs = re.findall(r'<a class="index" href="([^"]+)"', runs)
    assert len(hrefs) == frames["runs"].height
    assert hrefs[0] == "runs/day-009/viz/index.html"
    assert hrefs[-1] == "runs/day-000/viz/index.html"


def test_hostile_category_and_run_names_are_inert_text(page: str) -> None:
    assert "<script" not in page  # not even the page's own: it runs no script
    assert "<img" not in page and 'onerror="' not in page
    assert html.escape(XSS_CATEGORY) in page
    assert html.escape(XSS_RUN) in page
    # In a link, the hostile run's folder is percent-encoded: a path, not markup.
    assert (
        'href="runs/%3Cimg%20src%3Dx%20onerror%3D%22window.__pwned%3D2%22%3E/viz/index.html"'
        in page
    )


def test_csp_allows_no_fetch_and_no_script(page: str) -> None:
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    assert policy == "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    assert not re.search(r"(src|href)=\"(https?:)?//", page)


def test_a_run_folder_that_looks_like_a_url_scheme_stays_a_relative_link() -> None:
    frames = market(4, jump=False)
    runs = frames["runs"].with_columns(
        pl.when(pl.col("run") == "runs/day-003")
        .then(pl.lit("javascript:alert(1)//viz/index.html"))
        .otherwise(pl.col("index_page"))
        .alias("index_page")
    )
    page = render({**frames, "runs": runs})
    assert 'href="javascript:alert%281%29//viz/index.html"' not in page
    assert 'href="javascript%3Aalert%281%29//viz/index.html"' in page


def test_absolute_page_paths_become_file_uris(tmp_path: Path) -> None:
    frames = market(4)
    runs = frames["runs"].with_columns(
        pl.lit(str(tmp_path / "r 1" / "viz" / "index.html")).alias("index_page"),
        pl.lit(str(tmp_path / "r 1" / "viz" / "rings")).alias("ring_pages"),
    )
    page = render({**frames, "runs": runs})
    assert f'href="{(tmp_path / "r 1" / "viz" / "index.html").as_uri()}"' in page
    assert f'href="{(tmp_path / "r 1" / "viz" / "rings" / "R-0001.html").as_uri()}"' in page


def test_an_alert_without_a_time_is_listed_but_not_placed(
    frames: dict[str, pl.DataFrame],
) -> None:
    alerts = frames["alerts"].with_columns(
        pl.when(pl.col("segment").is_null()).then(None).otherwise(pl.col("as_of")).alias("as_of"),
        pl.when(pl.col("segment").is_null())
        .then(pl.lit("runs/gone"))
        .otherwise(pl.col("run"))
        .alias("run"),
    )
    page = render({**frames, "alerts": alerts})
    assert page.count('class="alert-marker"') == 1 and page.count("class='alert'") == 2
    # Listed last (no time), with no ring link: its run has no ring pages.
    assert "runs/gone" in page[page.index("id='alert-2'") :]
    assert "R-0001.html" not in page


def test_no_alerts() -> None:
    frames = market(jump=False)
    assert frames["alerts"].height == 0
    page = render(frames)
    assert "No alerts" in page and 'class="alert-marker"' not in page
    assert "<b>0 alerts</b> in the latest run" in page and "<b>0 open incidents</b>" in page
    assert "All clear: every north-star metric is within its baseline." in page


def test_no_alerts_given_as_a_frame_with_no_columns() -> None:
    frames = market(jump=False)
    assert render({**frames, "alerts": pl.DataFrame()}) == render(frames)


def test_one_run_is_insufficient_history_everywhere() -> None:
    page = render(market(1, jump=False))
    assert len(charts(page)) == len(NORTH_STAR_METRICS) - 1 + 3  # no matured metric yet
    assert '<polygon class="band"' not in page
    assert page.count("no baseline yet (insufficient history)") == len(charts(page))
    statuses = re.findall(r"<td class='status-([a-z_]+) ?'>", page)
    assert statuses.count("insufficient_history") == len(NORTH_STAR_METRICS) - 1
    assert "not measured" in page and "matured syndicate known bad" in page
    assert "Not enough history yet to judge" in page
    # One point alone: drawn as a dot, since a path needs two.
    assert page.count('class="point"') == len(charts(page))


def test_nothing_at_all() -> None:
    empty = pl.DataFrame()
    page = render_dashboard(empty, empty, empty, empty)
    assert "No runs to show yet." in page and "No alerts" in page and "No runs." in page
    assert "<svg" not in page


def test_null_and_nan_values_break_the_line_and_show_as_dashes() -> None:
    frames = market(6, jump=False)
    rings_new = pl.col("metric") == "rings_new"
    history = frames["history"].with_columns(
        pl.when(rings_new & (pl.col("run") == "runs/day-002"))
        .then(None)
        .when(rings_new & (pl.col("run") == XSS_RUN))
        .then(math.nan)
        .otherwise(pl.col("value"))
        .alias("value")
    )
    last = "runs/day-005"
    evaluations = frames["evaluations"].with_columns(
        pl.when(pl.col("run") == last).then(None).otherwise(pl.col("baseline")).alias("baseline"),
        pl.when(pl.col("run") == last).then(math.nan).otherwise(pl.col("upper")).alias("upper"),
    )
    page = render({**frames, "history": history, "evaluations": evaluations})
    svg = charts(page)["rings_new"]
    line = re.search(r'<path class="series" d="([^"]+)"', svg).group(1)  # type: ignore[union-attr]
    # Runs 0-1, then 3 alone (a dot), then 5: day 2 null and day 4 NaN break the line.
    assert line.count("M") == 3 and svg.count('class="point"') == 2
    assert not re.search(r"\bnan\b", page.lower())
    row = re.search(r"<tr data-metric='rings_new'>(.*?)</tr>", page).group(1)  # type: ignore[union-attr]
    assert re.findall(r"<td[^>]*>(.*?)</td>", row)[:3] == ["4", "–", "1.5 – –"]


def test_a_year_of_runs_stays_small_and_draws_no_label_per_point() -> None:
    frames = market(365, extra_metrics=20)
    page = render(frames)
    drawn = charts(page)
    assert len(drawn) == 6 + 3 + 20
    for svg in drawn.values():
        assert svg.count("<text") <= 12  # ticks only
        assert svg.count('class="series"') == 1
    assert len(page.encode()) < 1_500_000


def test_same_frames_same_bytes_whatever_the_row_order(frames: dict[str, pl.DataFrame]) -> None:
    shuffled = {
        name: frame.sample(fraction=1.0, shuffle=True, seed=7) for name, frame in frames.items()
    }
    assert render(shuffled) == render(frames)


def test_naive_datetimes_are_utc(frames: dict[str, pl.DataFrame]) -> None:
    naive = {
        name: frame.with_columns(pl.col(pl.Datetime("us", "UTC")).dt.replace_time_zone(None))
        for name, frame in frames.items()
    }
    assert render(naive) == render(frames)


def test_missing_columns_are_all_named(frames: dict[str, pl.DataFrame]) -> None:
    broken = frames["evaluations"].drop("lower", "upper")
    with pytest.raises(SchemaError, match=r"evaluations is missing columns \['lower', 'upper'\]"):
        render({**frames, "evaluations": broken})
    as_text = frames["history"].with_columns(pl.col("as_of").cast(pl.String))
    with pytest.raises(SchemaError, match="column 'as_of' of history must be a datetime"):
        render({**frames, "history": as_text})


def test_write_dashboard_writes_atomically_and_keeps_foreign_files(
    tmp_path: Path, frames: dict[str, pl.DataFrame]
) -> None:
    path = write_dashboard(**frames, out=tmp_path / "monitor")
    assert path == tmp_path / "monitor" / "dashboard.html"
    assert path.read_text(encoding="utf-8") == render(frames)
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []
    # Its own page it replaces; a page someone else put there it refuses to touch.
    write_dashboard(**frames, out=tmp_path / "monitor")
    foreign = tmp_path / "other" / "dashboard.html"
    foreign.parent.mkdir()
    foreign.write_text("mine", encoding="utf-8")
    with pytest.raises(
        InputFileError, match=r"dashboard\.html' exists and syndicate did not write"
    ):
        write_dashboard(**frames, out=foreign.parent)
    assert foreign.read_text(encoding="utf-8") == "mine"


# --- in Chromium ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def monitor_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dashboard beside the run folders it links to (stub index and ring pages)."""
    base = tmp_path_factory.mktemp("monitor")
    frames = market()
    for run in frames["runs"]["run"]:
        rings = base / run / "viz" / "rings"
        rings.mkdir(parents=True)
        (base / run / "viz" / "index.html").write_text(
            "<!DOCTYPE html><title>Rings · syndicate</title>", encoding="utf-8"
        )
        (rings / "R-0001.html").write_text(
            "<!DOCTYPE html><title>R-0001 · syndicate</title>", encoding="utf-8"
        )
    write_dashboard(**frames, out=base)
    return base


@pytest.mark.browser
def test_dashboard_draws_its_charts_offline(browser: Any, monitor_dir: Path) -> None:
    page, errors, requests = open_page(browser, monitor_dir / "dashboard.html")
    charts = page.locator("svg.chart")
    assert charts.count() == len(NORTH_STAR_METRICS) + 3
    for i in range(charts.count()):
        box = charts.nth(i).bounding_box()
        assert charts.nth(i).is_visible() and box["width"] > 100 and box["height"] > 50
    bands = page.locator("svg.chart polygon.band")
    assert bands.count() == charts.count()
    assert all(bands.nth(i).bounding_box()["height"] > 0 for i in range(bands.count()))
    marker = page.locator("svg.chart circle.alert-marker")
    assert marker.count() == 1 and marker.bounding_box()["width"] > 0
    assert errors == []
    assert requests == [(monitor_dir / "dashboard.html").as_uri()]
    page.close()


@pytest.mark.browser
def test_the_alert_shows_and_its_drill_down_opens(browser: Any, monitor_dir: Path) -> None:
    page, errors, requests = open_page(browser, monitor_dir / "dashboard.html")
    alert = page.locator("#alert-1")
    assert alert.is_visible() and "bad seller onboarding rate" in alert.inner_text()
    assert "driven by 1 new ring" in alert.inner_text()
    ring = page.locator("#alerts details").first.locator("a.ring")
    assert not ring.is_visible()
    page.locator("#alerts details summary").first.click()
    assert page.locator("#alerts details").first.evaluate("d => d.open") is True
    assert ring.is_visible() and ring.inner_text() == "R-0001"
    target = Path(ring.evaluate("a => a.href").removeprefix("file://"))
    assert target == monitor_dir / "runs" / "day-009" / "viz" / "rings" / "R-0001.html"
    assert target.is_file()
    assert XSS_CATEGORY in page.locator("#alerts details").first.inner_text()
    # Clicking a marker brings its alert row into view.
    page.locator("svg.chart circle.alert-marker").click()
    assert page.evaluate("location.hash") == "#alert-1"
    assert page.evaluate("window.__pwned") is None
    assert errors == [] and all(url.startswith("file://") for url in requests)
    page.close()


@pytest.mark.browser
def test_run_links_resolve_to_their_index_pages(browser: Any, monitor_dir: Path) -> None:
    page, errors, _ = open_page(browser, monitor_dir / "dashboard.html")
    hrefs = page.eval_on_selector_all("#runs a.index", "links => links.map(a => a.href)")
    assert len(hrefs) == 10
    for href in hrefs:
        target, more_errors, _ = open_page(browser, Path(unquote(href.removeprefix("file://"))))
        assert target.title() == "Rings · syndicate" and more_errors == []
        target.close()
    assert errors == []
    page.close()


def test_random_row_orders_of_a_year_give_one_page() -> None:
    frames = market(60, extra_metrics=3)
    expected = render(frames)
    rng = random.Random(3)
    for _ in range(3):
        seed = rng.randrange(1_000)
        shuffled = {n: f.sample(fraction=1.0, shuffle=True, seed=seed) for n, f in frames.items()}
        assert render(shuffled) == expected


def test_an_alert_says_whether_its_move_is_our_change(frames: dict[str, pl.DataFrame]) -> None:
    alerts = frames["alerts"]
    causes = ["policy", *[None] * (alerts.height - 1)]
    page = render({**frames, "alerts": alerts.with_columns(pl.Series("cause", causes))})
    table = page[page.index("<table id='alerts'>") :]
    assert table.count("our change</span>") == 1 and "the data</span>" not in table
    assert "our change</span>" not in render(frames)  # without the column: nothing
