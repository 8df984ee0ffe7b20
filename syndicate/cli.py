"""The ``syndicate`` command line: a thin layer over the public API.

Exit codes: 0 success, 2 bad input or usage, 1 internal error. Logs and progress go to
stderr; ``--quiet`` silences progress and leaves on stdout only each command's result line
and where its outputs went (warnings still reach stderr). Every line printed passes through
:func:`syndicate.terminal.printable`: kinds, ids, reasons and paths come from the user.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

# Only what building the parser needs is imported here; each command imports its own
# modules (the job, the model, evaluation, pages), so `syndicate --help` stays fast.
from syndicate import __version__
from syndicate.demo import DEMO_SELLERS
from syndicate.errors import InputError, InputFileError, SyndicateError
from syndicate.synth import (
    CAMOUFLAGE_PRESETS,
    camouflage_config,
    generate_marketplace,
    write_marketplace,
)
from syndicate.terminal import counted, printable

if TYPE_CHECKING:
    from syndicate.monitor.watch import MonitorResult
    from syndicate.pipeline import PipelineResult
    from syndicate.progress import Reporter

__all__ = ["build_parser", "main"]

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT = 0, 1, 2
EXIT_ALERT = 3  # syndicate monitor --fail-on-alert: the latest run has an alert
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C


class _Summary:
    """A command's report on stdout: its result and where it went, and details ``--quiet`` drops.

    Every line goes through :func:`printable`, one line at a time, so no user string (a
    kind, an id, a reason, a path) can move the cursor or retitle the terminal.
    """

    def __init__(self, *, quiet: bool) -> None:
        self.quiet = quiet

    def result(self, line: str) -> None:
        """A line of the command's result, or a path it wrote: printed even with ``--quiet``."""
        print(printable(line))  # a line break in a user string shows as \x0a

    def detail(self, line: str) -> None:
        """A line of detail: dropped with ``--quiet``."""
        if not self.quiet:
            self.result(line)


def _positive_int(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number; got {text!r}") from None
    if value < 10:
        raise argparse.ArgumentTypeError(f"expected at least 10; got {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number; got {text!r}") from None
    if not 0 <= value < 2**31:
        raise argparse.ArgumentTypeError(f"expected a seed from 0 to 2**31 - 1; got {value}")
    return value


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="no progress on stderr; on stdout only the result line and where outputs went "
        "(warnings still on stderr)",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="debug logging on stderr")


