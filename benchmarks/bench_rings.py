"""Ring recovery and speed of graph building plus ring detection on the synthetic marketplace.

    python benchmarks/bench_rings.py --sellers 100000                 # recovery, no camouflage
    python benchmarks/bench_rings.py --sellers 100000 --camouflage off light heavy
    python benchmarks/bench_rings.py --sellers 1000000     # speed (graph + rings < 10 s)
    python benchmarks/bench_rings.py --sellers 1000000 --mega-hub   # plus one IP on every seller

For each camouflage preset (``syndicate.synth.CAMOUFLAGE_PRESETS``: light = 30% of ring
members on one popular IP; heavy = every member on two popular IPs/devices of about 36
sellers each, shared with honest sellers and other rings, plus 20% chain-like rings) the
marketplace is generated in a child process and written to Parquet, so the peak memory
printed is that of loading, validating, graph building and ring detection only.

Rows printed per preset:

* ``legacy``: the graph and detector before camouflage hardening (``kind_weight /
  log2(n)`` pair weights, no backbone, Leiden only);
* ``leiden``: today's graph (resource-allocation weights, popular-identifier backbone,
  re-splitting over ``max_ring_size``), Leiden only (``dense_blocks = false``);
* ``dense_block``: the dense-block detector alone (its blocks as rings);
* ``combined``: the default, Leiden's rings reconciled with the dense blocks.

Recall: share of true rings whose best-matching found ring has Jaccard >= 0.5. Precision:
share of found rings that match a true ring or a legit group (household, business) at
Jaccard >= 0.5. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from syndicate.config import Config
from syndicate.evaluate import ring_recovery, truth_groups
from syndicate.graphs.communities import find_rings, graph_blocks
from syndicate.graphs.linkage import build_linkage
from syndicate.validation import load_inputs

LEGACY = {"pair_weighting": "log", "popular_limit": 60, "dense_blocks": False}


def generate(sellers: int, seed: int, camouflage: str, folder: str) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "syndicate.cli",
            "synth",
            "--quiet",
            "--sellers",
            str(sellers),
            "--seed",
            str(seed),
            "--camouflage",
            camouflage,
            "--out",
            folder,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sellers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--camouflage", nargs="+", default=["off"], choices=["off", "light", "heavy"]
    )
    parser.add_argument(
        "--mega-hub", action="store_true", help="add one IP value shared by every seller"
    )
    parser.add_argument(
        "--no-legacy", action="store_true", help="skip the legacy and Leiden-only rows"
    )
    args = parser.parse_args()
    print(f"{'preset':<8} {'detector':<12} {'recall':>7} {'precision':>9} {'rings':>7}")
    for preset in args.camouflage:
        run(args, preset)


def run(args: argparse.Namespace, preset: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        generate(args.sellers, args.seed, preset, folder)
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
    true_rings, legit = truth_groups(truth)

    def show(name: str, found: pl.DataFrame) -> None:
        recovery = ring_recovery(found, true_rings, legit)
        print(
            f"{preset:<8} {name:<12} {recovery.recall:>7.3f} {recovery.precision:>9.3f} "
            f"{recovery.n_found_rings:>7,}"
        )

    def ring_members(found_rings: object) -> pl.DataFrame:
        members = found_rings.members  # type: ignore[attr-defined]
        return members.filter(pl.col("ring_id").is_not_null()).select("seller_id", "ring_id")

    if not args.no_legacy:
        legacy = dataclasses.replace(config, **LEGACY)  # type: ignore[arg-type]
        legacy_linkage = build_linkage(inputs.links, inputs.edges, legacy)
        show("legacy", ring_members(find_rings(legacy_linkage, legacy)))
        leiden = dataclasses.replace(config, dense_blocks=False)
        show("leiden", ring_members(find_rings(linkage, leiden)))
    block_start = time.perf_counter()
    blocks = graph_blocks(linkage, config)
    block_time = time.perf_counter() - block_start
    show("dense_block", blocks.members.rename({"block_id": "ring_id"}))
    show("combined", ring_members(rings))
    component = rings.members.group_by("component").len()["len"].max()
    print(
        f"  sellers {args.sellers:,}  links {inputs.links.height:,}  "
        f"seller edges {linkage.edges.height:,} (backbone "
        f"{int(linkage.edges['backbone'].sum()):,})  hubs {linkage.hubs.height:,}  "
        f"true rings {true_rings['group'].n_unique():,}  largest backbone component "
        f"{component:,}"
    )
    print(
        f"  graph build {built - validated:.2f} s  ring detection "
        f"{done - built:.2f} s (dense blocks {block_time:.2f} s)  graph + rings "
        f"{done - validated:.2f} s  (target < 10 s at 1M)  validation {validated - start:.2f} s"
    )
    print(f"  peak RSS {peak_gib:.2f} GiB (loading, validation, graph, rings, comparisons)")
    if args.mega_hub:
        print(f"  largest hub: {linkage.hubs['n_sellers'].max():,} sellers")


if __name__ == "__main__":
    main()
