"""Alerts on simulated histories: false alerts on quiet days, the attack and benign days, speed.

    python benchmarks/bench_alerts.py                 # 20 seeds × 30 quiet days, defaults
    python benchmarks/bench_alerts.py --sweep         # the same for a grid of z and p_value
    python benchmarks/bench_alerts.py --seeds 50 --days 60

Simulates the history ``syndicate monitor`` would read: a marketplace of 100,000 sellers with
1,000–5,000 new sellers a day over five categories (half the seeds with a weekend dip), rates
of 0.5–5% drawn as binomials with some day-to-day drift, Poisson ring counts, new rings of a few
members each day, ring rows for the onboarding rates (for the marketplace, per category
and per ring status), and stock rates (sellers in rings,
syndicate, review, label coverage) that move slowly. Prints:

* the alerts per 30 quiet days per metric type (target: at most one on rate metrics);
* whether an attack day (4 new rings of 12–16 new sellers in one category) alerts on the
  onboarding rates with a ring sentence, and whether a benign day (a legit onboarding campaign:
  several times the usual new sellers, no more rings) stays quiet on them;
* the time of ``evaluate_history`` + ``explain_alerts`` on 30 runs × the full catalogue with
  20 categories and the ring statuses as segments (target: well under a second), and on
  365 runs with 5 categories.

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from syndicate.monitor.alerts import RATE_METRICS, AlertSettings, evaluate_history
from syndicate.monitor.rootcause import explain_alerts

START = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # a Monday


@dataclasses.dataclass
class Day:
    """One run's metric rows under construction."""

    rows: list[tuple[str, str | None, str | None, float, float | None]] = dataclasses.field(
        default_factory=list
    )

    def count(self, metric: str, value: float, kind: str | None = None, seg: str | None = None):
        self.rows.append((metric, kind, seg, float(value), None))

    def rate(
        self,
        metric: str,
        num: float,
        den: float,
        kind: str | None = None,
        seg: str | None = None,
    ) -> None:
        self.rows.append((metric, kind, seg, float(num), float(den)))


def _ring_id(rng: np.random.Generator) -> str:
    return f"ring-{int(rng.integers(0, 2**48)):012x}"


