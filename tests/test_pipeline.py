"""The whole job on a small synthetic marketplace: leakage, determinism, outputs."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import numpy as np
import polars as pl
import pytest

from syndicate import Config, generate_marketplace, load_inputs
from syndicate.errors import SchemaError
from syndicate.model import CARD_FILE, FOREST_FILE, load_model
from syndicate.pipeline import (
    RINGS_COLUMNS,
    PipelineResult,
    reject_warnings,
    run_pipeline,
    write_outputs,
)
from syndicate.scoring import LABELS_SCHEMA

CONFIG = Config(n_estimators=25, cv_folds=3, importance_repeats=0, n_jobs=1, seed=3)


@pytest.fixture(scope="module")
def market() -> dict[str, pl.DataFrame]:
    made = generate_marketplace(n_sellers=8000, seed=0)
    return {"sellers": made.sellers, "links": made.links, "labels": made.labels}


def run(tables: dict[str, pl.DataFrame], config: Config = CONFIG) -> PipelineResult:
    return run_pipeline(load_inputs(**tables), config)


@pytest.fixture(scope="module")
def result(market: dict[str, pl.DataFrame]) -> PipelineResult:
    return run(market)


def test_outputs_have_the_documented_shape(result: PipelineResult) -> None:
    n_sellers = result.inputs.sellers.height
    assert result.labels.schema == pl.Schema({k: d for k, (d, _) in LABELS_SCHEMA.items()})
    assert result.labels["seller_id"].to_list() == sorted(result.inputs.sellers["seller_id"])
    assert result.features.height == n_sellers
    assert result.rings.columns == list(RINGS_COLUMNS)
    assert result.rings["ring_id"].is_sorted() and result.rings["ring_id"].is_unique().all()
    assert result.scores.model is not None and not result.warnings
    ring_members = result.labels.filter(pl.col("ring_id").is_not_null())
    sizes = ring_members.group_by("ring_id").len().sort("ring_id")
    assert sizes["len"].to_list() == result.rings["size"].to_list()


def test_labelled_sellers_get_out_of_fold_scores(result: PipelineResult) -> None:
    labelled = set(result.inputs.labels["seller_id"])
    source = dict(result.labels.select("seller_id", "score_source").iter_rows())
    assert {s for s, how in source.items() if how == "out_of_fold"} == labelled
    assert set(source.values()) == {"out_of_fold", "model"}
    oof = result.scores.model.oof if result.scores.model else None
    assert oof is not None
    joined = oof.join(result.labels, on="seller_id")
    assert joined.height == len(labelled)
    assert (joined["score"] == joined["seller_score"]).all()


@pytest.mark.parametrize("wanted", [1, 0])
def test_a_sellers_own_label_never_reaches_its_features_or_score(
    market: dict[str, pl.DataFrame], result: PipelineResult, wanted: int
) -> None:
    # A labelled seller inside a ring, so that its label does reach its ring-mates' rows.
    in_ring = result.labels.filter(pl.col("ring_id").is_not_null()).select("seller_id")
    pick = (
        market["labels"]
        .join(in_ring, on="seller_id")
        .filter(pl.col("label") == wanted)
        .sort("seller_id")["seller_id"][0]
    )
    flipped = market["labels"].with_columns(
        pl.when(pl.col("seller_id") == pick)
        .then(1 - pl.col("label"))
        .otherwise(pl.col("label"))
        .alias("label")
    )
    other = run({**market, "labels": flipped})

    def row(frame: pl.DataFrame) -> dict[str, object]:
        return frame.filter(pl.col("seller_id") == pick).row(0, named=True)

    assert row(other.features) == row(result.features)
    before, after = row(result.labels), row(other.labels)
    assert after["seller_score"] == before["seller_score"]
    assert after["score_source"] == "out_of_fold"
    # The flip is visible to the seller's ring-mates: the test would catch a no-op.
    mates = result.labels.filter(
        (pl.col("ring_id") == before["ring_id"]) & (pl.col("seller_id") != pick)
    )["seller_id"]
    column = "ring_known_bad"
    changed = (
        result.features.filter(pl.col("seller_id").is_in(mates.implode()))[column]
        != other.features.filter(pl.col("seller_id").is_in(mates.implode()))[column]
    )
    assert changed.all()


def test_same_inputs_in_another_row_order_give_identical_outputs(
    market: dict[str, pl.DataFrame], result: PipelineResult
) -> None:
    for seed in (5, 6):
        shuffled = {
            name: frame.sample(fraction=1.0, shuffle=True, seed=seed)
            for name, frame in market.items()
        }
        other = run(shuffled)
        assert other.features.equals(result.features)
        assert other.labels.equals(result.labels)
        assert other.rings.equals(result.rings)


def test_outputs_do_not_depend_on_worker_count(
    market: dict[str, pl.DataFrame], result: PipelineResult
) -> None:
    threaded = run(market, dataclasses.replace(CONFIG, n_jobs=2))
    assert threaded.labels.equals(result.labels)
    assert threaded.rings.equals(result.rings)


def test_outputs_are_written_and_the_model_reloads(
    result: PipelineResult, tmp_path: pytest.TempPathFactory
) -> None:
    paths = write_outputs(result, tmp_path)
    assert set(paths) == {"labels", "rings", "features", "hubs", "rejects", "model", "viz"}
    assert paths["viz"] == tmp_path / "viz" / "index.html"
    assert pl.read_parquet(paths["labels"]).equals(result.labels)
    assert pl.read_parquet(paths["rings"]).equals(result.rings)
    assert {FOREST_FILE, CARD_FILE} <= {p.name for p in paths["model"].iterdir()}
    estimator, card = load_model(paths["model"])
    model = result.scores.model
    assert model is not None
    assert card["feature_names"] == model.feature_names
    assert card["thresholds"]["syndicate"] == result.scores.thresholds.syndicate
    matrix = result.features.select(model.feature_names).cast(pl.Float64).to_numpy()
    np.testing.assert_array_equal(estimator.bad_score(matrix), model.score(result.features))
    assert not any(p.name.endswith(".tmp") for p in tmp_path.rglob("*"))


def test_without_labels_the_job_runs_from_structure(market: dict[str, pl.DataFrame]) -> None:
    cold = run({"sellers": market["sellers"], "links": market["links"]})
    assert cold.scores.model is None
    assert any("cold start" in warning for warning in cold.warnings)
    assert set(cold.labels["score_source"]) == {"structure"}
    assert cold.rings["ring_score"].equals(cold.rings["structure_score"])
    assert cold.rings.height > 0


def test_labelled_sellers_no_fold_can_score_fall_back_on_structure() -> None:
    # Folds hash each seller's group (its ring, else itself; 3 folds): bad s5 (ring
    # {s5, s6, s7}) and s11 (alone) land in fold 2, good s0 (ring {s0, s1, s2}) and s9 in
    # fold 1: each fold's training part holds one class, so no model is blind to their labels.
    ids = [f"s{i}" for i in range(12)]
    sellers = pl.DataFrame(
        {
            "seller_id": ids,
            "created_at": [datetime(2024, 1, 1 + i) for i in range(12)],
            "x": [float(i) for i in range(12)],
        }
    )
    links = pl.DataFrame({"seller_id": ids, "kind": "device", "value": [f"d{i}" for i in ids]})
    edges = pl.DataFrame(
        {"src": ["s0", "s1", "s2", "s5", "s6"], "dst": ["s1", "s2", "s0", "s6", "s7"]}
    )
    labels = pl.DataFrame({"seller_id": ["s0", "s5", "s9", "s11"], "label": [0, 1, 0, 1]})
    inputs = load_inputs(sellers=sellers, links=links, edges=edges, labels=labels)
    result = run_pipeline(inputs, dataclasses.replace(CONFIG, syndicate_threshold=0.9))
    labelled = result.labels.join(labels, on="seller_id").sort("seller_id")
    assert set(labelled["score_source"]) == {"structure"}
    ring_of = dict(result.labels.select("seller_id", "ring_id").iter_rows())
    structure = dict(result.rings.select("ring_id", "structure_score").iter_rows())
    expected = [structure.get(ring_of[s], 0.0) for s in labelled["seller_id"]]
    assert labelled["seller_score"].to_list() == expected
    assert expected[0] > 0  # s0 is in ring {s0, s1, s2}; s9 and s11 in none
    assert any("no out-of-fold score for 4 labelled sellers" in w for w in result.warnings)


# --- what validation refused: warnings naming the cause -------------------------------------

SELLERS = pl.DataFrame({"seller_id": [f"s{i}" for i in range(20)]})


def links_of(ids: list[str]) -> pl.DataFrame:
    return pl.DataFrame({"seller_id": ids, "kind": "device", "value": [f"d-{i}" for i in ids]})


@pytest.mark.parametrize(
    ("links", "labels", "expected"),
    [
        # 1 of 20 links refused is 5%: not more than the share, no warning.
        (links_of([f"s{i}" for i in range(19)] + ["gone-1"]), None, []),
        (
            links_of([f"s{i}" for i in range(18)] + ["gone-1", "gone-2"]),
            None,
            [
                "10.0% of the links rows were refused (2 rows of 20: unknown_seller 2); their "
                "seller ids are not in the sellers table (e.g. 'gone-1', 'gone-2'): are the "
                "sellers and links tables from the same snapshot?"
            ],
        ),
        (
            links_of(["S1 ", "s2.0", "s3", "s4"]),
            None,
            [
                "50.0% of the links rows were refused (2 rows of 4: unknown_seller 2); their "
                "seller ids look like the sellers table's ids written another way (links "
                "'S1', sellers 's1': leading zeros, case, spaces or a '.0' suffix, as when one "
                "table stores ids as numbers and the other as text); write seller_id the same "
                "way in every table"
            ],
        ),
        (
            pl.concat([links_of(["s1", "s2"])] * 2),
            None,
            [
                "50.0% of the links rows were refused (2 rows of 4: duplicate_row 2); the "
                "table repeats rows: was it exported or appended twice?"
            ],
        ),
        (
            links_of(["s1", "s2"]),
            pl.DataFrame({"seller_id": ["s1", "s1", "x"], "label": [1, 0, None]}),
            [
                "100.0% of the labels rows were refused (3 rows of 3: conflicting_label 2, "
                "null_label 1); the seller is labelled both 0 and 1; all its label rows are "
                "refused"
            ],
        ),
    ],
)
def test_reject_warnings_name_the_table_the_share_and_the_likely_cause(
    links: pl.DataFrame, labels: pl.DataFrame | None, expected: list[str]
) -> None:
    inputs = load_inputs(SELLERS, links, labels=labels)
    assert reject_warnings(inputs) == expected


def test_reject_warnings_lead_the_runs_warnings(market: dict[str, pl.DataFrame]) -> None:
    sellers = SELLERS.with_columns(pl.col("seller_id").str.slice(1).cast(pl.Int64))
    links = links_of(["01", "02", "03", "1", "2", "3"]).with_columns(value=pl.lit("shared"))
    result = run_pipeline(load_inputs(sellers, links), CONFIG)
    assert result.warnings[0].startswith(
        "50.0% of the links rows were refused (3 rows of 6: unknown_seller 3); their seller "
        "ids look like the sellers table's ids written another way (links '01', sellers '1'"
    )
    assert result.input_warnings == (result.warnings[0],)
    assert any("cold start" in warning for warning in result.warnings[1:])


def test_no_link_left_but_given_edges_warns_and_runs() -> None:
    edges = pl.DataFrame({"src": ["s1", "s2"], "dst": ["s2", "s3"]})
    inputs = load_inputs(SELLERS, links_of(["x1", "x2"]), edges=edges)
    result = run_pipeline(inputs, CONFIG)
    assert result.warnings[0].startswith(
        "no link survived validation, so only the given edges link sellers: 100.0% of the "
        "links rows were refused (2 rows of 2: unknown_seller 2)"
    )
    assert result.rings["size"].to_list() == [3]


def test_no_link_and_no_edge_left_stops_the_run() -> None:
    inputs = load_inputs(SELLERS, links_of(["x1", "x2", "x3"]))
    with pytest.raises(
        SchemaError,
        match=r"^links: no row survived validation \(3 rows refused: unknown_seller 3\), and "
        r"no given edge links sellers, so no ring can be found; their seller ids are not in "
        r"the sellers table \(e\.g\. 'x1', 'x2', 'x3'\)",
    ):
        run_pipeline(inputs, CONFIG)
