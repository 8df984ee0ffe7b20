"""Dense blocks: batch peeling against brute force, weights, planted rings, stopping rules."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterable, Sequence

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syndicate.errors import InputError, SchemaError
from syndicate.graphs.blocks import (
    BLOCKS_SCHEMA,
    IDENTIFIERS_SCHEMA,
    MEMBERS_SCHEMA,
    DenseBlocks,
    block_density,
    block_id_for,
    find_dense_blocks,
    peel,
)

Row = tuple[str, str, str]
UNIT = {"device": 1.0, "ip": 1.0}  # ring and popular identifiers weigh alike: only n_j counts


def table(rows: Iterable[Row]) -> pl.DataFrame:
    """The bipartite table with each identifier's holder count, as the pipeline builds it."""
    frame = pl.DataFrame(list(rows), schema=["seller_id", "kind", "key"], orient="row").unique()
    return frame.with_columns(pl.len().over("kind", "key").cast(pl.UInt32).alias("n_sellers"))


def ring(name: str, n_sellers: int = 8, n_identifiers: int = 3) -> tuple[list[str], list[Row]]:
    """``n_sellers`` sellers who all hold the same ``n_identifiers`` private devices."""
    sellers = [f"{name}{i}" for i in range(n_sellers)]
    return sellers, [(s, "device", f"{name}-dev{j}") for s in sellers for j in range(n_identifiers)]


def block_sets(found: DenseBlocks) -> set[frozenset[str]]:
    return {
        frozenset(part["seller_id"].to_list()) for part in found.members.partition_by("block_id")
    }


def check_blocks(found: DenseBlocks, frame: pl.DataFrame, weights: dict[str, float]) -> None:
    """Blocks are disjoint, named by their smallest seller, and report their true density."""
    assert found.members["seller_id"].is_unique().all()  # a peeled block never comes back
    assert found.identifiers.select("kind", "key").is_unique().all()
    assert found.members["seller_id"].is_sorted() and found.blocks["block_id"].is_sorted()
    for block_id, n_sellers, n_identifiers, density in found.blocks.iter_rows():
        sellers = found.members.filter(pl.col("block_id") == block_id)["seller_id"].to_list()
        ids = found.identifiers.filter(pl.col("block_id") == block_id).select("kind", "key")
        assert block_id == block_id_for(min(sellers))
        assert (len(sellers), ids.height) == (n_sellers, n_identifiers)
        direct = block_density(frame, sellers, ids.rows(), kind_weights=weights)
        assert density == pytest.approx(direct, rel=1e-12)


# ---------------------------------------------------------------------------------------
# Slow exact references (tests only)


def densest_subgraph_greedy_reference(
    n_sellers: int, n_identifiers: int, edges: Sequence[tuple[int, int]], weight: Sequence[float]
) -> tuple[float, set[int], set[int]]:
    """Exact Fraudar greedy, one node at a time: a slow plain-Python reference.

    Starts from every node; removes the node of least priority (ties: sellers first, then
    by index), updating its neighbours by the removed edges' weights (``c_j`` per edge, not
    1), and returns the best prefix: ``(rho, sellers, identifiers)``. Guarantees
    ``rho >= rho* / 2``.
    """
    holds: list[set[int]] = [set() for _ in range(n_sellers)]
    holders: list[set[int]] = [set() for _ in range(n_identifiers)]
    for s, j in edges:
        holds[s].add(j)
        holders[j].add(s)
    prio = {("s", s): sum(weight[j] for j in holds[s]) for s in range(n_sellers)}
    prio |= {("i", j): weight[j] * len(holders[j]) for j in range(n_identifiers)}
    alive = set(prio)
    f = sum(weight[j] * len(holders[j]) for j in range(n_identifiers))
    best = (-1.0, set(alive))
    while alive:
        rho = f / len(alive)
        if rho > best[0]:
            best = (rho, set(alive))
        node = min(alive, key=lambda v: (prio[v], v[0] != "s", v[1]))
        alive.remove(node)
        f -= prio[node]
        side, index = node
        if side == "s":
            for j in holds[index]:
                if ("i", j) in alive:
                    prio["i", j] -= weight[j]
        else:
            for s in holders[index]:
                if ("s", s) in alive:
                    prio["s", s] -= weight[index]
    rho, nodes = best
    return rho, {v for k, v in nodes if k == "s"}, {v for k, v in nodes if k == "i"}