def simulate(
    days: int,
    seed: int,
    *,
    categories: int = 5,
    attack_day: int | None = None,
    benign_day: int | None = None,
) -> tuple[pl.DataFrame, dict[str, pl.DataFrame]]:
    """A history of ``days`` runs and each run's rings frame (quiet unless told)."""
    rng = np.random.default_rng(seed)
    names = [f"cat{c:02d}" for c in range(categories)]
    names[0] = "electronics"
    base_new = rng.uniform(1_000, 5_000)
    share = rng.dirichlet(np.full(categories, 4.0))
    bad_rate = rng.uniform(0.005, 0.05, categories)
    weekly = np.array([1, 1, 1, 1, 1, 0.8, 0.7]) if rng.random() < 0.5 else np.ones(7)
    sellers = rng.multinomial(100_000, share).astype(float)
    syndicate_share = rng.uniform(0.005, 0.03, categories)
    review_share = rng.uniform(0.005, 0.02, categories)
    ring_stock = 2_500.0
    labels = 8_000.0
    rings = 400.0
    stable_ids = [_ring_id(rng) for _ in range(300)]
    previous_syndicate = float((sellers * syndicate_share).sum())
    previous_review = float((sellers * review_share).sum())
    rows: list[dict[str, object]] = []
    ring_frames: dict[str, pl.DataFrame] = {}
    for day in range(days):
        as_of = START + timedelta(days=day)
        run = f"runs/{as_of:%Y-%m-%d}"
        out = Day()
        lam = base_new * weekly[as_of.weekday()] * np.exp(rng.normal(0, 0.08))
        plain = rng.poisson(lam * share).astype(float)  # new sellers in no ring
        plain_bad_rate = bad_rate * np.exp(rng.normal(0, 0.1, categories))
        plain_bad = rng.binomial(plain.astype(int), np.clip(plain_bad_rate, 0, 1)).astype(float)
        if day == benign_day:  # a legit campaign in one category: 4x the usual new sellers
            campaign = rng.poisson(3 * lam)
            plain[1] += campaign
            plain_bad[1] += rng.binomial(campaign, 0.002)
        # Rings that took new sellers today: (id, status, category, members, bad members).
        today: list[tuple[str, str, int, int, int]] = []
        groups = [
            ("new", rng.poisson(3), 2, 2.0),
            ("grown", rng.poisson(6), 1, 1.0),
            ("merged", rng.poisson(0.3), 1, 2.0),
        ]
        if day == attack_day:
            groups.append(("attack", 4, 12, 2.0))
        for status, how_many, least, extra in groups:
            for _ in range(how_many):
                members = least + int(rng.poisson(extra))
                category = 0 if status == "attack" else int(rng.choice(categories, p=share))
                bad = int(rng.binomial(members, 0.95 if status == "attack" else 0.7))
                shown = "new" if status == "attack" else status
                today.append((_ring_id(rng), shown, category, members, bad))
        ring_new = np.zeros(categories)
        ring_bad = np.zeros(categories)
        by_status: Counter[str] = Counter()
        bad_by_status: Counter[str] = Counter()
        for _, status, category, members, bad in today:
            ring_new[category] += members
            ring_bad[category] += bad
            by_status[status] += members
            bad_by_status[status] += bad
        new = plain + ring_new
        bad_new = plain_bad + ring_bad
        total_new = float(new.sum())
        sellers += new
        ring_stock += ring_new.sum() - rng.binomial(int(ring_stock), 0.002)
        labels += rng.poisson(150)
        n_sellers = float(sellers.sum())
        syndicate = rng.binomial(
            sellers.astype(int), syndicate_share * np.exp(rng.normal(0, 0.01))
        ).astype(float)
        review = rng.binomial(
            sellers.astype(int), review_share * np.exp(rng.normal(0, 0.02))
        ).astype(float)
        rings_new = sum(1 for t in today if t[1] == "new")
        rings_gone = rng.poisson(1)
        rings += rings_new - rings_gone

        out.count("sellers", n_sellers)
        out.count("new_sellers", total_new)
        out.count("labels_known", labels)
        out.rate("label_coverage", labels, n_sellers)
        out.rate("bad_seller_onboarding_rate", bad_new.sum(), total_new)
        out.rate("ring_onboarding_rate", ring_new.sum(), total_new)
        out.rate("sellers_in_rings_rate", ring_stock, n_sellers)
        out.rate("syndicate_rate", syndicate.sum(), n_sellers)
        out.rate("review_rate", review.sum(), n_sellers)
        out.count("rings", rings)
        out.count("rings_new", rings_new)
        out.count("rings_grown", sum(1 for t in today if t[1] == "grown"))
        out.count("rings_merged", sum(1 for t in today if t[1] == "merged"))
        out.count("rings_shrunk", rng.poisson(2))
        out.count("rings_split", rng.poisson(0.3))
        out.count("rings_gone", rings_gone)
        out.count("hub_identifiers", 40 + rng.poisson(3))
        if day > 0:
            known_bad = rng.binomial(int(previous_syndicate), 0.6)
            known_good = rng.binomial(int(previous_syndicate), 0.03)
            out.rate("matured_syndicate_known_bad", known_bad, previous_syndicate)
            out.rate("matured_syndicate_known_good", known_good, previous_syndicate)
            out.rate(
                "matured_review_known_bad",
                rng.binomial(int(previous_review), 0.25),
                previous_review,
            )
            out.rate(
                "matured_review_known_good",
                rng.binomial(int(previous_review), 0.1),
                previous_review,
            )
        previous_syndicate, previous_review = float(syndicate.sum()), float(review.sum())
        for c, name in enumerate(names):
            out.count("sellers", sellers[c], "category", name)
            out.count("new_sellers", new[c], "category", name)
            out.rate("bad_seller_onboarding_rate", bad_new[c], new[c], "category", name)
            out.rate("ring_onboarding_rate", ring_new[c], new[c], "category", name)
            out.rate("syndicate_rate", syndicate[c], sellers[c], "category", name)
            out.rate("review_rate", review[c], sellers[c], "category", name)
        statuses = {"none": (plain.sum(), plain_bad.sum(), 0.0)}
        for status in ("new", "grown", "merged"):
            statuses[status] = (by_status[status], bad_by_status[status], by_status[status])
        for status, (den, bad, ringed) in statuses.items():
            if den == 0:
                continue
            out.count("new_sellers", den, "ring_status", status)
            out.rate("bad_seller_onboarding_rate", bad, den, "ring_status", status)
            out.rate("ring_onboarding_rate", ringed, den, "ring_status", status)
        for ring_id, status, category, members, bad in today:
            # Each ring for the marketplace, and within its category and its ring status.
            for kind, segment, den in (
                ("ring", ring_id, total_new),
                ("ring:category", f"{ring_id}|{names[category]}", new[category]),
                ("ring:ring_status", f"{ring_id}|{status}", by_status[status]),
            ):
                out.rate("ring_onboarding_rate", members, den, kind, segment)
                if bad:
                    out.rate("bad_seller_onboarding_rate", bad, den, kind, segment)
        for metric, kind, seg, num, den in out.rows:
            value = num if den is None else (num / den if den else None)
            rows.append(
                {
                    "as_of": as_of,
                    "run": run,
                    "metric": metric,
                    "segment_kind": kind,
                    "segment": seg,
                    "numerator": num,
                    "denominator": den,
                    "value": value,
                }
            )
        ring_frames[run] = pl.DataFrame(
            {
                "ring_id": [t[0] for t in today] + stable_ids,
                "size": [t[3] + 3 for t in today] + [5] * len(stable_ids),
                "status": [t[1] for t in today] + ["stable"] * len(stable_ids),
                "page": [f"viz/rings/{t[0]}.html" for t in today] + [None] * len(stable_ids),
            },
            schema_overrides={"size": pl.Int64, "page": pl.String},
        )
    history = pl.DataFrame(
        rows,
        schema={
            "as_of": pl.Datetime("us", "UTC"),
            "run": pl.String,
            "metric": pl.String,
            "segment_kind": pl.String,
            "segment": pl.String,
            "numerator": pl.Float64,
            "denominator": pl.Float64,
            "value": pl.Float64,
        },
    )
    return history, ring_frames


