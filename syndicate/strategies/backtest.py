"""Backtesting strategies on past runs: what each one would have caught, and at what cost.

:func:`backtest_strategies` evaluates the strategies of a
:class:`~syndicate.strategies.file.StrategySet` on the tables of one or more runs
(:class:`RunTables`) and measures every one against the run's known labels (and against a
truth table when one is given). The model's own decisions
are measured the same way, as two strategies: ``model:syndicate`` (the sellers the model
decided ``syndicate``) and ``model:review`` (those it decided ``review``), each band with
its own precision and, beside it, the cumulative one (``model:review`` cumulative: every
seller at or above the review threshold, ``syndicate`` or ``review``).

The unit is a **run × seller**: with several runs every count pools the runs, so a seller
hit in two runs counts twice, and each run is measured against its own labels. Statistics,
per strategy (``off`` strategies are listed, not evaluated):

- ``hits``: run × sellers the strategy fires on; ``labelled_hits``: those with a known label;
- ``precision``: the share known bad among the labelled hits; ``recall``: the share of
  known-bad sellers that it hits; both with a Wilson 95% interval (:func:`wilson_interval`);
- ``truth_precision`` / ``truth_recall``: the same against the truth table's ``is_bad``
  (``truth_hits``: the hits the truth table covers);
- ``hit_rings`` and ``top_rings``: the distinct rings among the hits, the most hit first;
- ``overlap``: the Jaccard index |A ∩ B| / |A ∪ B| of its hits with each other evaluated
  strategy's, and ``overlap_model`` with the model's flagged sellers (syndicate ∪ review);
- ``incremental_*``: what it hits that *nothing else deciding* hits, the deciding sets being
  the two model bands and the ``active`` strategies (the strategy itself left out):
  ``incremental_recall`` = known-bad sellers only it hits / known-bad sellers,
  ``incremental_false_positives`` = known-good sellers only it hits;
- ``false_positives``: the known-good (``known_good``) and truly legit (``truth_legit``)
  sellers it hits, counted by the kind of the binding identifier of the seller's first
  reason (``payout``, ...; ``none`` without a reason), by the kind of the truth's
  ``legit_group`` (``household``, ``business``; ``none`` outside any), and by ring;
- ``per_run``: hits, precision and recall in each run, the runs ordered by ``as_of``.

Everything is computed with Polars expressions over the hit table (loops run over
strategies and runs, never over rows), and no figure depends on the row order of the
inputs.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from syndicate.errors import ConfigError, InputError, InputFileError, SchemaError
from syndicate.io import (
    TableSource,
    file_sha256,
    record_written,
    refuse_foreign_files,
    to_polars,
    write_json_atomic,
    write_parquet_atomic,
    write_text_atomic,
)
from syndicate.runfolder import pending_commits
from syndicate.strategies.apply import (
    HITS_SCHEMA,
    SELLER_SCORE_COLUMNS,
    compile_strategies,
    seller_table,
    strategy_hits,
)
from syndicate.strategies.file import StrategySet
from syndicate.strategies.report import REPORT_HTML, render_report

__all__ = [
    "BACKTEST_OUTPUTS",
    "CONFIDENCE",
    "HITS_PARQUET",
    "MODEL_BANDS",
    "STRATEGIES_JSON",
    "Backtest",
    "RunTables",
    "StrategyHits",
    "backtest_hits_schema",
    "backtest_runs",
    "backtest_strategies",
    "evaluate_runs",
    "measure_hits",
    "read_known_labels",
    "read_run",
    "read_truth",
    "wilson_interval",
    "write_backtest",
]

#: The model's decisions as strategies, strongest first: name -> the model's decision.
MODEL_BANDS: dict[str, str] = {"model:syndicate": "syndicate", "model:review": "review"}
#: Coverage of the intervals.
CONFIDENCE = 0.95
#: The normal quantile of a two-sided 95% interval.
_Z = 1.959963984540054
#: How many rings ``top_rings`` and each false-positive ``by_ring`` list.
TOP_RINGS = 5

STRATEGIES_JSON = "strategies.json"
HITS_PARQUET = "strategy_hits.parquet"
#: Everything :func:`write_backtest` writes into its folder.
BACKTEST_OUTPUTS = (STRATEGIES_JSON, HITS_PARQUET, REPORT_HTML)

_TIME = pl.Datetime("us", "UTC")
_MODEL_STATUS = "model"
_MODEL_DESCRIPTION = {
    "model:syndicate": "The model's syndicate decisions (score ≥ syndicate threshold).",
    "model:review": "The model's review decisions (review ≤ score < syndicate threshold); "
    "cumulative: score ≥ review threshold.",
}
#: The binding kind of a reason such as ``payout …4821 shared with 3 sellers``: the words
#: before the masked value (kinds are free text), else the first word.
_FIRST_REASON = pl.col("reasons").list.first()
_BINDING_KIND = pl.coalesce(
    _FIRST_REASON.str.extract(r"^(.+?) …", 1),
    _FIRST_REASON.str.extract(r"^(\S+)", 1),
    pl.lit("none"),
)
#: The kind of a truth ``legit_group`` (``household-0012`` -> ``household``), as
#: ``syndicate evaluate`` counts them.
_GROUP_KIND = (
    pl.when(pl.col("legit_group").is_null())
    .then(pl.lit("none"))
    .otherwise(pl.col("legit_group").str.extract(r"^([A-Za-z_]+)", 1).fill_null("other"))
)


def wilson_interval(successes: int, n: int, z: float = _Z) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion ``successes / n`` (95% by default).

    Unlike the normal approximation it stays inside [0, 1] and is not empty at 0 or n.
    None when ``n`` is 0.

    Examples
    --------
    >>> [round(bound, 4) for bound in wilson_interval(8, 10)]
    [0.4902, 0.9433]
    >>> [round(bound, 4) for bound in wilson_interval(0, 5)]
    [0.0, 0.4345]
    >>> wilson_interval(0, 0) is None
    True
    """
    if n <= 0:
        return None
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


