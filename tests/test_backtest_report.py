"""The backtest's ``report.html``: page text on the hand-built run of ``test_backtest``, then
the page in Chromium (offline, no script, the strategies table, hostile text shown as text)."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from syndicate.htmlkit import CSP
from syndicate.strategies import backtest_strategies, render_report
from syndicate.strategies.backtest import write_backtest
from syndicate.strategies.file import parse_strategies
from tests.conftest import open_page
from tests.test_backtest import STRATEGIES, market, tables

HOSTILE_RUN = 'runs/<img src=x onerror="window.__pwned=2">'
HOSTILE_RING = "<b>R3</b>"
SCRIPT = "<script>window.__pwned=1</script>"


def hostile_market() -> dict[str, pl.DataFrame]:
    """The hand-built run with a ring id and a legit group that are markup."""
    frames = market()
    frames["labels"] = frames["labels"].with_columns(pl.col("ring_id").replace("R3", HOSTILE_RING))
    frames["rings"] = frames["rings"].with_columns(pl.col("ring_id").replace("R3", HOSTILE_RING))
    frames["truth"] = frames["truth"].with_columns(
        pl.col("legit_group").replace("business-7", "<i>biz</i>-7")
    )
    return frames


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    frames = hostile_market()
    earlier = tables(frames, HOSTILE_RUN, datetime(2026, 2, 28, tzinfo=UTC))
    result = backtest_strategies(
        parse_strategies(STRATEGIES), [tables(frames), earlier], frames["truth"]
    )
    return result.document


@pytest.fixture(scope="module")
def page(document: dict[str, Any]) -> str:
    return render_report(document)


def test_the_strategies_table_lists_model_bands_first(page: str) -> None:
    table = re.search(r"<table id='strategies'>.*?</table>", page, re.S)
    assert table is not None
    names = re.findall(r"data-strategy='([^']+)'", table.group())
    assert names == [
        *("model:syndicate", "model:review"),
        *("big-ring", "many-devices", "big-orders", "retired"),
    ]
    assert "off: listed, not evaluated" in table.group()
    # The review band: its own precision (50.0%) and, below, the cumulative one (60.0%).
    review = re.search(r"data-strategy='model:review'>.*?</tr>", table.group(), re.S)
    assert review is not None
    assert re.search(r"50\.0%.*cumulative</span> 60\.0%", review.group(), re.S)


def test_overlap_matrix_and_false_positives_and_charts(page: str) -> None:
    assert "<table class='matrix' id='overlap'>" in page
    # model:syndicate × big-ring: 2 of 4 = 50%; each ordered pair once, both ways.
    assert page.count("rgba(44,127,184,0.50)") == 2
    assert "<table id='false-positives'>" in page
    assert page.count("class='chart'") == 5  # two runs: one chart per evaluated set


def test_user_text_is_escaped(page: str) -> None:
    for text in (SCRIPT, HOSTILE_RUN, HOSTILE_RING, "<i>biz</i>", "ring team & co"):
        assert text not in page or (text == "ring team & co" and "ring team &amp; co" in page)
        assert html.escape(text, quote=True) in page, text
    assert "<script" not in page.replace(html.escape(SCRIPT), "")
    assert f'content="{CSP}"' in page


def test_same_document_same_bytes(document: dict[str, Any], page: str) -> None:
    frames = {
        name: frame.sample(fraction=1.0, shuffle=True, seed=7)
        for name, frame in hostile_market().items()
    }
    earlier = tables(frames, HOSTILE_RUN, datetime(2026, 2, 28, tzinfo=UTC))
    again = backtest_strategies(
        parse_strategies(STRATEGIES), [earlier, tables(frames)], frames["truth"]
    )
    assert render_report(again.document) == page


def test_one_run_draws_no_chart() -> None:
    frames = market()
    result = backtest_strategies(parse_strategies(STRATEGIES), [tables(frames)])
    page = render_report(result.document)
    assert "class='chart'" not in page and "truth precision" not in page


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frames = hostile_market()
    result = backtest_strategies(
        parse_strategies(STRATEGIES),
        [tables(frames), tables(frames, HOSTILE_RUN, datetime(2026, 2, 28, tzinfo=UTC))],
        frames["truth"],
    )
    out = tmp_path_factory.mktemp("backtest")
    write_backtest(result, out)
    return out


@pytest.mark.browser
def test_report_opens_offline_and_shows_hostile_text_as_text(
    browser: Any, report_dir: Path
) -> None:
    page, errors, requests = open_page(browser, report_dir / "report.html")
    table = page.locator("#strategies")
    assert table.is_visible()
    assert page.locator("#strategies tbody tr").count() == 6
    first = page.locator("#strategies tbody tr").first
    assert first.get_attribute("data-strategy") == "model:syndicate"
    assert SCRIPT in page.locator("[data-strategy='big-ring']").first.inner_text()
    assert HOSTILE_RUN in page.locator("#runs").inner_text()
    assert HOSTILE_RING in page.locator("#strategies").inner_text()
    charts = page.locator("svg.chart")
    assert charts.count() == 5
    box = charts.first.bounding_box()
    assert box is not None and box["width"] > 100 and box["height"] > 40
    assert page.evaluate("window.__pwned") is None
    assert errors == []
    assert requests == [(report_dir / "report.html").as_uri()]
    page.close()
