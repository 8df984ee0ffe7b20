"""Speed and memory of generating and writing the synthetic marketplace.

    python benchmarks/bench_synth.py                        # 100,000 and 1,000,000 sellers
    python benchmarks/bench_synth.py --sellers 300000 --seed 7

For each size, in a fresh subprocess (so that the peak RSS is that size's own): the wall
seconds of ``generate_marketplace`` and of ``write_marketplace`` into a temporary folder,
the process's peak RSS, the rows of ``links`` and ``labels``, the planted rings and the
size of the Parquet files. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from syndicate.synth import generate_marketplace, write_marketplace


def peak_rss_mib() -> float:
    """This process's peak resident set size so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, else KiB


def measure(n_sellers: int, seed: int) -> dict[str, float | int]:
    """Generate and write one marketplace; its timings, peak RSS and table sizes."""
    start = time.perf_counter()
    market = generate_marketplace(n_sellers=n_sellers, seed=seed)
    generated = time.perf_counter()
    generate_rss = peak_rss_mib()
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as folder:
        files = write_marketplace(market, folder)
        written = time.perf_counter()
        parquet_bytes = sum(path.stat().st_size for path in files.values())
    rings = market.truth["ring"].drop_nulls()
    return {
        "sellers": n_sellers,
        "generate_s": generated - start,
        "write_s": written - generated,
        "generate_rss_mib": generate_rss,
        "peak_rss_mib": peak_rss_mib(),
        "links": market.links.height,
        "labels": market.labels.height,
        "rings": rings.n_unique(),
        "ring_members": rings.len(),
        "parquet_mib": parquet_bytes / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sellers",
        type=int,
        nargs="+",
        default=[100_000, 1_000_000],
        metavar="N",
        help="marketplace sizes to measure (default 100000 1000000)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # child process
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.sellers[0], args.seed)))
        return

    print(f"seed {args.seed}; each size in its own process; wall seconds, peak RSS in MiB")
    header = (
        f"{'sellers':>10} {'generate s':>10} {'write s':>8} {'RSS gen':>8} {'RSS peak':>8} "
        f"{'links':>11} {'labels':>9} {'rings':>7} {'members':>8} {'parquet':>8}"
    )
    print(header)
    command = [sys.executable, str(Path(__file__).resolve()), "--one", "--seed", str(args.seed)]
    for n_sellers in args.sellers:
        # The child prints its figures as one JSON line; its errors go straight to stderr.
        child = subprocess.run(
            [*command, "--sellers", str(n_sellers)], check=True, stdout=subprocess.PIPE, text=True
        )
        row = json.loads(child.stdout.strip().splitlines()[-1])
        print(
            f"{row['sellers']:>10,} {row['generate_s']:>10.2f} {row['write_s']:>8.2f} "
            f"{row['generate_rss_mib']:>8,.0f} {row['peak_rss_mib']:>8,.0f} {row['links']:>11,} "
            f"{row['labels']:>9,} {row['rings']:>7,} {row['ring_members']:>8,} "
            f"{row['parquet_mib']:>7,.0f}M",
            flush=True,
        )


if __name__ == "__main__":
    main()
