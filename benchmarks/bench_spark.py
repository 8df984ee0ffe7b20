"""``syndicate run --engine spark`` in local mode: stage times and peak memory.

    python benchmarks/bench_spark.py --sellers 1000000            # target: local[2], < 8 GiB
    python benchmarks/bench_spark.py --sellers 100000 --master "local[4]" --compare

For each size the marketplace is generated once (cached under ``--data``, as
``bench_run.py`` does), then ``syndicate run --engine spark`` runs as a child process, as
a batch job would call it. The script prints the wall time, each stage's time (from
``run.json``: validation, graph and components, rings and component features per bucket,
features and anomaly score, training and scoring, writing), the buckets, and the peak
resident memory of the whole process tree (the JVM, the Python driver and Spark's Python
workers, summed: sampled every 0.2 s from ``/proc``, Linux only) with the peak of each
part. ``--compare`` runs the default engine on the same files too. It prints figures; it
asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench_run import marketplace  # the same cached marketplaces


def _tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (from ``/proc/<pid>/task/*/children``)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{current}/task/{task}/children") as children:
                    todo += [int(child) for child in children.read().split()]
            except OSError:
                continue
    return found


def _rss_and_kind(pid: int) -> tuple[int, str]:
    """Resident bytes of a process and what it is (jvm, driver, worker, other)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            rss = next(
                (int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS")), 0
            )
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            argv = cmdline.read().split(b"\0")
    except OSError:
        return 0, "gone"
    text = b" ".join(argv)
    if b"java" in argv[0]:
        return rss, "jvm"
    if b"pyspark" in text or b"daemon" in text or b"worker" in text:
        return rss, "workers"
    if b"syndicate.cli" in text:
        return rss, "driver"
    return rss, "other"


class Sampler:
    """Peak resident memory of a process tree, in total and by kind of process."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        self.pid, self.every = pid, every
        self.peak_total = 0
        self.peak_by_kind: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            by_kind: dict[str, int] = {}
            for pid in _tree(self.pid):
                rss, kind = _rss_and_kind(pid)
                by_kind[kind] = by_kind.get(kind, 0) + rss
            self.peak_total = max(self.peak_total, sum(by_kind.values()))
            for kind, rss in by_kind.items():
                self.peak_by_kind[kind] = max(self.peak_by_kind.get(kind, 0), rss)
            self._stop.wait(self.every)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_once(
    files: dict[str, Path], out: Path, engine: str, master: str
) -> tuple[float, Sampler | None, dict]:
    """One ``syndicate run`` in a child process: wall seconds, memory, run.json."""
    argv = [sys.executable, "-m", "syndicate.cli", "run", "--quiet", "--out", str(out)]
    for name, path in files.items():
        argv += [f"--{name}", str(path)]
    if engine == "spark":
        argv += ["--engine", "spark", "--spark-master", master]
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    sampler = Sampler(child.pid) if os.path.isdir("/proc") else None
    if sampler is not None:
        with sampler:
            _, errors = child.communicate()
    else:
        _, errors = child.communicate()
    wall = time.perf_counter() - start
    if child.returncode != 0:
        sys.stderr.write(errors)
        raise SystemExit(f"syndicate run failed with exit code {child.returncode}")
    manifest = json.loads((out / "run.json").read_text(encoding="utf-8"))
    return wall, sampler, manifest


def report(label: str, wall: float, sampler: Sampler | None, manifest: dict) -> None:
    memory = ""
    if sampler is not None:
        parts = ", ".join(
            f"{kind} {rss / 2**30:.2f}" for kind, rss in sorted(sampler.peak_by_kind.items())
        )
        memory = f", peak RSS {sampler.peak_total / 2**30:.2f} GiB (by process, GiB: {parts})"
    counts = manifest["counts"]
    print(
        f"  {label}: wall {wall:.1f} s (in-process {manifest['wall_seconds']:.1f} s){memory}; "
        f"{counts['rings']:,} rings, {counts['linked_sellers']:,} linked sellers"
    )
    if "spark" in manifest:
        facts = manifest["spark"]
        print(
            f"    {facts['master']}: {facts['buckets']:,} buckets, "
            f"{facts['giant_components']:,} giant components, largest "
            f"{facts['largest_component']:,} sellers, {facts['component_rounds']} "
            "large-star / small-star rounds"
        )
    for step in manifest["steps"]:
        print(f"    {step['step']:<42} {step['seconds']:8.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sellers", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=Path("bench-data"))
    parser.add_argument("--master", default="local[2]", help="Spark master (default local[2])")
    parser.add_argument("--compare", action="store_true", help="run the default engine too")
    args = parser.parse_args()
    memory = os.environ.get("SYNDICATE_SPARK_DRIVER_MEMORY", "3g (default)")
    print(
        f"syndicate run --engine spark benchmark: {os.cpu_count()} cores, seed {args.seed}, "
        f"master {args.master}, driver memory {memory}"
    )
    for n in args.sellers:
        print(f"{n:,} sellers")
        files = marketplace(n, args.seed, args.data)
        out = args.data / f"run-spark-{n}-seed{args.seed}"
        report("spark", *run_once(files, out, "spark", args.master))
        if args.compare:
            local = args.data / f"run-local-{n}-seed{args.seed}"
            report("local", *run_once(files, local, "local", args.master))


if __name__ == "__main__":
    main()
