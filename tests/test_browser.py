"""Ring pages in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

Skipped, with the reason, when Playwright or the browser is missing; ``.ci/run`` installs
both so these run in CI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from syndicate import Config, load_inputs, run_pipeline, write_outputs
from tests.conftest import CHROMIUM, open_page

pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed (pip install -e '.[dev]')"
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium on PATH (Debian: apt-get install chromium)"
)

PAYLOAD = '<img src=x onerror="window.__pwned=1">'


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Two rings: a clique of four bound by a payout and a device (one member's id is an
    # XSS payload), and a triangle bound by an address; one IP is a hub.
    ids = ["a1", "a2", "a3", PAYLOAD, "b1", "b2", "b3", "z"]
    links = [
        *[(s, "payout", "PAY-1") for s in ids[:4]],
        *[(s, "device", "dev-9") for s in ids[:2]],
        *[(s, "address", "1 Main St") for s in ids[4:7]],
        *[(s, "ip", "10.0.0.9") for s in ids],
    ]
    inputs = load_inputs(
        pl.DataFrame({"seller_id": ids}),
        pl.DataFrame(links, schema=["seller_id", "kind", "value"], orient="row"),
        labels=pl.DataFrame({"seller_id": ["a1"], "label": [1]}),
    )
    result = run_pipeline(inputs, Config(hub_limits={"ip": 5}))
    out = tmp_path_factory.mktemp("run")
    write_outputs(result, out)
    return out


def ring_pages(run_dir: Path) -> dict[int, Path]:
    """Ring pages by ring size."""
    rings = pl.read_parquet(run_dir / "rings.parquet")
    return {
        size: run_dir / "viz" / "rings" / f"{ring_id}.html"
        for ring_id, size in rings.select("ring_id", "size").iter_rows()
    }


def test_ring_page_draws_its_sellers_and_identifiers_offline(browser: Any, run_dir: Path) -> None:
    page, errors, requests = open_page(browser, ring_pages(run_dir)[4])
    page.wait_for_function("window.syndicateReady === true", timeout=10_000)
    # 4 sellers + the payout + the device; the hub IP is not drawn.
    assert page.evaluate("window.syndicateNetwork.body.data.nodes.length") == 6
    assert page.evaluate("window.syndicateNetwork.body.data.edges.length") == 6
    assert errors == []
    assert requests and all(url.startswith("file://") for url in requests)
    assert "Held back as hubs" in page.inner_text("aside")
    page.close()


def test_an_injected_seller_id_shows_as_text_and_never_runs(browser: Any, run_dir: Path) -> None:
    page, errors, _ = open_page(browser, ring_pages(run_dir)[4])
    page.wait_for_function("window.syndicateReady === true", timeout=10_000)
    assert page.evaluate("window.__pwned") is None
    assert PAYLOAD in page.inner_text("table")  # shown as text in the member table
    assert page.evaluate("document.querySelectorAll('aside img, header img').length") == 0
    label = f"s:{PAYLOAD}"
    assert page.evaluate(f"window.syndicateNetwork.body.data.nodes.get({label!r}).label") == PAYLOAD
    assert errors == []
    page.close()


def test_index_links_resolve_to_ring_pages(browser: Any, run_dir: Path) -> None:
    page, errors, requests = open_page(browser, run_dir / "viz" / "index.html")
    hrefs = page.eval_on_selector_all("#rings a", "links => links.map(a => a.href)")
    assert len(hrefs) == 2
    for href in hrefs:
        target, more_errors, _ = open_page(browser, Path(href.removeprefix("file://")))
        target.wait_for_function("window.syndicateReady === true", timeout=10_000)
        assert target.title().endswith("· syndicate") and more_errors == []
        target.close()
    assert errors == [] and all(url.startswith("file://") for url in requests)
    page.close()
