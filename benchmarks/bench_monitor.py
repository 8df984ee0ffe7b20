"""The monitor on the real daily job: false alerts on quiet days, the attack day, its speed.

Quiet histories (``--quiet-days`` days, no attack, no campaign, several seeds) go through
the daily job (``run_job`` with ``--previous`` and ``--as-of``) and ``monitor_runs``; the
script prints the incidents on rate metrics per 30 quiet days (target: at most one), by
cause: ``policy`` (the replay split puts the move on our own change, such as a retrained
model or a threshold drawn afresh), ``data``, or not replayed, and which fall on a day where
the generator's truth itself alerts (the onboarding rates computed from the truth and judged
by the same rules: a large ring onboarding at once; see :func:`truth_alerts`). One
history with an attack and a campaign prints what the monitor said on those days
(target: an onboarding-rate alert naming the new rings on the attack day, none on the
campaign day). ``--speed`` times ``syndicate monitor`` over 30 run folders of 100k
sellers (target: under 5 s): one 100k run, copied 30 times with its as-of moved a day
each time (the monitor reads only ``metrics.parquet``, ``run.json`` and, for alerting
runs, ``rings.parquet``).

Usage::

    python benchmarks/bench_monitor.py --seeds 0 1 2 --quiet-days 30
    python benchmarks/bench_monitor.py --seeds 0 1 2 3 4 5 6 7 --keep DIR   # reuse the runs
    python benchmarks/bench_monitor.py --attack-only
    python benchmarks/bench_monitor.py --speed
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import polars as pl

from syndicate.config import Config
from syndicate.daily import DaysConfig, MarketplaceHistory, generate_days, write_days
from syndicate.job import run_job
from syndicate.monitor.alerts import RATE_METRICS, evaluate_history
from syndicate.monitor.metrics import RING_KIND
from syndicate.monitor.watch import monitor_runs

#: ``--fixed-thresholds``: decision thresholds set in config rather than drawn each day.
FIXED: dict[str, float] = {}


def daily_runs(history: MarketplaceHistory, folder: Path) -> list[Path]:
    config = history.config
    days = write_days(history, folder / "input")
    runs: list[Path] = []
    for day, day_folder in enumerate(days):
        run = folder / "runs" / day_folder.name
        run_job(
            sellers=day_folder / "sellers.parquet",
            links=day_folder / "links.parquet",
            labels=day_folder / "labels.parquet",
            out=run,
            previous=runs[-1] if runs else None,
            config=Config(seed=config.seed, **FIXED),  # type: ignore[arg-type]
            as_of=history.as_of(day),
        )
        runs.append(run)
    return runs


#: The onboarding rates whose truth the generator knows: the metric, and which new sellers
#: count (of the truth table's columns).
TRUTH_RATES = {
    "ring_onboarding_rate": pl.col("ring").is_not_null(),
    "bad_seller_onboarding_rate": pl.col("is_bad"),
}


def truth_alerts(history: MarketplaceHistory) -> set[tuple[str, object]]:
    """(metric, as_of) where the truth itself alerts: the onboarding rates computed from
    the generator's truth (ring members, bad sellers among each day's new sellers, with a
    ring row per ring) and judged by the monitor's own rules. A quiet history's rings start
    at random times, so some days see several rings onboard at once, as large as an attack
    wave; an alert there is not a false alert, and a perfect detector would raise it too."""
    truth = history.truth.filter(pl.col("day") >= 0)
    as_of = pl.DataFrame(
        {"day": range(len(history)), "as_of": [history.as_of(d) for d in range(len(history))]},
        schema={"day": pl.Int32, "as_of": pl.Datetime("us", "UTC")},
    )
    new = truth.group_by("day").agg(pl.len().cast(pl.Float64).alias("denominator"))
    rows = []
    for metric, counts in TRUTH_RATES.items():
        whole = truth.group_by("day").agg(counts.sum().cast(pl.Float64).alias("numerator"))
        rings = (
            truth.filter(counts & pl.col("ring").is_not_null())
            .group_by("day", "ring")
            .agg(pl.len().cast(pl.Float64).alias("numerator"))
        )
        for part, kind, segment in (
            (whole, None, pl.lit(None, pl.String)),
            (rings, RING_KIND, pl.col("ring")),
        ):
            rows.append(
                part.join(new, on="day").select(
                    "day",
                    pl.lit(metric).alias("metric"),
                    pl.lit(kind, pl.String).alias("segment_kind"),
                    segment.alias("segment"),
                    "numerator",
                    "denominator",
                    (pl.col("numerator") / pl.col("denominator")).alias("value"),
                )
            )
    frame = (
        pl.concat(rows)
        .join(as_of, on="day")
        .with_columns(pl.concat_str(pl.lit("truth/day-"), pl.col("day")).alias("run"))
        .drop("day")
    )
    judged = evaluate_history(frame)
    alerts = judged.filter((pl.col("status") == "alert") & pl.col("segment_kind").is_null())
    return set(alerts.select("metric", "as_of").iter_rows())


def quiet(seeds: list[int], n_days: int, base: int, keep: Path | None = None) -> None:
    print(f"quiet histories: {n_days} days, base {base:,} sellers, seeds {seeds}")
    print(
        f"{'seed':>4}  {'rate alerts':>11}  {'rate incidents':>14}  {'cause policy':>12}  "
        f"{'cause data':>10}  {'not replayed':>12}  {'in the truth':>12}  "
        f"{'count alerts':>12}  s"
    )
    per_30: list[float] = []
    paging: list[float] = []
    false: list[float] = []
    for seed in seeds:
        with tempfile.TemporaryDirectory() as tmp:
            clock = time.perf_counter()
            history = generate_days(
                DaysConfig(
                    days=n_days, base_sellers=base, seed=seed, attack_day=None, benign_day=None
                )
            )
            folder = keep / f"quiet-s{seed}" if keep else Path(tmp)
            runs = sorted((folder / "runs").glob("day-*")) if keep else []
            if len(runs) != n_days:  # kept histories are generated once
                if keep and folder.exists():
                    sys.exit(f"{folder} holds an incomplete history: remove it and run again")
                runs = daily_runs(history, folder)
            alerts = monitor_runs(runs, Path(tmp) / "monitor").alerts
            rates = alerts.filter(pl.col("metric").is_in(sorted(RATE_METRICS)))
            truth = truth_alerts(history)
            real = {
                incident
                for incident, metric, as_of in rates.select("incident", "metric", "as_of").rows()
                if (metric, as_of) in truth
            }
            incidents = rates.sort("as_of").unique("incident", keep="first", maintain_order=True)
            causes = dict(incidents.group_by("cause").len().iter_rows())
            per_30.append(incidents.height * 30 / n_days)
            # What pages someone (--fail-on-alert): incidents our own change does not explain.
            paging.append((incidents.height - causes.get("policy", 0)) * 30 / n_days)
            unexplained = incidents.filter(
                pl.col("cause").ne_missing("policy") & ~pl.col("incident").is_in(sorted(real))
            )
            false.append(unexplained.height * 30 / n_days)
            print(
                f"{seed:>4}  {rates.height:>11}  {incidents.height:>14}  "
                f"{causes.get('policy', 0):>12}  {causes.get('data', 0):>10}  "
                f"{causes.get(None, 0):>12}  {len(real):>12}  {alerts.height - rates.height:>12}  "
                f"{time.perf_counter() - clock:.0f}"
            )
            for row in incidents.iter_rows(named=True):
                seen = "; the truth alerts too" if row["incident"] in real else ""
                print(
                    f"      {row['as_of']:%m-%d} {row['metric']} ({row['cause']}{seen}): "
                    f"{row['explanation'][:220]}"
                )
    mean = sum(per_30) / len(per_30)
    print(f"rate-metric incidents per 30 quiet days: mean {mean:.2f}, worst {max(per_30):.2f}")
    rest = sum(paging) / len(paging)
    print(
        f"  not explained by our own change (cause policy; these page with --fail-on-alert): "
        f"mean {rest:.2f}, worst {max(paging):.2f}"
    )
    print(
        f"  of those, on days the truth does not alert either (false alerts): "
        f"mean {sum(false) / len(false):.2f}, worst {max(false):.2f}"
    )
    print("target: at most 1")


def attack(seed: int, base: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        history = generate_days(DaysConfig(days=14, base_sellers=base, seed=seed))
        runs, described = daily_runs(history, Path(tmp)), history.describe()
        alerts = monitor_runs(runs, Path(tmp) / "monitor").alerts
        for label, day in (
            ("attack", described["attack_day"]),
            ("campaign", described["benign_day"]),
        ):
            on_day = alerts.filter(pl.col("run") == str(runs[int(day)]))
            rates = on_day.filter(pl.col("metric").is_in(sorted(RATE_METRICS)))
            print(f"{label} day {day}: {on_day.height} alerts, {rates.height} on rates")
            as_of = history.as_of(int(day))
            said = sorted(metric for metric, when in truth_alerts(history) if when == as_of)
            print(f"   the truth alerts on: {', '.join(said) or 'nothing'}")
            for row in rates.filter(pl.col("segment_kind").is_null()).iter_rows(named=True):
                print(f"   {row['metric']}: {row['explanation']}")


def speed(n_sellers: int = 100_000, n_runs: int = 30) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        subprocess.run(
            [sys.executable, "-m", "syndicate.cli", "synth", "--sellers", str(n_sellers),
             "--out", str(base / "in"), "--quiet"], check=True, capture_output=True,
        )  # fmt: skip
        first = base / "runs" / "r00"
        files = {name: base / "in" / f"{name}.parquet" for name in ("sellers", "links", "labels")}
        run_job(out=first, **files)  # type: ignore[arg-type]
        manifest = json.loads((first / "run.json").read_text())
        start = pl.Series([manifest["as_of"]]).str.to_datetime()[0]
        runs = [first]
        for i in range(1, n_runs):
            run = base / "runs" / f"r{i:02d}"
            shutil.copytree(first, run)
            manifest["as_of"] = (start + timedelta(days=i)).isoformat()
            (run / "run.json").write_text(json.dumps(manifest))
            runs.append(run)
        clock = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "syndicate.cli", "monitor", "--quiet", "--out",
             str(base / "monitor"), "--runs", *map(str, runs)], check=True, capture_output=True,
        )  # fmt: skip
        wall = time.perf_counter() - clock
        print(done.stdout.decode().splitlines()[0])
        print(f"syndicate monitor over {n_runs} runs of {n_sellers:,} sellers: {wall:.2f} s "
              "(whole process; target under 5 s)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--quiet-days", type=int, default=30)
    parser.add_argument("--base", type=int, default=20_000, help="sellers before day 0")
    parser.add_argument("--attack-only", action="store_true")
    parser.add_argument("--speed", action="store_true")
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="keep the quiet histories' run folders under DIR/quiet-s<seed> and reuse them "
        "(to try monitor settings without running the daily job again)",
    )
    parser.add_argument(
        "--fixed-thresholds",
        nargs=2,
        type=float,
        metavar=("SYNDICATE", "REVIEW"),
        help="decide with these thresholds every day instead of drawing them from the labels",
    )
    args = parser.parse_args()
    if args.fixed_thresholds:
        FIXED.update(
            syndicate_threshold=args.fixed_thresholds[0], review_threshold=args.fixed_thresholds[1]
        )
    if args.speed:
        speed()
        return
    attack(args.seeds[0], args.base)
    if not args.attack_only:
        quiet(args.seeds, args.quiet_days, args.base, args.keep)


if __name__ == "__main__":
    main()
