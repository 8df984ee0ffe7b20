"""``syndicate run`` end to end on synthetic marketplaces: wall time, stages, peak memory.

    python benchmarks/bench_run.py --sellers 1000000            # target: < 120 s, < 8 GiB
    python benchmarks/bench_run.py --sellers 100000 1000000 3000000 --data bench-data/
    python benchmarks/bench_run.py --real-like --sellers 30000 --repeat 3   # target: < 4 s

For each size the marketplace is generated once (cached under ``--data``), then
``syndicate run`` runs as a child process exactly as a batch job would call it (with
``--previous`` pointing at its own earlier output from the second run on, when
``--repeat`` > 1). The script prints the wall time, the time of each stage (from
``run.json``), the child's peak resident memory, and how time grows with size. It prints
figures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

from syndicate.synth import (
    generate_marketplace,
    generate_real_like,
    with_label_share,
    write_marketplace,
)


def marketplace(
    n_sellers: int,
    seed: int,
    data: Path,
    label_share: float | None = None,
    real_like: bool = False,
) -> dict[str, Path]:
    """The synthetic input files of one size, generated once."""
    suffix = f"-labels{label_share}" if label_share else ""
    kind = "real-like" if real_like else "market"
    folder = data / f"{kind}-{n_sellers}-seed{seed}{suffix}"
    files = {name: folder / f"{name}.parquet" for name in ("sellers", "links", "labels")}
    if not all(path.is_file() for path in files.values()):
        start = time.perf_counter()
        if real_like:
            market = generate_real_like(n_sellers=n_sellers, seed=seed)
        else:
            market = generate_marketplace(n_sellers=n_sellers, seed=seed)
        if label_share:
            market = with_label_share(market, label_share, seed=seed)
        write_marketplace(market, folder)
        print(f"  generated {n_sellers:,} sellers in {time.perf_counter() - start:.1f} s")
    return files


def run_once(files: dict[str, Path], out: Path, previous: bool) -> tuple[float, int, dict]:
    """One ``syndicate run`` in a child process: wall seconds, peak RSS bytes, run.json."""
    argv = [sys.executable, "-m", "syndicate.cli", "run", "--quiet", "--out", str(out)]
    for name, path in files.items():
        argv += [f"--{name}", str(path)]
    if previous:
        argv += ["--previous", str(out)]
    # ru_maxrss of RUSAGE_CHILDREN is the largest child so far: run each size in a fresh
    # grandchild so the figure is this run's.
    probe = (
        "import resource, subprocess, sys;"
        "code = subprocess.call(sys.argv[1:]);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss);"
        "sys.exit(code)"
    )
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", probe, *argv], capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"syndicate run failed with exit code {done.returncode}")
    peak_kib = int(done.stdout.strip().splitlines()[-1])
    manifest = json.loads((out / "run.json").read_text(encoding="utf-8"))
    return wall, peak_kib * 1024, manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sellers", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=Path("bench-data"))
    parser.add_argument("--repeat", type=int, default=1, help="runs per size (2nd on: --previous)")
    parser.add_argument(
        "--label-share",
        type=float,
        default=None,
        help="label this share of all sellers (truly, seeded) instead of the generator's ~4%%",
    )
    parser.add_argument(
        "--real-like",
        action="store_true",
        help="the real-like preset (one device and one IP per user, 40%% labelled)",
    )
    args = parser.parse_args()
    preset = "real-like preset" if args.real_like else "marketplace preset"
    print(f"syndicate run benchmark: {os.cpu_count()} cores, seed {args.seed}, {preset}")
    results = []
    for n in args.sellers:
        print(f"{n:,} sellers")
        files = marketplace(n, args.seed, args.data, args.label_share, args.real_like)
        out = args.data / f"run-{'real-like-' if args.real_like else ''}{n}-seed{args.seed}"
        for attempt in range(args.repeat):
            wall, peak, manifest = run_once(files, out, previous=attempt > 0)
            lineage = manifest["lineage"]
            print(
                f"  run {attempt + 1}: wall {wall:.1f} s "
                f"(in-process {manifest['wall_seconds']:.1f} s), peak RSS {peak / 2**30:.2f} GiB, "
                f"{manifest['counts']['rings']:,} rings, "
                f"lineage {', '.join(f'{k} {v:,}' for k, v in lineage.items() if v)}"
            )
            for step in manifest["steps"]:
                print(f"    {step['step']:<42} {step['seconds']:8.1f} s")
        results.append((n, wall, peak))
    if len(results) > 1:
        print("growth (last run of each size):")
        for (n0, w0, _), (n1, w1, _) in itertools.pairwise(results):
            exponent = math.log(w1 / w0) / math.log(n1 / n0)
            print(
                f"  {n0:,} -> {n1:,}: time x{w1 / w0:.2f} for size x{n1 / n0:.1f} "
                f"(~n^{exponent:.2f})"
            )


if __name__ == "__main__":
    main()