# --- inputs ---------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RunTables:
    """One run as the backtest reads it.

    Attributes
    ----------
    run : str
        The run's name in the outputs (the folder as given).
    as_of : datetime
        The run's as-of time (naive: UTC); runs are ordered by it, then by name.
    labels, features, rings : DataFrame or LazyFrame
        ``labels.parquet`` (``seller_id``, ``ring_id``, ``decision``, ``reasons``, and
        ``model_decision`` in runs made with strategies), ``features.parquet`` and
        ``rings.parquet``. Lazy frames are read for the columns the strategies use only.
    known : DataFrame
        The known labels the run used: ``seller_id``, ``label`` (1 = known bad, 0 = known
        good). Conflicting labels of one seller are dropped, as the run drops them.
    labels_file : mapping
        Where ``known`` came from (``path``, ``sha256``, ``from``), for the outputs.
    thresholds : mapping
        The run's decision thresholds (``syndicate``, ``review``), for the outputs.
    """

    run: str
    as_of: datetime
    labels: pl.DataFrame | pl.LazyFrame
    features: pl.DataFrame | pl.LazyFrame
    rings: pl.DataFrame | pl.LazyFrame
    known: pl.DataFrame
    labels_file: Mapping[str, Any] = field(default_factory=dict)
    thresholds: Mapping[str, Any] = field(default_factory=dict)


def _known_table(frame: pl.DataFrame, origin: str) -> pl.DataFrame:
    """``seller_id`` (trimmed text), ``label`` (Int8 0/1), one row per seller."""
    missing = [c for c in ("seller_id", "label") if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"{origin}: missing columns {missing} (known labels need seller_id and label; "
            f"got {frame.columns})"
        )
    label = pl.col("label")
    dtype = frame.schema["label"]
    if dtype == pl.String:
        text = label.str.strip_chars().str.to_lowercase()
        label = (
            pl.when(text.is_in(["1", "1.0", "true"]))
            .then(1)
            .when(text.is_in(["0", "0.0", "false"]))
            .then(0)
            .when(text.is_null() | (text == ""))
            .then(None)
            .otherwise(-1)
        )
    elif dtype == pl.Boolean or dtype == pl.Null or dtype.is_numeric():
        label = pl.when(label.cast(pl.Float64).is_in([0.0, 1.0])).then(label).otherwise(-1)
        label = pl.when(pl.col("label").is_null()).then(None).otherwise(label)
    else:
        raise SchemaError(f"{origin}: column 'label' must be 0 or 1; got dtype {dtype}")
    table = frame.select(
        pl.col("seller_id").cast(pl.String).str.strip_chars().alias("seller_id"),
        label.cast(pl.Int8).alias("label"),
    )
    bad = table.with_row_index("row").filter(pl.col("label") == -1)["row"].head(5)
    if bad.len():
        raise SchemaError(
            f"{origin}: column 'label' must be 0 or 1 (1 = known bad, 0 = known good); "
            f"got other values in rows {bad.to_list()}"
        )
    return (
        table.drop_nulls()
        .filter(pl.col("seller_id") != "")
        .group_by("seller_id")
        .agg(pl.col("label").min(), pl.col("label").n_unique().alias("labels"))
        .filter(pl.col("labels") == 1)
        .select("seller_id", "label")
        .sort("seller_id")
    )


def read_known_labels(source: TableSource) -> pl.DataFrame:
    """Read a labels table (``seller_id``, ``label``) as the backtest measures against it.

    Labels are 0/1 (``true``/``false`` and booleans too); a seller labelled both ways is
    dropped, as ``syndicate run`` refuses such labels.

    Raises
    ------
    InputFileError, SchemaError
        The file cannot be read, lacks a column or holds a label other than 0 or 1.

    Examples
    --------
    >>> import polars as pl
    >>> read_known_labels(pl.DataFrame({"seller_id": [1, 2, 2, 3], "label": [1, 0, 1, 0]}))
    shape: (2, 2)
    ┌───────────┬───────┐
    │ seller_id ┆ label │
    │ ---       ┆ ---   │
    │ str       ┆ i8    │
    ╞═══════════╪═══════╡
    │ 1         ┆ 1     │
    │ 3         ┆ 0     │
    └───────────┴───────┘
    """
    frame, origin = to_polars(source, table="labels", string_columns=("seller_id",))
    return _known_table(frame, origin)


