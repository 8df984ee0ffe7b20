"""Ring pages in headless Chromium: screenshots for review and time to interactive.

    python benchmarks/bench_viz.py --out viz-shots/            # needs Debian's chromium

Writes ``ring.png`` (a ring page of the demo marketplace), ``index.png`` and ``big-ring.png``
into ``--out``, and prints how long a ring page of about 500 nodes (400 sellers bound by 100
identifiers) takes from navigation to its first drawn frame (target under 5 s). Prints
figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
from playwright.sync_api import sync_playwright

from syndicate.demo import run_demo
from syndicate.viz.data import RingViewData
from syndicate.viz.pages import render_ring_page


def big_ring(
    n_sellers: int, n_identifiers: int, seed: int
) -> tuple[dict[str, object], RingViewData]:
    """One ring of ``n_sellers`` sellers, each holding 3 of ``n_identifiers`` identifiers."""
    rng = np.random.default_rng(seed)
    sellers = [f"s{i:04d}" for i in range(n_sellers)]
    kinds = ["payout", "device", "address", "email", "phone", "ip"]
    ids = [(kinds[i % len(kinds)], f"value-{i:04d}") for i in range(n_identifiers)]
    held = {(s, *ids[j]) for s in sellers for j in rng.choice(n_identifiers, 3, replace=False)}
    identifiers = pl.DataFrame(
        sorted(held), schema=["seller_id", "kind", "key"], orient="row"
    ).with_columns(
        pl.lit("ring-big").alias("ring_id"),
        pl.lit(False).alias("hub"),
        pl.len().over("kind", "key").cast(pl.UInt32).alias("n_sellers"),
    )
    members = pl.DataFrame(
        {
            "ring_id": "ring-big",
            "seller_id": sellers,
            "seller_score": rng.random(n_sellers),
            "decision": rng.choice(["syndicate", "review", "clear"], n_sellers),
            "reasons": [["payout …0001 shared with 3 sellers"]] * n_sellers,
            "created_at": [None] * n_sellers,
            "known_label": [None] * n_sellers,
        },
        schema_overrides={"created_at": pl.Datetime("us", "UTC"), "known_label": pl.Int8},
    )
    relations = pl.DataFrame(
        schema={"ring_id": pl.String, "src": pl.String, "dst": pl.String, "relation": pl.String}
    )
    ring = {"ring_id": "ring-big", "size": n_sellers, "ring_score": 0.9, "decision": "syndicate"}
    return ring, RingViewData(members, identifiers, relations)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("viz-shots"))
    parser.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        demo = run_demo(Path(folder) / "demo", n_sellers=20_000)
        index = demo.outputs["viz"]
        ring_page = sorted((index.parent / "rings").glob("*.html"))[0]
        ring, data = big_ring(400, 100, seed=0)
        start = time.perf_counter()
        big_html = render_ring_page(ring, data)
        rendered = time.perf_counter() - start
        big = Path(folder) / "big.html"
        big.write_text(big_html, encoding="utf-8")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=args.chromium, args=["--no-sandbox"]
            )
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            for path, name in ((ring_page, "ring.png"), (index, "index.png")):
                page.goto(path.as_uri())
                page.screenshot(path=str(args.out / name), full_page=name == "index.png")
            timings = []
            for _ in range(3):
                start = time.perf_counter()
                page.goto(big.as_uri())
                page.wait_for_function("window.syndicateDrawn === true", timeout=60_000)
                timings.append(time.perf_counter() - start)
            nodes = page.evaluate("window.syndicateNetwork.body.data.nodes.length")
            page.screenshot(path=str(args.out / "big-ring.png"))
            browser.close()
    shots = ", ".join(str(args.out / n) for n in ("ring.png", "index.png", "big-ring.png"))
    print(f"screenshots: {shots}")
    print(
        f"big ring page: {nodes} nodes, {len(big_html) / 1e6:.1f} MB, rendered in {rendered:.2f} s"
    )
    print(
        "time to first drawn frame in headless Chromium: "
        + " / ".join(f"{t:.2f} s" for t in timings)
        + " (target < 5 s)"
    )


if __name__ == "__main__":
    main()
