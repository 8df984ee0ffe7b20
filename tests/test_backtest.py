"""``syndicate strategies backtest`` on hand-built runs whose right answers are worked out here.

The run (``market``) has ten sellers and three rings:

====== ==== ========== ======== ===== ====== =========== =================
seller ring  decision  reason   label truth  n_device    orders_30d
====== ==== ========== ======== ===== ====== =========== =================
s01    R1   syndicate  payout   1     bad    1           0
s02    R1   syndicate  payout   1     bad    3           0
s03    R1   review     device   0     legit  1           0     (household-1)
s04    R2   review     address  1     bad    1           0
s05    R2   clear      address  0     legit  1           0
s06    –    clear      –        0     legit  4           0     (business-7)
s07    –    clear      –        1     bad    5           150
s08    –    syndicate  –        0     legit  1           0     (household-2)
s09    R3   clear      email    –     bad    1           0
s10    R3   clear      email    1     bad    1           200
====== ==== ========== ======== ===== ====== =========== =================

Known bad: s01 s02 s04 s07 s10 (5); known good: s03 s05 s06 s08 (4); truly bad: 6.
Rings: R1 size 3, R2 size 2, R3 size 2. The strategies:

- ``big-ring`` (ring, active, review): ``ring_size >= 3`` -> R1 = {s01, s02, s03};
- ``many-devices`` (seller, active, syndicate): ``n_device >= 3`` -> {s02, s06, s07};
- ``big-orders`` (seller, shadow, review): ``orders_30d > 100`` -> {s07, s10};
- ``retired`` (off): not evaluated.

The model's bands: ``model:syndicate`` = {s01, s02, s08}, ``model:review`` = {s03, s04}.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from syndicate.cli import main
from syndicate.errors import ConfigError, InputError, SchemaError
from syndicate.io import file_sha256
from syndicate.strategies import RunTables, backtest_strategies, wilson_interval
from syndicate.strategies.apply import HITS_SCHEMA
from syndicate.strategies.backtest import backtest_runs, read_run, write_backtest
from syndicate.strategies.file import load_strategies, parse_strategies

STRATEGIES = """
[[strategy]]
name = "big-ring"
when = "ring_size >= 3"
action = "review"
scope = "ring"
description = "rings of three or more <script>window.__pwned=1</script>"
owner = "ring team & co"

[[strategy]]
name = "many-devices"
when = "n_device >= 3"
action = "syndicate"

[[strategy]]
name = "big-orders"
when = "orders_30d > 100"
action = "review"
status = "shadow"