def _kind(metric: str, segment_kind: str | None) -> str:
    what = "rate" if metric in RATE_METRICS else "count"
    return f"{what} ({'whole' if segment_kind is None else 'segment'})"


def quiet_alerts(seeds: int, days: int, settings: AlertSettings) -> dict[str, list[int]]:
    """Alerts per seed per metric type on quiet histories."""
    per_type: dict[str, list[int]] = {
        "rate (whole)": [],
        "rate (segment)": [],
        "count (whole)": [],
        "count (segment)": [],
    }
    examples: Counter[str] = Counter()
    for seed in range(seeds):
        history, _ = simulate(days, seed)
        alerts = evaluate_history(history, settings).filter(pl.col("status") == "alert")
        found: Counter[str] = Counter()
        for metric, kind in alerts.select("metric", "segment_kind").iter_rows():
            found[_kind(metric, kind)] += 1
            examples[f"{metric}|{kind}"] += 1
        for name in per_type:
            per_type[name].append(found[name])
    per_type["_examples"] = [n for _, n in examples.most_common()]  # type: ignore[assignment]
    quiet_alerts.examples = examples.most_common(8)  # type: ignore[attr-defined]
    return per_type


def report_quiet(seeds: int, days: int, settings: AlertSettings, label: str = "") -> None:
    per_type = quiet_alerts(seeds, days, settings)
    per_type.pop("_examples")
    print(f"quiet histories: {seeds} seeds x {days} days {label}")
    for name, counts in per_type.items():
        print(
            f"  {name:16s} alerts per {days} days: mean {statistics.mean(counts):.2f}, "
            f"max {max(counts)}, seeds with more than one: {sum(c > 1 for c in counts)}"
        )
    rates = [
        a + b for a, b in zip(per_type["rate (whole)"], per_type["rate (segment)"], strict=True)
    ]
    per_30 = statistics.mean(rates) * 30 / days
    verdict = "met" if per_30 <= 1 else "MISSED"
    print(
        f"  rate metrics: mean {statistics.mean(rates):.2f} per {days} days = {per_30:.2f} per "
        f"30 days (target at most 1: {verdict}); worst seed {max(rates)}"
    )
    print(f"  most frequent: {quiet_alerts.examples}")  # type: ignore[attr-defined]


