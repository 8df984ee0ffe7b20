"""Per-seller features on a hand-built marketplace whose answers are worked out below."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syndicate import Config, build_linkage, find_rings, load_inputs
from syndicate.cli import main
from syndicate.errors import SchemaError
from syndicate.features import (
    SELLER_FEATURES,
    check_feature_names,
    feature_schema,
    seller_features,
)

# a, b, c share payout P (3 sellers: weight 3.0 / (3 - 1) each pair) -> triangle a-b-c
# c, d share ip I (2 sellers: weight 1.0 / (2 - 1) = 1.0)            -> c-d
# e, f share device D (2 sellers: weight 2.5)                        -> e-f
# a, e, f share an email: 3 sellers > hub limit 2 -> a hub, binds nobody
# a also lists a device of its own; z lists only values of its own and a 'shoe' kind.
LINKS = [
    ("a", "payout", "P"), ("b", "payout", "P"), ("c", "payout", "P"),
    ("c", "ip", "I"), ("d", "ip", "I"),
    ("e", "device", "D"), ("f", "device", "D"),
    ("a", "email", "x@y.com"), ("e", "email", "x@y.com"), ("f", "email", "x@y.com"),
    ("a", "device", "own-a"),
    ("z", "device", "own-z"), ("z", "shoe", "42"),
]  # fmt: skip
SELLERS = ["a", "b", "c", "d", "e", "f", "z"]
CONFIG = Config(hub_limits={"email": 2})
W3 = 3.0 / 2


def features(
    links: list[tuple[str, str, str]] = LINKS, sellers: pl.DataFrame | None = None
) -> pl.DataFrame:
    inputs = load_inputs(
        pl.DataFrame({"seller_id": SELLERS}) if sellers is None else sellers,
        pl.DataFrame(links, schema=["seller_id", "kind", "value"], orient="row"),
    )
    linkage = build_linkage(inputs.links, inputs.edges, CONFIG)
    rings = find_rings(linkage, CONFIG)
    return seller_features(inputs.sellers, inputs.links, linkage, rings)


def column(frame: pl.DataFrame, name: str) -> dict[str, object]:
    return dict(zip(frame["seller_id"], frame[name], strict=True))


def test_schema_is_the_documented_one() -> None:
    frame = features()
    expected = {"seller_id": pl.String(), **{k: dtype for k, (dtype, _) in SELLER_FEATURES.items()}}
    assert frame.schema == pl.Schema(expected)
    assert frame["seller_id"].to_list() == SELLERS  # every seller, sorted
    # Without created_at the ring's onboarding is unknown: null for ring members a..d only.
    unknown = ["ring_onboarding_spread_days", "age_vs_ring_median_days"]
    assert frame.drop(unknown).null_count().sum_horizontal().item() == 0
    for name in unknown:
        assert column(frame, name) == {s: (None if s in "abcd" else 0.0) for s in SELLERS}


def test_identifier_counts_and_hub_exposure() -> None:
    frame = features()
    assert column(frame, "n_device") == {"a": 1, "b": 0, "c": 0, "d": 0, "e": 1, "f": 1, "z": 1}
    assert column(frame, "n_other_identifiers") == {s: int(s == "z") for s in SELLERS}
    # c holds P and I; the email is a hub for a, e and f.
    assert column(frame, "n_shared_identifiers") == {
        "a": 1,
        "b": 1,
        "c": 2,
        "d": 1,
        "e": 1,
        "f": 1,
        "z": 0,
    }
    assert column(frame, "n_hub_identifiers") == {
        "a": 1,
        "b": 0,
        "c": 0,
        "d": 0,
        "e": 1,
        "f": 1,
        "z": 0,
    }
    assert column(frame, "linked_by_payout") == {
        "a": 2,
        "b": 2,
        "c": 2,
        "d": 0,
        "e": 0,
        "f": 0,
        "z": 0,
    }
    assert column(frame, "linked_by_ip") == {"a": 0, "b": 0, "c": 1, "d": 1, "e": 0, "f": 0, "z": 0}
    assert column(frame, "linked_by_email") == dict.fromkeys(SELLERS, 0)  # hubs bind nobody


def test_structure() -> None:
    frame = features()
    assert column(frame, "degree") == {"a": 2, "b": 2, "c": 3, "d": 1, "e": 1, "f": 1, "z": 0}
    weighted = column(frame, "weighted_degree")
    assert weighted["a"] == pytest.approx(2 * W3) and weighted["c"] == pytest.approx(2 * W3 + 1.0)
    assert weighted["e"] == pytest.approx(2.5) and weighted["z"] == 0.0
    assert column(frame, "component_size") == {
        "a": 4,
        "b": 4,
        "c": 4,
        "d": 4,
        "e": 2,
        "f": 2,
        "z": 1,
    }
    assert column(frame, "coreness") == {"a": 2, "b": 2, "c": 2, "d": 1, "e": 1, "f": 1, "z": 0}
    assert column(frame, "triangles") == {"a": 1, "b": 1, "c": 1, "d": 0, "e": 0, "f": 0, "z": 0}
    # c's neighbours a, b, d: of their 3 pairs only a-b is linked.
    clustering = column(frame, "clustering")
    assert (
        clustering["a"] == 1.0
        and clustering["c"] == pytest.approx(1 / 3)
        and clustering["d"] == 0.0
    )


def test_pagerank_averages_one_within_each_component() -> None:
    pagerank = column(features(), "pagerank")
    assert sum(pagerank[s] for s in "abcd") / 4 == pytest.approx(1.0)
    assert pagerank["e"] == pytest.approx(1.0) and pagerank["f"] == pytest.approx(1.0)
    assert pagerank["z"] == 1.0  # alone in its component
    assert pagerank["a"] == pytest.approx(pagerank["b"])  # symmetric
    assert pagerank["c"] > pagerank["a"] > pagerank["d"]  # the bridge, the triangle, the leaf


def test_ring_features() -> None:
    frame = features()
    # a, b, c, d: one component of 4 < 2 * min_ring_size, so one ring of 4 with edges
    # ab, ac, bc, cd: density 4 / 6. e-f is a pair, not a ring.
    assert column(frame, "ring_size") == {"a": 4, "b": 4, "c": 4, "d": 4, "e": 0, "f": 0, "z": 0}
    assert column(frame, "ring_density")["a"] == pytest.approx(4 / 6)
    share = column(frame, "ring_weight_share")
    assert [share[s] for s in SELLERS] == [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0]


@settings(max_examples=25, deadline=None)
@given(order=st.permutations(range(len(LINKS))))
def test_row_order_does_not_change_features(order: list[int]) -> None:
    assert features([LINKS[i] for i in order]).equals(features())


# gmv doubles from a to z; a, b, c, d onboard on 1, 3, 5 and 11 January (median: the 4th).
TABULAR = pl.DataFrame(
    {
        "seller_id": SELLERS,
        "gmv": [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0],
        "created_at": ["2024-01-01", "2024-01-03", "2024-01-05", "2024-01-11", *["2024-06-01"] * 3],
        "category": ["x"] * 7,  # not numeric: not a feature
    }
)


def test_neighbourhood_aggregates() -> None:
    frame = features(sellers=TABULAR)
    assert frame.schema == pl.Schema(
        feature_schema(
            load_inputs(
                TABULAR, pl.DataFrame(LINKS, schema=["seller_id", "kind", "value"], orient="row")
            ).sellers
        )
    )
    assert "category" not in frame.columns
    assert column(frame, "gmv")["z"] == 64.0  # the seller's own value, beside the aggregates
    # a: 1 hop {b, c}; 2 hops {b, c, d}. c: 1 hop {a, b, d}; 2 hops the same. d: {c}; {a, b, c}.
    mean1, max1, mean2 = (column(frame, f"gmv_{s}") for s in ("nbr1_mean", "nbr1_max", "nbr2_mean"))
    assert (mean1["a"], max1["a"], mean2["a"]) == pytest.approx((3.0, 4.0, 14 / 3))
    assert (mean1["c"], max1["c"], mean2["c"]) == pytest.approx((11 / 3, 8.0, 11 / 3))
    assert (mean1["d"], max1["d"], mean2["d"]) == pytest.approx((4.0, 4.0, 7 / 3))
    assert (mean1["e"], max1["e"], mean2["e"]) == (32.0, 32.0, 32.0)
    assert (mean1["z"], max1["z"], mean2["z"]) == (0.0, 0.0, 0.0)  # unlinked


def test_onboarding_burst_of_the_ring() -> None:
    frame = features(sellers=TABULAR)
    assert column(frame, "ring_onboarding_spread_days")["a"] == 10.0
    age = column(frame, "age_vs_ring_median_days")
    assert [age[s] for s in SELLERS] == [-3.0, -1.0, 1.0, 7.0, 0.0, 0.0, 0.0]


@pytest.mark.parametrize(
    ("unknown", "spread", "ages"),
    [
        ("cd", 2.0, [-1.0, 1.0, None, None]),  # a and b known: median Jan 2
        ("bcd", None, [None] * 4),  # one known time says nothing about a burst
    ],
)
def test_unknown_onboarding_times_stay_unknown(
    unknown: str, spread: float | None, ages: list[float | None]
) -> None:
    sellers = TABULAR.with_columns(
        pl.when(pl.col("seller_id").is_in(list(unknown)))
        .then(None)
        .otherwise(pl.col("created_at"))
        .alias("created_at")
    )
    frame = features(sellers=sellers)
    assert column(frame, "ring_onboarding_spread_days")["a"] == spread
    age = column(frame, "age_vs_ring_median_days")
    assert [age[s] for s in "abcd"] == ages
    assert age["e"] == age["z"] == 0.0  # in no ring


def labelled(labels: dict[str, int]) -> pl.DataFrame:
    inputs = load_inputs(
        pl.DataFrame({"seller_id": SELLERS}),
        pl.DataFrame(LINKS, schema=["seller_id", "kind", "value"], orient="row"),
        labels=pl.DataFrame({"seller_id": list(labels), "label": list(labels.values())}),
    )
    linkage = build_linkage(inputs.links, inputs.edges, CONFIG)
    rings = find_rings(linkage, CONFIG)
    return seller_features(inputs.sellers, inputs.links, linkage, rings, inputs.labels)


def test_label_counts_never_count_the_sellers_own_label() -> None:
    # a bad, d good, e bad. a: 1 hop {b, c}, 2 hops {b, c, d}, ring {b, c, d}.
    # d: 1 hop {c}, 2 hops {a, b, c}, ring {a, b, c}. f: 1 and 2 hops {e}, no ring.
    frame = labelled({"a": 1, "d": 0, "e": 1})
    rows = {
        name: [column(frame, name)[s] for s in SELLERS]
        for name in (
            "nbr1_known_bad", "nbr1_known_good", "nbr2_known_bad", "nbr2_known_good",
            "ring_known_bad", "ring_known_good",
        )
    }  # fmt: skip
    #                                   a  b  c  d  e  f  z
    assert rows["nbr1_known_bad"] == [0, 1, 1, 0, 0, 1, 0]
    assert rows["nbr1_known_good"] == [0, 0, 1, 0, 0, 0, 0]
    assert rows["nbr2_known_bad"] == [0, 1, 1, 1, 0, 1, 0]
    assert rows["nbr2_known_good"] == [1, 1, 1, 0, 0, 0, 0]
    assert rows["ring_known_bad"] == [0, 1, 1, 1, 0, 0, 0]
    assert rows["ring_known_good"] == [1, 1, 1, 0, 0, 0, 0]


def test_no_labels_gives_zero_counts() -> None:
    frame = features()
    assert frame.select(pl.col("^(nbr1|nbr2|ring)_known_.*$").sum()).sum_horizontal().item() == 0


@settings(max_examples=30, deadline=None)
@given(
    labels=st.dictionaries(st.sampled_from(SELLERS), st.integers(0, 1), min_size=1),
    data=st.data(),
)
def test_changing_a_sellers_label_leaves_its_own_row_alone(
    labels: dict[str, int], data: st.DataObject
) -> None:
    seller = data.draw(st.sampled_from(sorted(labels)))
    flipped = {**labels, seller: 1 - labels[seller]}
    before, after = labelled(labels), labelled(flipped)
    assert before.filter(pl.col("seller_id") == seller).equals(
        after.filter(pl.col("seller_id") == seller)
    )
    # ... while a linked seller does see the change (so this test can fail).
    if seller == "c":
        assert not before.filter(pl.col("seller_id") == "d").equals(
            after.filter(pl.col("seller_id") == "d")
        )


# --- feature names are reserved ----------------------------------------------------------


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        # a numeric column named like a computed feature
        (["degree"], r"column 'degree' is named like the computed feature 'degree'"),
        (["pagerank"], r"column 'pagerank' is named like the computed feature 'pagerank'"),
        (["n_device"], r"column 'n_device' is named like the computed feature 'n_device'"),
        (["anomaly_score"], r"'anomaly_score' is named like the computed feature"),
        # a column named like another column's aggregate, in either column order
        (["x", "x_nbr1_mean"], r"column 'x_nbr1_mean' is named like the aggregate nbr1_mean "),
        (["x_nbr2_mean", "x"], r"column 'x' gets the aggregate 'x_nbr2_mean', already the "),
    ],
)
def test_a_numeric_column_named_like_a_feature_is_refused(columns: list[str], message: str) -> None:
    sellers = pl.DataFrame({"seller_id": SELLERS, **{name: [1.0] * 7 for name in columns}})
    with pytest.raises(SchemaError, match=message):
        features(sellers=sellers)


def test_every_collision_is_named_in_one_message() -> None:
    sellers = pl.DataFrame(
        {"seller_id": ["a"], "degree": [1], "gmv": [2.0], "gmv_nbr1_max": [3.0], "ring_size": [4]}
    )
    with pytest.raises(SchemaError) as caught:
        check_feature_names(sellers)
    text = str(caught.value)
    assert "3 numeric column name(s) collide" in text
    for name in ("'degree'", "'gmv_nbr1_max'", "'ring_size'"):
        assert name in text
    assert "'degree' to 'sellers_degree'" in text  # the fix, for the first one


def test_text_columns_named_like_features_are_not_features_and_pass() -> None:
    # Only numeric columns become features; a text column called degree is ignored.
    check_feature_names(pl.DataFrame({"seller_id": ["a"], "degree": ["high"]}))
    assert features(sellers=pl.DataFrame({"seller_id": SELLERS, "degree": ["x"] * 7}))[
        "degree"
    ].to_list() == [2, 2, 3, 1, 1, 1, 0]


def test_a_refused_name_exits_2(tmp_path: Path) -> None:
    sellers = tmp_path / "sellers.parquet"
    links = tmp_path / "links.parquet"
    pl.DataFrame({"seller_id": SELLERS, "pagerank": [0.5] * 7}).write_parquet(sellers)
    pl.DataFrame(LINKS, schema=["seller_id", "kind", "value"], orient="row").write_parquet(links)
    code = main(
        ["run", "--sellers", str(sellers), "--links", str(links), "--out", str(tmp_path / "o")]
    )
    assert code == 2


@pytest.mark.parametrize("name", ["code", "node", "group", "weight_inside"])
def test_internal_column_names_are_free_for_tabular_columns(name: str) -> None:
    # Names the feature code uses for its own joins must not capture a sellers column.
    gmv = TABULAR["gmv"]
    renamed = features(sellers=TABULAR.with_columns(gmv.alias(name)).drop("gmv"))
    assert renamed.rename(lambda c: c.replace(name, "gmv", 1)).equals(features(sellers=TABULAR))
