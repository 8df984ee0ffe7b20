"""Scoring: masked values, ring scores, the structure score, reasons, decisions, cold start."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import polars as pl
import pytest

from syndicate import (
    Config,
    ConfigError,
    LinkageGraph,
    MarketplaceInputs,
    Rings,
    build_linkage,
    find_rings,
    generate_marketplace,
    load_inputs,
)
from syndicate.features import seller_features
from syndicate.features.ring import RING_FEATURES, ring_features, structure_score
from syndicate.graphs.communities import ring_id_for
from syndicate.model import Thresholds
from syndicate.scoring import (
    LABELS_SCHEMA,
    MAX_REASONS,
    Scores,
    mask_value,
    ring_scores,
    score_marketplace,
    seller_reasons,
)

Row = tuple[str, str, str]


def sharing(kind: str, value: str, sellers: Iterable[str]) -> list[Row]:
    """One identifier held by each of ``sellers`` (spelled the same way)."""
    return [(seller, kind, value) for seller in sellers]


def links_frame(rows: Iterable[Row]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=["seller_id", "kind", "value"], orient="row")


def labels_frame(labels: dict[str, int]) -> pl.DataFrame:
    return pl.DataFrame(
        {"seller_id": list(labels), "label": list(labels.values())},
        schema={"seller_id": pl.String, "label": pl.Int8},
    )


# ---------------------------------------------------------------------------------------
# mask_value


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        # payout keys (normalised: separators already dropped): the last four characters
        ("GB29NWBK601613314821", "…4821"),
        ("PAYA0001", "…0001"),
        # short values show at most half of their letters and digits, nothing padded
        ("ab", "…b"),
        ("a-1", "…1"),
        ("abc", "…c"),
        ("abcdefg", "…efg"),
        ("7", "…"),
        ("", "…"),
        ("--", "…"),
        # an email keeps its domain; only the local part is masked, its punctuation dropped
        ("jane.smith@example.com", "…mith@example.com"),
        ("jo@x.org", "…o@x.org"),
        ("j.o+x@y.com", "…x@y.com"),
        ("@x.com", "…@x.com"),
        # punctuation and white space are dropped before the last four are taken
        ("12 oak st unit 4", "…nit4"),
        ("10.0.0.1", "…01"),
        ("+14155550134", "…0134"),
        ("dev-77aa", "…7aa"),
    ],
)
def test_mask_value(key: str, shown: str) -> None:
    assert pl.select(mask_value(pl.lit(key, dtype=pl.String))).item() == shown


def test_mask_value_keeps_nulls_and_row_order() -> None:
    keys = pl.Series("key", ["GB29NWBK601613314821", None, "a@b.c"], dtype=pl.String)
    shown = keys.to_frame().select(mask_value(pl.col("key")))["literal"].to_list()
    assert shown == ["…4821", None, "…@b.c"]


def test_mask_value_keeps_letters_of_any_script() -> None:
    assert pl.select(mask_value(pl.lit("ул. ленина 15"))).item() == "…на15"


# ---------------------------------------------------------------------------------------
# ring_scores


def test_ring_scores_average_the_upper_half_rounded_up() -> None:
    # size 1: top 1 of [0.5]                      -> 0.5
    # size 2: top 1 of [0.25, 0.75]               -> 0.75
    # size 3: top 2 of [0.5, 1.0, 0.0]            -> (1.0 + 0.5) / 2 = 0.75
    # size 4: top 2 of [0.25, 0.5, 0.125, 0.75]   -> (0.75 + 0.5) / 2 = 0.625
    # size 5: top 3 of [0.0, 0.25, 0.5, 0.75, 1.0] -> (1.0 + 0.75 + 0.5) / 3 = 0.75
    members = pl.DataFrame(
        [
            ("r1", 0.5),
            ("r2", 0.25),
            ("r2", 0.75),
            ("r3", 0.5),
            ("r3", 1.0),
            ("r3", 0.0),
            ("r4", 0.25),
            ("r4", 0.5),
            ("r4", 0.125),
            ("r4", 0.75),
            ("r5", 0.0),
            ("r5", 0.25),
            ("r5", 0.5),
            ("r5", 0.75),
            ("r5", 1.0),
        ],
        schema={"ring_id": pl.String, "seller_score": pl.Float64},
        orient="row",
    )
    table = ring_scores(members.reverse())  # row order does not matter
    assert table.columns == ["ring_id", "ring_score", "mean_seller_score"]
    assert table["ring_id"].to_list() == ["r1", "r2", "r3", "r4", "r5"]
    assert table["ring_score"].to_list() == pytest.approx([0.5, 0.75, 0.75, 0.625, 0.75])
    assert table["mean_seller_score"].to_list() == pytest.approx(
        [0.5, 0.5, 0.5, 1.625 / 4, 2.5 / 5]
    )


def test_ring_scores_ignore_sellers_in_no_ring() -> None:
    members = pl.DataFrame(
        {"ring_id": ["r", None, "r", None], "seller_score": [0.25, 1.0, 0.75, 0.9]},
        schema={"ring_id": pl.String, "seller_score": pl.Float64},
    )
    assert ring_scores(members).rows() == [("r", 0.75, 0.5)]


def test_ring_scores_of_no_members_is_an_empty_table() -> None:
    members = pl.DataFrame(schema={"ring_id": pl.String, "seller_score": pl.Float64})
    assert ring_scores(members).height == 0


# ---------------------------------------------------------------------------------------
# A marketplace of two rings of the same shape that onboard differently.
#
# Ring A: a1, a2, a3 share a payout account, a3 and a4 a device: 4 members, edges
#   a1-a2, a1-a3, a2-a3, a3-a4 = 4 of 6 pairs, density 2/3. (4 sellers < 2 * min_ring_size,
#   so Leiden never runs: the component is the ring.) Created on days 0, 1.5, 3, 10:
#   spread 10 days; median 2.25, absolute deviations 2.25, 0.75, 0.75, 7.75 -> MAD 1.5 days.
# Ring B: the same shape (b1..b4), created on days 0, 100, 200, 365 (a year):
#   spread 365; median 150, deviations 150, 50, 50, 215 -> MAD 100 days.
# p1, p2 share an IP: a pair, smaller than min_ring_size 3, no ring. z is alone.
#
# structure_score = 0.5·exp(-MAD/14) + 0.25·(1 - exp(-(size-2)/6)) + 0.25·density
#   A: 0.5·exp(-1.5/14) + 0.25·(1 - exp(-1/3)) + 0.25·2/3 ≈ 0.4492 + 0.0709 + 0.1667 ≈ 0.6867
#   B: 0.5·exp(-100/14) + 0.25·(1 - exp(-1/3)) + 0.25·2/3 ≈ 0.0004 + 0.0709 + 0.1667 ≈ 0.2379
# Without created_at the burst term goes and size and density share its weight:
#   (0.25·(1 - exp(-1/3)) + 0.25·2/3) / 0.5 ≈ 0.4751 for both rings.

DAY0 = datetime(2024, 1, 1)
CREATED_DAYS = {
    "a1": 0.0,
    "a2": 1.5,
    "a3": 3.0,
    "a4": 10.0,
    "b1": 0.0,
    "b2": 100.0,
    "b3": 200.0,
    "b4": 365.0,
    "p1": 40.0,
    "p2": 41.0,
    "z": 50.0,
}
RING_LINKS = [
    *sharing("payout", "PAY-A-0001", ["a1", "a2", "a3"]),
    *sharing("device", "DEV-A", ["a3", "a4"]),
    *sharing("payout", "PAY-B-0002", ["b1", "b2", "b3"]),
    *sharing("device", "DEV-B", ["b3", "b4"]),
    *sharing("ip", "10.9.8.7", ["p1", "p2"]),
    ("z", "device", "own-z"),
]
RING_A, RING_B = ring_id_for("a1"), ring_id_for("b1")
SIZE_TERM = 1.0 - math.exp(-(4 - 2) / 6)
DENSITY = 4 / 6
SCORE_A = 0.5 * math.exp(-1.5 / 14) + 0.25 * SIZE_TERM + 0.25 * DENSITY
SCORE_B = 0.5 * math.exp(-100 / 14) + 0.25 * SIZE_TERM + 0.25 * DENSITY
SCORE_NO_CREATED_AT = (0.25 * SIZE_TERM + 0.25 * DENSITY) / 0.5


def ring_inputs(*, created_at: bool = True, labels: dict[str, int] | None = None) -> Graphs:
    sellers = pl.DataFrame({"seller_id": list(CREATED_DAYS)})
    if created_at:
        sellers = sellers.with_columns(
            pl.Series("created_at", [DAY0 + timedelta(days=d) for d in CREATED_DAYS.values()])
        )
    inputs = load_inputs(
        sellers, links_frame(RING_LINKS), labels=None if labels is None else labels_frame(labels)
    )
    # No anomaly score: the structure scores below are worked out without its term.
    return Graphs.of(inputs, Config(anomaly_trees=0))


@dataclass(frozen=True)
class Graphs:
    """Validated inputs with the graph, rings and features built from them."""

    inputs: MarketplaceInputs
    config: Config
    linkage: LinkageGraph
    rings: Rings
    features: pl.DataFrame

    @classmethod
    def of(cls, inputs: MarketplaceInputs, config: Config) -> Graphs:
        linkage = build_linkage(inputs.links, inputs.edges, config)
        rings = find_rings(linkage, config)
        features = seller_features(
            inputs.sellers,
            inputs.links,
            linkage,
            rings,
            inputs.labels,
            anomaly_trees=config.anomaly_trees,
        )
        return cls(inputs, config, linkage, rings, features)

    def score(self, config: Config | None = None, *, labels: bool = True) -> Scores:
        return score_marketplace(
            self.inputs.sellers,
            self.linkage,
            self.rings,
            self.features,
            self.inputs.labels if labels else None,
            config or self.config,
            self.inputs.edges,
        )


def by_ring(table: pl.DataFrame, column: str) -> dict[str, object]:
    return dict(zip(table["ring_id"], table[column].to_list(), strict=True))


def structure_scores(graphs: Graphs) -> dict[str, float]:
    table = ring_features(graphs.inputs.sellers, graphs.rings)
    return {
        ring_id: float(score)
        for ring_id, score in table.select("ring_id", "structure_score").iter_rows()
    }


def test_the_ring_marketplace_has_the_rings_worked_out_above() -> None:
    graphs = ring_inputs()
    members = graphs.rings.members.filter(pl.col("ring_id").is_not_null())
    assert dict(members.group_by("ring_id").agg(pl.col("seller_id").sort()).rows()) == {
        RING_A: ["a1", "a2", "a3", "a4"],
        RING_B: ["b1", "b2", "b3", "b4"],
    }
    assert by_ring(graphs.rings.rings, "density") == {RING_A: DENSITY, RING_B: DENSITY}


def test_ring_features_exact() -> None:
    graphs = ring_inputs()
    table = ring_features(graphs.inputs.sellers, graphs.rings)
    assert table["ring_id"].to_list() == sorted([RING_A, RING_B])
    assert table.columns == [*graphs.rings.rings.columns, *RING_FEATURES]
    assert table.select(list(RING_FEATURES)).schema == pl.Schema(
        {name: dtype for name, (dtype, _) in RING_FEATURES.items()}
    )
    assert by_ring(table, "onboarding_spread_days") == {RING_A: 10.0, RING_B: 365.0}
    assert by_ring(table, "onboarding_mad_days") == {RING_A: 1.5, RING_B: 100.0}
    # payout pairs weigh 3 / (3 - 1) each (three of them), the device pair 2.5 / (2 - 1).
    mean_edge_weight = (3 * 3.0 / 2 + 2.5) / 4
    assert table["mean_edge_weight"].to_list() == pytest.approx([mean_edge_weight] * 2)
    assert by_ring(table, "structure_score") == pytest.approx({RING_A: SCORE_A, RING_B: SCORE_B})
    # no labels: counts are zero, not null
    assert table.select("n_labeled", "n_known_bad", "n_known_good").rows() == [(0, 0, 0)] * 2


def test_a_burst_ring_scores_above_a_ring_onboarding_over_a_year() -> None:
    scores = structure_scores(ring_inputs())
    assert scores[RING_A] > scores[RING_B] + 0.4  # only the burst term differs


def test_ring_features_without_created_at_renormalise_the_weights() -> None:
    graphs = ring_inputs(created_at=False)
    table = ring_features(graphs.inputs.sellers, graphs.rings)
    assert table["onboarding_spread_days"].to_list() == [None, None]
    assert table["onboarding_mad_days"].to_list() == [None, None]
    assert table["structure_score"].to_list() == pytest.approx([SCORE_NO_CREATED_AT] * 2)


def test_a_ring_with_one_known_time_drops_the_burst_term() -> None:
    # Ring A keeps a single known created_at (a1), ring B all four.
    graphs = ring_inputs()
    sellers = graphs.inputs.sellers.with_columns(
        pl.when(pl.col("seller_id").is_in(["a2", "a3", "a4"]))
        .then(None)
        .otherwise(pl.col("created_at"))
        .alias("created_at")
    )
    table = ring_features(sellers, graphs.rings)
    assert by_ring(table, "onboarding_mad_days") == {RING_A: None, RING_B: 100.0}
    assert by_ring(table, "onboarding_spread_days") == {RING_A: None, RING_B: 365.0}
    assert by_ring(table, "structure_score") == pytest.approx(
        {RING_A: SCORE_NO_CREATED_AT, RING_B: SCORE_B}
    )


def test_ring_features_count_member_labels() -> None:
    # A: a1 bad, a2 good, a4 bad. B: b1 good. p1 (in no ring) and z are not counted.
    labels = {"a1": 1, "a2": 0, "a4": 1, "b1": 0, "p1": 1, "z": 0}
    graphs = ring_inputs(labels=labels)
    table = ring_features(graphs.inputs.sellers, graphs.rings, graphs.inputs.labels)
    counts = table.select("ring_id", pl.concat_list("n_labeled", "n_known_bad", "n_known_good"))
    assert dict(counts.rows()) == {RING_A: [3, 2, 1], RING_B: [1, 0, 1]}
    # labels do not move the structure score
    assert by_ring(table, "structure_score") == pytest.approx({RING_A: SCORE_A, RING_B: SCORE_B})


@pytest.mark.parametrize(
    ("size", "density", "mad", "has_created_at", "expected"),
    [
        (2, 1.0, 0.0, True, 0.5 + 0.0 + 0.25),  # a pair created together, linked
        (2, 0.0, math.inf, True, 0.0),  # nothing at all
        (8, 0.5, 14.0, True, 0.5 / math.e + 0.25 * (1 - 1 / math.e) + 0.125),
        (8, 0.5, 14.0, False, (0.25 * (1 - 1 / math.e) + 0.125) / 0.5),
        (2, 1.0, 0.0, False, 0.5),  # only density: 0.25 / 0.5
        (1000, 1.0, 0.0, True, 1.0 - 0.25 * math.exp(-998 / 6)),
    ],
)
def test_structure_score_terms(
    size: int, density: float, mad: float, has_created_at: bool, expected: float
) -> None:
    score = pl.select(
        structure_score(pl.lit(size), pl.lit(density), pl.lit(mad), has_created_at=has_created_at)
    ).item()
    assert score == pytest.approx(expected)
    assert 0.0 <= score <= 1.0


# ---------------------------------------------------------------------------------------
# seller_reasons on a marketplace whose answers are worked out here.
#
# a holds: payout GB29… (normalised GB29NWBK601613314821, '…4821') with b and c;
#          device Dev-77AA ('…7aa') with d;
#          address '12 oak st unit 4' ('…nit4') with e, f, g (four spellings);
#          email jane.smith@example.com ('…mith@example.com') with h;
#          IP 10.0.0.1 and payout HUB-PAY-0001 with x1, x2, x3: 4 sellers each, over the
#          limit of 3 for IPs and payouts, so both are hubs and bind nobody.
# m holds device M-DEV-1 with n, and device M-DEV-2 with n, o and p.
# q has no identifiers; given edges link it to r and s (shared_warehouse) and t (referral).
# x1..x3 hold hubs only; z holds a device of its own.
#
# Kind weights: payout 3.0 > device 2.5 > email 2.0 > address 1.5 > relations 1.0.

REASON_SELLERS = [
    *["a", "b", "c", "d", "e", "f", "g", "h", "m", "n", "o", "p", "q", "r", "s", "t"],
    *["x1", "x2", "x3", "z"],
]
REASON_LINKS = [
    ("a", "payout", "GB29 NWBK 6016 1331 4821"),
    ("b", "payout", "gb29-nwbk-6016-1331-4821"),
    ("c", "payout", "GB29NWBK60161331 4821"),
    *sharing("device", "Dev-77AA", ["a", "d"]),
    ("a", "address", "12 Oak Street, Apt 4"),
    ("e", "address", "12 oak st #4"),
    ("f", "address", "12 OAK ST UNIT 4"),
    ("g", "address", "12 Oak St. Unit 4"),
    ("a", "email", "Jane.Smith@Example.com"),
    ("h", "email", "jane.smith@example.com"),
    *sharing("ip", "10.0.0.1", ["a", "x1", "x2", "x3"]),
    *sharing("payout", "HUB-PAY-0001", ["a", "x1", "x2", "x3"]),
    *sharing("device", "M-DEV-1", ["m", "n"]),
    *sharing("device", "M-DEV-2", ["m", "n", "o", "p"]),
    ("z", "device", "own-z"),
]
REASON_EDGES = pl.DataFrame(
    [("q", "r", "shared_warehouse"), ("s", "q", "Shared_Warehouse"), ("q", "t", "referral")],
    schema=["src", "dst", "relation"],
    orient="row",
)
REASON_CONFIG = Config(hub_limits={"ip": 3, "payout": 3})
# b good, c unlabelled; d bad; e and f bad; h good; r bad.
REASON_LABELS = {"b": 0, "d": 1, "e": 1, "f": 1, "h": 0, "r": 1}

PAYOUT = "payout …4821 shared with 2 sellers"
DEVICE = "device …7aa shared with 1 seller"
ADDRESS = "address …nit4 shared with 3 sellers"
EMAIL = "email …mith@example.com shared with 1 seller"


def reasons_of(
    flagged: Iterable[str],
    labels: dict[str, int] | None = None,
    *,
    edges: pl.DataFrame | None = REASON_EDGES,
    config: Config = REASON_CONFIG,
) -> dict[str, list[str]]:
    inputs = load_inputs(
        pl.DataFrame({"seller_id": REASON_SELLERS}),
        links_frame(REASON_LINKS),
        edges=edges,
        labels=None if labels is None else labels_frame(labels),
    )
    linkage = build_linkage(inputs.links, inputs.edges, config)
    if config is REASON_CONFIG:
        assert sorted(linkage.hubs["key"].to_list()) == ["10.0.0.1", "HUBPAY0001"]
    frame = seller_reasons(
        pl.Series(list(flagged), dtype=pl.String),
        linkage,
        inputs.labels if labels is not None else None,
        inputs.edges,
        config,
    )
    assert frame.columns == ["seller_id", "reasons"]
    return dict(zip(frame["seller_id"], frame["reasons"].to_list(), strict=True))


def test_reasons_without_labels_rank_by_kind_weight_and_keep_three() -> None:
    # a has four candidates (hubs excluded): payout 3.0, device 2.5, email 2.0 and the
    # address 1.5 (the most shared, yet the lightest kind) is the one left out.
    assert reasons_of(["a"]) == {"a": [PAYOUT, DEVICE, EMAIL]}


def test_known_bad_sharers_come_first() -> None:
    # address: e and f bad (2); device: d bad (1); payout: b good, c unknown (0);
    # email: h good (0). Known-bad counts beat kind weight; payout beats email on weight.
    assert reasons_of(["a"], REASON_LABELS) == {
        "a": [f"{ADDRESS} (2 known bad)", f"{DEVICE} (1 known bad)", PAYOUT]
    }


def test_same_kind_and_no_known_bad_rank_by_number_of_sharers() -> None:
    assert reasons_of(["m"], REASON_LABELS) == {
        "m": ["device …v2 shared with 3 sellers", "device …v1 shared with 1 seller"]
    }


@pytest.mark.parametrize("own_label", [None, 0, 1])
def test_the_sellers_own_label_is_never_counted(own_label: int | None) -> None:
    # a's own label can not change its reasons; nor can e's (its address is shared with
    # a, f, g: f is the one known-bad sharer, whatever e is labelled).
    for seller in ("a", "e"):
        labels = {k: v for k, v in REASON_LABELS.items() if k != seller}
        if own_label is not None:
            labels[seller] = own_label
        expected = {
            "a": [f"{ADDRESS} (2 known bad)", f"{DEVICE} (1 known bad)", PAYOUT],
            "e": [f"{ADDRESS} (1 known bad)"],
        }[seller]
        assert reasons_of([seller], labels) == {seller: expected}


def test_hub_identifiers_are_never_reasons() -> None:
    # x1..x3 hold only the two hubs: no candidates, so no row at all. Were the payout hub
    # used, it would lead a's reasons (weight 3.0, 3 sharers), as it does once it is no hub.
    found = reasons_of(["a", "x1", "x2", "x3", "z"])
    assert found == {"a": [PAYOUT, DEVICE, EMAIL]}
    no_hubs = reasons_of(["a", "x1"], config=Config())
    assert no_hubs["a"][0] == "payout …0001 shared with 3 sellers"
    assert no_hubs["x1"] == [
        "payout …0001 shared with 3 sellers",
        "ip …01 shared with 3 sellers",
    ]


def test_relations_of_given_edges_are_reasons() -> None:
    # The second shared_warehouse edge was given as (s, q), in another case: one relation.
    assert reasons_of(["q"], REASON_LABELS) == {
        "q": [
            "linked by shared_warehouse to 2 sellers (1 known bad)",
            "linked by referral to 1 seller",
        ]
    }
    assert reasons_of(["r"]) == {"r": ["linked by shared_warehouse to 1 seller"]}
    assert reasons_of(["q"], edges=None) == {}


def test_relations_weigh_as_their_kind_weight() -> None:
    config = Config(hub_limits={"ip": 3, "payout": 3}, kind_weights={"referral": 5.0})
    assert reasons_of(["q"], config=config) == {
        "q": ["linked by referral to 1 seller", "linked by shared_warehouse to 2 sellers"]
    }


def test_only_flagged_sellers_get_reasons_and_never_more_than_three() -> None:
    flagged = ["a", "b", "e", "m", "q", "z"]
    found = reasons_of([*flagged, "a"], REASON_LABELS)  # a repeated: one row
    assert sorted(found) == ["a", "b", "e", "m", "q"]  # z shares nothing
    assert MAX_REASONS == 3
    assert all(1 <= len(reasons) <= MAX_REASONS for reasons in found.values())
    # b's payout is shared with a (unlabelled) and c (unlabelled)
    assert found["b"] == [PAYOUT]


def test_a_repeated_relation_counts_each_seller_once() -> None:
    # Validation keeps both edges (their weights differ): q is still linked to one seller.
    edges = pl.DataFrame(
        {"src": ["q", "t"], "dst": ["t", "q"], "relation": ["referral"] * 2, "weight": [1.0, 2.0]}
    )
    assert reasons_of(["q"], edges=edges) == {"q": ["linked by referral to 1 seller"]}


def test_a_repeated_relation_counts_a_known_bad_seller_once() -> None:
    edges = pl.DataFrame(
        {"src": ["q", "q"], "dst": ["t", "t"], "relation": ["referral"] * 2, "weight": [1.0, 2.0]}
    )
    assert reasons_of(["q"], {"t": 1}, edges=edges) == {
        "q": ["linked by referral to 1 seller (1 known bad)"]
    }


# ---------------------------------------------------------------------------------------
# score_marketplace: cold start on the ring marketplace


def cold(syndicate: float, review: float) -> Config:
    return Config(cold_syndicate_threshold=syndicate, cold_review_threshold=review, anomaly_trees=0)


def sellers_by_id(scores: Scores, column: str) -> dict[str, object]:
    return dict(zip(scores.sellers["seller_id"], scores.sellers[column].to_list(), strict=True))


@pytest.mark.parametrize("labels", [None, {}, {"a1": 1, "b1": 0, "b2": 0, "z": 0}, {"a1": 1}])
def test_cold_start_without_enough_labels(labels: dict[str, int] | None) -> None:
    graphs = ring_inputs(labels=labels or None)
    scores = graphs.score(cold(0.6, 0.2), labels=labels is not None)
    n_bad = sum(v == 1 for v in (labels or {}).values())
    n_good = sum(v == 0 for v in (labels or {}).values())
    assert scores.model is None and scores.cold_start
    assert scores.thresholds == Thresholds(syndicate=0.6, review=0.2, source="cold_start")
    assert len(scores.warnings) == 1
    assert scores.warnings[0].startswith(
        f"cold start: the labels hold {n_bad} known-bad and {n_good} known-good sellers"
    )
    assert set(scores.sellers["score_source"]) == {"structure"}


def test_cold_start_warns_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="syndicate.scoring"):
        ring_inputs().score()
    assert any("cold start" in record.getMessage() for record in caplog.records)


def test_cold_start_members_share_their_rings_structure_score() -> None:
    scores = ring_inputs().score(cold(0.6, 0.2))
    expected = {s: SCORE_A for s in ("a1", "a2", "a3", "a4")}
    expected |= {s: SCORE_B for s in ("b1", "b2", "b3", "b4")}
    expected |= {"p1": 0.0, "p2": 0.0, "z": 0.0}  # a pair (no ring) and a loner
    assert sellers_by_id(scores, "seller_score") == pytest.approx(expected)
    ring_score = sellers_by_id(scores, "ring_score")
    assert [ring_score.pop(s) for s in ("p1", "p2", "z")] == [None, None, None]
    assert ring_score == pytest.approx({s: expected[s] for s in ring_score})
    expected_rings = {RING_A: SCORE_A, RING_B: SCORE_B}
    assert scores.rings["ring_id"].to_list() == sorted(expected_rings)
    for column in ("ring_score", "mean_seller_score", "structure_score"):
        assert by_ring(scores.rings, column) == pytest.approx(expected_rings)


@pytest.mark.parametrize(
    ("syndicate", "review", "decision_a", "decision_b"),
    [
        (0.6, 0.2, "syndicate", "review"),  # A ≈ 0.687 ≥ 0.6; B ≈ 0.238 ≥ 0.2
        (0.7, 0.6, "review", "clear"),
        (0.75, 0.7, "clear", "clear"),  # the defaults
        (0.0, 0.0, "syndicate", "syndicate"),
    ],
)
def test_cold_start_decisions_follow_the_cold_thresholds(
    syndicate: float, review: float, decision_a: str, decision_b: str
) -> None:
    scores = ring_inputs().score(cold(syndicate, review))
    decisions = sellers_by_id(scores, "decision")
    loners = "syndicate" if syndicate == 0.0 else "clear"  # a score of 0 reaches 0
    assert decisions == {
        **dict.fromkeys(["a1", "a2", "a3", "a4"], decision_a),
        **dict.fromkeys(["b1", "b2", "b3", "b4"], decision_b),
        **dict.fromkeys(["p1", "p2", "z"], loners),
    }
    assert by_ring(scores.rings, "decision") == {RING_A: decision_a, RING_B: decision_b}


def test_a_score_equal_to_a_cold_threshold_reaches_it() -> None:
    graphs = ring_inputs()
    score = structure_scores(graphs)
    scores = graphs.score(cold(score[RING_A], score[RING_B]))
    assert by_ring(scores.rings, "decision") == {RING_A: "syndicate", RING_B: "review"}


def test_cold_start_without_created_at() -> None:
    scores = ring_inputs(created_at=False).score(cold(0.5, 0.4))
    assert scores.rings["ring_score"].to_list() == pytest.approx([SCORE_NO_CREATED_AT] * 2)
    # ≈ 0.475: review for both rings
    assert set(scores.sellers.filter(pl.col("ring_id").is_not_null())["decision"]) == {"review"}


def test_the_labels_frame_matches_its_schema() -> None:
    scores = ring_inputs().score(cold(0.6, 0.2))
    assert scores.sellers.schema == pl.Schema(
        {name: dtype for name, (dtype, _) in LABELS_SCHEMA.items()}
    )
    assert scores.sellers["seller_id"].to_list() == sorted(CREATED_DAYS)  # one row each


def test_cold_start_reasons() -> None:
    scores = ring_inputs().score(cold(0.6, 0.2))
    reasons = sellers_by_id(scores, "reasons")
    payout, device = "payout …0001 shared with 2 sellers", "device …va shared with 1 seller"
    assert reasons == {
        "a1": [payout],
        "a2": [payout],
        "a3": [payout, device],
        "a4": [device],
        "b1": ["payout …0002 shared with 2 sellers"],
        "b2": ["payout …0002 shared with 2 sellers"],
        "b3": ["payout …0002 shared with 2 sellers", "device …vb shared with 1 seller"],
        "b4": ["device …vb shared with 1 seller"],
        "p1": [],  # clear: no reasons, though they share an IP
        "p2": [],
        "z": [],
    }


def test_ring_evidence_names_binding_identifiers_and_onboarding() -> None:
    scores = ring_inputs(labels={"a1": 1, "b1": 0}).score(cold(0.6, 0.2))
    assert by_ring(scores.rings, "evidence") == {
        RING_A: [
            "payout …0001 shared by 3 of 4 members",
            "device …va shared by 2 of 4 members",
            "onboarded within 10 days",
            "1 known-bad member",
        ],
        RING_B: [
            "payout …0002 shared by 3 of 4 members",
            "device …vb shared by 2 of 4 members",
            "onboarded within 365 days",
        ],
    }


# ---------------------------------------------------------------------------------------
# score_marketplace with labels: a small synthetic marketplace, a small fast forest.

FAST = Config(n_estimators=20, cv_folds=3, importance_repeats=0)


@pytest.fixture(scope="module")
def synthetic() -> Graphs:
    market = generate_marketplace(n_sellers=3000, seed=3)
    inputs = load_inputs(market.sellers, market.links, labels=market.labels)
    return Graphs.of(inputs, FAST)


@pytest.fixture(scope="module")
def scored(synthetic: Graphs) -> Scores:
    return synthetic.score()


@pytest.fixture(scope="module")
def scored_at_fixed_thresholds(synthetic: Graphs) -> Scores:
    return synthetic.score(replace(FAST, syndicate_threshold=0.5, review_threshold=0.2))


def expected_decision(score: float, thresholds: Thresholds) -> str:
    if thresholds.syndicate is not None and score >= thresholds.syndicate:
        return "syndicate"
    if thresholds.review is not None and score >= thresholds.review:
        return "review"
    return "clear"


def assert_decisions_follow(scores: Scores) -> None:
    for score, decision in scores.sellers.select("seller_score", "decision").iter_rows():
        assert decision == expected_decision(score, scores.thresholds)
    for score, decision in scores.rings.select("ring_score", "decision").iter_rows():
        assert decision == expected_decision(score, scores.thresholds)


def test_labelled_sellers_get_out_of_fold_scores(synthetic: Graphs, scored: Scores) -> None:
    assert scored.model is not None and not scored.cold_start
    assert not any("cold start" in warning for warning in scored.warnings)
    labelled = set(synthetic.inputs.labels["seller_id"])
    sources = sellers_by_id(scored, "score_source")
    assert {s for s, source in sources.items() if source == "out_of_fold"} == labelled
    assert {source for s, source in sources.items() if s not in labelled} == {"model"}
    oof = dict(zip(scored.model.oof["seller_id"], scored.model.oof["score"], strict=True))
    score = sellers_by_id(scored, "seller_score")
    assert {s: score[s] for s in labelled} == oof


@pytest.mark.parametrize("fixture", ["scored", "scored_at_fixed_thresholds"])
def test_scored_labels_frame(
    synthetic: Graphs, fixture: str, request: pytest.FixtureRequest
) -> None:
    sellers = request.getfixturevalue(fixture).sellers
    assert sellers.schema == pl.Schema({n: dtype for n, (dtype, _) in LABELS_SCHEMA.items()})
    assert sellers["seller_id"].to_list() == synthetic.inputs.sellers["seller_id"].to_list()
    assert sellers["seller_id"].is_sorted() and sellers["seller_id"].n_unique() == 3000
    assert sellers["seller_score"].is_between(0.0, 1.0).all()


def test_reasons_for_flagged_sellers_only(
    synthetic: Graphs, scored_at_fixed_thresholds: Scores
) -> None:
    sellers = scored_at_fixed_thresholds.sellers
    clear = sellers.filter(pl.col("decision") == "clear")
    assert (clear["reasons"].list.len() == 0).all()
    flagged = sellers.filter(pl.col("decision") != "clear")
    assert flagged.height > 10 and clear.height > 10  # the run decides something both ways
    shares = synthetic.linkage.seller_identifiers.filter(~pl.col("hub"))["seller_id"]
    flagged_sharing = flagged.filter(pl.col("seller_id").is_in(shares.implode()))
    assert flagged_sharing["reasons"].list.len().is_between(1, MAX_REASONS).all()


def test_ring_scores_are_the_upper_half_of_member_scores(scored: Scores) -> None:
    members = scored.sellers.filter(pl.col("ring_id").is_not_null())
    expected = {}
    for ring_id, part in members.group_by("ring_id"):
        top = sorted(part["seller_score"], reverse=True)[: (part.height + 1) // 2]
        expected[ring_id[0]] = sum(top) / len(top)
    assert by_ring(scored.rings, "ring_score") == pytest.approx(expected)
    ring_of_seller = members.select("ring_id", "ring_score").unique().sort("ring_id")
    assert ring_of_seller["ring_score"].to_list() == pytest.approx(
        [expected[r] for r in ring_of_seller["ring_id"]]
    )


def test_decisions_follow_the_thresholds(scored: Scores) -> None:
    assert scored.thresholds.source == "oof_pr_curve"
    assert_decisions_follow(scored)


def test_model_card_holds_the_thresholds(scored: Scores) -> None:
    assert scored.model is not None
    card = scored.model.card["thresholds"]
    assert card["syndicate"] == scored.thresholds.syndicate
    assert card["review"] == scored.thresholds.review
    assert card["source"] == "oof_pr_curve"
    assert (card["syndicate_precision"], card["review_precision"]) == (0.9, 0.75)
    assert 0.0 < card["bad_rate"] <= 1.0
    assert card["bad_rate_source"] == "estimated"


def test_a_configured_bad_rate_reaches_the_card(synthetic: Graphs) -> None:
    scores = synthetic.score(replace(FAST, bad_rate=0.05))
    assert scores.model is not None
    assert scores.model.card["thresholds"]["bad_rate"] == 0.05
    assert scores.model.card["thresholds"]["bad_rate_source"] == "config"


def test_configured_thresholds_override_the_precision_targets(
    scored_at_fixed_thresholds: Scores,
) -> None:
    scores = scored_at_fixed_thresholds
    thresholds = scores.thresholds
    assert (thresholds.syndicate, thresholds.review, thresholds.source) == (0.5, 0.2, "config")
    assert not thresholds.few_known_bad  # fixed thresholds do not rest on the labels
    assert scores.model is not None
    assert scores.model.card["thresholds"]["source"] == "config"
    assert_decisions_follow(scores)
    decided = dict(scores.sellers.group_by("decision").len().iter_rows())
    score = scores.sellers["seller_score"]
    assert decided.get("syndicate", 0) == (score >= 0.5).sum()
    assert decided.get("review", 0) == ((score >= 0.2) & (score < 0.5)).sum()
    assert decided.get("clear", 0) == (score < 0.2).sum()


def test_one_configured_threshold_keeps_review_at_most_syndicate(synthetic: Graphs) -> None:
    scores = synthetic.score(replace(FAST, syndicate_threshold=0.3))
    assert scores.thresholds.source == "config"
    assert scores.thresholds.syndicate == 0.3
    assert scores.thresholds.review is not None and scores.thresholds.review <= 0.3
    assert_decisions_follow(scores)


# ---------------------------------------------------------------------------------------
# Config: the model and decision fields


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"cv_folds": 1}, r"cv_folds must be an integer >= 2; got 1"),
        ({"cv_folds": True}, r"cv_folds must be an integer >= 2; got True"),
        ({"cv_folds": 3.0}, r"cv_folds must be an integer >= 2; got 3\.0"),
        ({"n_estimators": 1}, r"n_estimators must be an integer >= 2; got 1"),
        ({"n_estimators": "200"}, r"n_estimators must be an integer >= 2; got '200'"),
        ({"importance_repeats": -1}, r"importance_repeats must be an integer >= 0; got -1"),
        ({"importance_repeats": 1.5}, r"importance_repeats must be an integer >= 0; got 1\.5"),
        ({"n_jobs": 0}, r"n_jobs must be a non-zero integer; got 0"),
        (
            {"min_known_bad_for_thresholds": -1},
            r"min_known_bad_for_thresholds must be an integer >= 0; got -1",
        ),
        (
            {"min_known_bad_for_thresholds": 2.5},
            r"min_known_bad_for_thresholds must be an integer >= 0; got 2\.5",
        ),
        ({"n_jobs": 2.0}, r"n_jobs must be a non-zero integer; got 2\.0"),
        ({"syndicate_precision": 0.0}, r"syndicate_precision must be in \(0, 1\]; got 0\.0"),
        ({"syndicate_precision": 1.01}, r"syndicate_precision must be in \(0, 1\]; got 1\.01"),
        ({"review_precision": -0.5}, r"review_precision must be in \(0, 1\]; got -0\.5"),
        ({"review_precision": math.nan}, r"review_precision must be in \(0, 1\]; got nan"),
        ({"bad_rate": 0.0}, r"bad_rate must be in \(0, 1\); got 0\.0"),
        ({"bad_rate": 1.0}, r"bad_rate must be in \(0, 1\); got 1\.0"),
        ({"syndicate_threshold": 1.5}, r"syndicate_threshold must be in \[0, 1\]; got 1\.5"),
        ({"review_threshold": -0.1}, r"review_threshold must be in \[0, 1\]; got -0\.1"),
        (
            {"cold_syndicate_threshold": 2.0},
            r"cold_syndicate_threshold must be in \[0, 1\]; got 2\.0",
        ),
        (
            {"cold_review_threshold": math.inf},
            r"cold_review_threshold must be in \[0, 1\]; got inf",
        ),
        (
            {"review_precision": 0.95},
            r"review_precision \(0\.95\) must not exceed syndicate_precision \(0\.9\)",
        ),
        (
            {"syndicate_threshold": 0.5, "review_threshold": 0.6},
            r"review_threshold \(0\.6\) must not exceed syndicate_threshold \(0\.5\)",
        ),
        (
            {"cold_review_threshold": 0.8},
            r"cold_review_threshold \(0\.8\) must not exceed cold_syndicate_threshold \(0\.75\)",
        ),
    ],
)
def test_config_refuses_bad_model_settings(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=f"^{message}$"):
        Config(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "fields",
    [
        {"cv_folds": 2, "n_estimators": 2, "importance_repeats": 0, "n_jobs": -1},
        {"n_jobs": 4},
        {"syndicate_precision": 1.0, "review_precision": 1.0},
        {"bad_rate": 0.5},
        {"syndicate_threshold": 0.5, "review_threshold": 0.5},
        {"syndicate_threshold": 1.0, "review_threshold": 0.0},
        {"review_threshold": 0.9},  # no syndicate threshold to compare with
        {"cold_syndicate_threshold": 0.0, "cold_review_threshold": 0.0},
    ],
)
def test_config_accepts_edge_values(fields: dict[str, object]) -> None:
    config = Config(**fields)  # type: ignore[arg-type]
    assert all(getattr(config, name) == value for name, value in fields.items())


@pytest.mark.parametrize("name", ["importance_repeats", "n_jobs"])
def test_config_refuses_booleans_for_counts(name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Config(**{name: True})  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------
# Thresholds drawn from few known-bad sellers


@pytest.fixture(scope="module")
def few_labels() -> Graphs:
    """The 3,000-seller marketplace with 12 known-bad and 3 known-good labels only."""
    market = generate_marketplace(n_sellers=3000, seed=3)
    labels = pl.concat(
        [
            market.labels.filter(pl.col("label") == 1).sample(12, seed=0),
            market.labels.filter(pl.col("label") == 0).sample(3, seed=0),
        ]
    )
    return Graphs.of(load_inputs(market.sellers, market.links, labels=labels), FAST)


def test_few_known_bad_sellers_mark_the_thresholds_and_warn(few_labels: Graphs) -> None:
    scores = few_labels.score()
    thresholds = scores.thresholds
    assert (thresholds.n_known_bad, thresholds.few_known_bad) == (12, True)
    # The out-of-fold scores do not separate the 12 from the 3: no bad rate can be
    # estimated (it used to be the labelled share, 12/15 = 0.8, which put every seller
    # up for review), so only a score above every known-good seller's could be decided.
    assert thresholds.bad_rate is not None
    assert (thresholds.bad_rate.source, thresholds.bad_rate.value) == ("unidentified", 1e-6)
    assert thresholds.bad_rate.bound is not None and thresholds.bad_rate.bound < 0.8
    assert (thresholds.syndicate, thresholds.review) == (None, None)
    assert set(scores.sellers["decision"]) == {"clear"}
    assert any("cannot be estimated (the labelled share, 12 of 15," in w for w in scores.warnings)
    [warning] = [w for w in scores.warnings if "min_known_bad_for_thresholds" in w]
    assert re.search(
        r"drawn from only 12 known-bad sellers \(fewer than "
        r"decisions\.min_known_bad_for_thresholds = 30\) and no bad-rate estimate",
        warning,
    )
    assert "add known-bad labels, or set decisions.bad_rate" in warning
    assert scores.model is not None
    card = scores.model.card["thresholds"]
    assert (card["n_known_bad"], card["few_known_bad"]) == (12, True)
    assert card["bad_rate_source"] == thresholds.bad_rate.source
    assert card["bad_rate_bound"] == thresholds.bad_rate.bound


def test_known_good_sellers_decided_syndicate_are_named_in_the_warning(
    few_labels: Graphs,
) -> None:
    # A syndicate threshold of 0 decides every seller syndicate, the 3 known-good ones too;
    # review still comes from the labels, so the thresholds rest on them and the warning
    # counts the known-good sellers.
    scores = few_labels.score(replace(FAST, syndicate_threshold=0.0))
    [warning] = [w for w in scores.warnings if "min_known_bad_for_thresholds" in w]
    assert "they decide known-good sellers 3 syndicate;" in warning
    assert "syndicate 0.000, review 0.000" in warning


def test_no_few_labels_warning_when_the_minimum_is_met_or_the_thresholds_are_fixed(
    few_labels: Graphs,
) -> None:
    for config in (
        replace(FAST, min_known_bad_for_thresholds=12),
        replace(FAST, syndicate_threshold=0.8, review_threshold=0.5),
    ):
        scores = few_labels.score(config)
        assert not scores.thresholds.few_known_bad
        assert not any("min_known_bad_for_thresholds" in w for w in scores.warnings)


# ---------------------------------------------------------------------------------------
# Thresholds carried over from the previous run while the labels support them


def test_previous_thresholds_the_labels_support_are_kept(synthetic: Graphs, scored: Scores) -> None:
    fresh = scored.thresholds
    assert fresh.syndicate is not None and fresh.review is not None
    # Nudged by a hair: the same labels cannot tell such thresholds apart from the fresh ones.
    nudged = Thresholds(fresh.syndicate + 1e-6, fresh.review - 1e-6, "oof_pr_curve")
    kept = score_marketplace(
        synthetic.inputs.sellers,
        synthetic.linkage,
        synthetic.rings,
        synthetic.features,
        synthetic.inputs.labels,
        FAST,
        synthetic.inputs.edges,
        previous_thresholds=nudged,
    )
    assert (kept.thresholds.syndicate, kept.thresholds.review) == (nudged.syndicate, nudged.review)
    assert kept.thresholds.source == "previous_run" and kept.thresholds.kept == (
        "syndicate",
        "review",
    )
    assert kept.thresholds.as_dict()["kept_from_previous_run"] == ["syndicate", "review"]
    assert_decisions_follow(kept)


@pytest.mark.parametrize(
    ("previous", "config", "source"),
    [
        # A syndicate threshold of 0.0001 flags nearly everyone: far below its precision target.
        (Thresholds(0.0001, 0.0001, "oof_pr_curve"), FAST, "oof_pr_curve"),
        # Thresholds from config, or keep_thresholds off: always drawn afresh.
        (Thresholds(0.5, 0.4, "config"), FAST, "oof_pr_curve"),
        (None, replace(FAST, keep_thresholds=False), "oof_pr_curve"),
    ],
)
def test_previous_thresholds_the_labels_contradict_are_replaced(
    synthetic: Graphs,
    scored: Scores,
    previous: Thresholds | None,
    config: Config,
    source: str,
) -> None:
    previous = previous or Thresholds(
        (scored.thresholds.syndicate or 0) + 1e-6, scored.thresholds.review, "oof_pr_curve"
    )
    fresh = score_marketplace(
        synthetic.inputs.sellers,
        synthetic.linkage,
        synthetic.rings,
        synthetic.features,
        synthetic.inputs.labels,
        config,
        synthetic.inputs.edges,
        previous_thresholds=previous,
    )
    assert fresh.thresholds.source == source and fresh.thresholds.kept == ()
    assert (fresh.thresholds.syndicate, fresh.thresholds.review) == (
        scored.thresholds.syndicate,
        scored.thresholds.review,
    )
