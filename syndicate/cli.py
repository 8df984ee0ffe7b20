"""The ``syndicate`` command line: a thin layer over the public API.

Exit codes: 0 success, 2 bad input or usage, 1 internal error. Logs and progress go to
stderr; ``--quiet`` silences progress.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from syndicate import __version__
from syndicate.demo import DEMO_SELLERS, links_per_kind, run_demo
from syndicate.errors import InputError, SyndicateError
from syndicate.progress import Reporter, configure_logging
from syndicate.synth import generate_marketplace, write_marketplace

__all__ = ["build_parser", "main"]

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT = 0, 1, 2


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
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress output on stderr")
    parser.add_argument("--verbose", "-v", action="store_true", help="debug logging on stderr")


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
    _add_common(demo)

    synth = commands.add_parser(
        "synth",
        help="write a synthetic marketplace with ground truth as Parquet",
        description=(
            "Write sellers.parquet, links.parquet, labels.parquet, truth.parquet (seller_id, ring, "
            "is_bad, legit_group) and link_truth.parquet (each link's real-world identifier and "
            "role) for a marketplace with planted rings. Deterministic by seed."
        ),
    )
    synth.add_argument(
        "--sellers", type=_positive_int, required=True, metavar="N", help="number of sellers"
    )
    synth.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="output folder, created if missing"
    )
    synth.add_argument("--seed", type=_seed, default=0, metavar="S", help="random seed (default 0)")
    _add_common(synth)

    viz = commands.add_parser(
        "viz",
        help="(re)draw the investigator pages of a run",
        description=(
            "Write RUN/viz/index.html and one self-contained page per ring "
            "(RUN/viz/rings/<ring_id>.html) from a run folder written by 'syndicate demo' or "
            "'syndicate run'. Pages work offline."
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
        help="hide identifier values (kind and last characters only) for pages shared widely",
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
    result = run_demo(args.out, n_sellers=args.sellers, seed=args.seed, reporter=reporter)
    summary = result.summary()
    out = sys.stdout
    print(
        f"syndicate demo: {summary['sellers']:,} sellers, {summary['links']:,} links, "
        f"{summary['labels']:,} labels ({summary['known_bad']:,} known bad)",
        file=out,
    )
    print(
        f"  planted: {summary['planted_rings']:,} rings ({summary['ring_members']:,} members), "
        f"{summary['households']:,} households, {summary['businesses']:,} businesses",
        file=out,
    )
    print(f"  rejected input rows: {summary['rejected_rows']:,}", file=out)
    for kind, links, distinct in links_per_kind(result.inputs).iter_rows():
        print(f"  {kind:<8} {links:>10,} links {distinct:>10,} distinct raw values", file=out)
    print(
        f"  seller graph: {summary['linked_sellers']:,} linked sellers, "
        f"{summary['hubs']:,} hub identifiers held back",
        file=out,
    )
    print(
        f"  rings found: {summary['rings_found']:,} (households and businesses included: telling "
        "them from syndicates is the scorer's job)",
        file=out,
    )
    recall, precision = summary["ring_recall"], summary["ring_precision"]
    print(
        f"  planted rings recovered: {summary['planted_rings_recovered']:,} of "
        f"{summary['planted_rings']:,} (Jaccard >= 0.5; recall "
        f"{'n/a' if recall is None else f'{recall:.3f}'}, precision "
        f"{'n/a' if precision is None else f'{precision:.3f}'})",
        file=out,
    )
    decisions = summary["decisions"]
    assert isinstance(decisions, dict)
    if summary["cold_start"]:
        print("  cold start: no usable labels, scores come from ring structure", file=out)
    else:
        print(
            f"  seller model: out-of-fold AUROC {summary['cv_auroc']:.3f}, "
            f"AUPRC {summary['cv_auprc']:.3f} on the labelled sellers",
            file=out,
        )
    print(
        f"  decisions: {decisions.get('syndicate', 0):,} syndicate, "
        f"{decisions.get('review', 0):,} review, {decisions.get('clear', 0):,} clear "
        f"(thresholds {_fmt(summary['threshold_syndicate'])} / "
        f"{_fmt(summary['threshold_review'])}); truly bad among flagged: "
        f"{_fmt(summary['flagged_truly_bad'])}",
        file=out,
    )
    print("  top rings:", file=out)
    top = result.pipeline.rings.sort(
        ["ring_score", "size", "ring_id"], descending=[True, True, False]
    ).head(5)
    for ring_id, size, score, decision, evidence in top.select(
        "ring_id", "size", "ring_score", "decision", "evidence"
    ).iter_rows():
        print(
            f"    {ring_id}  {size:>4} sellers  score {score:.2f}  {decision:<9} "
            f"{'; '.join(evidence[:2])}",
            file=out,
        )
    print(
        f"Inputs:   {result.out / 'input'}/ (sellers, links, labels, truth, link_truth .parquet)",
        file=out,
    )
    for name, path in result.outputs.items():
        print(f"{name.capitalize() + ':':<9} {path}", file=out)
    return EXIT_OK


def _fmt(value: object) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _cmd_synth(args: argparse.Namespace, reporter: Reporter) -> int:
    with reporter.step(f"Generating {args.sellers:,} sellers"):
        market = generate_marketplace(n_sellers=args.sellers, seed=args.seed)
    with reporter.step("Writing Parquet files"):
        files = write_marketplace(market, args.out)
    rings = market.truth["ring"].drop_nulls()
    print(
        f"syndicate synth: {market.sellers.height:,} sellers, {market.links.height:,} links, "
        f"{market.labels.height:,} labels, {rings.n_unique():,} planted rings "
        f"({rings.len():,} members)"
    )
    for path in files.values():
        print(f"  {path}")
    return EXIT_OK


def _cmd_viz(args: argparse.Namespace, reporter: Reporter) -> int:
    from syndicate.errors import InputFileError
    from syndicate.io import read_table
    from syndicate.viz.data import read_view_data
    from syndicate.viz.pages import write_viz

    rings_path = args.run / "rings.parquet"
    if not rings_path.is_file():
        raise InputFileError(f"{rings_path}: not found (is {str(args.run)!r} a run folder?)")
    rings = read_table(rings_path, table="rings")
    data = read_view_data(args.run / "viz" / "data")
    with reporter.step("Drawing ring pages"):
        try:
            result = write_viz(
                rings, data, args.run / "viz", top=args.top, ring_ids=args.ring, mask=args.mask
            )
        except KeyError as exc:
            raise InputFileError(str(exc.args[0])) from exc
    print(f"syndicate viz: {len(result.pages):,} ring pages{' (masked)' if args.mask else ''}")
    print(f"  {result.index}")
    return EXIT_OK


_COMMANDS = {"demo": _cmd_demo, "synth": _cmd_synth, "viz": _cmd_viz}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script exits with it)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return int(exc.code or 0)
    configure_logging(quiet=args.quiet, verbose=args.verbose)
    reporter = Reporter(quiet=args.quiet)
    try:
        return _COMMANDS[args.command](args, reporter)
    except InputError as exc:
        print(f"syndicate {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except SyndicateError as exc:
        print(f"syndicate {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_INTERNAL
    except BrokenPipeError:
        # The reader went away (`syndicate demo | head`): stop quietly, as Python's docs advise.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_INTERNAL
    except KeyboardInterrupt:
        print(f"syndicate {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERNAL
    except Exception:
        traceback.print_exc(file=sys.stderr)
        print(
            f"syndicate {args.command}: internal error (a bug: please report it with the "
            "traceback above)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
