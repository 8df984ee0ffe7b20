"""The synthetic marketplace plants what its documentation says, in the stated proportions."""

from __future__ import annotations

from pathlib import Path

import igraph as ig
import polars as pl
import pytest

from syndicate import (
    ConfigError,
    Marketplace,
    SynthConfig,
    build_linkage,
    generate_marketplace,
    load_inputs,
    write_marketplace,
)
from syndicate.synth import CAMOUFLAGE_PRESETS, KINDS, camouflage_config, dirty_row_counts

N = 20_000


@pytest.fixture(scope="module")
def market() -> Marketplace:
    return generate_marketplace(n_sellers=N, seed=3)


@pytest.fixture(scope="module")
def light() -> Marketplace:
    return generate_marketplace(camouflage_config("light", n_sellers=N, seed=3))


@pytest.fixture(scope="module")
def heavy() -> Marketplace:
    return generate_marketplace(camouflage_config("heavy", n_sellers=N, seed=3))


def members(market: Marketplace, column: str, prefix: str = "") -> pl.DataFrame:
    truth = market.truth.filter(
        pl.col(column).is_not_null() & pl.col(column).str.starts_with(prefix)
    )
    return truth.group_by(column).agg(pl.col("seller_id"), pl.len().alias("size"))


def holders(market: Marketplace) -> pl.DataFrame:
    """Per real-world identifier: its sellers, spellings and roles."""
    return market.link_truth.group_by("kind", "identifier").agg(
        pl.col("seller_id").n_unique().alias("sellers"),
        pl.col("value").n_unique().alias("spellings"),
        pl.col("role").unique().alias("roles"),
    )


def test_tables_follow_the_data_contract(market: Marketplace) -> None:
    assert market.sellers.columns[:2] == ["seller_id", "created_at"]
    assert market.sellers["seller_id"].is_unique().all()
    assert market.links.columns == ["seller_id", "kind", "value", "seen_at"]
    assert set(market.links["kind"].unique()) == set(KINDS)
    assert market.labels.columns == ["seller_id", "label", "source"]
    assert market.truth.columns == ["seller_id", "ring", "is_bad", "legit_group"]
    inputs = load_inputs(market.sellers, market.links, labels=market.labels)
    dirt = dirty_row_counts(market.config, market.link_truth.height)
    assert dirt["duplicate_links"] == round(0.0005 * market.link_truth.height) > 0
    # Every planted dirty row, and nothing else, is refused.
    assert inputs.reject_counts() == {
        "links": {
            "duplicate_row": dirt["duplicate_links"],
            "null_value": dirt["blank_values"],
            "unknown_seller": dirt["unknown_seller_links"],
        },
        "labels": {"unknown_seller": dirt["unknown_seller_labels"]},
    }
    assert inputs.links.height == market.link_truth.height


def test_rings_are_a_few_percent_with_heavy_tailed_sizes(market: Marketplace) -> None:
    rings = members(market, "ring")
    share = rings["size"].sum() / N
    assert 0.03 - 200 / N <= share <= 0.03  # sizes are drawn until the next would pass 3%
    assert rings["size"].min() >= 3 and rings["size"].max() <= 200
    assert rings["size"].median() <= 6  # most rings are small ...
    assert rings["size"].max() >= 20  # ... and a few are large
    assert market.truth.filter(pl.col("ring").is_not_null())["is_bad"].all()


def test_ring_members_share_partially_and_always_share_something(market: Marketplace) -> None:
    ring_sellers = market.truth.filter(pl.col("ring").is_not_null()).select("seller_id")
    roles = (
        market.link_truth.join(ring_sellers, on="seller_id")
        .group_by("seller_id")
        .agg(
            (pl.col("role") == "ring").sum().alias("shared"),
            (pl.col("role") == "own").sum().alias("fresh"),
        )
    )
    assert roles.height == ring_sellers.height
    assert (roles["shared"] >= 1).all()  # every member shares at least its ring's anchor kind
    assert (roles["fresh"] >= 1).mean() > 0.9  # and most also use fresh, unlinked values
    assert (roles["shared"] < len(KINDS)).mean() > 0.9  # partial, not total, sharing


def test_rings_onboard_in_bursts(market: Marketplace) -> None:
    ring_spread = (
        market.truth.join(market.sellers, on="seller_id")
        .filter(pl.col("ring").is_not_null())
        .group_by("ring")
        .agg(
            (pl.col("created_at").max() - pl.col("created_at").min()).dt.total_days().alias("days")
        )
    )
    assert ring_spread["days"].median() <= 20  # years for legit sellers, days for rings