def _truth_table(frame: pl.DataFrame, origin: str) -> pl.DataFrame:
    """``seller_id``, ``is_bad`` (Boolean), ``legit_group`` (text or null)."""
    from syndicate.evaluate import truth_table

    return truth_table(frame, origin=origin, with_ring=False)


def read_truth(source: TableSource) -> pl.DataFrame:
    """Read a truth table (``seller_id``, ``is_bad``, optionally ``legit_group``).

    Raises
    ------
    InputFileError, SchemaError
        The file cannot be read, lacks a column, ``is_bad`` is not 0/1 or a seller is
        listed twice.
    """
    frame, origin = to_polars(source, table="truth", string_columns=("seller_id",))
    return _truth_table(frame, origin)


def _manifest(folder: Path) -> dict[str, Any]:
    path = folder / "run.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputFileError(
            f"{str(path)!r}: not found (is {str(folder)!r} a run folder written by syndicate run?)"
        ) from None
    except (OSError, ValueError) as exc:
        raise InputFileError(f"{str(path)!r}: cannot be read as a run manifest ({exc})") from exc
    if not isinstance(manifest, dict):
        raise InputFileError(f"{str(path)!r}: is not a run manifest (not a JSON object)")
    return manifest


def _as_of(manifest: Mapping[str, Any], folder: Path) -> datetime:
    from syndicate.monitor.history import manifest_as_of

    return manifest_as_of(manifest, repr(str(folder / "run.json")))


def _run_labels(manifest: Mapping[str, Any], folder: Path) -> tuple[pl.DataFrame, dict[str, Any]]:
    """The labels file the run used, checked against its recorded sha256."""
    inputs = manifest.get("inputs")
    recorded = inputs.get("labels") if isinstance(inputs, dict) else None
    where = f"run {str(folder)!r}"
    if not isinstance(recorded, dict) or not isinstance(recorded.get("path"), str):
        raise InputFileError(
            f"{where} used no labels file (run.json has no inputs.labels.path), so there "
            "are no known labels to measure the strategies against; give them with --labels"
        )
    path = Path(recorded["path"])
    if not path.is_file():
        relative = (
            ""
            if path.is_absolute()
            else " (a relative path is taken from the current folder: backtest from the "
            "folder the run was started in)"
        )
        raise InputFileError(
            f"{where}: its labels file {str(path)!r} (run.json inputs.labels.path) does not "
            f"exist{relative}; give the labels with --labels"
        )
    expected = recorded.get("sha256")
    digest = file_sha256(path)
    if digest != expected:
        said = f"sha256 {expected[:12]}… recorded" if isinstance(expected, str) else "no sha256"
        raise InputFileError(
            f"{where}: its labels file {str(path)!r} changed since the run ({said}, "
            f"{digest[:12]}… now), so it is not what the run used; give the labels to "
            "measure against with --labels"
        )
    known = read_known_labels(path)
    return known, {"path": str(path), "sha256": digest, "from": "run"}