def report_scenarios(seeds: int, settings: AlertSettings) -> None:
    onboarding = ("bad_seller_onboarding_rate", "ring_onboarding_rate")
    for attack_day in (14, 24):  # a window baseline; a same-weekday baseline of 3 runs
        whole = anywhere = benign_quiet = 0
        sentence = ""
        for seed in range(seeds):
            history, rings = simulate(30, 1000 + seed, attack_day=attack_day, benign_day=27)
            evaluations = evaluate_history(history, settings)
            alerts = explain_alerts(evaluations, history, rings, settings).filter(
                pl.col("metric").is_in(onboarding)
            )
            attack = alerts.filter(pl.col("as_of") == START + timedelta(days=attack_day))
            named = attack.filter(pl.col("explanation").str.contains("new rings? hold"))
            driven = attack.filter(
                pl.col("segment_kind").is_null()
                & pl.col("explanation").str.contains("driven by .*new")
            )
            whole += driven.height > 0
            anywhere += driven.height > 0 or named.height > 0
            sentence = sentence or (driven.get_column("explanation")[0] if driven.height else "")
            benign = alerts.filter(pl.col("as_of") == START + timedelta(days=27))
            benign_quiet += benign.height == 0
        print(
            f"attack on day {attack_day} (4 new rings of 12-16 new sellers): whole-marketplace "
            f"onboarding alert driven by new rings {whole}/{seeds}; an onboarding alert naming "
            f"the new rings (whole or segment) {anywhere}/{seeds}"
        )
        print(f"  e.g. {sentence}")
        print(
            f"benign day 27 (campaign, 4x new sellers, no rings): no onboarding-rate alert "
            f"{benign_quiet}/{seeds}"
        )


def report_timing(days: int, categories: int, settings: AlertSettings, repeats: int = 5) -> None:
    history, rings = simulate(days, 7, categories=categories, attack_day=days - 5)
    series = (
        history.filter(pl.col("segment_kind").is_null() | (pl.col("segment_kind") != "ring"))
        .select("metric", "segment_kind", "segment")
        .unique()
        .height
    )
    evaluate_times, explain_times = [], []
    n_alerts = 0
    for _ in range(repeats):
        started = time.perf_counter()
        evaluations = evaluate_history(history, settings)
        middle = time.perf_counter()
        alerts = explain_alerts(evaluations, history, rings, settings)
        evaluate_times.append(middle - started)
        explain_times.append(time.perf_counter() - middle)
        n_alerts = alerts.height
    print(
        f"timing: {days} runs x {series} series ({history.height:,} history rows), "
        f"{n_alerts} alerts: evaluate_history {statistics.median(evaluate_times) * 1000:.0f} ms, "
        f"explain_alerts {statistics.median(explain_times) * 1000:.0f} ms (median of {repeats}; "
        f"first call {(evaluate_times[0] + explain_times[0]) * 1000:.0f} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--sweep", action="store_true", help="false alerts for a grid of z, p")
    args = parser.parse_args()
    settings = AlertSettings()
    if args.sweep:
        for z in (3.0, 3.5, 4.0, 5.0):
            for p in (0.005, 0.001, 0.0005, 0.0001):
                report_quiet(args.seeds, args.days, AlertSettings(z=z, p_value=p), f"z={z} p={p}")
        return
    report_timing(30, 20, settings)  # first: its first call pays for importing SciPy
    report_timing(365, 5, settings)
    report_quiet(args.seeds, args.days, settings)
    report_scenarios(10, settings)


if __name__ == "__main__":
    main()