def test_households_and_businesses_are_present_in_their_shares(market: Marketplace) -> None:
    households = members(market, "legit_group", "household-")
    businesses = members(market, "legit_group", "business-")
    assert 0.06 - 4 / N <= households["size"].sum() / N <= 0.06
    assert 0.03 - 8 / N <= businesses["size"].sum() / N <= 0.03
    assert set(households["size"].unique()) == {2, 3, 4}
    assert businesses["size"].min() >= 2 and businesses["size"].max() <= 8
    # Every household shares one address; 90% of businesses share a payout account.
    shared = holders(market).filter(
        pl.col("roles").list.contains("household"), pl.col("kind") == "address"
    )
    assert shared.height == households.height
    assert (shared["sellers"] >= 2).all()
    biz_payouts = holders(market).filter(
        pl.col("roles").list.contains("business"), pl.col("kind") == "payout"
    )
    assert 0.8 <= biz_payouts.height / businesses.height <= 1.0
    legit = market.truth.filter(pl.col("legit_group").is_not_null())
    assert not legit["is_bad"].any()


def test_hubs_are_shared_by_many_sellers(market: Marketplace) -> None:
    hubs = holders(market).filter(pl.col("roles").list.contains("hub"))
    assert sorted(hubs["kind"].unique()) == ["address", "ip", "payout"]
    assert hubs["sellers"].min() >= 50
    users = (
        market.link_truth.filter(pl.col("role") == "hub")
        .group_by("kind")
        .agg(pl.col("seller_id").n_unique())
    )
    expected = {"address": 0.04, "payout": 0.03, "ip": 0.06}
    for kind, count in users.iter_rows():
        share = count / N
        assert abs(share - expected[kind]) < 0.01, (kind, share)
    # Ring members touch hubs too.
    ring_hub = market.link_truth.filter(pl.col("role") == "hub").join(
        market.truth.filter(pl.col("ring").is_not_null()), on="seller_id"
    )
    assert ring_hub.height > 0


def test_shared_identifiers_come_in_several_spellings(market: Marketplace) -> None:
    per_identifier = holders(market).filter(pl.col("sellers") >= 2)
    assert (per_identifier["spellings"] >= 2).mean() > 0.5
    variants = market.link_truth.filter(pl.col("value") != pl.col("identifier"))
    assert set(variants["kind"].unique()) == set(KINDS)
    share = variants.height / market.link_truth.height
    assert 0.4 < share < 0.55  # obfuscation_prob = 0.5; a few respellings equal the original
    emails = variants.filter(pl.col("kind") == "email")["value"]
    assert emails.str.contains(r"\+shop").any() and emails.str.ends_with("@googlemail.com").any()
    phones = variants.filter(pl.col("kind") == "phone")["value"]
    assert phones.str.starts_with("00").any() and phones.str.starts_with("(").any()
    addresses = variants.filter(pl.col("kind") == "address")["value"]
    assert addresses.str.contains(r"\bSt\b|\bAve\b|\bRd\b|\bBlvd\b|\bDr\b|\bLn\b").any()
    assert addresses.str.contains("#").any()


def test_distinct_identifiers_never_collide(market: Marketplace) -> None:
    # An 'own' identifier belongs to one seller only: any collision would show up here.
    own = holders(market).filter(pl.col("roles") == pl.lit(["own"]))
    assert (own["sellers"] == 1).all()
    one_identity = market.link_truth.group_by("kind", "value").agg(pl.col("identifier").n_unique())
    assert (one_identity["identifier"] == 1).all()  # a spelling never means two identifiers


def test_bridges_link_a_member_to_another_ring(market: Marketplace) -> None:
    n_rings = market.truth["ring"].drop_nulls().n_unique()
    bridges = market.link_truth.filter(pl.col("role") == "bridge")
    assert bridges.height == round(0.1 * n_rings)
    ring_of = market.truth.select("seller_id", "ring")
    bridged = bridges.join(ring_of, on="seller_id").select(
        "identifier", pl.col("ring").alias("from_ring")
    )
    device_ring = (
        market.link_truth.filter(pl.col("role") == "ring", pl.col("kind") == "device")
        .join(ring_of, on="seller_id")
        .select("identifier", pl.col("ring").alias("to_ring"))
        .unique()
    )
    pairs = bridged.join(device_ring, on="identifier")
    assert pairs.height == bridges.height
    assert (pairs["from_ring"] != pairs["to_ring"]).all()