def exact_density(
    n_sellers: int,
    edges: Sequence[tuple[int, int]],
    weight: Sequence[float],
    sellers: Iterable[int],
    identifiers: Iterable[int],
) -> float:
    s_set, i_set = set(sellers), set(identifiers)
    if not s_set and not i_set:
        return 0.0
    f = math.fsum(weight[j] for s, j in edges if s in s_set and j in i_set)
    return f / (len(s_set) + len(i_set))


def brute_force_density(
    n_sellers: int, n_identifiers: int, edges: Sequence[tuple[int, int]], weight: Sequence[float]
) -> float:
    """``rho*``: the best density over every non-empty node subset."""
    n = n_sellers + n_identifiers
    masks = (np.arange(1, 2**n)[:, None] >> np.arange(n)) & 1  # (2^n - 1, n)
    s = np.asarray([e[0] for e in edges], dtype=np.int64)
    j = np.asarray([e[1] for e in edges], dtype=np.int64)
    inside = masks[:, s] & masks[:, n_sellers + j]
    f = inside @ np.asarray(weight, dtype=np.float64)[j]
    return float((f / masks.sum(axis=1)).max())


# ---------------------------------------------------------------------------------------
# 1. Batch peeling against brute force and the exact greedy


@st.composite
def small_graphs(draw: st.DrawFn) -> tuple[int, int, list[tuple[int, int]], list[float]]:
    n_sellers = draw(st.integers(1, 6))
    n_identifiers = draw(st.integers(1, 5))
    pairs = list(itertools.product(range(n_sellers), range(n_identifiers)))
    edges = draw(st.lists(st.sampled_from(pairs), min_size=1, unique=True))
    weight = draw(
        st.lists(
            st.sampled_from([0.2, 0.5, 1.0, 3.0]) | st.floats(0.05, 5.0),  # ties and not
            min_size=n_identifiers,
            max_size=n_identifiers,
        )
    )
    return n_sellers, n_identifiers, sorted(edges), weight


@settings(max_examples=300, deadline=None)
@given(graph=small_graphs(), eps=st.sampled_from([0.05, 0.1, 0.5, 1.0]))
def test_batch_peel_is_a_2_1_plus_eps_approximation(
    graph: tuple[int, int, list[tuple[int, int]], list[float]], eps: float
) -> None:
    n_sellers, n_identifiers, edges, weight = graph
    s = np.asarray([e[0] for e in edges])
    j = np.asarray([e[1] for e in edges])
    peeled = peel(
        s,
        j,
        np.asarray(weight),
        n_sellers,
        n_identifiers,
        min_sellers=1,
        max_sellers=10**6,
        min_density=0.0,
        min_identifier_share=0.0,
        eps=eps,
    )
    rho_star = brute_force_density(n_sellers, n_identifiers, edges, weight)
    assert peeled.n_blocks >= 1
    for block in range(peeled.n_blocks):
        sellers = np.flatnonzero(peeled.seller_block == block)
        ids = np.flatnonzero(peeled.identifier_block == block)
        recomputed = exact_density(n_sellers, edges, weight, sellers, ids)
        assert peeled.density[block] == pytest.approx(recomputed, rel=1e-12)  # (a)
    best = float(peeled.density.max())
    # With no validity constraint, the blocks chosen bottom-up keep the densest snapshot.
    assert best == pytest.approx(peeled.best_density, rel=1e-12)
    assert best <= rho_star * (1 + 1e-12)  # (b)
    assert best >= rho_star / (2 * (1 + eps)) * (1 - 1e-12)  # (c)
    greedy, g_sellers, g_ids = densest_subgraph_greedy_reference(
        n_sellers, n_identifiers, edges, weight
    )
    assert greedy == pytest.approx(exact_density(n_sellers, edges, weight, g_sellers, g_ids))
    assert rho_star / 2 * (1 - 1e-12) <= greedy <= rho_star * (1 + 1e-12)


def test_greedy_reference_finds_a_planted_block_exactly() -> None:
    # K_{3,2} of weight 1 (rho = 6/5) plus a pendant seller on identifier 0: the pendant
    # goes first (priority 1 < 1.2), leaving the block.
    edges = [(s, j) for s in range(3) for j in range(2)] + [(3, 0)]
    rho, sellers, ids = densest_subgraph_greedy_reference(4, 2, edges, [1.0, 1.0])
    assert (rho, sellers, ids) == (pytest.approx(6 / 5), {0, 1, 2}, {0, 1})