def _add_camouflage(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--camouflage",
        choices=list(CAMOUFLAGE_PRESETS),
        default="off",
        help=(
            "ring members also use popular IPs/devices (about 36 sellers each, below the hub "
            "limit) shared with honest sellers and other rings: light gives 30%% of members "
            "one, heavy gives every member two and makes 20%% of rings chains (default off)"
        ),
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``syndicate`` command."""
    parser = argparse.ArgumentParser(
        prog="syndicate",
        description=(
            "Find organised bad-actor rings among marketplace sellers: sellers sharing devices, "
            "addresses, payout accounts, emails, phones or IPs are linked into a graph, rings are "
            "found by community detection and scored by a Random Forest on graph features."
        ),
        epilog="Exit codes: 0 success, 2 bad input or usage, 1 internal error. "
        "Run 'syndicate COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"syndicate {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser(
        "demo",
        help="generate a synthetic marketplace and run the pipeline on it",
        description=(
            "Generate a synthetic marketplace with planted rings, hubs, households and "
            "multi-store businesses, run the pipeline on it and print where the outputs are."
        ),
    )
    demo.add_argument(
        "--sellers",
        type=_positive_int,
        default=DEMO_SELLERS,
        metavar="N",
        help=f"number of sellers to generate (default {DEMO_SELLERS:,})",
    )
    demo.add_argument(
        "--out",
        type=Path,
        default=Path("syndicate-demo"),
        metavar="DIR",
        help="output folder, created if missing (default ./syndicate-demo)",
    )
    demo.add_argument("--seed", type=_seed, default=0, metavar="S", help="random seed (default 0)")
    demo.add_argument(
        "--days",
        type=_positive_int,
        metavar="N",
        help="instead, a marketplace growing over N days (with an attack day and an honest "
        "onboarding campaign) through the daily job, then syndicate monitor over the runs",
    )
    _add_camouflage(demo)
    _add_common(demo)

    from syndicate.synth import SYNTH_PRESETS, RealLikeConfig

    synth = commands.add_parser(
        "synth",
        help="write a synthetic marketplace with ground truth as Parquet",
        description=(
            "Write sellers.parquet, links.parquet, labels.parquet, truth.parquet (seller_id, ring, "
            "is_bad, legit_group) and link_truth.parquet (each link's real-world identifier and "
            "role) for a marketplace with planted rings. Deterministic by seed. With --days N, "
            "a growing marketplace instead: DIR/day-00/ ... one such folder per day (the "
            "sellers onboarded by that day's end, labels arriving days later, an attack wave "
            "and an honest onboarding campaign on two of the days) and DIR/days.json."
        ),
    )
    synth.add_argument(
        "--preset",
        choices=list(SYNTH_PRESETS),
        default="marketplace",
        help=(
            "marketplace: sellers with six identifier kinds, rings, hubs and legit groups "
            "(default); real-like: shaped like public e-commerce fraud tables, one device and "
            "one IP per user, about 9%% fraud, rings on shared devices, noisy labels"
        ),
    )
    synth.add_argument(
        "--sellers",
        type=_positive_int,
        metavar="N",
        help=(
            "number of sellers (required with --preset marketplace; real-like defaults to "
            f"{RealLikeConfig.n_sellers:,}); with --days, the sellers before day 0 (default "
            "20,000)"
        ),
    )
    synth.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="output folder, created if missing"
    )
    synth.add_argument("--seed", type=_seed, default=0, metavar="S", help="random seed (default 0)")
    synth.add_argument(
        "--days",
        type=_synth_days,
        metavar="N",
        help="write a growing marketplace, one folder per day: DIR/day-00/ ... (14 is typical)",
    )
    synth.add_argument(
        "--attack-day",
        type=_synth_day,
        metavar="D",
        help="with --days: the day (0-based) a wave of 8 new rings onboards within hours "
        "(default N-3; -1 or off: none)",
    )
    synth.add_argument(
        "--benign-day",
        type=_synth_day,
        metavar="D",
        help="with --days: the day an honest onboarding campaign brings 4 times the usual new "
        "sellers (default N-6; -1 or off: none)",
    )
    _add_camouflage(synth)
    _add_common(synth)

    run = commands.add_parser(
        "run",
        help="the batch job: rings, scores, labels, features and pages for a marketplace",
        description=(
            "Validate the inputs, build the seller graph, find rings, compute features, train "
            "on the labels (or score with --model), score, and write labels, rings, "
            "rings_gone, features, hubs, rejects (.parquet), model/, viz/ and run.json into "
            "--out. Earlier outputs there are replaced only when every new one is written."
        ),
        epilog="Config: a TOML file (see the README for every key and its default); "
        "--seed, --top and --set override it. Exit codes: 0 success, 2 bad input or usage, "
        "1 internal error.",
    )
    run.add_argument("--sellers", type=Path, required=True, metavar="P", help="sellers table")
    run.add_argument("--links", type=Path, required=True, metavar="P", help="links table")
    run.add_argument("--edges", type=Path, metavar="P", help="seller pairs linked elsewhere")
    run.add_argument("--labels", type=Path, metavar="P", help="known bad (1) and good (0) sellers")
    run.add_argument(
        "--previous",
        type=Path,
        metavar="DIR",
        help="an earlier run folder (may be --out): rings keep their ids and get a status",
    )
    run.add_argument(
        "--as-of",
        type=_moment,
        metavar="TIME",
        help="the snapshot's time, ISO 8601 (default: the latest created_at of the sellers); "
        "new sellers in metrics.parquet are those created since the previous run's",
    )
    run.add_argument(
        "--model",
        type=Path,
        metavar="DIR",
        help="score with the saved model/ folder of an earlier run (RUN/model) instead of training",
    )
    run.add_argument(
        "--strategies",
        type=Path,
        metavar="F",
        help="a strategies file ([[strategy]] rules) applied after the model: a seller's "
        "decision is the strongest of the model's and its active strategies' "
        "(default: decisions.strategies of the config)",
    )
    run.add_argument("--config", type=Path, metavar="F", help="TOML config file")
    run.add_argument("--seed", type=_seed, metavar="S", help="random seed (overrides config)")
    run.add_argument(
        "--top", type=_count, metavar="K", help="ring pages to draw (overrides output.top_pages)"
    )
    run.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one config key, e.g. --set rings.leiden_resolution=0.5 (repeatable)",
    )
    run.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="run folder, created if missing"
    )
    run.add_argument(
        "--engine",
        choices=("local", "spark"),
        default="local",
        help="run the pipeline on this machine (local, the default) or on Apache Spark "
        "(needs the spark extra and Java 17); the run folder is the same",
    )
    run.add_argument(
        "--spark-master",
        metavar="URL",
        help="with --engine spark: the Spark master (default local[2])",
    )
    _add_common(run)

    evaluate = commands.add_parser(
        "evaluate",
        help="measure a run against ground truth: metrics.json and an HTML report",
        description=(
            "Compare a run folder with a truth table (seller_id, ring or null, is_bad; "
            "optionally legit_group): seller precision, recall and F1 per decision, AUROC, "
            "AUPRC, recall at K, ring recovery, ARI and NMI, a threshold table and the false "
            "positives with what bound them. Writes metrics.json, report.html and "
            "false_positives.parquet."
        ),
    )
    evaluate.add_argument("--run", type=Path, required=True, metavar="DIR", help="a run folder")
    evaluate.add_argument(
        "--truth", type=Path, required=True, metavar="P", help="truth table (Parquet, CSV, NDJSON)"
    )
    evaluate.add_argument(
        "--out", type=Path, metavar="DIR", help="where to write (default RUN/evaluation)"
    )
    _add_common(evaluate)

    monitor = commands.add_parser(
        "monitor",
        help="metrics over many runs: history, alerts with their root cause, a dashboard",
        description=(
            "Read the metrics.parquet of run folders (any order; ordered by their as-of time), "
            "test every metric against its trailing baseline, explain each alert by segments "
            "and rings, and write history.parquet, alerts.parquet and dashboard.html."
        ),
        epilog="Exit codes: 0 success, 2 bad input, 3 with --fail-on-alert when the latest run "
        "has an alert that our own change (cause policy) does not explain.",
    )
    monitor.add_argument(
        "--runs", type=Path, nargs="+", required=True, metavar="DIR", help="run folders"
    )
    monitor.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    monitor.add_argument(
        "--fail-on-alert",
        action="store_true",
        help="exit 3 when the latest run has an alert our own change does not explain "
        "(for cron and schedulers)",
    )
    monitor.add_argument("--config", type=Path, metavar="F", help="TOML config file ([monitor])")
    monitor.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one config key, e.g. --set monitor.alert_z=5 (repeatable)",
    )
    _add_common(monitor)

    strategies = commands.add_parser(
        "strategies",
        help="governance strategies: backtest a strategies file on past runs",
        description="Work with a strategies file ([[strategy]] rules written as safe SQL "
        "conditions over feature and ring columns).",
    )
    strategy_commands = strategies.add_subparsers(
        dest="strategies_command", metavar="COMMAND", required=True
    )
    backtest = strategy_commands.add_parser(
        "backtest",
        help="measure each strategy and the model's bands on past runs",
        description=(
            "Evaluate every strategy of the file (and the model's syndicate and review "
            "decisions, as model:syndicate and model:review) on run folders, ordered by their "
            "as-of time, and measure them against each run's known labels (the labels file "
            "its run.json names, which must be unchanged) or --labels, and --truth: hits, "
            "precision and recall with Wilson 95%% intervals, overlaps, incremental recall and "
            "false positives, the false-positive breakdown and the hits per run. Writes "
            "strategies.json, strategy_hits.parquet and report.html into --out."
        ),
        epilog="Exit codes: 0 success, 2 bad input (a strategy that reads an unknown column is "
        "named), 1 internal error.",
    )
    backtest.add_argument(
        "--run",
        type=Path,
        action="append",
        required=True,
        metavar="DIR",
        help="a run folder (repeatable)",
    )
    backtest.add_argument(
        "--strategies", type=Path, required=True, metavar="F", help="the strategies file (TOML)"
    )
    backtest.add_argument(
        "--labels",
        type=Path,
        metavar="P",
        help="known labels (seller_id, label) to measure every run against, instead of each "
        "run's own labels file",
    )
    backtest.add_argument(
        "--truth",
        type=Path,
        metavar="P",
        help="ground truth (seller_id, is_bad, optionally legit_group): also measure against it",
    )
    backtest.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    _add_common(backtest)

    viz = commands.add_parser(
        "viz",
        help="(re)draw the investigator pages of a run",
        description=(
            "Write RUN/viz/index.html and one self-contained page per ring "
            "(RUN/viz/rings/<ring_id>.html) from a run folder written by 'syndicate demo' or "
            "'syndicate run', or into --out DIR. Pages work offline. Only files syndicate "
            "wrote are replaced or removed (listed in syndicate-pages.json)."
        ),
    )
    viz.add_argument("--run", type=Path, required=True, metavar="DIR", help="a run folder")
    viz.add_argument(
        "--top",
        type=_count,
        default=50,
        metavar="K",
        help="pages for the K highest-scoring rings (default 50)",
    )
    viz.add_argument(
        "--ring",
        action="append",
        metavar="ID",
        help="a page for this ring only (repeatable; overrides --top)",
    )
    viz.add_argument(
        "--mask",
        action="store_true",
        help=(
            "hide identifier values (kind and last characters only) in every file written, "
            "for pages shared widely; in the run folder this masks viz/data too"
        ),
    )
    viz.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="write the pages (index.html, rings/) into DIR instead of RUN/viz, leaving the "
        "run folder untouched",
    )
    _add_common(viz)
    return parser


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number; got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more; got {value}")
    return value


def _cmd_demo(args: argparse.Namespace, reporter: Reporter) -> int:
    from syndicate.demo import run_demo

    if args.days is not None:
        return _cmd_demo_days(args, reporter)
    argv = ["syndicate", "demo", "--sellers", str(args.sellers), "--seed", str(args.seed)]
    if args.camouflage != "off":
        argv += ["--camouflage", args.camouflage]
    result = run_demo(
        args.out,
        n_sellers=args.sellers,
        seed=args.seed,
        camouflage=args.camouflage,
        reporter=reporter,
        command=argv,
    )
    summary = result.summary()
    recall = summary["ring_recall"]
    n = {name: value for name, value in summary.items() if isinstance(value, int)}
    say = _Summary(quiet=args.quiet)
    say.result(
        f"syndicate demo: {counted(n['sellers'], 'seller')}, {counted(n['links'], 'link')}, "
        f"{counted(n['labels'], 'label')} ({n['known_bad']:,} known bad), "
        f"{counted(n['rejected_rows'], 'input row')} rejected"
    )
    say.result(
        f"  planted: {counted(n['planted_rings'], 'ring')}, "
        f"{counted(n['households'], 'household')}, "
        f"{counted(n['businesses'], 'multi-store business', 'multi-store businesses')}; "
        f"planted rings recovered: {summary['planted_rings_recovered']:,} of "
        f"{summary['planted_rings']:,} (Jaccard >= 0.5; recall {_fmt(recall)}); truly bad "
        f"among flagged sellers: {_fmt(summary['flagged_truly_bad'])}"
    )
    _print_run(result.pipeline, result.out, say)
    say.result(
        f"Inputs:  {result.out / 'input'}/ (sellers, links, labels, the ground truth and the "
        "example strategies.toml)"
    )
    say.result(f"Backtest of the example strategies: {result.outputs['backtest']}")
    return EXIT_OK


def _cmd_demo_days(args: argparse.Namespace, reporter: Reporter) -> int:
    from syndicate.demo import run_daily_demo

    if args.sellers != DEMO_SELLERS:
        raise InputError("--sellers applies to the single-snapshot demo, not to --days")
    result = run_daily_demo(
        args.out, days=args.days, seed=args.seed, camouflage=args.camouflage, reporter=reporter
    )
    say = _Summary(quiet=args.quiet)
    events = [
        f"attack on day {result.attack_day}" if result.attack_day is not None else "",
        f"onboarding campaign on day {result.benign_day}" if result.benign_day is not None else "",
    ]
    say.result(
        f"syndicate demo: {counted(len(result.runs), 'daily run')} "
        f"({', '.join(e for e in events if e) or 'quiet days only'}); "
        f"{counted(result.monitor.alerts.height, 'alert')}"
    )
    _print_alerts(result.monitor, say)
    say.result(f"Runs:      {result.out / 'runs'}/ (one run folder per day)")
    say.result(f"Dashboard: {result.monitor.paths['dashboard']}")
    return EXIT_OK


def _print_alerts(monitored: MonitorResult, say: _Summary, limit: int = 8) -> None:
    """The alerts, latest first, each with its explanation."""
    alerts = monitored.alerts.sort("as_of", descending=True, maintain_order=True)
    for row in alerts.head(limit).iter_rows(named=True):
        segment = f" [{row['segment_kind']}={row['segment']}]" if row["segment_kind"] else ""
        say.detail(
            f"  {row['as_of']:%Y-%m-%d} {row['severity']:<6} {row['metric']}{segment}: "
            f"{row['explanation']}"
        )
    if alerts.height > limit:
        say.detail(f"  ... and {counted(alerts.height - limit, 'more alert')} in alerts.parquet")


def _cmd_monitor(args: argparse.Namespace, reporter: Reporter) -> int:
    import polars as pl

    from syndicate.config import Config
    from syndicate.monitor.watch import monitor_runs

    config = Config.from_toml(args.config) if args.config is not None else Config()
    config = config.with_overrides(list(args.set))
    with reporter.step(f"Monitoring {counted(len(args.runs), 'run')}"):
        monitored = monitor_runs(args.runs, args.out, config)
    runs = monitored.runs
    latest = monitored.latest_alerts
    say = _Summary(quiet=args.quiet)
    span = f"{runs['as_of'][0]:%Y-%m-%d} to {runs['as_of'][-1]:%Y-%m-%d}"
    say.result(
        f"syndicate monitor: {counted(runs.height, 'run')} ({span}), "
        f"{counted(monitored.alerts.height, 'alert')}, {latest.height:,} in the latest run"
    )
    _print_alerts(monitored, say)
    for path in monitored.paths.values():
        say.result(f"  {path}")
    # An alert our own change explains (a strategy going live, a retrained model) is on the
    # dashboard, but it does not fail the job: the move is ours, not the sellers'.
    paging = latest.filter(pl.col("cause").ne_missing("policy"))
    return EXIT_ALERT if args.fail_on_alert and paging.height else EXIT_OK


def _cmd_strategies_backtest(args: argparse.Namespace, reporter: Reporter) -> int:
    from syndicate.io import ensure_output_dir, refuse_foreign_files
    from syndicate.strategies.backtest import BACKTEST_OUTPUTS, backtest_runs, write_backtest
    from syndicate.strategies.file import load_strategies

    strategies = load_strategies(args.strategies)
    refuse_foreign_files(ensure_output_dir(args.out), BACKTEST_OUTPUTS)
    with reporter.step(f"Backtesting on {counted(len(args.run), 'run')}"):
        result = backtest_runs(args.run, strategies, labels=args.labels, truth=args.truth)
    with reporter.step("Writing strategies.json, strategy_hits.parquet and report.html"):
        paths = write_backtest(result, args.out)
    totals = result.document["totals"]
    say = _Summary(quiet=args.quiet)
    n_strategies = counted(len(strategies.strategies), "strategy", "strategies")
    say.result(
        f"syndicate strategies backtest: {n_strategies} and the model's bands over "
        f"{counted(len(args.run), 'run')} "
        f"({totals['sellers']:,} {'run × sellers' if len(args.run) > 1 else 'sellers'}, "
        f"{totals['known_bad']:,} known bad)"
    )
    for entry in result.strategies:
        if not entry["evaluated"]:
            say.detail(f"  {entry['name']:<24} off: not evaluated")
            continue
        say.detail(
            f"  {entry['name']:<24} hits {entry['hits']:>9,}  precision "
            f"{_fmt(entry['precision'])}  recall {_fmt(entry['recall'])}  incremental recall "
            f"{_fmt(entry['incremental_recall'])}, FP {entry['incremental_false_positives']:,}"
            + (f"  truth precision {_fmt(entry['truth_precision'])}" if args.truth else "")
        )
        cumulative = entry.get("cumulative")
        if cumulative and cumulative["hits"] != entry["hits"]:
            say.detail(
                f"  {'':<24} cumulative {cumulative['hits']:>5,}  precision "
                f"{_fmt(cumulative['precision'])}  recall {_fmt(cumulative['recall'])}"
                + (f"  truth precision {_fmt(cumulative['truth_precision'])}" if args.truth else "")
            )
    for path in paths.values():
        say.result(f"  {path}")
    return EXIT_OK


def _print_rejects(pipeline: PipelineResult, say: _Summary) -> None:
    """Refused input rows by table and reason, most frequent reason first."""
    counts = pipeline.inputs.reject_counts()
    if not counts:
        return
    say.detail("  rejected input rows (rows in rejects.parquet, reasons in the README):")
    width = max(len(table) for table in counts)
    for table, reasons in counts.items():
        ranked = sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
        listed = ", ".join(f"{reason} {n:,}" for reason, n in ranked)
        say.detail(f"    {table + ':':<{width + 1}} {sum(reasons.values()):>9,}  ({listed})")


def _print_run(pipeline: PipelineResult, out: Path, say: _Summary) -> None:
    """What a run found and where it went: rejects, rings, model, decisions, top rings."""
    rings, labels, scores = pipeline.rings, pipeline.labels, pipeline.scores
    _print_rejects(pipeline, say)
    lineage = pipeline.lineage.counts()
    changed = ", ".join(f"{n:,} {status}" for status, n in lineage.items() if n)
    in_rings = int(labels["ring_id"].is_not_null().sum())
    say.detail(
        f"  rings found: {counted(rings.height, 'ring')} with {counted(in_rings, 'seller')} "
        f"({changed or 'none'}); {counted(pipeline.linkage.hubs.height, 'hub identifier')} "
        "held back"
    )
    if scores.model is not None:
        cv = scores.model.card["cv"]
        say.detail(
            f"  seller model: trained, out-of-fold AUROC {_fmt(cv['auroc'])}, "
            f"AUPRC {_fmt(cv['auprc'])} on the labelled sellers"
        )
    elif scores.saved_model is not None:
        say.detail("  seller model: saved model (--model), not retrained")
    else:
        say.detail("  seller model: none (cold start): scores come from ring structure")
    decided = dict(labels["decision"].value_counts().iter_rows())
    ring_decided = dict(rings["decision"].value_counts().iter_rows())
    say.detail(
        f"  decisions: {counted(decided.get('syndicate', 0), 'seller')} syndicate, "
        f"{decided.get('review', 0):,} review (thresholds {_fmt(scores.thresholds.syndicate)} / "
        f"{_fmt(scores.thresholds.review)}); rings: {ring_decided.get('syndicate', 0):,} "
        f"syndicate, {ring_decided.get('review', 0):,} review"
    )
    if pipeline.strategies is not None and pipeline.strategy_hits is not None:
        _print_strategies(pipeline, say)
    top = rings.sort(["ring_score", "size", "ring_id"], descending=[True, True, False]).head(5)
    if top.height:
        say.detail("  top rings:")
    for ring_id, size, score, decision, status, evidence in top.select(
        "ring_id", "size", "ring_score", "decision", "status", "evidence"
    ).iter_rows():
        say.detail(
            f"    {ring_id}  {counted(size, 'seller'):>12}  score {score:.2f}  {decision:<9} "
            f"{status:<6}  {'; '.join(evidence[:2])}"
        )
    if pipeline.warnings:
        say.detail(f"  {counted(len(pipeline.warnings), 'warning')} (in run.json):")
        for message in pipeline.warnings:
            say.detail(f"    - {message}")
    say.result(f"Outputs: {out}/ (labels, rings, features, hubs, rejects .parquet; run.json)")
    say.result(f"Pages:   {out / 'viz' / 'index.html'}")


def _print_strategies(pipeline: PipelineResult, say: _Summary, limit: int = 10) -> None:
    """One line per strategy: status, action, sellers it fired on, sellers it decided."""
    assert pipeline.strategies is not None and pipeline.strategy_hits is not None
    fired = dict(pipeline.strategy_hits.group_by("strategy").len().iter_rows())
    decided = dict(pipeline.labels["decision_source"].value_counts().iter_rows())
    rules = pipeline.strategies.strategies
    many = counted(len(rules), "strategy", "strategies")
    say.detail(f"  strategies: {many} from {pipeline.strategies.path}")
    for rule in rules[:limit]:
        if rule.status == "off":
            say.detail(f"    {rule.name}  off")
            continue
        said = f"decided {decided.get(rule.source, 0):,}" if rule.status == "active" else "shadow"
        say.detail(
            f"    {rule.name}  {rule.action} ({rule.scope}): fired on "
            f"{counted(fired.get(rule.name, 0), 'seller')}, {said}"
        )
    if len(rules) > limit:
        say.detail(f"    ... and {len(rules) - limit} more (run.json)")


def _moment(text: str) -> datetime:
    """An ISO 8601 time for ``--as-of`` (a date alone is its midnight; no zone is UTC)."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 time such as 2026-01-31T23:59:59Z; got {text!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _fmt(value: object) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _cmd_run(args: argparse.Namespace, reporter: Reporter) -> int:
    from syndicate.config import Config
    from syndicate.job import run_job

    config = Config.from_toml(args.config) if args.config is not None else Config()
    overrides = list(args.set)
    if args.seed is not None:
        overrides.append(f"seed={args.seed}")
    if args.top is not None:
        overrides.append(f"output.top_pages={args.top}")
    config = config.with_overrides(overrides)
    if args.model is not None:
        _check_model_folder(args.model)
    if args.spark_master is not None and args.engine != "spark":
        raise InputError("--spark-master needs --engine spark")
    run = run_job(
        sellers=args.sellers,
        links=args.links,
        edges=args.edges,
        labels=args.labels,
        out=args.out,
        previous=args.previous,
        model=args.model,
        config=config,
        reporter=reporter,
        command=["syndicate", *args.argv],
        as_of=args.as_of,
        strategies=args.strategies,
        engine=args.engine,
        spark_master=args.spark_master,
    )
    inputs = run.pipeline.inputs
    say = _Summary(quiet=args.quiet)
    say.result(
        f"syndicate run: {counted(inputs.sellers.height, 'seller')}, "
        f"{counted(inputs.links.height, 'link')}, {counted(inputs.labels.height, 'label')}, "
        f"{counted(inputs.rejects.height, 'input row')} rejected; "
        f"{counted(run.pipeline.rings.height, 'ring')} ({run.manifest['wall_seconds']:.1f} s)"
    )
    _print_run(run.pipeline, run.out, say)
    return EXIT_OK


def _check_model_folder(model: Path) -> None:
    """``--model`` must name a ``model/`` folder: say so when it names a run folder."""
    from syndicate.modelfile import model_file

    if model_file(model) is not None:
        return
    if model_file(model / "model") is not None:
        raise InputFileError(
            f"--model {str(model)!r} is a run folder, not a model folder: did you mean "
            f"{str(model / 'model')!r}?"
        )
    if (model / "run.json").is_file():
        raise InputFileError(
            f"--model {str(model)!r} is a run folder without a model/ folder (its run was a "
            "cold start and trained no model); give the model/ folder of a run that trained one"
        )


def _refuse_unfinished(run: Path) -> None:
    """A run folder whose last run was interrupted while writing is not read."""
    from syndicate.job import pending_commits

    if pending_commits(run):
        raise InputFileError(
            f"{str(run)!r} holds an unfinished run (interrupted while writing); run "
            "syndicate run into it again to finish it first"
        )


def _cmd_evaluate(args: argparse.Namespace, reporter: Reporter) -> int:
    from syndicate.evaluate import evaluate_run
    from syndicate.viz.report import write_evaluation

    _refuse_unfinished(args.run)
    with reporter.step("Evaluating the run against the truth"):
        evaluation = evaluate_run(args.run, args.truth)
    out = args.out if args.out is not None else args.run / "evaluation"
    with reporter.step("Writing metrics and report"):
        paths = write_evaluation(evaluation, out)
    seller, ring = evaluation.metrics["seller"], evaluation.metrics["ring"]
    fp = evaluation.metrics["false_positives"]
    say = _Summary(quiet=args.quiet)
    say.result(
        f"syndicate evaluate: {counted(seller['n'], 'seller')} ({seller['n_bad']:,} truly "
        f"bad), AUROC {_fmt(seller['auroc'])}, AUPRC {_fmt(seller['auprc'])}"
    )
    for name, figures in seller["decisions"].items():
        say.detail(
            f"  {name:<20} flagged {figures['n_flagged']:>8,}  precision "
            f"{_fmt(figures['precision'])}  recall {_fmt(figures['recall'])}  "
            f"F1 {_fmt(figures['f1'])}"
        )
    say.detail(
        f"  rings: {ring['recovered']:,} of {counted(ring['n_true'], 'true ring')} recovered "
        f"(recall {_fmt(ring['recall'])}, precision {_fmt(ring['precision'])}), "
        f"ARI {_fmt(ring['ari'])}, NMI {_fmt(ring['nmi'])}"
    )
    say.detail(
        f"  false positives: {fp['n']:,} ({fp['in_no_ring']:,} in no ring; by legit group "
        f"{fp['by_legit_group']})"
    )
    for path in paths.values():
        say.result(f"  {path}")
    return EXIT_OK


_SYNTH_DAY_OFF = "off"


def _synth_days(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1; got {value}")
    return value


def _synth_day(text: str) -> int | str:
    if text.strip().lower() in ("off", "none", "-1"):
        return _SYNTH_DAY_OFF
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a day number (0 = the first day) or -1/off; got {text!r}"
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a day number from 0, or -1/off; got {value}")
    return value


def _cmd_synth(args: argparse.Namespace, reporter: Reporter) -> int:
    from syndicate.synth import RealLikeConfig, generate_real_like

    if args.days is not None:
        return _cmd_synth_days(args, reporter)
    for option, value in (("--attack-day", args.attack_day), ("--benign-day", args.benign_day)):
        if value is not None:
            print(f"syndicate synth: error: {option} needs --days", file=sys.stderr)
            return EXIT_INPUT
    real_like = args.preset == "real-like"
    if not real_like and args.sellers is None:
        print(
            "syndicate synth: error: the following arguments are required: --sellers "
            "(with --preset marketplace)",
            file=sys.stderr,
        )
        return EXIT_INPUT
    if real_like and args.camouflage != "off":
        print(
            "syndicate synth: error: --camouflage applies to --preset marketplace only",
            file=sys.stderr,
        )
        return EXIT_INPUT
    n_sellers = RealLikeConfig.n_sellers if args.sellers is None else args.sellers
    with reporter.step(f"Generating {counted(n_sellers, 'seller')}{' (real-like)' * real_like}"):
        if real_like:
            market = generate_real_like(n_sellers=n_sellers, seed=args.seed)
        else:
            market = generate_marketplace(
                camouflage_config(args.camouflage, n_sellers=n_sellers, seed=args.seed)
            )
    with reporter.step("Writing Parquet files"):
        files = write_marketplace(market, args.out)
    rings = market.truth["ring"].drop_nulls()
    bad = int(market.truth["is_bad"].sum())
    say = _Summary(quiet=args.quiet)
    say.result(
        f"syndicate synth: {counted(market.sellers.height, 'seller')}"
        f"{' (real-like)' if real_like else ''}, {counted(market.links.height, 'link')}, "
        f"{counted(market.labels.height, 'label')}, "
        f"{counted(rings.n_unique(), 'planted ring')} ({counted(rings.len(), 'member')})"
        + (f", {bad:,} bad ({bad / market.sellers.height:.1%})" if real_like else "")
    )
    for path in files.values():
        say.result(f"  {path}")
    return EXIT_OK


def _cmd_synth_days(args: argparse.Namespace, reporter: Reporter) -> int:
    from syndicate.daily import DaysConfig, generate_days, write_days

    if args.preset != "marketplace":
        print(
            "syndicate synth: error: --days applies to --preset marketplace only", file=sys.stderr
        )
        return EXIT_INPUT
    chosen: dict[str, object] = {"days": args.days, "seed": args.seed}
    if args.sellers is not None:
        chosen["base_sellers"] = args.sellers
    for name in ("attack_day", "benign_day"):
        value = getattr(args, name)
        if value is not None:
            chosen[name] = None if value == _SYNTH_DAY_OFF else value
    config = DaysConfig(market=camouflage_config(args.camouflage), **chosen)  # type: ignore[arg-type]
    with reporter.step(f"Generating {counted(args.days, 'day')} of a growing marketplace"):
        history = generate_days(config)
    with reporter.step(f"Writing {counted(args.days, 'day folder')}"):
        folders = write_days(history, args.out)
    last = history.describe()["day"][-1]
    attack = (
        f"attack on day {config.attack_day} ({counted(len(history.attack_rings), 'ring')})"
        if config.attack_day is not None
        else "no attack day"
    )
    benign = (
        f"campaign on day {config.benign_day}" if config.benign_day is not None else "no campaign"
    )
    say = _Summary(quiet=args.quiet)
    say.result(
        f"syndicate synth: {counted(len(folders), 'day folder')}, "
        f"{counted(last['sellers'], 'seller')} on the last day ({last['date']}), {attack}, "
        f"{benign}"
    )
    say.result(f"  {folders[0]} ... {folders[-1]}")
    say.result(f"  {args.out / 'days.json'}")
    return EXIT_OK


def _cmd_viz(args: argparse.Namespace, reporter: Reporter) -> int:
    from syndicate.io import read_table
    from syndicate.viz.data import read_view_data
    from syndicate.viz.pages import write_viz

    rings_path = args.run / "rings.parquet"
    if not rings_path.is_file():
        raise InputFileError(f"{rings_path}: not found (is {str(args.run)!r} a run folder?)")
    _refuse_unfinished(args.run)
    rings = read_table(rings_path, table="rings")
    data = read_view_data(args.run / "viz" / "data")
    in_place = args.out is None or _same_folder(args.out, args.run / "viz")
    out = args.run / "viz" if in_place else args.out
    if not in_place and _inside(out, args.run / "viz"):
        raise InputFileError(
            f"--out {str(out)!r} is inside {str(args.run / 'viz')!r}, which the next run "
            "replaces as a whole; leave --out out to redraw RUN/viz, or choose a folder "
            "outside it"
        )
    with reporter.step("Drawing ring pages"):
        try:
            # In the run folder, viz/data is redrawn too (masked with --mask), so the
            # whole viz/ folder holds no identifier value; elsewhere only the pages go.
            result = write_viz(
                rings,
                data,
                out,
                top=args.top,
                ring_ids=args.ring,
                mask=args.mask,
                with_data=in_place,
            )
        except KeyError as exc:
            raise InputFileError(str(exc.args[0])) from exc
    say = _Summary(quiet=args.quiet)
    say.result(
        f"syndicate viz: {counted(len(result.pages), 'ring page')}"
        f"{' (masked)' if result.masked else ''}"
    )
    say.result(f"  {result.index}")
    if result.masked and not args.mask:
        say.detail("  identifier values were masked by an earlier --mask drawing of this folder")
    if result.kept:
        say.detail(
            f"  kept {counted(len(result.kept), 'file')} in {result.index.parent / 'rings'} "
            f"that syndicate did not write: {', '.join(path.name for path in result.kept[:5])}"
            + (", ..." if len(result.kept) > 5 else "")
        )
    return EXIT_OK


def _same_folder(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()


def _inside(folder: Path, parent: Path) -> bool:
    """Whether ``folder`` lies under ``parent``."""
    return parent.resolve() in folder.resolve().parents


_COMMANDS = {
    "demo": _cmd_demo,
    "evaluate": _cmd_evaluate,
    "monitor": _cmd_monitor,
    "run": _cmd_run,
    "strategies": _cmd_strategies_backtest,
    "synth": _cmd_synth,
    "viz": _cmd_viz,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script exits with it)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return int(exc.code or 0)
    args.argv = list(argv) if argv is not None else sys.argv[1:]
    from syndicate.progress import Reporter, configure_logging

    configure_logging(quiet=args.quiet, verbose=args.verbose)
    reporter = Reporter(quiet=args.quiet)
    try:
        return _COMMANDS[args.command](args, reporter)
    except InputError as exc:
        _error(args.command, str(exc))
        return EXIT_INPUT
    except SyndicateError as exc:
        _error(args.command, str(exc))
        return EXIT_INTERNAL
    except BrokenPipeError:
        # The reader went away (`syndicate demo | head`): stop quietly, as Python's docs advise.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_INTERNAL
    except KeyboardInterrupt:
        _error(args.command, "interrupted; the earlier outputs are as they were")
        return EXIT_INTERRUPTED
    except OSError as exc:
        # The machine, not the input or a bug: a full disk, a permission, a vanished file.
        where = f" ({exc.filename})" if exc.filename else ""
        _error(args.command, f"{exc.strerror or exc}{where}")
        return EXIT_INPUT
    except Exception:
        traceback.print_exc(file=sys.stderr)
        print(
            f"syndicate {args.command}: internal error (a bug: please report it with the "
            "traceback above)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def _error(command: str, message: str) -> None:
    from syndicate.terminal import printable

    print(f"syndicate {command}: error: {printable(message, keep_newlines=True)}", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