def test_labels_are_sparse_and_true(market: Marketplace) -> None:
    labelled = market.labels.join(market.truth, on="seller_id")
    dirt = dirty_row_counts(market.config, market.link_truth.height)
    assert labelled.height == market.labels.height - dirt["unknown_seller_labels"]
    assert (labelled["label"] == labelled["is_bad"].cast(pl.Int8)).all()  # no label noise
    ring_members = market.truth.filter(pl.col("ring").is_not_null())
    known_bad_members = labelled.filter(pl.col("ring").is_not_null()).height
    assert 0.15 < known_bad_members / ring_members.height < 0.35  # a minority
    lone_bad = market.truth.filter(pl.col("is_bad") & pl.col("ring").is_null())
    assert 0.001 * N < lone_bad.height < 0.004 * N
    assert labelled.filter(pl.col("ring").is_null(), pl.col("label") == 1).height > 0
    good = labelled.filter(pl.col("label") == 0)
    assert 0.02 * N < good.height < 0.04 * N
    assert good.filter(pl.col("legit_group").is_not_null()).height > 0


def test_deterministic_by_seed() -> None:
    first = generate_marketplace(n_sellers=3000, seed=11)
    second = generate_marketplace(n_sellers=3000, seed=11)
    other = generate_marketplace(n_sellers=3000, seed=12)
    for name in ("sellers", "links", "labels", "truth", "link_truth"):
        assert getattr(first, name).equals(getattr(second, name)), name
    assert not first.links.equals(other.links)


def test_small_marketplaces_still_work() -> None:
    tiny = generate_marketplace(n_sellers=10, seed=0)
    assert tiny.sellers.height == 10
    assert tiny.truth["ring"].null_count() == 10  # 3% of 10 sellers is no ring