[[strategy]]
name = "retired"
when = "n_device > 0"
action = "review"
status = "off"
"""

SELLERS = [f"s{i:02d}" for i in range(1, 11)]
AS_OF = datetime(2026, 3, 1, tzinfo=UTC)


def _reason(kind: str | None) -> list[str]:
    return [] if kind is None else [f"{kind} …4821 shared with 2 sellers (1 known bad)"]


def market() -> dict[str, pl.DataFrame]:
    """The run of the module docstring: labels, features, rings, known labels, truth."""
    rings = ["R1", "R1", "R1", "R2", "R2", None, None, None, "R3", "R3"]
    decisions = ["syndicate", "syndicate", "review", "review"] + ["clear"] * 3
    decisions += ["syndicate", "clear", "clear"]
    kinds = ["payout", "payout", "device", "address", "address", None, None, None]
    kinds += ["email", "email"]
    labels = pl.DataFrame(
        {
            "seller_id": SELLERS,
            "ring_id": rings,
            "seller_score": [0.9, 0.9, 0.6, 0.6, 0.1, 0.1, 0.1, 0.8, 0.1, 0.1],
            "score_source": ["model"] * 10,
            "ring_score": [0.9, 0.9, 0.9, 0.5, 0.5, None, None, None, 0.2, 0.2],
            "decision": decisions,
            "reasons": [_reason(k) for k in kinds],
        },
        schema_overrides={"reasons": pl.List(pl.String)},
    )
    features = pl.DataFrame(
        {
            "seller_id": SELLERS,
            "n_device": [1, 3, 1, 1, 1, 4, 5, 1, 1, 1],
            "orders_30d": [0.0] * 6 + [150.0, 0.0, 0.0, 200.0],
        },
        schema_overrides={"n_device": pl.UInt32},
    )
    ring_table = pl.DataFrame(
        {
            "ring_id": ["R1", "R2", "R3"],
            "size": [3, 2, 2],
            "n_known_bad": [2, 1, 1],
            "status": ["new", "stable", "new"],
        },
        schema_overrides={"size": pl.UInt32, "n_known_bad": pl.UInt32},
    )
    known = pl.DataFrame(
        {
            "seller_id": [s for s in SELLERS if s != "s09"],
            "label": [1, 1, 0, 1, 0, 0, 1, 0, 1],
        },
        schema={"seller_id": pl.String, "label": pl.Int8},
    )
    truth = pl.DataFrame(
        {
            "seller_id": SELLERS,
            "ring": [None] * 10,
            "is_bad": [True, True, False, True, False, False, True, False, True, True],
            "legit_group": [
                *(None, None, "household-1", None, None, "business-7", None),
                *("household-2", None, None),
            ],
        },
        schema_overrides={"ring": pl.String},
    )
    return {"labels": labels, "features": features, "rings": ring_table, "known": known} | {
        "truth": truth
    }


def tables(
    frames: dict[str, pl.DataFrame], run: str = "runs/r1", as_of: datetime = AS_OF
) -> RunTables:
    return RunTables(
        run=run,
        as_of=as_of,
        labels=frames["labels"],
        features=frames["features"],
        rings=frames["rings"],
        known=frames["known"],
    )


@pytest.fixture(scope="module")
def strategies() -> Any:
    return parse_strategies(STRATEGIES)


@pytest.fixture(scope="module")
def result(strategies: Any) -> Any:
    frames = market()
    return backtest_strategies(strategies, [tables(frames)], frames["truth"])


def close(value: float | None, expected: float, tol: float = 1e-6) -> bool:
    return value is not None and math.isclose(value, expected, abs_tol=tol)


# --- counts, precision, recall ---------------------------------------------------------------


def test_entries_are_the_model_bands_then_the_file_in_order(result: Any) -> None:
    names = [e["name"] for e in result.strategies]
    assert names == [
        *("model:syndicate", "model:review"),
        *("big-ring", "many-devices", "big-orders", "retired"),
    ]
    assert [e["kind"] for e in result.strategies] == ["model"] * 2 + ["strategy"] * 4


@pytest.mark.parametrize(
    ("name", "hits", "labelled", "bad", "precision", "recall"),
    [
        # {s01, s02, s08}: s01, s02 known bad, s08 known good.
        ("model:syndicate", 3, 3, 2, 2 / 3, 2 / 5),
        # the review band alone, {s03, s04}: s04 known bad.
        ("model:review", 2, 2, 1, 1 / 2, 1 / 5),
        # R1 = {s01, s02, s03}.
        ("big-ring", 3, 3, 2, 2 / 3, 2 / 5),
        # {s02, s06, s07}: s02, s07 known bad, s06 known good.
        ("many-devices", 3, 3, 2, 2 / 3, 2 / 5),
        # {s07, s10}: both known bad.
        ("big-orders", 2, 2, 2, 1.0, 2 / 5),
    ],
)
def test_hits_precision_and_recall_against_the_known_labels(
    result: Any, name: str, hits: int, labelled: int, bad: int, precision: float, recall: float
) -> None:
    entry = result.strategy(name)
    assert (entry["hits"], entry["labelled_hits"], entry["known_bad_hits"]) == (hits, labelled, bad)
    assert entry["known_good_hits"] == labelled - bad
    assert close(entry["precision"], precision) and close(entry["recall"], recall)


def test_an_unlabelled_hit_counts_in_hits_but_not_in_precision() -> None:
    # big-orders also firing on s09 (unlabelled): 3 hits, still 2 labelled, precision 1.
    frames = market()
    frames["features"] = frames["features"].with_columns(
        pl.when(pl.col("seller_id") == "s09")
        .then(999.0)
        .otherwise(pl.col("orders_30d"))
        .alias("orders_30d")
    )
    result = backtest_strategies(parse_strategies(STRATEGIES), [tables(frames)])
    entry = result.strategy("big-orders")
    assert (entry["hits"], entry["labelled_hits"], entry["precision"]) == (3, 2, 1.0)


def test_the_review_band_has_its_own_and_its_cumulative_precision(result: Any) -> None:
    review, syndicate = result.strategy("model:review"), result.strategy("model:syndicate")
    # At or above the review threshold: {s01, s02, s08, s03, s04}, known bad s01 s02 s04.
    cumulative = review["cumulative"]
    assert (cumulative["hits"], cumulative["labelled_hits"], cumulative["known_bad_hits"]) == (
        5,
        5,
        3,
    )
    assert close(cumulative["precision"], 3 / 5) and close(cumulative["recall"], 3 / 5)
    assert close(review["precision"], 1 / 2)  # the band alone
    # The syndicate band is the top one: its cumulative figures are its own.
    assert syndicate["cumulative"]["precision"] == syndicate["precision"]
    assert syndicate["cumulative"]["hits"] == 3
    assert result.strategy("big-ring")["cumulative"] is None


def test_off_strategies_are_listed_but_not_evaluated(result: Any) -> None:
    entry = result.strategy("retired")
    assert entry["evaluated"] is False and entry["status"] == "off"
    assert "hits" not in entry and "precision" not in entry
    assert "retired" not in result.strategy("model:syndicate")["overlap"]
    assert "retired" not in result.hits["strategy"].to_list()


# --- Wilson intervals ------------------------------------------------------------------------


def test_wilson_interval_by_hand() -> None:
    # k=2, n=3, z=1.96: p=2/3, z²=3.8415, denominator 1 + z²/n = 2.2805,
    # centre (p + z²/2n) / 2.2805 = (0.6667 + 0.6402) / 2.2805 = 0.5731,
    # half z·√(p(1-p)/n + z²/4n²) / 2.2805 = 1.96·√(0.0741 + 0.1067) / 2.2805 = 0.3654.
    low, high = wilson_interval(2, 3)  # type: ignore[misc]
    assert close(low, 0.2077, 1e-4) and close(high, 0.9385, 1e-4)
    # k=n=2: p=1, half = 1.96·√(z²/16)/(1+z²/2) = 1.96·0.49/2.9207 = 0.3288, centre 0.6712
    low, high = wilson_interval(2, 2)  # type: ignore[misc]
    assert close(low, 0.3424, 1e-4) and high == 1.0
    # k=0: the interval starts at 0 and is not empty.
    low, high = wilson_interval(0, 4)  # type: ignore[misc]
    assert low == 0.0 and close(high, 0.4899, 1e-4)
    assert wilson_interval(0, 0) is None


def test_every_rate_carries_its_wilson_interval(result: Any) -> None:
    syndicate = result.strategy("model:syndicate")
    # precision 2/3 (see above); recall 2/5: centre (0.4 + 0.3841)/1.7683 = 0.4434,
    # half 1.96·√(0.048 + 0.0384)/1.7683 = 0.3258.
    assert [round(v, 4) for v in syndicate["precision_interval"]] == [0.2077, 0.9385]
    assert [round(v, 4) for v in syndicate["recall_interval"]] == [0.1176, 0.7693]
    assert [round(v, 4) for v in result.strategy("big-orders")["precision_interval"]] == [
        0.3424,
        1.0,
    ]


# --- overlaps and what each strategy adds ----------------------------------------------------


def test_overlaps_are_jaccard_indices_of_the_hit_sets(result: Any) -> None:
    expected = {
        # syndicate {s01,s02,s08} and R1 {s01,s02,s03}: 2 shared of 4.
        ("model:syndicate", "big-ring"): 2 / 4,
        # syndicate and many-devices {s02,s06,s07}: s02 of 5.
        ("model:syndicate", "many-devices"): 1 / 5,
        ("model:syndicate", "model:review"): 0.0,
        ("model:syndicate", "big-orders"): 0.0,
        # review {s03,s04} and R1: s03 of 4.
        ("model:review", "big-ring"): 1 / 4,
        ("model:review", "many-devices"): 0.0,
        ("big-ring", "many-devices"): 1 / 5,
        ("big-ring", "big-orders"): 0.0,
        # many-devices and big-orders {s07,s10}: s07 of 4.
        ("many-devices", "big-orders"): 1 / 4,
    }
    for (a, b), jaccard in expected.items():
        assert close(result.strategy(a)["overlap"][b], jaccard), (a, b)
        assert close(result.strategy(b)["overlap"][a], jaccard), (b, a)
    # With the model's flagged sellers {s01,s02,s08,s03,s04}.
    model = {
        "model:syndicate": 3 / 5,
        "model:review": 2 / 5,
        "big-ring": 3 / 5,  # s01 s02 s03 of 5
        "many-devices": 1 / 7,  # s02 of 7
        "big-orders": 0.0,
    }
    for name, jaccard in model.items():
        assert close(result.strategy(name)["overlap_model"], jaccard), name


@pytest.mark.parametrize(
    ("name", "alone", "bad", "false_positives"),
    [
        # Deciding: both model bands, big-ring and many-devices (big-orders is a shadow).
        # syndicate {s01,s02,s08}: s01, s02 are in R1; only s08 (known good) is its own.
        ("model:syndicate", 1, 0, 1),
        # review {s03,s04}: s03 is in R1; s04 (known bad) is its own.
        ("model:review", 1, 1, 0),
        # R1 is caught entirely by the model bands.
        ("big-ring", 0, 0, 0),
        # {s02,s06,s07}: s02 is a syndicate; s06 (good) and s07 (bad) are its own.
        ("many-devices", 2, 1, 1),
        # {s07,s10}: s07 is many-devices'; s10 (bad) is caught by no deciding set.
        ("big-orders", 1, 1, 0),
    ],
)
def test_incremental_recall_and_false_positives_over_the_model_and_active_strategies(
    result: Any, name: str, alone: int, bad: int, false_positives: int
) -> None:
    entry = result.strategy(name)
    assert entry["incremental_hits"] == alone
    assert entry["incremental_known_bad"] == bad
    assert close(entry["incremental_recall"], bad / 5)
    assert entry["incremental_false_positives"] == false_positives


# --- false positives and rings ---------------------------------------------------------------


def test_false_positives_by_binding_kind_ring_and_legit_group(result: Any) -> None:
    syndicate = result.strategy("model:syndicate")["false_positives"]
    # s08: known good, no reason, in no ring, truth household-2.
    assert syndicate["known_good"] == {
        "n": 1,
        "in_no_ring": 1,
        "rings": 0,
        "by_binding_kind": {"none": 1},
        "by_legit_group_kind": {"household": 1},
        "by_legit_group": [{"legit_group": "household-2", "sellers": 1}],
        "by_ring": [],
    }
    ring = result.strategy("big-ring")["false_positives"]["known_good"]
    # s03: known good, bound by a device, in R1.
    assert ring["by_binding_kind"] == {"device": 1}
    assert ring["by_ring"] == [{"ring_id": "R1", "sellers": 1}]
    devices = result.strategy("many-devices")["false_positives"]["truth_legit"]
    assert devices["by_legit_group_kind"] == {"business": 1}  # s06
    assert devices["by_legit_group"] == [{"legit_group": "business-7", "sellers": 1}]
    assert result.strategy("big-orders")["false_positives"]["known_good"]["n"] == 0


def test_hit_rings_and_top_rings(result: Any) -> None:
    syndicate = result.strategy("model:syndicate")
    assert syndicate["hit_rings"] == 1  # s01, s02 in R1; s08 in none
    assert syndicate["top_rings"] == [{"ring_id": "R1", "hits": 2, "known_bad_hits": 2}]
    orders = result.strategy("big-orders")
    assert orders["hit_rings"] == 1 and orders["top_rings"][0]["ring_id"] == "R3"
    assert result.strategy("many-devices")["top_rings"] == [
        {"ring_id": "R1", "hits": 1, "known_bad_hits": 1}
    ]


def test_against_the_truth(result: Any) -> None:
    syndicate = result.strategy("model:syndicate")
    # {s01,s02,s08}: two truly bad of three; six truly bad sellers in all.
    assert (syndicate["truth_hits"], syndicate["truth_bad_hits"]) == (3, 2)
    assert close(syndicate["truth_precision"], 2 / 3)
    assert close(syndicate["truth_recall"], 2 / 6)
    orders = result.strategy("big-orders")
    assert orders["truth_precision"] == 1.0 and close(orders["truth_recall"], 2 / 6)
    # big-orders' s10 is truly bad and caught by no deciding set.
    assert orders["truth_incremental_bad"] == 1
    assert result.document["totals"]["truth_bad"] == 6


# --- the hit table ---------------------------------------------------------------------------


def test_the_hit_table_has_one_row_per_run_seller_and_strategy(result: Any) -> None:
    hits = result.hits
    assert list(hits.columns) == [
        "run",
        "as_of",
        *HITS_SCHEMA,
        "label",
        "is_bad",
        "legit_group",
    ]
    assert hits.height == 3 + 2 + 3 + 3 + 2
    assert hits.filter(pl.col("strategy") == "big-ring")["seller_id"].to_list() == [
        "s01",
        "s02",
        "s03",
    ]
    row = hits.filter((pl.col("strategy") == "many-devices") & (pl.col("seller_id") == "s06"))
    assert row.select("run", "action", "status", "scope", "label", "is_bad").row(0) == (
        "runs/r1",
        "syndicate",
        "active",
        "seller",
        0,
        False,
    )
    assert hits["strategy"].unique(maintain_order=True).to_list()[:2] == [
        "model:syndicate",
        "model:review",
    ]


# --- runs ------------------------------------------------------------------------------------


def test_runs_are_ordered_by_as_of_and_pooled(strategies: Any) -> None:
    frames = market()
    earlier = market()
    # The earlier run: the model cleared everyone.
    earlier["labels"] = earlier["labels"].with_columns(pl.lit("clear").alias("decision"))
    runs = [
        tables(frames, "runs/b-later", AS_OF),
        tables(earlier, "runs/z-earlier", datetime(2026, 2, 28, tzinfo=UTC)),
    ]
    result = backtest_strategies(strategies, runs)
    assert [r["run"] for r in result.document["runs"]] == ["runs/z-earlier", "runs/b-later"]
    syndicate = result.strategy("model:syndicate")
    # 3 hits in the later run only; 5 known bad in each run.
    assert syndicate["hits"] == 3 and close(syndicate["recall"], 2 / 10)
    assert [(p["run"], p["hits"], p["precision"]) for p in syndicate["per_run"]] == [
        ("runs/z-earlier", 0, None),
        ("runs/b-later", 3, round(2 / 3, 6)),
    ]
    ring = result.strategy("big-ring")
    assert ring["hits"] == 6 and [p["hits"] for p in ring["per_run"]] == [3, 3]
    # A seller hit in both runs counts twice, but its ring once.
    assert ring["hit_rings"] == 1
    assert result.hits["run"].unique(maintain_order=True).to_list() == [
        "runs/z-earlier",
        "runs/b-later",
    ]
    assert result.document["totals"]["known_bad"] == 10


def test_two_runs_of_one_name_are_refused(strategies: Any) -> None:
    frames = market()
    with pytest.raises(InputError, match="'runs/r1' is given more than once"):
        backtest_strategies(strategies, [tables(frames), tables(frames)])


def test_a_run_made_with_strategies_is_measured_on_the_models_own_decisions(
    strategies: Any, result: Any
) -> None:
    frames = market()
    combined = frames["labels"].with_columns(
        pl.col("decision").alias("model_decision"),
        pl.lit("syndicate").alias("decision"),  # the combined decision: not the model's
        pl.lit("strategy:x").alias("decision_source"),
        pl.lit([], dtype=pl.List(pl.String)).alias("strategies"),
    )
    again = backtest_strategies(
        strategies, [tables(frames | {"labels": combined})], frames["truth"]
    )
    assert again.document == result.document


def test_results_do_not_depend_on_row_order(strategies: Any, result: Any) -> None:
    for seed in (1, 2, 3):
        frames = {
            name: frame.sample(fraction=1.0, shuffle=True, seed=seed)
            for name, frame in market().items()
        }
        shuffled = backtest_strategies(strategies, [tables(frames)], frames["truth"])
        assert shuffled.document == result.document
        assert shuffled.hits.equals(result.hits)


def test_conflicting_labels_are_dropped_as_the_run_drops_them(strategies: Any) -> None:
    frames = market()
    # s04 labelled both ways: no longer known; s01 twice as bad: still known bad.
    frames["known"] = pl.concat(
        [
            frames["known"],
            pl.DataFrame(
                {"seller_id": ["s04", "s01"], "label": [0, 1]}, schema=frames["known"].schema
            ),
        ]
    )
    entry = backtest_strategies(strategies, [tables(frames)]).strategy("model:review")
    assert (entry["labelled_hits"], entry["known_bad_hits"]) == (1, 0)


def test_bad_known_labels_and_truth_are_refused(strategies: Any) -> None:
    frames = market()
    frames["known"] = frames["known"].with_columns(pl.lit(2, pl.Int8).alias("label"))
    with pytest.raises(SchemaError, match="'label' must be 0 or 1"):
        backtest_strategies(strategies, [tables(frames)])
    frames = market()
    with pytest.raises(SchemaError, match=r"lacks columns \['is_bad'\]"):
        backtest_strategies(strategies, [tables(frames)], frames["truth"].drop("is_bad"))


def test_a_strategy_reading_an_unknown_column_names_itself_and_the_run() -> None:
    frames = market()
    file = parse_strategies('[[strategy]]\nname = "typo"\nwhen = "n_devise > 1"\naction = "review"')
    with pytest.raises(ConfigError, match=r"strategy 'typo': unknown column 'n_devise'.*runs/r1"):
        backtest_strategies(file, [tables(frames)])


# --- run folders and the command line --------------------------------------------------------


def write_run(folder: Path, frames: dict[str, pl.DataFrame], labels_path: Path) -> Path:
    """A run folder as ``syndicate run`` writes it (the tables the backtest reads)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("labels", "features", "rings"):
        frames[name].write_parquet(folder / f"{name}.parquet")
    labels_path.parent.mkdir(parents=True, exist_ok=True)
    if not labels_path.exists():
        frames["known"].write_parquet(labels_path)
    manifest = {
        "as_of": AS_OF.isoformat(),
        "inputs": {"labels": {"path": str(labels_path), "sha256": file_sha256(labels_path)}},
        "thresholds": {"syndicate": 0.7, "review": 0.5},
    }
    (folder / "run.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


@pytest.fixture
def run_folder(tmp_path: Path) -> Path:
    return write_run(tmp_path / "runs" / "r1", market(), tmp_path / "input" / "labels.parquet")


@pytest.fixture
def strategies_file(tmp_path: Path) -> Path:
    path = tmp_path / "strategies.toml"
    path.write_text(STRATEGIES, encoding="utf-8")
    return path


def test_a_run_folder_gives_what_the_frames_give(
    run_folder: Path, strategies_file: Path, tmp_path: Path
) -> None:
    frames = market()
    truth = tmp_path / "truth.parquet"
    frames["truth"].write_parquet(truth)
    from_folder = backtest_runs([run_folder], load_strategies(strategies_file), truth=truth)
    from_frames = backtest_strategies(
        load_strategies(strategies_file), [tables(frames, str(run_folder))], frames["truth"]
    )
    assert from_folder.hits.equals(from_frames.hits)
    assert from_folder.strategies == from_frames.strategies
    assert from_folder.document["runs"][0]["labels"]["from"] == "run"
    assert from_folder.document["runs"][0]["thresholds"] == {"syndicate": 0.7, "review": 0.5}


def test_cli_writes_the_three_outputs_and_the_same_bytes_twice(
    run_folder: Path, strategies_file: Path, tmp_path: Path, capsys: Any
) -> None:
    out = tmp_path / "bt"
    argv = ["strategies", "backtest", "--run", str(run_folder), "--strategies"]
    argv += [str(strategies_file), "--out", str(out), "--quiet"]
    assert main(argv) == 0
    first = {name: (out / name).read_bytes() for name in ("strategies.json", "report.html")}
    hits = pl.read_parquet(out / "strategy_hits.parquet")
    assert hits.height == 13
    document = json.loads(first["strategies.json"])
    assert document["strategies"][0]["name"] == "model:syndicate"
    printed = capsys.readouterr().out
    assert "syndicate strategies backtest: 4 strategies" in printed
    assert str(out / "report.html") in printed
    assert main(argv) == 0  # our own files are replaced
    assert {name: (out / name).read_bytes() for name in first} == first


@pytest.mark.parametrize(
    "condition",
    [
        "n_device > (SELECT 1)",
        "read_csv('/etc/passwd') IS NOT NULL",
        "n_device > 1; DROP TABLE sellers",
        "n_devise > 1",
    ],
)
def test_cli_hostile_or_wrong_conditions_exit_2_naming_the_strategy(
    run_folder: Path, tmp_path: Path, capsys: Any, condition: str
) -> None:
    path = tmp_path / "hostile.toml"
    text = f'[[strategy]]\nname = "sneaky-rule"\nwhen = "{condition}"\naction = "review"\n'
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "bt"
    argv = ["strategies", "backtest", "--run", str(run_folder), "--strategies", str(path)]
    assert main([*argv, "--out", str(out), "--quiet"]) == 2
    error = capsys.readouterr().err
    assert "strategy 'sneaky-rule'" in error
    assert not (out / "strategies.json").exists()


def test_cli_refuses_a_missing_or_changed_labels_file(
    run_folder: Path, strategies_file: Path, tmp_path: Path, capsys: Any
) -> None:
    labels = tmp_path / "input" / "labels.parquet"
    argv = ["strategies", "backtest", "--run", str(run_folder), "--strategies"]
    argv += [str(strategies_file), "--out", str(tmp_path / "bt"), "--quiet"]
    market()["known"].head(3).write_parquet(labels)  # changed since the run
    assert main(argv) == 2
    assert "changed since the run" in capsys.readouterr().err
    labels.unlink()
    assert main(argv) == 2
    assert "does not exist" in capsys.readouterr().err
    # --labels measures against the given file instead.
    given = tmp_path / "other-labels.parquet"
    market()["known"].write_parquet(given)
    assert main([*argv, "--labels", str(given)]) == 0
    document = json.loads((tmp_path / "bt" / "strategies.json").read_text(encoding="utf-8"))
    assert document["runs"][0]["labels"] == {
        "from": "--labels",
        "path": str(given),
        "sha256": file_sha256(given),
    }
    assert document["strategies"][0]["precision"] == round(2 / 3, 6)


def test_a_run_without_labels_file_or_as_of_is_refused(run_folder: Path) -> None:
    manifest = json.loads((run_folder / "run.json").read_text(encoding="utf-8"))
    (run_folder / "run.json").write_text(json.dumps({**manifest, "inputs": {}}), encoding="utf-8")
    with pytest.raises(InputError, match="used no labels file"):
        read_run(run_folder)
    (run_folder / "run.json").write_text(json.dumps({"inputs": {}}), encoding="utf-8")
    with pytest.raises(InputError, match="has no as_of"):
        read_run(run_folder)


def test_cli_refuses_an_out_holding_a_foreign_report(
    run_folder: Path, strategies_file: Path, tmp_path: Path, capsys: Any
) -> None:
    out = tmp_path / "bt"
    out.mkdir()
    (out / "report.html").write_text("my own notes", encoding="utf-8")
    argv = ["strategies", "backtest", "--run", str(run_folder), "--strategies"]
    assert main([*argv, str(strategies_file), "--out", str(out), "--quiet"]) == 2
    assert "did not write it" in capsys.readouterr().err
    assert (out / "report.html").read_text(encoding="utf-8") == "my own notes"
    assert not (out / "strategies.json").exists()


def test_write_backtest_refuses_foreign_files_before_writing_any(
    result: Any, tmp_path: Path
) -> None:
    (tmp_path / "strategy_hits.parquet").write_bytes(b"not ours")
    with pytest.raises(InputError, match=r"strategy_hits\.parquet"):
        write_backtest(result, tmp_path)
    assert not (tmp_path / "strategies.json").exists()


def test_cli_help_lists_the_backtest() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "syndicate.cli", "strategies", "backtest", "--help"],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).parent.parent,
    )
    assert done.returncode == 0
    for option in ("--run", "--strategies", "--labels", "--truth", "--out"):
        assert option in done.stdout


def test_cli_runs_in_order_from_a_copied_folder(
    run_folder: Path, strategies_file: Path, tmp_path: Path
) -> None:
    later = tmp_path / "runs" / "r2"
    shutil.copytree(run_folder, later)
    manifest = json.loads((later / "run.json").read_text(encoding="utf-8"))
    manifest["as_of"] = "2026-03-02T00:00:00+00:00"
    (later / "run.json").write_text(json.dumps(manifest), encoding="utf-8")
    out = tmp_path / "bt"
    argv = ["strategies", "backtest", "--run", str(later), "--run", str(run_folder)]
    assert main([*argv, "--strategies", str(strategies_file), "--out", str(out), "-q"]) == 0
    document = json.loads((out / "strategies.json").read_text(encoding="utf-8"))
    assert [r["run"] for r in document["runs"]] == [str(run_folder), str(later)]
    assert "id='over-runs'" in (out / "report.html").read_text(encoding="utf-8")
    assert (
        main(
            [
                *argv,
                "--run",
                str(later),
                "--strategies",
                str(strategies_file),
                "--out",
                str(out),
                "-q",
            ]
        )
        == 2
    )