# ---------------------------------------------------------------------------------------
# 2. Weighted priorities


def test_weights_pick_a_different_block_than_0_1_edges() -> None:
    # Sellers s0..s5. P (heavy, c = 3.0) is held by s0, s1; light L1, L2, L3 (c = 0.5) are
    # held by s2..s5 (a K_{4,3}) and L1 by s1 as well: one piece of 10 nodes.
    #
    # Weighted: rho(all) = (6 + 6 + 0.5) / 10 = 1.25, tau = 1.375. Priorities: s0 3,
    #   s1 3.5, s2..s5 1.5, P 6, L1 2.5, L2 = L3 2. None is under tau, so the quota (the
    #   lowest node) goes: s2..s5 (tied at 1.5); L2 and L3 are left without an edge. Then
    #   {s0, s1, P, L1}: rho = 6.5 / 4 = 1.625, L1 (0.5) goes; then {s0, s1, P}: rho = 2,
    #   the best (brute force agrees: K_{4,3} has only 6 / 7).
    # 0/1 edges: rho(all) = 15 / 10 = 1.5, tau = 1.65: s0 (priority 1) goes, then P (1),
    #   then s1 (1), leaving the K_{4,3}: rho = 12 / 7 = 1.714, the unweighted optimum
    #   ({s0, s1, P} has 2 / 3).
    s0, s1 = 0, 1
    edges = [(s0, 0), (s1, 0), (s1, 1)] + [(s, j) for s in range(2, 6) for j in (1, 2, 3)]
    s = np.asarray([e[0] for e in edges])
    j = np.asarray([e[1] for e in edges])
    options = {"min_sellers": 2, "min_density": 0.0, "min_identifier_share": 0.0, "eps": 0.1}
    weighted = peel(s, j, np.asarray([3.0, 0.5, 0.5, 0.5]), 6, 4, **options)  # type: ignore[arg-type]
    unweighted = peel(s, j, np.ones(4), 6, 4, **options)  # type: ignore[arg-type]
    assert weighted.n_blocks == unweighted.n_blocks == 1
    assert np.flatnonzero(weighted.seller_block == 0).tolist() == [0, 1]
    assert np.flatnonzero(weighted.identifier_block == 0).tolist() == [0]
    assert weighted.density.tolist() == [pytest.approx(2.0)]
    assert np.flatnonzero(unweighted.seller_block == 0).tolist() == [2, 3, 4, 5]
    assert np.flatnonzero(unweighted.identifier_block == 0).tolist() == [1, 2, 3]
    assert unweighted.density.tolist() == [pytest.approx(12 / 7)]
    assert brute_force_density(6, 4, edges, [3.0, 0.5, 0.5, 0.5]) == pytest.approx(2.0)
    assert brute_force_density(6, 4, edges, [1.0] * 4) == pytest.approx(12 / 7)


def test_an_identifier_s_priority_is_its_weight_times_its_holders() -> None:
    # Sellers s0, s1, s2 hold P (c = 3) and Q (c = 0.5); t0..t3 hold Q only. Exclusivity
    # off, so only priorities decide.
    # Pass 0: f = 9 + 3.5 = 12.5 over 9 nodes, rho = 1.39, tau = 1.53: t0..t3 (0.5) go.
    # Pass 1: {s0, s1, s2, P, Q}: rho = (9 + 1.5) / 5 = 2.1, tau = 2.31: Q goes (priority
    #   3 * 0.5 = 1.5; sellers 3.5, P 9 stay).
    # Pass 2: {s0, s1, s2, P}: rho = 9 / 4 = 2.25, the best.
    # Counting holders instead of weighing them (Q: 3, P: 3 at pass 1, both over tau), the
    # lowest-priority quota would take P with Q, and the block would keep Q at rho = 2.1.
    edges = [(s, j) for s in range(3) for j in (0, 1)] + [(t, 1) for t in range(3, 7)]
    s = np.asarray([e[0] for e in edges])
    j = np.asarray([e[1] for e in edges])
    peeled = peel(s, j, np.asarray([3.0, 0.5]), 7, 2, min_density=0.0, min_identifier_share=0.0)
    assert np.flatnonzero(peeled.seller_block == 0).tolist() == [0, 1, 2]
    assert peeled.identifier_block.tolist() == [0, -1]
    assert peeled.density.tolist() == [pytest.approx(2.25)]
    assert peeled.n_passes == 3