def test_write_marketplace_writes_the_tables(tmp_path: Path) -> None:
    market = generate_marketplace(n_sellers=500, seed=1)
    files = write_marketplace(market, tmp_path / "m")
    assert sorted(files) == ["labels", "link_truth", "links", "sellers", "truth"]
    assert pl.read_parquet(files["links"]).equals(market.links)
    assert not list((tmp_path / "m").glob(".*.tmp"))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"n_sellers": 5}, r"n_sellers must be an integer of at least 10; got 5"),
        ({"ring_share": 1.5}, r"ring_share must be in \[0, 1\]; got 1.5"),
        (
            {"ring_size_min": 9, "ring_size_max": 4},
            r"need 2 <= ring_size_min <= ring_size_max; got 9 and 4",
        ),
        ({"household_share": 0.5, "business_share": 0.5}, r"must leave solo sellers"),
        ({"colour": "red"}, r"unknown SynthConfig fields: colour"),
    ],
)
def test_bad_generator_parameters_are_refused(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        generate_marketplace(SynthConfig(n_sellers=100), **overrides)


# ---------------------------------------------------------------------------------------
# camouflage (popular identifiers) and chain rings

TABLES = ("sellers", "links", "labels", "truth", "link_truth")


def with_rings(market: Marketplace, role: str) -> pl.DataFrame:
    """The links of ``role`` with each seller's ring (null for sellers in no ring)."""
    return market.link_truth.filter(pl.col("role") == role).join(
        market.truth.select("seller_id", "ring", "is_bad"), on="seller_id"
    )


def popular(market: Marketplace) -> pl.DataFrame:
    """Per popular identifier: its sellers, how many rings they come from, the honest share."""
    return (
        with_rings(market, "camouflage")
        .group_by("kind", "identifier")
        .agg(
            pl.col("seller_id").n_unique().alias("sellers"),
            pl.col("ring").drop_nulls().n_unique().alias("rings"),
            pl.col("ring").is_null().sum().alias("honest"),
            pl.col("is_bad").sum().alias("bad"),
        )
    )


def test_camouflage_off_is_todays_marketplace(market: Marketplace) -> None:
    assert camouflage_config("off") == SynthConfig()
    # Switched off, the other camouflage knobs change nothing.
    off = generate_marketplace(
        camouflage_config(
            "off", n_sellers=N, seed=3, camouflage_per_member=3, camouflage_kinds=("email",)
        )
    )
    for name in TABLES:
        assert getattr(off, name).equals(getattr(market, name)), name


def test_camouflage_only_adds_links(market: Marketplace, light: Marketplace) -> None:
    for name in ("sellers", "labels", "truth"):
        assert getattr(light, name).equals(getattr(market, name)), name
    kept = light.link_truth.filter(pl.col("role") != "camouflage")
    assert kept.equals(market.link_truth)
    assert light.link_truth.height > market.link_truth.height


@pytest.mark.parametrize("preset", ["light", "heavy"])
def test_popular_identifiers_mix_rings_and_honest_sellers(
    preset: str, light: Marketplace, heavy: Marketplace
) -> None:
    market = {"light": light, "heavy": heavy}[preset]
    cfg = market.config
    ring_members = market.truth["ring"].drop_nulls().len()
    users = with_rings(market, "camouflage").filter(pl.col("ring").is_not_null())
    assert abs(users["seller_id"].n_unique() / ring_members - cfg.camouflage_share) < 0.005
    ids = popular(market)
    assert sorted(ids["kind"].unique()) == sorted(cfg.camouflage_kinds)
    sizes = ids["sellers"].to_list()
    assert min(sizes) >= 2 and max(sizes) <= 59  # below the hub limit
    assert abs(sum(sizes) / len(sizes) - cfg.camouflage_sellers) < 0.1 * cfg.camouflage_sellers
    assert (ids["rings"] >= 2).all()  # members of different rings meet on each
    honest_share = sum(ids["honest"].to_list()) / sum(sizes)
    assert abs(honest_share - cfg.camouflage_honest_share) < 0.05
    assert (ids["sellers"] == ids["bad"] + ids["honest"]).all()  # honest users are not bad
    honest_users = with_rings(market, "camouflage").filter(pl.col("ring").is_null())
    assert honest_users["seller_id"].is_unique().all()  # one popular identifier each
    assert honest_users.join(
        market.truth.filter(pl.col("legit_group").is_not_null()), on="seller_id"
    ).height  # legit-group members among them, not only solo sellers


def test_heavy_gives_every_ring_member_two_popular_identifiers(heavy: Marketplace) -> None:
    ring_sellers = heavy.truth.filter(pl.col("ring").is_not_null()).select("seller_id")
    held = (
        with_rings(heavy, "camouflage")
        .join(ring_sellers, on="seller_id")
        .group_by("seller_id")
        .agg(pl.col("identifier").n_unique().alias("distinct"), pl.len().alias("links"))
    )
    assert held.height == ring_sellers.height
    assert (held["links"] == 2).all() and (held["distinct"] == 2).all()


def chain_rings(market: Marketplace) -> pl.DataFrame:
    """Rings whose every shared (``ring``) value is held by exactly two members.

    A pooled ring always has an anchor value held by three or more members (every member
    draws its anchor kind from a pool of at most 30% of the ring's size).
    """
    ring_links = with_rings(market, "ring")
    per_value = ring_links.group_by("kind", "identifier").agg(
        pl.col("ring").first(), pl.col("ring").n_unique().alias("rings"), pl.len().alias("holders")
    )
    assert (per_value["rings"] == 1).all()  # a ring value stays inside its ring
    chains = per_value.group_by("ring").agg(pl.col("holders").max()).filter(pl.col("holders") == 2)
    return ring_links.join(chains.select("ring"), on="ring")


def connected(pairs: list[tuple[str, str]], nodes: list[str]) -> bool:
    parent = {node: node for node in nodes}

    def root(node: str) -> str:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for a, b in pairs:
        parent[root(a)] = root(b)
    return len({root(node) for node in nodes}) == 1


def test_chain_rings_are_connected_paths(market: Marketplace, heavy: Marketplace) -> None:
    n_rings = heavy.truth["ring"].drop_nulls().n_unique()
    links = chain_rings(heavy)
    assert links["ring"].n_unique() == round(0.2 * n_rings)
    assert chain_rings(market).height == 0  # no chains unless asked for
    sizes = dict(members(heavy, "ring").select("ring", "size").iter_rows())
    for (ring,), chain in links.group_by("ring"):
        values = chain.group_by("identifier").agg(pl.col("seller_id").sort())
        assert values.height == sizes[ring] - 1  # a path: one value per consecutive pair
        assert values["seller_id"].list.len().eq(2).all()
        nodes = heavy.truth.filter(pl.col("ring") == ring)["seller_id"].to_list()
        assert connected([tuple(pair) for pair in values["seller_id"].to_list()], nodes)
    # Bridges into chain rings use a chain value: every bridge still reaches another ring.
    bridges = with_rings(heavy, "bridge").select("identifier", pl.col("ring").alias("from_ring"))
    reached = bridges.join(
        with_rings(heavy, "ring").select("identifier", pl.col("ring").alias("to_ring")).unique(),
        on="identifier",
    )
    assert reached.height == bridges.height == round(0.1 * n_rings)
    assert (reached["from_ring"] != reached["to_ring"]).all()
    assert reached.join(links.select(pl.col("ring").alias("to_ring")).unique(), on="to_ring").height


def largest_component(market: Marketplace) -> dict[str, int]:
    """The largest connected component of the seller graph (every shared non-hub identifier).

    The graph itself, not what ring detection makes of it: ``build_linkage``'s edges.
    """
    inputs = load_inputs(market.sellers, market.links, labels=market.labels)
    edges = build_linkage(inputs.links).edges
    nodes = pl.concat([edges["src"], edges["dst"]]).unique().sort()
    number = {seller: i for i, seller in enumerate(nodes.to_list())}
    graph = ig.Graph(
        n=len(number), edges=[(number[a], number[b]) for a, b in edges.select("src", "dst").rows()]
    )
    component = pl.DataFrame(
        {"seller_id": nodes, "component": graph.connected_components().membership}
    ).join(market.truth.select("seller_id", "ring"), on="seller_id")
    return (
        component.group_by("component")
        .agg(pl.len().alias("size"), pl.col("ring").is_not_null().sum().alias("ring_members"))
        .sort("size", "component", descending=[True, False])
        .row(0, named=True)
    )


def test_camouflage_glues_rings_and_honest_sellers_into_one_component(
    market: Marketplace, heavy: Marketplace
) -> None:
    ring_members = heavy.truth["ring"].drop_nulls().len()
    glued = largest_component(heavy)
    assert glued["ring_members"] >= 0.9 * ring_members
    assert glued["size"] - glued["ring_members"] >= 1000  # thousands of honest sellers with them
    apart = largest_component(market)  # without camouflage, the largest is one ring or so
    assert apart["size"] <= 200 and apart["ring_members"] < 0.35 * ring_members


def test_camouflage_is_deterministic_by_seed() -> None:
    first = generate_marketplace(camouflage_config("heavy", n_sellers=3000, seed=11))
    second = generate_marketplace(camouflage_config("heavy", n_sellers=3000, seed=11))
    other = generate_marketplace(camouflage_config("heavy", n_sellers=3000, seed=12))
    for name in TABLES:
        assert getattr(first, name).equals(getattr(second, name)), name
    assert not first.link_truth.equals(other.link_truth)


def test_camouflage_presets() -> None:
    assert sorted(CAMOUFLAGE_PRESETS) == ["heavy", "light", "off"]
    light = camouflage_config("light", n_sellers=500)
    assert (light.camouflage_share, light.camouflage_per_member) == (0.3, 1)
    assert light.camouflage_kinds == ("ip",) and light.ring_chain_share == 0
    heavy = camouflage_config("heavy", seed=4, camouflage_sellers=20)  # overrides win
    assert (heavy.camouflage_share, heavy.camouflage_per_member) == (1.0, 2)
    assert heavy.camouflage_kinds == ("ip", "device") and heavy.ring_chain_share == 0.2
    assert (heavy.seed, heavy.camouflage_sellers) == (4, 20)
    with pytest.raises(ConfigError, match=r"camouflage preset 'medium'; .*off, light, heavy"):
        camouflage_config("medium")
    with pytest.raises(ConfigError, match=r"unknown SynthConfig fields: colour"):
        camouflage_config("light", colour="red")


def test_tiny_marketplaces_with_camouflage_still_work() -> None:
    for n in (10, 200):
        market = generate_marketplace(camouflage_config("heavy", n_sellers=n, seed=0))
        assert market.sellers.height == n
        assert load_inputs(market.sellers, market.links).links.height == market.link_truth.height


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"camouflage_share": 1.5}, r"camouflage_share must be in \[0, 1\]; got 1.5"),
        ({"camouflage_share": 2}, r"camouflage_share must be in \[0, 1\]; got 2"),
        ({"ring_chain_share": -0.1}, r"ring_chain_share must be in \[0, 1\]; got -0.1"),
        ({"camouflage_honest_share": 1.0}, r"camouflage_honest_share must be below 1.*got 1.0"),
        ({"camouflage_per_member": 0}, r"camouflage_per_member must be .* at least 1; got 0"),
        ({"camouflage_sellers": 60}, r"camouflage_sellers must be .*< 60.*got 60"),
        ({"camouflage_sellers": 1}, r"camouflage_sellers must be .*got 1"),
        ({"camouflage_kinds": ()}, r"camouflage_kinds must be a non-empty tuple .*got \(\)"),
        ({"camouflage_kinds": ("ip", "fax")}, r"camouflage_kinds .*got \('ip', 'fax'\)"),
        ({"camouflage_kinds": "ip"}, r"camouflage_kinds .*got 'ip'"),
    ],
)
def test_bad_camouflage_parameters_are_refused(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        generate_marketplace(SynthConfig(n_sellers=100), **overrides)
