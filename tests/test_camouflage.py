"""Rings that survive camouflage: popular identifiers, chains, cross-validation groups.

Each graph is built by hand and its answer worked out in the comments.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import polars as pl
import pytest

from syndicate import Config, build_linkage, find_rings, load_inputs
from syndicate.features import ANOMALY_EXCLUDED, anomaly_scores, neighbour_pairs
from syndicate.features.ring import structure_score
from syndicate.graphs.communities import Rings
from syndicate.model import _fold_label_shifts
from syndicate.scoring import LARGE_GROUP_SHARE, _warn_large_group, cv_groups

Row = tuple[str, str, str]


def sharing(kind: str, value: str, sellers: Iterable[str]) -> list[Row]:
    return [(seller, kind, value) for seller in sellers]


def links_frame(rows: Iterable[Row]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=["seller_id", "kind", "value"], orient="row")


def ring_sets(rings: Rings) -> set[frozenset[str]]:
    members = rings.members.filter(pl.col("ring_id").is_not_null())
    return {frozenset(part["seller_id"].to_list()) for part in members.partition_by("ring_id")}


def camouflaged_rings() -> tuple[list[Row], list[str], list[str], list[str]]:
    """Two rings of 5 glued by two popular café IPs shared with 20 honest sellers each.

    Ring A shares payout PA and device DA; ring B payout PB and device DB. IP CAFE1 is
    used by a1, a2, b1, b2 and honest h00..h19 (24 sellers); CAFE2 by a3, a4, b3, b4 and
    honest g00..g19 (24). Both are under the hub limit (60) but over popular_limit (20).
    """
    ring_a = [f"a{i}" for i in range(1, 6)]
    ring_b = [f"b{i}" for i in range(1, 6)]
    honest_h = [f"h{i:02d}" for i in range(20)]
    honest_g = [f"g{i:02d}" for i in range(20)]
    rows = (
        sharing("payout", "PA", ring_a)
        + sharing("device", "DA", ring_a)
        + sharing("payout", "PB", ring_b)
        + sharing("device", "DB", ring_b)
        + sharing("ip", "CAFE1", ["a1", "a2", "b1", "b2", *honest_h])
        + sharing("ip", "CAFE2", ["a3", "a4", "b3", "b4", *honest_g])
    )
    return rows, ring_a, ring_b, honest_h + honest_g


def test_popular_identifiers_do_not_glue_two_rings() -> None:
    # Without the backbone everything is one component of 50: the café IPs link every pair
    # of their 24 holders. The backbone keeps a pair only if it shares an identifier of at
    # most 20 sellers: the pairs inside A (PA, DA: 5 holders each) and inside B; an a-b
    # pair or an honest pair shares only a café IP, so it is dropped. Components A and B
    # remain (5 < 2 * min_ring_size: no Leiden needed), each a ring; honest sellers stay in
    # none. The dense-block detector agrees: a café IP keeps 4 of its 24 holders inside any
    # block of A or B (< 90%), so it falls out, and A (5 sellers + PA + DA) is a block.
    rows, ring_a, ring_b, honest = camouflaged_rings()
    linkage = build_linkage(links_frame(rows))
    assert linkage.edges.height == 2 * 10 + 2 * math.comb(24, 2) - 2 * 2  # a1a2, b1b2 counted once
    backbone = linkage.edges.filter(pl.col("backbone"))
    assert backbone.height == 20
    rings = find_rings(linkage)
    assert ring_sets(rings) == {frozenset(ring_a), frozenset(ring_b)}
    assert rings.members.filter(pl.col("seller_id").is_in(honest))["ring_id"].null_count() == 40
    assert rings.rings["detectors"].to_list() == [["dense_block", "leiden"]] * 2
    # Block density of A: 5 edges of 3.0 / ln(10) and 5 of 2.5 / ln(10) over 7 nodes.
    assert rings.rings["block_density"].to_list() == pytest.approx([5 * 5.5 / math.log(10) / 7] * 2)


def test_the_old_graph_merges_the_camouflaged_rings() -> None:
    # The same graph weighted the old way (kind_weight / log2(n), no backbone): a café IP
    # gives each of its 276 pairs 1 / log2(24) = 0.22, so a1 holds 23 * 0.22 = 5.0 of café
    # weight against 4 * (3.0 + 2.5) / log2(5) = 9.5 inside A; Leiden on the component of
    # 50 (modularity, resolution 0.35) keeps café holders together with the rings, and no
    # found ring is A or B.
    rows, ring_a, ring_b, _ = camouflaged_rings()
    old = Config(pair_weighting="log", popular_limit=60, dense_blocks=False)
    rings = find_rings(build_linkage(links_frame(rows), config=old), old)
    assert frozenset(ring_a) not in ring_sets(rings)
    assert frozenset(ring_b) not in ring_sets(rings)


def test_a_ring_bound_by_popular_identifiers_only_is_found_as_a_dense_block() -> None:
    # 25 sellers share one device D (25 > popular_limit 20) and nothing else: the backbone
    # drops every pair, so Leiden sees 25 isolated sellers. As a bipartite block they are
    # 25 sellers + D, density 25 * 2.5 / ln(30) / 26 = 0.707 >= 0.5, and D is held wholly
    # inside: one dense-block ring.
    sellers = [f"s{i:02d}" for i in range(25)]
    rings = find_rings(build_linkage(links_frame(sharing("device", "D", sellers))))
    assert ring_sets(rings) == {frozenset(sellers)}
    row = rings.rings.row(0, named=True)
    assert row["detectors"] == ["dense_block"]
    assert row["block_density"] == pytest.approx(25 * 2.5 / math.log(30) / 26)


def test_giant_community_is_split_again_when_over_max_ring_size() -> None:
    # Three cliques of 6 (payout + device each) joined in a triangle by weak ties: at
    # resolution 0.01 Leiden keeps the component of 18 as one community; with
    # max_ring_size 10 that community is split again at modularity's own resolution 1:
    # each clique holds 15 pairs of weight 1.375 (20.6 of the 22.6 total), so the three
    # cliques score 0.91 - 3 * (1/3)^2 = 0.58 against 0 for one community.
    cliques = [[f"{name}{i}" for i in range(6)] for name in "xyz"]
    rows = [row for c, sellers in enumerate(cliques) for row in sharing("payout", f"P{c}", sellers)]
    rows += [
        row for c, sellers in enumerate(cliques) for row in sharing("device", f"D{c}", sellers)
    ]
    rows += sharing("email", "x-y", ["x0", "y0"]) + sharing("email", "y-z", ["y1", "z0"])
    rows += sharing("email", "z-x", ["z1", "x1"])
    loose = Config(leiden_resolution=0.01, dense_blocks=False)
    linkage = build_linkage(links_frame(rows), config=loose)
    whole = find_rings(linkage, loose)
    assert ring_sets(whole) == {frozenset(s for c in cliques for s in c)}
    split = find_rings(
        linkage, Config(leiden_resolution=0.01, dense_blocks=False, max_ring_size=10)
    )
    assert ring_sets(split) == {frozenset(c) for c in cliques}


# --- cross-validation groups ------------------------------------------------------------


def test_cv_groups_are_rings_then_communities() -> None:
    members = pl.DataFrame(
        {
            "seller_id": ["a", "b", "c", "d"],
            "component": ["a"] * 4,
            "community": ["a", "a", "a", "d"],
            "ring_id": ["ring-1", "ring-1", "ring-1", None],
        }
    )
    groups = cv_groups(Rings(members, pl.DataFrame()))
    assert groups.rows() == [("a", "ring-1"), ("b", "ring-1"), ("c", "ring-1"), ("d", "c:d")]


def test_a_group_holding_over_a_fifth_of_the_labels_is_warned_about() -> None:
    groups = pl.DataFrame({"seller_id": ["a", "b", "c"], "group": ["g", "g", "h"]})
    labels = pl.DataFrame({"seller_id": ["a", "b", "c", "x", "y", "z", "w", "v", "u", "t"]})
    warnings: list[str] = []
    _warn_large_group(groups, labels, warnings)  # g holds 2 of 10: not over a fifth
    assert warnings == []
    _warn_large_group(groups, labels.head(9), warnings)  # 2 of 9 > 0.2
    assert LARGE_GROUP_SHARE == 0.2
    assert len(warnings) == 1 and "(g) holds 2 of the 9 labelled sellers" in warnings[0]


def test_training_rows_leave_out_the_held_out_folds_neighbour_labels() -> None:
    # Labelled a (bad, fold 0), b (good, fold 1), c (bad, fold 1); a-b and b-c linked.
    # While fold 1 is held out, a trains without c? No: a's neighbour b is in fold 1, so
    # a's nbr1_known_good drops by 1 (b is good). While fold 0 is held out, b and c train:
    # b's neighbour a (bad, fold 0) is removed from b's nbr1_known_bad.
    train = pl.DataFrame({"seller_id": ["a", "b", "c"], "label": [1, 0, 1]})
    fold = np.array([0, 1, 1])
    pairs = pl.DataFrame({"seller_id": ["a", "b", "b", "c"], "other": ["b", "a", "c", "b"]})
    names = ["nbr1_known_bad", "nbr1_known_good", "degree"]
    shifts = dict(_fold_label_shifts(train, fold, 2, names, {"nbr1": pairs}))
    bad, good = shifts[0], shifts[1]
    # rows a, b, c; columns fold 0, fold 1
    assert bad.tolist() == [[0, 0], [1, 1], [0, 0]]  # b sees bad a (fold 0) and bad c (fold 1)
    assert good.tolist() == [[0, 1], [0, 0], [0, 1]]  # a and c see good b (fold 1)


# --- anomaly score ----------------------------------------------------------------------


def feature_table(n: int = 300, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "seller_id": [f"s{i:04d}" for i in range(n)],
            "degree": rng.poisson(2.0, n).astype(float),
            "listings": pl.Series(rng.lognormal(3, 1, n)).scatter(
                np.flatnonzero(rng.random(n) < 0.1), None
            ),
            "nbr1_known_bad": rng.integers(0, 3, n),
        }
    )


def test_anomaly_scores_are_seeded_row_order_free_and_blind_to_labels() -> None:
    table = feature_table()
    scores = anomaly_scores(table, seed=3, n_trees=50)
    assert ((scores > 0) & (scores <= 1)).all()
    assert np.array_equal(scores, anomaly_scores(table, seed=3, n_trees=50))
    # Label-aware counts are not looked at: changing them changes nothing.
    relabelled = table.with_columns(pl.col("nbr1_known_bad") * 7)
    assert "nbr1_known_bad" in ANOMALY_EXCLUDED
    assert np.array_equal(scores, anomaly_scores(relabelled, seed=3, n_trees=50))
    # An extreme seller is more anomalous than the median seller.
    extreme = table.with_columns(
        pl.when(pl.col("seller_id") == "s0000")
        .then(500.0)
        .otherwise(pl.col("degree"))
        .alias("degree")
    )
    moved = anomaly_scores(extreme, seed=3, n_trees=50)
    assert moved[0] > np.median(moved)


def test_no_trees_gives_a_neutral_score() -> None:
    assert anomaly_scores(feature_table(10), n_trees=0).tolist() == [0.5] * 10


def test_structure_score_with_the_anomaly_term() -> None:
    # size 8: 1 - exp(-1) = 0.632; density 0.5; MAD 0: burst 1; anomaly 0.9:
    # 0.4 * 1 + 0.2 * 0.632 + 0.2 * 0.5 + 0.2 * 0.9 = 0.8064; without times the burst's
    # weight is shared: (0.2 * 0.632 + 0.2 * 0.5 + 0.2 * 0.9) / 0.6 = 0.6774.
    size_term = 1 - math.exp(-1)
    expected = 0.4 + 0.2 * size_term + 0.2 * 0.5 + 0.2 * 0.9
    for has_times, want in ((True, expected), (False, (expected - 0.4) / 0.6)):
        score = pl.select(
            structure_score(
                pl.lit(8), pl.lit(0.5), pl.lit(0.0), has_created_at=has_times, anomaly=pl.lit(0.9)
            )
        ).item()
        assert score == pytest.approx(want)


def test_pipeline_features_carry_blocks_and_anomaly() -> None:
    rows, _, _, _ = camouflaged_rings()
    links = links_frame(rows)
    sellers = pl.DataFrame({"seller_id": sorted(set(links["seller_id"]))})
    inputs = load_inputs(sellers, links)
    from syndicate.features import seller_features

    linkage = build_linkage(inputs.links)
    rings = find_rings(linkage)
    features = seller_features(inputs.sellers, inputs.links, linkage, rings)
    by_id = {row["seller_id"]: row for row in features.iter_rows(named=True)}
    assert by_id["a1"]["block_size"] == 5
    assert by_id["a1"]["block_density"] == pytest.approx(5 * 5.5 / math.log(10) / 7)
    assert by_id["h00"]["block_size"] == 0 and by_id["h00"]["block_density"] == 0.0
    assert features["anomaly_score"].is_between(0.0, 1.0).all()
    assert set(neighbour_pairs(linkage)) == {"nbr1", "nbr2"}


def test_a_denser_block_inside_a_looser_one_wins() -> None:
    # 25 sellers share device D (popular: no backbone pair); s00, s01, s02 also share a
    # payout P, so Leiden makes them a ring of 3. All 25 with D and P weigh
    # (25 * 2.5 / ln 30 + 3 * 3.0 / ln 8) / 27 nodes = 0.84; the trio with P alone (D keeps
    # 3 of its 25 holders, under 90%, so it drops out) weighs 3 * 3.0 / ln 8 / 4 = 1.08.
    # The denser block wins; it matches the trio's ring, which both detectors found. The
    # other 22, once the trio is taken, keep 22 of D's 25 holders (88% < 90%): no block.
    sellers = [f"s{i:02d}" for i in range(25)]
    rows = sharing("device", "D", sellers) + sharing("payout", "P", sellers[:3])
    rings = find_rings(build_linkage(links_frame(rows)))
    assert ring_sets(rings) == {frozenset(sellers[:3])}
    row = rings.rings.row(0, named=True)
    assert row["detectors"] == ["dense_block", "leiden"]
    assert row["block_density"] == pytest.approx(9 / math.log(8) / 4)