def test_kind_weights_reach_the_peel() -> None:
    # The same shape as a table: payout weighs 3, ip 1; c also falls with n_j. Weighted,
    # {s0, s1} + their payout is densest (c = 3 / ln 7 = 1.54: rho = 1.03 against 0.77
    # for the K_{4,3} of ips); with every kind at 1 the ips win (0.55 against 0.34).
    rows = [("s0", "payout", "P"), ("s1", "payout", "P"), ("s1", "ip", "L1")]
    rows += [(f"s{i}", "ip", f"L{k}") for i in range(2, 6) for k in (1, 2, 3)]
    frame = table(rows)
    options = {"min_sellers": 2, "min_density": 0.0}
    heavy = find_dense_blocks(frame, kind_weights={"payout": 3.0, "ip": 1.0}, **options)  # type: ignore[arg-type]
    flat = find_dense_blocks(frame, kind_weights={"payout": 1.0, "ip": 1.0}, **options)  # type: ignore[arg-type]
    assert block_sets(heavy) == {frozenset({"s0", "s1"})}
    assert block_sets(flat) == {frozenset({"s2", "s3", "s4", "s5"})}
    check_blocks(heavy, frame, {"payout": 3.0, "ip": 1.0})
    check_blocks(flat, frame, {"payout": 1.0, "ip": 1.0})


# ---------------------------------------------------------------------------------------
# 3. Planted rings behind popular identifiers


def two_rings_and_camouflage() -> tuple[list[str], list[str], list[str], pl.DataFrame]:
    ring_a, rows_a = ring("a")
    ring_b, rows_b = ring("b")
    rows, honest = rows_a + rows_b, []
    for p in range(2):  # pop0: a0, a1, b0, b1 + 6 honest; pop1: a2, a3, b2, b3 + 6 honest
        crowd = [f"h{p}{i}" for i in range(6)]
        honest += crowd
        for seller in [*ring_a[2 * p : 2 * p + 2], *ring_b[2 * p : 2 * p + 2], *crowd]:
            rows.append((seller, "ip", f"pop{p}"))
    return ring_a, ring_b, honest, table(rows)


def test_two_rings_joined_by_popular_identifiers_are_found_exactly() -> None:
    # Ring devices: n = 8, c = 1 / ln 13 = 0.390; popular IPs: n = 10, c = 1 / ln 15 = 0.369.
    # One piece at first: f = 2 * 24 * 0.390 + 2 * 10 * 0.369 = 26.1 over 16 + 12 sellers
    # and 6 + 2 identifiers, rho = 0.725, tau = 1.1 * 0.725 = 0.80. The 12 honest sellers
    # (priority 0.369) go; ring sellers (1.17, or 1.54 with an IP), devices (3.12) and IPs
    # (3.69) stay. Each IP is then held by 4 of its 10 holders < 50 %: exclusivity drops it
    # and the piece splits into the two rings, each rho = 24 * 0.390 / 11 = 0.851, denser
    # than their parent's best (0.725), so both are kept and the parent is not. (Bahmani's
    # plain 2 (1 + eps) rho = 1.60 threshold would peel the ring sellers with the honest
    # ones in the first pass and report one block of all 28 sellers.)
    ring_a, ring_b, _, frame = two_rings_and_camouflage()
    found = find_dense_blocks(frame, kind_weights=UNIT)
    assert block_sets(found) == {frozenset(ring_a), frozenset(ring_b)}
    assert found.blocks["n_identifiers"].to_list() == [3, 3]
    assert found.blocks["density"].to_list() == [pytest.approx(24 / math.log(13) / 11)] * 2
    assert set(found.identifiers["key"]) == {f"{r}-dev{j}" for r in "ab" for j in range(3)}
    check_blocks(found, frame, UNIT)


def test_rings_survive_any_number_of_camouflage_edges() -> None:
    # Each ring seller also holds its own popular IP shared with 10 honest sellers: the
    # camouflage adds weight to ring sellers' priorities but never keeps an IP alive.
    ring_a, rows_a = ring("a", 6, 3)
    ring_b, rows_b = ring("b", 10, 2)
    rows = rows_a + rows_b
    for seller in ring_a + ring_b:
        rows += [
            (h, "ip", f"cafe-{seller}") for h in [seller] + [f"x{seller}{i}" for i in range(10)]
        ]
    frame = table(rows)
    found = find_dense_blocks(frame, kind_weights=UNIT)
    assert block_sets(found) == {frozenset(ring_a), frozenset(ring_b)}
    check_blocks(found, frame, UNIT)


