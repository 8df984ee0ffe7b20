"""Seller graphs: hub control, pair weights, pair budget, rings and their ids, Config checks."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence

import networkx as nx
import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from syndicate.config import DEFAULT_KIND_WEIGHTS, Config
from syndicate.errors import ConfigError
from syndicate.graphs.communities import Rings, find_rings, ring_graph, ring_id_for
from syndicate.graphs.linkage import LinkageGraph, build_linkage

Row = tuple[str, str, str]
LINKS_SCHEMA = {"seller_id": pl.String, "kind": pl.String, "value": pl.String}
EDGES_SCHEMA = {"src": pl.String, "dst": pl.String, "relation": pl.String, "weight": pl.Float64}

# Leiden-dependent answers must not hinge on the resolution being tuned: the default and 1.0.
LEIDEN_CONFIGS = [
    pytest.param(Config(), id="default"),
    pytest.param(Config(leiden_resolution=1.0), id="resolution-1"),
]


def links_frame(rows: Iterable[Row]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=LINKS_SCHEMA, orient="row")


def edges_frame(rows: Iterable[tuple[str, str, str, float]]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=EDGES_SCHEMA, orient="row")


def sharing(kind: str, value: str, sellers: Iterable[str]) -> list[Row]:
    """One identifier held by each of ``sellers``."""
    return [(seller, kind, value) for seller in sellers]


def group(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i}" for i in range(1, n + 1)]


def ring_sets(rings: Rings) -> set[frozenset[str]]:
    """The reported rings as sets of sellers, whatever their ids."""
    members = rings.members.filter(pl.col("ring_id").is_not_null())
    return {frozenset(part["seller_id"].to_list()) for part in members.partition_by("ring_id")}


def community_sets(rings: Rings) -> set[frozenset[str]]:
    """Every community (rings and groups too small to be one) as sets of sellers."""
    return {
        frozenset(part["seller_id"].to_list()) for part in rings.members.partition_by("community")
    }


def edge_rows(linkage: LinkageGraph) -> dict[tuple[str, str], tuple[float, int, list[str]]]:
    return {
        (src, dst): (weight, n_shared, kinds)
        for src, dst, weight, n_shared, kinds in linkage.edges.select(
            "src", "dst", "weight", "n_shared", "kinds"
        ).iter_rows()
    }


# ---------------------------------------------------------------------------------------
# Hub control


def test_two_rings_joined_through_a_hub_ip_stay_two_rings() -> None:
    # Ring A shares a device, ring B a payout account; one IP (a café, a VPN exit) is shared
    # by A, B and 70 unrelated sellers: 78 sellers > the IP limit of 50, so it is a hub and
    # binds nobody. Without hub control all 78 sellers would be one component.
    ring_a, ring_b, crowd = group("a", 4), group("b", 4), [f"x{i:02d}" for i in range(70)]
    links = links_frame(
        sharing("device", "DEV-A", ring_a)
        + sharing("payout", "PAY-B", ring_b)
        + sharing("ip", "10.0.0.1", ring_a + ring_b + crowd)
    )
    linkage = build_linkage(links, config=Config(hub_limits={"ip": 50}))
    assert linkage.hubs.rows() == [("ip", "10.0.0.1", 78, "kind_limit")]
    assert linkage.identifiers.filter(pl.col("hub")).select("kind", "key").rows() == [
        ("ip", "10.0.0.1")
    ]
    # 6 device pairs in A + 6 payout pairs in B; no edge is bound by the IP.
    assert linkage.edges.height == 12
    assert set(linkage.edges["kinds"].list.join(",")) == {"device", "payout"}
    rings = find_rings(linkage)
    assert ring_sets(rings) == {frozenset(ring_a), frozenset(ring_b)}
    assert rings.members["seller_id"].to_list() == ring_a + ring_b  # the crowd is not linked


@pytest.mark.parametrize(("n_sharing", "is_hub"), [(4, False), (5, True)])
def test_hub_limit_is_the_most_sellers_an_identifier_may_have(n_sharing: int, is_hub: bool) -> None:
    # Limit 4: an IP shared by 4 sellers still binds them (6 pairs); by 5 it is a hub.
    links = links_frame(sharing("ip", "10.0.0.1", group("s", n_sharing)))
    linkage = build_linkage(links, config=Config(hub_limits={"ip": 4}))
    assert linkage.hubs.height == int(is_hub)
    assert linkage.edges.height == (0 if is_hub else 6)


def test_kinds_without_a_limit_use_the_default_hub_limit() -> None:
    # 'shoe_size' has no limit of its own: default_hub_limit 3 applies, 4 sellers > 3.
    links = links_frame(sharing("shoe_size", "42", group("s", 4)))
    linkage = build_linkage(links, config=Config(default_hub_limit=3))
    assert linkage.hubs.rows() == [("shoe_size", "42", 4, "kind_limit")]
    assert linkage.edges.height == 0


def test_pair_budget_holds_back_the_most_shared_identifiers() -> None:
    # Disjoint groups, one identifier each: device by 5 (10 pairs), payout by 4 (6),
    # email by 3 (3), phone by 2 (1): 20 pairs. Budget 4: counting from the least shared,
    # phone+email = 4 fit exactly, + payout = 10 do not, so payout and device are held back.
    # The IP shared by 12 is over its kind limit (10) and does not count against the budget.
    d, p, e, f = group("d", 5), group("p", 4), group("e", 3), group("f", 2)
    links = links_frame(
        sharing("device", "dev5", d)
        + sharing("payout", "P", p)
        + sharing("email", "e@x.org", e)
        + sharing("phone", "+15550100", f)
        + sharing("ip", "10.0.0.1", d + p + e[:2] + f[:1])
    )
    config = Config(hub_limits={"ip": 10}, max_pairs=4)
    linkage = build_linkage(links, config=config)
    assert linkage.hubs.rows() == [
        ("device", "dev5", 5, "pair_budget"),
        ("ip", "10.0.0.1", 12, "kind_limit"),
        ("payout", "P", 4, "pair_budget"),
    ]
    assert sorted(linkage.edges.select("src", "dst").rows()) == [
        ("e1", "e2"),
        ("e1", "e3"),
        ("e2", "e3"),
        ("f1", "f2"),
    ]
    assert linkage.edges.height == config.max_pairs  # used up exactly, not undershot


@st.composite
def link_tables(draw: st.DrawFn, min_sellers: int = 20, max_sellers: int = 40) -> pl.DataFrame:
    """20–40 sellers, 1–3 links each, values from a pool of 8 per kind: big tangled graphs."""
    n = draw(st.integers(min_sellers, max_sellers))
    rows: list[Row] = []
    for i in range(n):
        links = draw(
            st.lists(
                st.tuples(st.sampled_from(["payout", "device", "email", "ip"]), st.integers(0, 7)),
                min_size=1,
                max_size=3,
            )
        )
        rows += [(f"s{i:02d}", kind, f"{kind}-{value}") for kind, value in links]
    return links_frame(rows)


@settings(max_examples=30, deadline=None)
@given(links=link_tables(), max_pairs=st.integers(1, 60))
def test_pair_budget_bounds_the_projection(links: pl.DataFrame, max_pairs: int) -> None:
    linkage = build_linkage(links, config=Config(max_pairs=max_pairs))
    assert linkage.edges.height <= max_pairs
    kept = linkage.identifiers.filter(~pl.col("hub"))
    held = linkage.hubs.filter(pl.col("reason") == "pair_budget")
    assert kept.select(pl.col("n_sellers") * (pl.col("n_sellers") - 1) // 2).sum().item() <= (
        max_pairs
    )
    if held.height and kept.height:  # held back: the most shared first
        assert held["n_sellers"].min() >= kept["n_sellers"].max()


# ---------------------------------------------------------------------------------------
# Pair weights


def test_pair_weights_sum_identifier_rarity_and_given_edges() -> None:
    # Resource allocation: an identifier of n sellers adds kind_weight / (n - 1) per pair.
    # payout PAY1 shared by p,q           -> 3.0 / 1 = 3.0 per pair
    # ip 10.0.0.9 shared by p,q,r,s       -> 1.0 / 3 = I  per pair
    # email e@x.org shared by r,s,t       -> 2.0 / 2 = E  per pair
    # given (s, p, referral, 3.0)         -> 3.0 * kind_weight(referral) 0.5 = 1.5
    # given (u, t, referral, 1.0)         -> 0.5 (u has no identifiers at all)
    links = links_frame(
        sharing("payout", "PAY1", "pq")
        + sharing("ip", "10.0.0.9", "pqrs")
        + sharing("email", "e@x.org", "rst")
    )
    given_edges = edges_frame([("s", "p", "referral", 3.0), ("u", "t", "referral", 1.0)])
    config = Config(kind_weights={**DEFAULT_KIND_WEIGHTS, "referral": 0.5})
    e, i = 1.0, 1.0 / 3
    expected = {
        ("p", "q"): (3.0 + i, 2, ["ip", "payout"]),
        ("p", "r"): (i, 1, ["ip"]),
        ("p", "s"): (i + 1.5, 2, ["ip", "referral"]),
        ("q", "r"): (i, 1, ["ip"]),
        ("q", "s"): (i, 1, ["ip"]),
        ("r", "s"): (i + e, 2, ["email", "ip"]),
        ("r", "t"): (e, 1, ["email"]),
        ("s", "t"): (e, 1, ["email"]),
        ("t", "u"): (0.5, 1, ["referral"]),
    }
    got = edge_rows(build_linkage(links, given_edges, config))
    assert got.keys() == expected.keys()
    for pair, (weight, n_shared, kinds) in expected.items():
        assert got[pair][0] == pytest.approx(weight), pair
        assert got[pair][1:] == (n_shared, kinds), pair


def test_one_identifier_spelled_twice_binds_a_pair_once() -> None:
    # q holds the payout in two spellings: still one identifier, weight 3.0, n_shared 1.
    links = links_frame([("p", "payout", "GB-1"), ("q", "payout", "gb1"), ("q", "payout", "GB 1")])
    linkage = build_linkage(links)
    assert linkage.seller_identifiers.select("seller_id", "kind", "key").rows() == [
        ("p", "payout", "GB1"),
        ("q", "payout", "GB1"),
    ]
    assert edge_rows(linkage) == {("p", "q"): (3.0, 1, ["payout"])}


# ---------------------------------------------------------------------------------------
# Rings


@pytest.mark.parametrize("config", LEIDEN_CONFIGS)
def test_two_cliques_joined_by_one_bridge_are_two_rings_and_one_block(
    config: Config,
) -> None:
    # A and B: 5 sellers each sharing a payout and a device: every inner pair weighs
    # (3.0 + 2.5) / 4 = 1.375, 10 pairs per clique. a5 and b1 share one more device:
    # a bridge of 2.5. One component of 10 >= 2 * min_ring_size, so Leiden decides; with
    # total weight m = 30, two rings score 27.5/m - γ/2 = 0.917 - γ/2 against 1 - γ for
    # one, so they split for any γ > 0.17.
    ring_a, ring_b = group("a", 5), group("b", 5)
    links = links_frame(
        sharing("payout", "PA", ring_a)
        + sharing("device", "DA", ring_a)
        + sharing("payout", "PB", ring_b)
        + sharing("device", "DB", ring_b)
        + sharing("device", "BRIDGE", ["a5", "b1"])
    )
    linkage = build_linkage(links)
    assert linkage.edges.height == 21
    rings = find_rings(linkage, dataclasses.replace(config, dense_blocks=False))
    assert rings.members["component"].unique().to_list() == ["a1"]  # one component
    assert ring_sets(rings) == {frozenset(ring_a), frozenset(ring_b)}
    # The bridge belongs to neither ring.
    assert rings.rings.select("size", "n_edges", "density", "component_size").rows() == [
        (5, 10, 1.0, 10),
        (5, 10, 1.0, 10),
    ]
    # As a bipartite graph the two cliques and the bridge are one block denser than either
    # clique: (2 * 5 * (3.0 + 2.5) / ln 10 + 2 * 2.5 / ln 7) / 15 nodes = 1.762 against
    # 5 * 5.5 / ln 10 / 7 = 1.706 for one clique. Each clique holds exactly half of the
    # block, not more, so the block matches neither; and all of it sits in Leiden's rings,
    # so it makes no ring either: Leiden's cut stands, and the sellers know their block.
    both = find_rings(linkage, config)
    assert ring_sets(both) == {frozenset(ring_a), frozenset(ring_b)}
    assert both.rings["detectors"].to_list() == [["leiden"], ["leiden"]]
    density = (2 * 5 * 5.5 / math.log(10) + 2 * 2.5 / math.log(7)) / 15
    assert both.blocks["block_density"].to_list() == pytest.approx([density] * 10)


@pytest.mark.parametrize("config", LEIDEN_CONFIGS)
def test_one_dense_group_is_not_split(config: Config) -> None:
    # 8 sellers sharing a payout and a device: K8 with equal weights. One community scores
    # 1 - γ; the best split, two halves, 12/28 - γ/2, which is worse for γ < 8/7.
    sellers = group("s", 8)
    links = links_frame(sharing("payout", "P", sellers) + sharing("device", "D", sellers))
    rings = find_rings(build_linkage(links), config)
    assert ring_sets(rings) == {frozenset(sellers)}
    assert rings.rings.select("size", "n_edges", "density").rows() == [(8, 28, 1.0)]


def test_household_of_two_is_linked_but_not_a_ring() -> None:
    # h1,h2 share an address: a component of 2 < min_ring_size 3, so no ring. t1..t3 share a
    # phone: a ring of 3 with 3 edges of 2.0 / (3 - 1) = 1.0.
    links = links_frame(
        sharing("address", "1 Elm Road", ["h1", "h2"])
        + sharing("phone", "+15550100", group("t", 3))
    )
    rings = find_rings(build_linkage(links))
    assert rings.members.rows() == [
        ("h1", "h1", "h1", None),
        ("h2", "h1", "h1", None),
        ("t1", "t1", "t1", ring_id_for("t1")),
        ("t2", "t1", "t1", ring_id_for("t1")),
        ("t3", "t1", "t1", ring_id_for("t1")),
    ]
    # The trio is also a dense block: 3 edges of 2.0 / ln(3 + 5) over 4 nodes.
    assert rings.rings.rows() == [
        (
            ring_id_for("t1"),
            3,
            3,
            1.0,
            pytest.approx(3 * 1.0),
            3,
            ["phone"],
            ["dense_block", "leiden"],
            pytest.approx(3 * 2.0 / math.log(8) / 4),
        )
    ]


def test_min_ring_size_two_makes_a_household_a_ring() -> None:
    links = links_frame(sharing("address", "1 Elm Road", ["h1", "h2"]))
    rings = find_rings(build_linkage(links), Config(min_ring_size=2))
    assert ring_sets(rings) == {frozenset({"h1", "h2"})}


def test_obfuscated_spellings_of_one_identifier_make_one_ring() -> None:
    # Each trio spells one identifier three ways; normalised, each trio shares one key and
    # is a ring. Trios have nothing in common with each other.
    links = links_frame(
        [
            ("a1", "address", "12 North Oak Street, Apt. 4"),
            ("a2", "address", "12 N OAK ST #4"),
            ("a3", "address", "12 north oak st., apartment 4"),
            ("e1", "email", "John.Doe+shop1@GoogleMail.com"),
            ("e2", "email", "johndoe@gmail.com"),
            ("e3", "email", "j.o.h.n.doe+x@gmail.com"),
            ("p1", "phone", "+1 (415) 555-0134"),
            ("p2", "phone", "(415) 555-0134"),
            ("p3", "phone", "001 415 555 0134"),
        ]
    )
    linkage = build_linkage(links)
    assert linkage.identifiers.select("kind", "key", "n_sellers").rows() == [
        ("address", "12 n oak st unit 4", 3),
        ("email", "johndoe@gmail.com", 3),
        ("phone", "+14155550134", 3),
    ]
    rings = find_rings(linkage)
    assert ring_sets(rings) == {
        frozenset(group("a", 3)),
        frozenset(group("e", 3)),
        frozenset(group("p", 3)),
    }
    assert sorted(kind for kinds in rings.rings["kinds"] for kind in kinds) == [
        "address",
        "email",
        "phone",
    ]


def test_sellers_without_shared_identifiers_are_not_members() -> None:
    # lone: own device only. crowd_*: only an IP over its limit. blank_*: payouts that
    # normalise to '' (separators only), which are no identifier at all.
    links = links_frame(
        [
            *sharing("device", "D1", ["k1", "k2", "k3"]),
            ("lone", "device", "D-lone"),
            *sharing("ip", "10.0.0.1", ["k1", "crowd_1", "crowd_2", "crowd_3"]),
            ("blank_1", "payout", " - "),
            ("blank_2", "payout", "-./"),
        ]
    )
    linkage = build_linkage(links, config=Config(hub_limits={"ip": 3}))
    rings = find_rings(linkage)
    assert rings.members["seller_id"].to_list() == ["k1", "k2", "k3"]
    assert "blank_1" not in linkage.seller_identifiers["seller_id"].to_list()


def test_given_edge_links_sellers_without_identifiers() -> None:
    # u-v-w linked only through given edges: a ring of 3 bound by 'referral'.
    links = links_frame([("z", "device", "own")])
    given_edges = edges_frame([("u", "v", "referral", 1.0), ("w", "v", "referral", 1.0)])
    rings = find_rings(build_linkage(links, given_edges))
    assert ring_sets(rings) == {frozenset("uvw")}
    assert rings.rings.select("size", "n_edges", "kinds").rows() == [(3, 2, ["referral"])]


# ---------------------------------------------------------------------------------------
# Ring ids and invariance


def rename_sellers(links: pl.DataFrame, names: dict[str, str]) -> pl.DataFrame:
    return links.with_columns(pl.col("seller_id").replace_strict(names, return_dtype=pl.String))


def mapped_back(parts: set[frozenset[str]], names: dict[str, str]) -> set[frozenset[str]]:
    back = {new: old for old, new in names.items()}
    return {frozenset(back[seller] for seller in part) for part in parts}


def assert_ring_ids_from_smallest_member(rings: Rings) -> None:
    members = rings.members.filter(pl.col("ring_id").is_not_null())
    for part in members.partition_by("ring_id"):
        assert part["ring_id"][0] == ring_id_for(min(part["seller_id"].to_list()))
    assert sorted(rings.rings["ring_id"]) == sorted(members["ring_id"].unique())


def test_ring_id_comes_from_the_smallest_member() -> None:
    links = links_frame(sharing("device", "D", ["m", "c", "x"]))
    rings = find_rings(build_linkage(links))
    assert rings.rings["ring_id"].to_list() == [ring_id_for("c")]
    assert ring_id_for("c") != ring_id_for("m")
    assert ring_id_for("c").startswith("ring-")


@settings(max_examples=25, deadline=None)
@given(links=link_tables(), data=st.data())
def test_row_order_and_order_keeping_renames_do_not_change_rings(
    links: pl.DataFrame, data: st.DataObject
) -> None:
    rings = find_rings(build_linkage(links))
    assert_ring_ids_from_smallest_member(rings)

    order = data.draw(st.permutations(range(links.height)), label="row order")
    shuffled = links[list(order)]
    again = find_rings(build_linkage(shuffled))
    assert again.members.equals(rings.members)  # same ids, components, rings
    assert again.rings.equals(rings.rings)

    # Renaming that keeps the order of ids: the same partition under the new names.
    olds = sorted(links["seller_id"].unique())
    news = sorted(
        data.draw(
            st.sets(
                st.text("abcxyz0123456789-", min_size=1, max_size=6),
                min_size=len(olds),
                max_size=len(olds),
            ),
            label="new ids",
        )
    )
    names = dict(zip(olds, news, strict=True))
    renamed = find_rings(build_linkage(rename_sellers(shuffled, names)))
    assert mapped_back(community_sets(renamed), names) == community_sets(rings)
    assert_ring_ids_from_smallest_member(renamed)


def cycle_of_sellers(n: int) -> pl.DataFrame:
    """c00..c(n-1) in a cycle: c_i and c_(i+1 mod n) share device dev-i."""
    names = [f"c{i:02d}" for i in range(n)]
    return links_frame(
        row
        for i in range(n)
        for row in sharing("device", f"dev-{i}", [names[i], names[(i + 1) % n]])
    )


def rotate_names(n: int) -> dict[str, str]:
    return {f"c{i:02d}": f"r{(i + 1) % n:02d}" for i in range(n)}


@pytest.mark.parametrize("config", LEIDEN_CONFIGS)
def test_renaming_the_sellers_of_a_cycle_keeps_the_partition(config: Config) -> None:
    # A 12-cycle of device-sharing pairs: 12 >= 6 sellers, so Leiden splits it into arcs.
    # Renaming c_i -> r_(i+1) changes names only (each seller keeps its devices), so the
    # arcs, mapped back to the old names, must be the same arcs. The cycle is symmetric
    # but for its device values, so Leiden's tie-breaking by node order shows at once if
    # nodes are numbered by seller id.
    # Dense blocks are off here: they would take the whole cycle back as one ring (below).
    config = dataclasses.replace(config, dense_blocks=False)
    links, names = cycle_of_sellers(12), rotate_names(12)
    before = community_sets(find_rings(build_linkage(links), config))
    after = community_sets(find_rings(build_linkage(rename_sellers(links, names)), config))
    assert len(before) > 1  # really split
    assert mapped_back(after, names) == before


@pytest.mark.parametrize("config", LEIDEN_CONFIGS)
def test_a_chain_cut_by_leiden_stays_cut_but_its_sellers_know_their_block(
    config: Config,
) -> None:
    # The same 12-cycle: Leiden cuts it into arcs (above), but as a bipartite graph it is
    # one uniform block: 12 sellers and 12 devices, every device held by 2, each edge
    # weighing 2.5 / ln(2 + 5), so density 24 * 2.5 / ln 7 / 24 = 1.285 >= 0.5. Every
    # node's priority is 2 * 1.285, so one pass removes it all and the best snapshot is the
    # whole cycle. No arc holds more than half of it, and all of it sits in Leiden's rings,
    # so the block matches no ring and makes none: the arcs stay, found by Leiden alone,
    # and every seller's block is the cycle.
    rings = find_rings(build_linkage(cycle_of_sellers(12)), config)
    arcs = community_sets(
        find_rings(
            build_linkage(cycle_of_sellers(12)), dataclasses.replace(config, dense_blocks=False)
        )
    )
    assert ring_sets(rings) == arcs and len(arcs) > 1
    assert rings.rings["detectors"].to_list() == [["leiden"]] * len(arcs)
    assert rings.blocks["seller_id"].to_list() == [f"c{i:02d}" for i in range(12)]
    assert rings.blocks["block_size"].unique().to_list() == [12]
    assert rings.blocks["block_density"].to_list() == pytest.approx([2.5 / math.log(7)] * 12)


@st.composite
def renamed_shuffles(draw: st.DrawFn) -> tuple[pl.DataFrame, dict[str, str], list[int]]:
    links = draw(link_tables())
    olds = sorted(links["seller_id"].unique())
    news = draw(st.permutations([f"n{i:03d}" for i in range(len(olds))]))
    order = draw(st.permutations(range(links.height)))
    return links, dict(zip(olds, news, strict=True)), list(order)


@settings(max_examples=40, deadline=None)
@given(case=renamed_shuffles())
@example(case=(cycle_of_sellers(12), rotate_names(12), list(range(24))[::-1]))
def test_shuffling_rows_and_renaming_sellers_keeps_the_partition(
    case: tuple[pl.DataFrame, dict[str, str], Sequence[int]],
) -> None:
    links, names, order = case
    before = community_sets(find_rings(build_linkage(links)))
    after = community_sets(find_rings(build_linkage(rename_sellers(links[list(order)], names))))
    assert mapped_back(after, names) == before


# ---------------------------------------------------------------------------------------
# ring_graph


def test_ring_graph_holds_the_ring_and_its_edges() -> None:
    # r1,r2,r3 share a phone (2.0 / (3 - 1) = 1.0 a pair); r1,r2 also a payout (+3.0).
    # h1,h2 (a household) are linked but not a ring.
    links = links_frame(
        sharing("phone", "+15550100", group("r", 3))
        + sharing("payout", "P", ["r1", "r2"])
        + sharing("address", "1 Elm Road", ["h1", "h2"])
    )
    linkage = build_linkage(links)
    rings = find_rings(linkage)
    ring_id = ring_id_for("r1")
    graph = ring_graph(linkage, rings, ring_id)
    assert isinstance(graph, nx.Graph)
    assert graph.graph["ring_id"] == ring_id
    assert dict(graph.nodes(data="ring_id")) == dict.fromkeys(group("r", 3), ring_id)
    phone = 1.0
    assert {frozenset((u, v)): data for u, v, data in graph.edges(data=True)} == {
        frozenset({"r1", "r2"}): {
            "weight": pytest.approx(3.0 + phone),
            "n_shared": 2,
            "kinds": "payout,phone",
        },
        frozenset({"r1", "r3"}): {"weight": pytest.approx(phone), "n_shared": 1, "kinds": "phone"},
        frozenset({"r2", "r3"}): {"weight": pytest.approx(phone), "n_shared": 1, "kinds": "phone"},
    }


@pytest.mark.parametrize("ring_id", ["ring-000000000000", ring_id_for("h1")])
def test_ring_graph_of_an_unknown_ring_raises_key_error(ring_id: str) -> None:
    # ring_id_for('h1') would be the household's id, but a household is no ring.
    links = links_frame(
        sharing("phone", "+15550100", group("r", 3)) + sharing("address", "1 Elm Rd", ["h1", "h2"])
    )
    linkage = build_linkage(links)
    with pytest.raises(KeyError, match="no ring with id"):
        ring_graph(linkage, find_rings(linkage), ring_id)


# ---------------------------------------------------------------------------------------
# Config


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"kind_weights": {"ip": -1.0}},
            r"kind_weights\['ip'\] must be a finite positive number; got -1.0",
        ),
        ({"kind_weights": {"ip": 0.0}}, r"kind_weights\['ip'\] must be a finite positive number"),
        ({"default_kind_weight": -1.0}, r"default_kind_weight must be a finite positive number"),
        ({"kind_weights": {"ip": "x"}}, r"kind_weights\['ip'\] must be a finite positive number"),
        ({"default_hub_limit": 2.5}, "default_hub_limit must be an integer >= 2; got 2.5"),
        (
            {"kind_weights": {"ip": math.nan}},
            r"kind_weights\['ip'\] must be a finite positive number; got nan",
        ),
        ({"hub_limits": {"ip": 1}}, r"hub_limits\['ip'\] must be an integer >= 2; got 1"),
        ({"hub_limits": {"ip": 2.5}}, r"hub_limits\['ip'\] must be an integer >= 2; got 2.5"),
        ({"default_hub_limit": 1}, "default_hub_limit must be an integer >= 2; got 1"),
        ({"max_pairs": 0}, "max_pairs must be a positive integer; got 0"),
        ({"min_ring_size": 1}, "min_ring_size must be an integer >= 2; got 1"),
        (
            {"leiden_objective": "louvain"},
            "leiden_objective must be 'modularity' or 'CPM'; got 'louvain'",
        ),
        ({"leiden_resolution": 0}, "leiden_resolution must be a finite positive number; got 0"),
        (
            {"leiden_resolution": -0.5},
            "leiden_resolution must be a finite positive number; got -0.5",
        ),
        ({"leiden_iterations": 0}, "leiden_iterations must be a positive integer; got 0"),
        ({"leiden_iterations": -1}, "leiden_iterations must be a positive integer; got -1"),
        ({"seed": -1}, r"seed must be in \[0, 2\*\*31\); got -1"),
        ({"seed": 2**31}, r"seed must be in \[0, 2\*\*31\); got 2147483648"),
    ],
)
def test_bad_config_values_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Config(**kwargs)  # type: ignore[arg-type]


def test_edge_config_values_are_accepted() -> None:
    config = Config(
        kind_weights={"ip": 1e-9},
        hub_limits={"ip": 2},
        default_hub_limit=2,
        max_pairs=1,
        min_ring_size=2,
        leiden_objective="CPM",
        leiden_resolution=1e-9,
        leiden_iterations=1,
        seed=2**31 - 1,
    )
    assert config.kind_weight("ip") == 1e-9
    assert config.kind_weight("referral") == config.default_kind_weight
    assert config.hub_limit("ip") == 2
    assert config.hub_limit("shoe_size") == 2
    assert issubclass(ConfigError, ValueError)
