"""Ring recovery and speed of graph building plus ring detection on the synthetic marketplace.

    python benchmarks/bench_rings.py --sellers 100000          # recovery (target >= 0.9 / 0.9)
    python benchmarks/bench_rings.py --sellers 1000000         # speed (target < 20 s, < 4 GiB)

Recall: share of true rings whose best-matching found ring has Jaccard >= 0.5. Precision:
share of found rings that match a true ring or a legit group (household, business) at
Jaccard >= 0.5. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import resource
import time

import polars as pl

from syndicate.config import Config
from syndicate.graphs.communities import find_rings
from syndicate.graphs.linkage import build_linkage
from syndicate.synth import generate_marketplace
from syndicate.validation import load_inputs


def best_jaccard(found: pl.DataFrame, truth: pl.DataFrame, group: str) -> pl.DataFrame:
    """For each group of ``truth`` (seller_id, group), its best Jaccard against ``found``."""
    overlap = (
        truth.join(found, on="seller_id").group_by(group, "ring_id").agg(pl.len().alias("both"))
    )
    truth_size = truth.group_by(group).agg(pl.len().alias("n_true"))
    found_size = found.group_by("ring_id").agg(pl.len().alias("n_found"))
    scored = (
        overlap.join(truth_size, on=group)
        .join(found_size, on="ring_id")
        .with_columns(
            (pl.col("both") / (pl.col("n_true") + pl.col("n_found") - pl.col("both"))).alias(
                "jaccard"
            )
        )
    )
    return scored


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sellers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    market = generate_marketplace(n_sellers=args.sellers, seed=args.seed)
    inputs = load_inputs(market.sellers, market.links, labels=market.labels)
    config = Config(seed=args.seed)
    start = time.perf_counter()
    linkage = build_linkage(inputs.links, inputs.edges, config)
    built = time.perf_counter()
    rings = find_rings(linkage, config)
    done = time.perf_counter()
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    found = rings.members.filter(pl.col("ring_id").is_not_null()).select("seller_id", "ring_id")
    true_rings = market.truth.filter(pl.col("ring").is_not_null()).select(
        "seller_id", pl.col("ring").alias("group")
    )
    legit = market.truth.filter(pl.col("legit_group").is_not_null()).select(
        "seller_id", pl.col("legit_group").alias("group")
    )
    ring_scores = best_jaccard(found, true_rings, "group")
    recall = (
        ring_scores.group_by("group")
        .agg(pl.col("jaccard").max())
        .filter(pl.col("jaccard") >= 0.5)
        .height
        / true_rings["group"].n_unique()
    )
    all_groups = pl.concat([true_rings, legit])
    matched = (
        best_jaccard(found, all_groups, "group").group_by("ring_id").agg(pl.col("jaccard").max())
    )
    n_found = found["ring_id"].n_unique()
    precision = matched.filter(pl.col("jaccard") >= 0.5).height / max(n_found, 1)
    print(
        f"sellers {args.sellers:,}  links {inputs.links.height:,}  "
        f"seller edges {linkage.edges.height:,}  hubs {linkage.hubs.height:,}"
    )
    print(
        f"true rings {true_rings['group'].n_unique():,}  "
        f"legit groups {legit['group'].n_unique():,}  found rings {n_found:,}"
    )
    print(f"ring recall    {recall:.3f}   (target >= 0.9)")
    print(f"ring precision {precision:.3f}   (target >= 0.9)")
    print(
        f"graph build {built - start:.2f} s  ring detection {done - built:.2f} s  "
        f"total {done - start:.2f} s  (target < 20 s at 1M)"
    )
    print(f"peak RSS {peak_gib:.2f} GiB (whole process, including generation)")


if __name__ == "__main__":
    main()