# ---------------------------------------------------------------------------------------
# 4. Stopping rules


def test_a_pair_is_never_a_block() -> None:
    # Two sellers sharing a device and a payout: rho = 2 (2.5 + 3) / ln 7 / 4 = 1.41 is dense
    # enough, but 2 sellers < min_sellers = 3.
    frame = table([(s, k, "X") for s in ("a", "b") for k in ("device", "payout")])
    weights = {"device": 2.5, "payout": 3.0}
    assert find_dense_blocks(frame, kind_weights=weights).blocks.height == 0
    assert find_dense_blocks(frame, kind_weights=weights, min_sellers=2).blocks.height == 1


def test_three_sellers_on_one_ip_are_not_a_block() -> None:
    # c = 1 / ln 8 = 0.481; rho = 3 * 0.481 / 4 = 0.36 < min_density = 0.5.
    frame = table([(s, "ip", "10.0.0.1") for s in ("a", "b", "c")])
    assert find_dense_blocks(frame, kind_weights=UNIT).blocks.height == 0
    assert find_dense_blocks(frame, kind_weights=UNIT, min_density=0.3).blocks.height == 1
    # Held by 40 sellers in all (37 elsewhere): under 50 % here, it binds nobody.
    popular = frame.with_columns(pl.lit(40, dtype=pl.UInt32).alias("n_sellers"))
    assert find_dense_blocks(popular, kind_weights=UNIT, min_density=0.0).blocks.height == 0


def mega_block() -> tuple[list[list[str]], pl.DataFrame]:
    rings, rows = [], []
    for name in "abc":
        sellers, ring_rows = ring(name)
        rings.append(sellers)
        rows += ring_rows
    crowd = [f"h{i:02d}" for i in range(30)]
    rows += [(s, "payout", "PAY") for s in [*itertools.chain(*rings), *crowd]]
    return rings, table(rows)


def test_a_mega_block_over_max_sellers_gives_way_to_its_rings() -> None:
    # One payout account (c = 3 / ln 59 = 0.736) held by all 24 ring sellers and 30 others:
    # f = 3 * 9.36 + 54 * 0.736 = 67.8 over 64 nodes, rho = 1.06. The 30 others (priority
    # 0.736 < tau = 1.17) go, and the payout, held by 24 < 27 of its 54 holders, goes too:
    # three rings, rho = 0.851 each. The whole piece at its best is denser than a ring, so
    # with max_sellers = 200 it is one block of 54 sellers; with max_sellers = 50 it is not
    # a valid block and its three rings are reported instead.
    rings, frame = mega_block()
    weights = {"device": 1.0, "payout": 3.0}
    wide = find_dense_blocks(frame, kind_weights=weights, max_sellers=200)
    assert wide.blocks["n_sellers"].to_list() == [54]
    assert wide.blocks["density"].item() == pytest.approx(
        (3 * 24 / math.log(13) + 54 * 3 / math.log(59)) / 64
    )
    narrow = find_dense_blocks(frame, kind_weights=weights, max_sellers=50)
    assert block_sets(narrow) == {frozenset(r) for r in rings}
    check_blocks(wide, frame, weights)
    check_blocks(narrow, frame, weights)


# ---------------------------------------------------------------------------------------
# 5. Determinism


def noisy_marketplace(seed: int) -> pl.DataFrame:
    """Rings of several shapes, camouflage IPs and honest sellers sharing odd identifiers."""
    rng = random.Random(seed)
    rows: list[Row] = []
    for r in range(5):
        _, ring_rows = ring(f"r{r}-", rng.randint(3, 9), rng.randint(1, 4))
        rows += ring_rows
    sellers = sorted({s for s, _, _ in rows}) + [f"h{i:03d}" for i in range(120)]
    for k in range(60):
        kind = rng.choice(["ip", "address", "phone", "device"])
        rows += [(s, kind, f"{kind}-{k}") for s in rng.sample(sellers, rng.randint(2, 12))]
    return table(rows)