def _scan(folder: Path, name: str) -> pl.LazyFrame:
    path = folder / name
    if not path.is_file():
        raise InputFileError(
            f"{str(path)!r}: not found (is {str(folder)!r} a run folder written by syndicate run?)"
        )
    try:
        pl.read_parquet_schema(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputFileError(f"{str(path)!r}: cannot be read as Parquet ({exc})") from exc
    return pl.scan_parquet(path)


def read_run(
    folder: str | os.PathLike[str],
    *,
    known: pl.DataFrame | None = None,
    labels_file: Mapping[str, Any] | None = None,
) -> RunTables:
    """A run folder's tables for :func:`backtest_strategies` (scanned lazily).

    Parameters
    ----------
    folder
        A folder written by ``syndicate run``.
    known
        Known labels to measure against instead of the run's own (:func:`read_known_labels`),
        described by ``labels_file``. By default the run's labels file is read from
        ``run.json`` (``inputs.labels.path``; a relative path is taken from the current
        folder) and must still have the sha256 the run recorded.

    Raises
    ------
    InputFileError
        The folder is not a finished run folder, has no ``as_of``, used no labels file, or
        its labels file is missing or changed since the run.
    """
    path = Path(folder)
    if not path.is_dir():
        what = "is a file, not a run folder" if path.exists() else "does not exist"
        raise InputFileError(f"run folder {str(path)!r} {what}")
    if pending_commits(path):
        raise InputFileError(
            f"{str(path)!r} holds an unfinished run (interrupted while writing); run syndicate "
            "run into it again to finish it first"
        )
    manifest = _manifest(path)
    as_of = _as_of(manifest, path)
    tables = {name: _scan(path, f"{name}.parquet") for name in ("labels", "features", "rings")}
    if known is None:
        known, source = _run_labels(manifest, path)
    else:
        source = dict(labels_file or {"from": "given"})
    recorded = manifest.get("thresholds")
    thresholds = {
        band: recorded.get(band)
        for band in ("syndicate", "review")
        if isinstance(recorded, dict) and isinstance(recorded.get(band), int | float)
    }
    return RunTables(
        run=str(folder),
        as_of=as_of,
        known=known,
        labels_file=source,
        thresholds=thresholds,
        **tables,
    )


# --- the backtest ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Backtest:
    """What :func:`backtest_strategies` measured.

    Attributes
    ----------
    document : dict
        ``strategies.json``: ``strategies`` (the model bands, then every strategy in file
        order, each with its statistics), ``runs`` (ordered by ``as_of``), ``totals``,
        ``strategies_file``, ``truth``, ``confidence``.
    hits : DataFrame
        ``strategy_hits.parquet``: one row per run, seller and strategy fired (the model
        bands included), :func:`backtest_hits_schema`.
    """

    document: dict[str, Any]
    hits: pl.DataFrame

    @property
    def strategies(self) -> list[dict[str, Any]]:
        """The entries of ``strategies.json``, model bands first."""
        return list(self.document["strategies"])

    def strategy(self, name: str) -> dict[str, Any]:
        """The entry of one strategy (or model band) by name."""
        for entry in self.document["strategies"]:
            if entry["name"] == name:
                return dict(entry)
        raise KeyError(name)


def backtest_hits_schema(truth: bool) -> dict[str, pl.DataType]:
    """The columns of ``strategy_hits.parquet``: ``run``, ``as_of``, the columns of
    :data:`~syndicate.strategies.apply.HITS_SCHEMA`, the seller's known ``label`` and, with a
    truth table, its ``is_bad`` and ``legit_group``."""
    schema: dict[str, pl.DataType] = {"run": pl.String(), "as_of": _TIME, **HITS_SCHEMA}
    schema["label"] = pl.Int8()
    if truth:
        schema["is_bad"] = pl.Boolean()
        schema["legit_group"] = pl.String()
    return schema


def _lazy(frame: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    return frame.lazy() if isinstance(frame, pl.DataFrame) else frame


def _model_labels(run: RunTables) -> pl.LazyFrame:
    """``labels.parquet`` with the model's own decision in ``decision``."""
    labels = _lazy(run.labels)
    columns = labels.collect_schema().names()
    missing = [c for c in ("seller_id", "ring_id", "decision") if c not in columns]
    if missing:
        raise SchemaError(f"run {run.run!r}: labels.parquet lacks columns {missing}")
    if "model_decision" in columns:
        labels = labels.drop("decision").rename({"model_decision": "decision"})
    keep = ["seller_id", "ring_id", "decision", "reasons"]
    keep += [s for s in SELLER_SCORE_COLUMNS.values() if s not in keep]
    return labels.select(c for c in keep if c in columns or c == "decision")


def _seller_facts(
    run: RunTables, index: int, labels: pl.DataFrame, truth: pl.DataFrame | None
) -> pl.DataFrame:
    """One row per seller of the run: its key, ring, model decision, binding kind, labels."""
    kind = _BINDING_KIND if "reasons" in labels.columns else pl.lit("none")
    known = _known_table(run.known, f"known labels of run {run.run!r}")
    facts = labels.select(
        "seller_id",
        pl.col("ring_id").cast(pl.String),
        pl.col("decision").alias("model_decision"),
        kind.alias("binding_kind"),
    ).join(known, on="seller_id", how="left")
    if truth is not None:
        facts = facts.join(truth, on="seller_id", how="left")
    return facts.with_columns(
        (pl.lit(index << 32, pl.UInt64) + pl.int_range(pl.len(), dtype=pl.UInt64)).alias("key"),
        pl.lit(index, pl.UInt32).alias("run_index"),
    )


def _run_hits(
    strategies: StrategySet, run: RunTables, labels: pl.DataFrame, facts: pl.DataFrame
) -> pl.DataFrame:
    """Every hit in one run (model bands first) with the seller's facts."""
    features, rings = _lazy(run.features), _lazy(run.rings)
    feature_schema = features.collect_schema()
    labels = labels.drop("reasons", strict=False)
    ring_frame = rings.collect()
    sellers = seller_table(pl.DataFrame(schema=feature_schema), labels.clear())
    try:
        compiled = compile_strategies(strategies, sellers.schema, ring_frame.schema)
        read = {c for s, cond in compiled if s.scope == "seller" for c in cond.columns}
        columns = ["seller_id", *sorted(read & set(feature_schema.names()) - {"seller_id"})]
        found = strategy_hits(strategies, features.select(columns).collect(), labels, ring_frame)
    except ConfigError as exc:
        raise ConfigError(f"{exc} (in run {run.run!r})") from None
    model = facts.filter(pl.col("model_decision").is_in(list(MODEL_BANDS.values()))).select(
        (pl.lit("model:") + pl.col("model_decision")).alias("strategy"),
        "seller_id",
        "ring_id",
        pl.col("model_decision").alias("action"),
        pl.lit(_MODEL_STATUS).alias("status"),
        pl.lit("seller").alias("scope"),
    )
    hits = pl.concat([model, found.select(model.columns)])
    return hits.join(facts.drop("ring_id", "model_decision"), on="seller_id", how="inner")


def _tallies(truth: bool) -> list[pl.Expr]:
    """Counts of a group of hits."""
    label = pl.col("label")
    exprs = [
        pl.len().alias("hits"),
        label.is_not_null().sum().alias("labelled_hits"),
        (label == 1).sum().alias("known_bad_hits"),
        (label == 0).sum().alias("known_good_hits"),
    ]
    if truth:
        exprs += [
            pl.col("is_bad").is_not_null().sum().alias("truth_hits"),
            pl.col("is_bad").sum().alias("truth_bad_hits"),
            (~pl.col("is_bad")).sum().alias("truth_legit_hits"),
        ]
    return exprs


def _by_strategy(frame: pl.DataFrame, *keys: str) -> dict[Any, dict[str, Any]]:
    """Rows of a grouped frame keyed by its key columns (one key: the value itself)."""
    rows: dict[Any, dict[str, Any]] = {}
    for row in frame.iter_rows(named=True):
        key = tuple(row.pop(k) for k in keys)
        rows[key[0] if len(key) == 1 else key] = row
    return rows


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _ratio(part: int, whole: int) -> float | None:
    return _round(part / whole) if whole else None


def _interval(part: int, whole: int) -> list[float] | None:
    bounds = wilson_interval(part, whole)
    return None if bounds is None else [_round(bounds[0]), _round(bounds[1])]  # type: ignore[list-item]


def _measures(counts: Mapping[str, int], totals: Mapping[str, int], truth: bool) -> dict[str, Any]:
    """Hits, precision and recall (with intervals) of one set of hits."""
    labelled, bad = counts.get("labelled_hits", 0), counts.get("known_bad_hits", 0)
    out: dict[str, Any] = {
        "hits": counts.get("hits", 0),
        "labelled_hits": labelled,
        "known_bad_hits": bad,
        "known_good_hits": counts.get("known_good_hits", 0),
        "precision": _ratio(bad, labelled),
        "precision_interval": _interval(bad, labelled),
        "recall": _ratio(bad, totals["known_bad"]),
        "recall_interval": _interval(bad, totals["known_bad"]),
    }
    if truth:
        covered, truly = counts.get("truth_hits", 0), counts.get("truth_bad_hits", 0)
        out |= {
            "truth_hits": covered,
            "truth_bad_hits": truly,
            "truth_legit_hits": counts.get("truth_legit_hits", 0),
            "truth_precision": _ratio(truly, covered),
            "truth_precision_interval": _interval(truly, covered),
            "truth_recall": _ratio(truly, totals["truth_bad"]),
            "truth_recall_interval": _interval(truly, totals["truth_bad"]),
        }
    return out


def _added(*counts: Mapping[str, int]) -> dict[str, int]:
    keys = {k for c in counts for k in c}
    return {k: sum(int(c.get(k, 0)) for c in counts) for k in keys}


def _overlaps(hits: pl.DataFrame, names: Sequence[str]) -> dict[tuple[str, str], int]:
    """|A ∩ B| for every pair of hit sets (one semi-join per set)."""
    keys = hits.select("strategy", "key")
    shared: dict[tuple[str, str], int] = {}
    for name in names:
        mine = keys.filter(pl.col("strategy") == name).select("key")
        counts = keys.join(mine, on="key", how="semi").group_by("strategy").len()
        for other, n in counts.iter_rows():
            shared[(name, other)] = int(n)
    return shared


def _incremental(hits: pl.DataFrame, deciding: Sequence[str], truth: bool) -> pl.DataFrame:
    """Per strategy: its hits that no other deciding set hits, counted like :func:`_tallies`."""
    is_deciding = pl.col("strategy").is_in(list(deciding))
    caught = hits.filter(is_deciding).group_by("key").agg(pl.len().alias("deciding"))
    only = (
        hits.join(caught, on="key", how="left")
        .filter(pl.col("deciding").fill_null(0) - is_deciding.cast(pl.UInt32) == 0)
        .group_by("strategy")
        .agg(_tallies(truth))
    )
    return only


def _top(frame: pl.DataFrame, column: str, top: int) -> pl.DataFrame:
    """Per strategy, the ``top`` most frequent non-null values of ``column`` (ties: by value)."""
    return (
        frame.filter(pl.col(column).is_not_null())
        .group_by("strategy", column)
        .len()
        .sort(["strategy", "len", column], descending=[False, True, False])
        .group_by("strategy", maintain_order=True)
        .head(top)
    )


def _breakdown(false_positives: pl.DataFrame, truth: bool, top: int) -> dict[str, dict[str, Any]]:
    """Per strategy: its false positives by binding kind, legit group and ring."""
    result: dict[str, dict[str, Any]] = {}
    totals = false_positives.group_by("strategy").agg(
        pl.len().alias("n"),
        pl.col("ring_id").is_null().sum().alias("in_no_ring"),
        pl.col("ring_id").drop_nulls().n_unique().alias("rings"),
    )
    for name, row in _by_strategy(totals, "strategy").items():
        result[name] = {**_empty_breakdown(truth), **row}
    dimensions = [("by_binding_kind", pl.col("binding_kind"))]
    if truth:
        dimensions.append(("by_legit_group_kind", _GROUP_KIND))
    for key, expr in dimensions:
        counts = false_positives.group_by("strategy", expr.alias("value")).len()
        for name, value, n in counts.sort("strategy", "value").iter_rows():
            result[name][key][value] = int(n)
    tops = [("by_ring", "ring_id")] + ([("by_legit_group", "legit_group")] if truth else [])
    for key, column in tops:
        for name, value, n in _top(false_positives, column, top).iter_rows():
            result[name][key].append({column: value, "sellers": int(n)})
    return result


def _empty_breakdown(truth: bool) -> dict[str, Any]:
    empty: dict[str, Any] = {"n": 0, "in_no_ring": 0, "rings": 0, "by_binding_kind": {}}
    empty["by_ring"] = []
    if truth:
        empty["by_legit_group_kind"] = {}
        empty["by_legit_group"] = []
    return empty


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class _Figures:
    """Everything measured on the hit table, by strategy (and run)."""

    truth: bool
    totals: dict[str, int]
    run_totals: dict[Any, dict[str, int]]
    tallies: dict[Any, dict[str, int]]
    run_tallies: dict[Any, dict[str, int]]
    alone: dict[Any, dict[str, int]]
    shared: dict[tuple[str, str], int]
    hit_rings: dict[str, int]
    top_rings: dict[str, list[dict[str, Any]]]
    false_positives: dict[str, dict[str, dict[str, Any]]]


def _measure(
    facts: pl.DataFrame,
    hits: pl.DataFrame,
    evaluated: Sequence[str],
    deciding: Sequence[str],
    truth: bool,
    top: int,
) -> _Figures:
    denominators = [
        pl.len().alias("sellers"),
        (pl.col("label") == 1).sum().alias("known_bad"),
        (pl.col("label") == 0).sum().alias("known_good"),
    ]
    if truth:
        denominators += [
            pl.col("is_bad").is_not_null().sum().alias("truth_sellers"),
            pl.col("is_bad").sum().alias("truth_bad"),
        ]
    run_totals = _by_strategy(facts.group_by("run_index").agg(denominators), "run_index")
    rings = (
        hits.filter(pl.col("ring_id").is_not_null())
        .group_by("strategy", "ring_id")
        .agg(pl.len().alias("hits"), (pl.col("label") == 1).sum().alias("known_bad_hits"))
        .sort(["strategy", "hits", "ring_id"], descending=[False, True, False])
    )
    top_rings: dict[str, list[dict[str, Any]]] = {}
    for name, ring, n, bad in rings.group_by("strategy", maintain_order=True).head(top).rows():
        top_rings.setdefault(name, []).append(
            {"ring_id": ring, "hits": int(n), "known_bad_hits": int(bad)}
        )
    false_positives = {"known_good": _breakdown(hits.filter(pl.col("label") == 0), truth, top)}
    if truth:
        false_positives["truth_legit"] = _breakdown(hits.filter(~pl.col("is_bad")), truth, top)
    return _Figures(
        truth=truth,
        totals={k: int(v) for k, v in _added(*run_totals.values()).items()},
        run_totals=run_totals,
        tallies=_by_strategy(hits.group_by("strategy").agg(_tallies(truth)), "strategy"),
        run_tallies=_by_strategy(
            hits.group_by("strategy", "run_index").agg(_tallies(truth)), "strategy", "run_index"
        ),
        alone=_by_strategy(_incremental(hits, deciding, truth), "strategy"),
        shared=_overlaps(hits, evaluated),
        hit_rings={str(k): int(v) for k, v in rings.group_by("strategy").len().iter_rows()},
        top_rings=top_rings,
        false_positives=false_positives,
    )


def _describe(strategies: StrategySet) -> dict[str, dict[str, Any]]:
    """What each entry is: the model bands, then every strategy of the file."""
    described = {
        band: {
            "kind": "model",
            "action": decision,
            "scope": "seller",
            "status": _MODEL_STATUS,
            "when": f"model_decision = '{decision}'",
            "description": _MODEL_DESCRIPTION[band],
            "owner": "",
        }
        for band, decision in MODEL_BANDS.items()
    }
    for strategy in strategies.strategies:
        described[strategy.name] = {
            "kind": "strategy",
            "action": strategy.action,
            "scope": strategy.scope,
            "status": strategy.status,
            "when": strategy.when,
            "description": strategy.description,
            "owner": strategy.owner,
        }
    return described


def _entry(
    name: str, figures: _Figures, evaluated: Sequence[str], ordered: Sequence[RunTables]
) -> dict[str, Any]:
    """The statistics of one evaluated strategy or model band."""
    truth, totals = figures.truth, figures.totals
    counts = figures.tallies.get(name, {})
    entry = _measures(counts, totals, truth)
    entry["cumulative"] = None
    if name in MODEL_BANDS:
        bands = list(MODEL_BANDS)
        above = [figures.tallies.get(band, {}) for band in bands[: bands.index(name) + 1]]
        entry["cumulative"] = _measures(_added(*above), totals, truth)
    entry["hit_rings"] = figures.hit_rings.get(name, 0)
    entry["top_rings"] = figures.top_rings.get(name, [])
    size = counts.get("hits", 0)
    entry["overlap"] = {
        other: _ratio(
            figures.shared.get((name, other), 0),
            size
            + figures.tallies.get(other, {}).get("hits", 0)
            - figures.shared.get((name, other), 0),
        )
        for other in evaluated
        if other != name
    }
    flagged = sum(figures.tallies.get(band, {}).get("hits", 0) for band in MODEL_BANDS)
    with_model = sum(figures.shared.get((name, band), 0) for band in MODEL_BANDS)
    entry["overlap_model"] = _ratio(with_model, size + flagged - with_model)
    alone = figures.alone.get(name, {})
    entry |= {
        "incremental_hits": alone.get("hits", 0),
        "incremental_known_bad": alone.get("known_bad_hits", 0),
        "incremental_recall": _ratio(alone.get("known_bad_hits", 0), totals["known_bad"]),
        "incremental_false_positives": alone.get("known_good_hits", 0),
    }
    if truth:
        entry |= {
            "truth_incremental_bad": alone.get("truth_bad_hits", 0),
            "truth_incremental_recall": _ratio(alone.get("truth_bad_hits", 0), totals["truth_bad"]),
            "truth_incremental_false_positives": alone.get("truth_legit_hits", 0),
        }
    entry["false_positives"] = {
        basis: by_strategy.get(name, _empty_breakdown(truth))
        for basis, by_strategy in figures.false_positives.items()
    }
    entry["per_run"] = []
    for index, run in enumerate(ordered):
        measured = _measures(
            figures.run_tallies.get((name, index), {}), figures.run_totals[index], truth
        )
        entry["per_run"].append(
            {
                "run": run.run,
                "as_of": _as_utc(run.as_of).isoformat(),
                **{k: v for k, v in measured.items() if not k.endswith("_interval")},
            }
        )
    return entry


def backtest_strategies(
    strategies: StrategySet,
    runs: Sequence[RunTables],
    truth: pl.DataFrame | None = None,
    *,
    top: int = TOP_RINGS,
) -> Backtest:
    """Evaluate the strategies and the model's bands on past runs and measure them.

    Parameters
    ----------
    strategies
        The strategies file (:func:`~syndicate.strategies.file.load_strategies`); ``off``
        strategies are listed, not evaluated.
    runs
        The runs (:func:`read_run`, or hand-built :class:`RunTables`), in any order: they
        are ordered by ``as_of``, then name.
    truth
        Optionally a truth table (``seller_id``, ``is_bad``, optionally ``legit_group``):
        every figure is then also measured against it.
    top
        How many rings ``top_rings`` lists, and how many rings and legit groups each
        false-positive breakdown lists.

    Returns
    -------
    Backtest
        ``strategies.json`` as a document and the hit table. See the module docstring for
        every statistic.

    Raises
    ------
    ConfigError
        A strategy reads an unknown column or mixes types (the message names the strategy
        and the run).
    SchemaError, InputError
        No runs, two runs of one name, a table without the columns read, bad labels or
        truth.
    """
    return measure_hits(strategies, evaluate_runs(strategies, runs, truth), top=top)


@dataclass(frozen=True, eq=False)
class StrategyHits:
    """Where the strategies and the model's bands fire, in every run (:func:`evaluate_runs`).

    Attributes
    ----------
    runs : tuple of RunTables
        The runs, ordered by ``as_of``, then name.
    sellers : DataFrame
        One row per run × seller: ``key``, ``run_index``, ``seller_id``, ``ring_id``,
        ``model_decision``, ``binding_kind``, ``label`` (and ``is_bad``, ``legit_group``).
    hits : DataFrame
        One row per run × seller × strategy fired (model bands first), with the seller's
        columns of ``sellers``.
    truth : bool
        Whether a truth table was given.
    """

    runs: tuple[RunTables, ...]
    sellers: pl.DataFrame
    hits: pl.DataFrame
    truth: bool


def evaluate_runs(
    strategies: StrategySet, runs: Sequence[RunTables], truth: pl.DataFrame | None = None
) -> StrategyHits:
    """The first step of :func:`backtest_strategies`: evaluate every strategy and band on every run.

    Raises
    ------
    ConfigError, SchemaError, InputError
        As :func:`backtest_strategies`.
    """
    if not runs:
        raise InputError("no runs to backtest")
    names = [run.run for run in runs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InputError(f"run {repeated[0]!r} is given more than once")
    ordered = tuple(sorted(runs, key=lambda r: (_as_utc(r.as_of), r.run)))
    truth_table = _truth_table(truth, "truth") if truth is not None else None
    facts_parts, hit_parts = [], []
    for index, run in enumerate(ordered):
        labels = _model_labels(run).collect()
        facts = _seller_facts(run, index, labels, truth_table)
        hit_parts.append(_run_hits(strategies, run, labels, facts))
        facts_parts.append(facts)
    return StrategyHits(ordered, pl.concat(facts_parts), pl.concat(hit_parts), truth is not None)


def measure_hits(
    strategies: StrategySet, evaluated: StrategyHits, *, top: int = TOP_RINGS
) -> Backtest:
    """The second step of :func:`backtest_strategies`: every statistic of every strategy and
    model band."""
    ordered, hits, has_truth = evaluated.runs, evaluated.hits, evaluated.truth
    names = [*MODEL_BANDS, *(s.name for s in strategies.evaluated)]
    deciding = [*MODEL_BANDS, *(s.name for s in strategies.evaluated if s.status == "active")]
    figures = _measure(evaluated.sellers, hits, names, deciding, has_truth, top)
    entries = []
    for name, described in _describe(strategies).items():
        entry = {"name": name, **described, "evaluated": name in names}
        if name in names:
            entry |= _entry(name, figures, names, ordered)
        entries.append(entry)
    run_docs = [
        {
            "run": run.run,
            "as_of": _as_utc(run.as_of).isoformat(),
            **{k: int(v) for k, v in figures.run_totals[index].items()},
            "labels": dict(run.labels_file),
            "thresholds": dict(run.thresholds),
        }
        for index, run in enumerate(ordered)
    ]
    truth_sellers = figures.totals.get("truth_sellers")
    document = {
        "strategies": entries,
        "runs": run_docs,
        "totals": figures.totals,
        "strategies_file": {"path": strategies.path, "sha256": strategies.sha256},
        "truth": {"sellers_covered": truth_sellers} if has_truth else None,
        "confidence": CONFIDENCE,
        "deciding": deciding,
    }
    return Backtest(document, _hit_table(hits, ordered, names, has_truth))


def _hit_table(
    hits: pl.DataFrame, ordered: Sequence[RunTables], evaluated: Sequence[str], truth: bool
) -> pl.DataFrame:
    """``strategy_hits.parquet``: runs in order, strategies in report order, then sellers."""
    runs = pl.DataFrame(
        {
            "run_index": range(len(ordered)),
            "run": [run.run for run in ordered],
            "as_of": [_as_utc(run.as_of) for run in ordered],
        },
        schema={"run_index": pl.UInt32, "run": pl.String, "as_of": _TIME},
    )
    order = {name: i for i, name in enumerate(evaluated)}
    schema = backtest_hits_schema(truth)
    return (
        hits.join(runs, on="run_index", how="left")
        .with_columns(
            pl.col("strategy").replace_strict(order, return_dtype=pl.UInt32).alias("_order")
        )
        .sort("run_index", "_order", "seller_id")
        .select(pl.col(name).cast(dtype) for name, dtype in schema.items())
    )


# --- files ----------------------------------------------------------------------------------


def backtest_runs(
    folders: Sequence[str | os.PathLike[str]],
    strategies: StrategySet,
    *,
    labels: TableSource | None = None,
    truth: TableSource | None = None,
) -> Backtest:
    """:func:`backtest_strategies` on run folders: each run against its own labels file, or
    against ``labels``.

    Raises
    ------
    InputFileError
        As :func:`read_run`; a folder given twice.
    ConfigError, SchemaError
        As :func:`backtest_strategies`.
    """
    seen: set[Path] = set()
    for folder in folders:
        resolved = Path(folder).resolve()
        if resolved in seen:
            raise InputFileError(f"run folder {str(folder)!r} is given twice")
        seen.add(resolved)
    known = described = None
    if labels is not None:
        known = read_known_labels(labels)
        described = {"from": "--labels"}
        if isinstance(labels, str | os.PathLike):
            described |= {"path": os.fspath(labels), "sha256": file_sha256(Path(labels))}
    runs = [read_run(folder, known=known, labels_file=described) for folder in folders]
    table = read_truth(truth) if truth is not None else None
    result = backtest_strategies(strategies, runs, table)
    if isinstance(truth, str | os.PathLike):
        result.document["truth"]["path"] = os.fspath(truth)
    return result


def write_backtest(result: Backtest, out: str | os.PathLike[str]) -> dict[str, Path]:
    """Write ``strategies.json``, ``strategy_hits.parquet`` and ``report.html`` into ``out``.

    Each file is written atomically and recorded in the folder's listing of what syndicate
    wrote; a file of those names that syndicate did not write there is never replaced.

    Raises
    ------
    InputFileError
        ``out`` holds one of the three files and syndicate did not write it (or it changed).
    """
    folder = Path(out)
    refuse_foreign_files(folder, BACKTEST_OUTPUTS)
    paths = {
        "strategies": write_json_atomic(result.document, folder / STRATEGIES_JSON),
        "hits": write_parquet_atomic(result.hits, folder / HITS_PARQUET),
        "report": write_text_atomic(render_report(result.document), folder / REPORT_HTML),
    }
    record_written(folder, paths.values())
    return paths
