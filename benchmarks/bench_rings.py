"""Ring recovery and speed of graph building plus ring detection on the synthetic marketplace.

    python benchmarks/bench_rings.py --sellers 100000          # recovery (target >= 0.9 / 0.9)
    python benchmarks/bench_rings.py --sellers 1000000         # speed (target < 20 s, < 4 GiB)
    python benchmarks/bench_rings.py --sellers 1000000 --mega-hub   # plus one IP on every seller

The marketplace is generated in a child process and written to Parquet, so the peak memory
printed is that of loading, validating, graph building and ring detection only.

Recall: share of true rings whose best-matching found ring has Jaccard >= 0.5. Precision:
share of found rings that match a true ring or a legit group (household, business) at
Jaccard >= 0.5. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from syndicate.config import Config
from syndicate.evaluate import ring_recovery, truth_groups
from syndicate.graphs.communities import find_rings
from syndicate.graphs.linkage import build_linkage
from syndicate.validation import load_inputs


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sellers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--mega-hub", action="store_true", help="add one IP value shared by every seller"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "syndicate.cli",
                "synth",
                "--quiet",
                "--sellers",
                str(args.sellers),
                "--seed",
                str(args.seed),
                "--out",
                folder,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        truth = pl.read_parquet(Path(folder) / "truth.parquet")
        links = pl.read_parquet(Path(folder) / "links.parquet")
        sellers = pl.read_parquet(Path(folder) / "sellers.parquet")
    if args.mega_hub:
        mega = sellers.select("seller_id", kind=pl.lit("ip"), value=pl.lit("10.0.0.1"))
        links = pl.concat([links.drop("seen_at"), mega])
    start = time.perf_counter()
    inputs = load_inputs(sellers, links)
    config = Config(seed=args.seed)
    validated = time.perf_counter()
    linkage = build_linkage(inputs.links, inputs.edges, config)
    built = time.perf_counter()
    rings = find_rings(linkage, config)
    done = time.perf_counter()
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    found = rings.members.filter(pl.col("ring_id").is_not_null()).select("seller_id", "ring_id")
    true_rings, legit = truth_groups(truth)
    recovery = ring_recovery(found, true_rings, legit)
    recall, precision, n_found = recovery.recall, recovery.precision, recovery.n_found_rings
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
    print(f"validation {validated - start:.2f} s (not in the total above)")
    print(f"peak RSS {peak_gib:.2f} GiB (loading, validation, graph, rings)  (target < 4 GiB)")
    if args.mega_hub:
        print(f"largest hub: {linkage.hubs['n_sellers'].max():,} sellers")


if __name__ == "__main__":
    main()