@pytest.mark.parametrize("seed", range(6))
def test_shuffling_rows_and_renaming_sellers_changes_nothing(seed: int) -> None:
    weights = {"ip": 1.0, "address": 1.5, "phone": 2.0, "device": 2.5}
    frame = noisy_marketplace(seed)
    found = find_dense_blocks(frame, kind_weights=weights)
    assert found.blocks.height >= 1
    check_blocks(found, frame, weights)

    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=seed)
    again = find_dense_blocks(shuffled, kind_weights=weights)
    assert again.members.equals(found.members) and again.blocks.equals(found.blocks)
    assert again.identifiers.equals(found.identifiers)

    names = frame["seller_id"].unique().sort().to_list()
    fresh = [f"seller-{i:04d}" for i in range(len(names))]
    random.Random(seed).shuffle(fresh)  # any renaming: the order of sellers changes
    rename, back = dict(zip(names, fresh, strict=True)), dict(zip(fresh, names, strict=True))
    renamed = shuffled.with_columns(pl.col("seller_id").replace_strict(rename))
    other = find_dense_blocks(renamed, kind_weights=weights)
    check_blocks(other, renamed, weights)
    mapped = {frozenset(back[s] for s in block) for block in block_sets(other)}
    assert mapped == block_sets(found)
    assert sorted(other.blocks["density"]) == sorted(found.blocks["density"])  # bit for bit


# ---------------------------------------------------------------------------------------
# 6. Empty results and bad input


def assert_empty(found: DenseBlocks) -> None:
    assert found.members.height == found.blocks.height == found.identifiers.height == 0
    assert dict(found.members.schema) == MEMBERS_SCHEMA
    assert dict(found.blocks.schema) == BLOCKS_SCHEMA
    assert dict(found.identifiers.schema) == IDENTIFIERS_SCHEMA


def test_empty_input_gives_empty_frames() -> None:
    schema = {"seller_id": pl.String, "kind": pl.String, "key": pl.String, "n_sellers": pl.UInt32}
    assert_empty(find_dense_blocks(pl.DataFrame(schema=schema), kind_weights=UNIT))
    bare = pl.DataFrame(schema={"seller_id": pl.String, "kind": pl.String, "key": pl.String})
    assert_empty(find_dense_blocks(bare, kind_weights=UNIT))
    empty = peel(np.zeros(0), np.zeros(0), np.zeros(0), 0, 0)
    assert (empty.n_blocks, empty.best_density) == (0, 0.0)


def test_input_without_a_block_gives_empty_frames() -> None:
    frame = table([("a", "ip", "1"), ("b", "ip", "1"), ("c", "ip", "2"), ("d", "ip", "2")])
    assert_empty(find_dense_blocks(frame, kind_weights=UNIT))


def test_n_sellers_is_optional_and_duplicates_are_ignored() -> None:
    _, _, _, frame = two_rings_and_camouflage()
    doubled = pl.concat([frame, frame.head(40)]).drop("n_sellers")
    expected = find_dense_blocks(frame, kind_weights=UNIT)
    assert find_dense_blocks(doubled, kind_weights=UNIT).blocks.equals(expected.blocks)


@pytest.mark.parametrize(
    "options",
    [
        {"min_sellers": 0},
        {"max_sellers": 2},
        {"min_identifier_share": 1.5},
        {"eps": 0.0},
        {"min_density": math.nan},
        {"kind_weights": {"ip": -1.0}},
    ],
)
def test_bad_parameters_are_refused(options: dict[str, object]) -> None:
    frame = table([("a", "ip", "1"), ("b", "ip", "1")])
    with pytest.raises(InputError):
        find_dense_blocks(frame, **{"kind_weights": UNIT, **options})  # type: ignore[arg-type]


def test_bad_tables_are_refused() -> None:
    with pytest.raises(SchemaError, match="key"):
        find_dense_blocks(pl.DataFrame({"seller_id": ["a"], "kind": ["ip"]}), kind_weights=UNIT)
    nulls = pl.DataFrame({"seller_id": ["a", None], "kind": ["ip", "ip"], "key": ["1", "1"]})
    with pytest.raises(SchemaError, match="null"):
        find_dense_blocks(nulls, kind_weights=UNIT)
    with pytest.raises(InputError, match="range"):
        peel(np.asarray([0]), np.asarray([3]), np.ones(2), 1, 2)
