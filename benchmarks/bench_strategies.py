"""``syndicate strategies backtest`` at scale: 20 strategies on a run of 1M sellers.

Target: the whole backtest (read, evaluate, statistics, write) in under 10 s on a 2-core
machine. The 20 strategies mix seller scope (12) and ring scope (8) with the kind of
conditions analysts write: thresholds on linkage and neighbourhood features, arithmetic,
``CASE``, ``COALESCE``, ``IN`` lists, the model's score; five are ``shadow`` and one is
``off``. The script prints the time of each phase (the tables are scanned when read and their
columns read when evaluated, as the command does) and the total, and the hits, precision
and recall of each strategy; it asserts nothing.

The run folder is read-only; it must have been written by a ``syndicate run`` recent
enough to record ``as_of`` and its labels file (``run.json``). Build one with::

    M=bench-data/market-1000000-seed0
    python -m syndicate.cli run --quiet --out /tmp/run1m --sellers $M/sellers.parquet \\
        --links $M/links.parquet --labels $M/labels.parquet

Usage::

    python benchmarks/bench_strategies.py --run /tmp/run1m [--truth $M/truth.parquet]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from syndicate.strategies.backtest import (
    evaluate_runs,
    measure_hits,
    read_run,
    read_truth,
    write_backtest,
)
from syndicate.strategies.file import parse_strategies

#: (name, scope, status, action, condition)
STRATEGIES: list[tuple[str, str, str, str, str]] = [
    (
        "payout-ring-bad",
        "seller",
        "active",
        "syndicate",
        "linked_by_payout >= 2 AND nbr1_known_bad >= 1",
    ),
    ("device-farm", "seller", "active", "review", "n_device >= 4 AND linked_by_device >= 3"),
    ("bad-neighbours", "seller", "shadow", "review", "nbr1_known_bad + nbr2_known_bad >= 3"),
    (
        "returns-spike",
        "seller",
        "active",
        "review",
        "return_rate > 0.35 AND orders_30d >= 5 AND seller_score >= 0.2",
    ),
    (
        "gmv-outlier",
        "seller",
        "shadow",
        "review",
        "gmv_30d > 10 * COALESCE(gmv_30d_nbr1_mean, 0) AND gmv_30d > 5000 AND degree >= 2",
    ),
    (
        "young-in-ring",
        "seller",
        "active",
        "review",
        "ring_size >= 4 AND age_vs_ring_median_days < -30 AND ring_known_bad >= 1",
    ),
    ("hub-holder", "seller", "shadow", "review", "n_hub_identifiers >= 2 AND degree >= 5"),
    (
        "low-rating-cluster",
        "seller",
        "active",
        "review",
        "rating < 3.5 AND rating_nbr1_mean < 3.8 AND degree >= 3",
    ),
    (
        "core-member",
        "seller",
        "active",
        "syndicate",
        "coreness >= 4 AND clustering > 0.5 AND nbr1_known_bad >= 2",
    ),
    (
        "anomalous",
        "seller",
        "shadow",
        "review",
        "anomaly_score > 0.7 AND CASE WHEN ring_size IS NULL THEN 0 ELSE ring_size END >= 3",
    ),
    (
        "score-band",
        "seller",
        "active",
        "review",
        "seller_score BETWEEN 0.4 AND 0.6 AND model_decision IN ('clear', 'review')",
    ),
    ("retired-rule", "seller", "off", "review", "degree > 100"),
    (
        "fast-ring",
        "ring",
        "active",
        "review",
        "ring_size >= 5 AND ring_onboarding_spread_days <= 30 AND ring_known_bad >= 1",
    ),
    (
        "dense-ring",
        "ring",
        "active",
        "syndicate",
        "ring_size >= 6 AND ring_density >= 0.8 AND ring_known_bad >= 2",
    ),
    ("big-ring", "ring", "shadow", "review", "ring_size >= 20"),
    (
        "mostly-bad-ring",
        "ring",
        "active",
        "syndicate",
        "ring_known_bad >= 3 AND ring_known_bad >= 0.5 * ring_labeled",
    ),
    ("structural", "ring", "active", "review", "ring_structure_score >= 0.8 AND ring_size >= 4"),
    (
        "scored-ring",
        "ring",
        "active",
        "review",
        "ring_score >= 0.5 AND ring_mean_seller_score >= 0.3",
    ),
    (
        "tight-onboarding",
        "ring",
        "active",
        "review",
        "ring_onboarding_mad_days <= 1 AND ring_size >= 3",
    ),
    (
        "new-ring-bad",
        "ring",
        "active",
        "review",
        "ring_status IN ('new', 'grown') AND ring_known_bad >= 1 AND ring_size >= 3",
    ),
]


def strategies_toml() -> str:
    return "".join(
        f'[[strategy]]\nname = "{name}"\nscope = "{scope}"\nstatus = "{status}"\n'
        f'action = "{action}"\nwhen = "{when}"\n\n'
        for name, scope, status, action, when in STRATEGIES
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=Path("/tmp/run1m"), help="a run folder")
    parser.add_argument("--truth", type=Path, help="a truth table (optional)")
    parser.add_argument("--out", type=Path, help="where to write (default: a temporary folder)")
    args = parser.parse_args()
    strategies = parse_strategies(strategies_toml(), source="bench strategies")
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-strategies-"))

    phases: dict[str, float] = {}
    start = time.perf_counter()
    run = read_run(args.run)
    truth = read_truth(args.truth) if args.truth else None
    phases["read (run.json, the labels file and its sha256, truth; tables scanned)"] = (
        time.perf_counter() - start
    )

    start = time.perf_counter()
    evaluated = evaluate_runs(strategies, [run], truth)
    phases["evaluate (the columns read, 20 strategies and the 2 model bands)"] = (
        time.perf_counter() - start
    )

    start = time.perf_counter()
    result = measure_hits(strategies, evaluated)
    phases["statistics"] = time.perf_counter() - start

    start = time.perf_counter()
    paths = write_backtest(result, out)
    phases["write (strategies.json, strategy_hits.parquet, report.html)"] = (
        time.perf_counter() - start
    )

    totals = result.document["totals"]
    print(
        f"backtest of {len(STRATEGIES)} strategies on {args.run}: {totals['sellers']:,} "
        f"sellers, {totals['known_bad']:,} known bad, {evaluated.hits.height:,} hits"
    )
    for phase, seconds in phases.items():
        print(f"  {seconds:6.2f} s  {phase}")
    print(f"  {sum(phases.values()):6.2f} s  total (target < 10 s)")
    for entry in result.strategies:
        if not entry["evaluated"]:
            print(f"    {entry['name']:<20} off")
            continue
        precision = "–" if entry["precision"] is None else f"{entry['precision']:.3f}"
        print(
            f"    {entry['name']:<20} {entry['scope']:<6} {entry['status']:<6} "
            f"hits {entry['hits']:>8,}  precision {precision:>5}  recall {entry['recall']:.3f}"
        )
    print(f"  outputs: {', '.join(str(p) for p in paths.values())}")


if __name__ == "__main__":
    main()
