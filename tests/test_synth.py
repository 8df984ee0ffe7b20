"""The synthetic marketplace plants what its documentation says, in the stated proportions."""

from __future__ import annotations

import re
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
from syndicate.cli import main
from syndicate.synth import (
    CAMOUFLAGE_PRESETS,
    KINDS,
    SYNTH_PRESETS,
    RealLikeConfig,
    camouflage_config,
    dirty_row_counts,
    generate_real_like,
)

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


# ---------------------------------------------------------------------------------------
# the real-like preset (shaped like public e-commerce fraud tables)

REAL_N = 20_000


@pytest.fixture(scope="module")
def real() -> Marketplace:
    return generate_real_like(n_sellers=REAL_N, seed=5)


def users_per_value(market: Marketplace, kind: str) -> pl.DataFrame:
    """Per identifier of ``kind``: its users' ids, how many there are and how many are bad."""
    return (
        market.link_truth.filter(pl.col("kind") == kind)
        .join(market.truth, on="seller_id")
        .group_by("identifier")
        .agg(
            pl.col("seller_id"),
            pl.len().alias("users"),
            pl.col("is_bad").sum().alias("bad"),
            pl.col("ring").drop_nulls().n_unique().alias("rings"),
            pl.col("role").unique().alias("roles"),
        )
    )


def only(roles: pl.Series, role: str) -> bool:
    """Whether each list of roles is ``[role]``."""
    return all(value == [role] for value in roles.to_list())


def test_real_like_has_one_device_and_one_ip_per_user(real: Marketplace) -> None:
    assert real.sellers.columns == [
        "seller_id",
        "created_at",
        "first_order_delay_s",
        "purchase_value",
        "age",
        "source",
        "browser",
        "sex",
    ]
    assert real.sellers.height == REAL_N and real.sellers["seller_id"][42] == "s000042"
    assert real.links.columns == ["seller_id", "kind", "value", "seen_at"]
    assert real.truth.columns == ["seller_id", "ring", "is_bad", "legit_group"]
    per_user = real.links.group_by("seller_id").agg(pl.col("kind").sort())
    assert per_user.height == REAL_N
    assert all(kinds == ["device", "ip"] for kinds in per_user["kind"].to_list())
    assert set(real.link_truth["role"].unique()) == {"own", "ring", "household"}
    assert (real.link_truth["value"] == real.link_truth["identifier"]).all()  # clean values
    assert (
        real.links["value"]
        .filter(real.links["kind"] == "device")
        .str.contains(r"^[A-Z]{13}$")
        .all()
    )
    assert (real.sellers["created_at"].dt.microsecond() == 0).all()  # second resolution
    days = (real.sellers["created_at"].max() - real.sellers["created_at"].min()).days
    assert 360 <= days <= 365
    seen = real.links.join(real.sellers, on="seller_id").select(
        (pl.col("seen_at") - pl.col("created_at")).dt.total_seconds()
        == pl.col("first_order_delay_s")
    )
    assert seen.to_series().all()  # a link is seen at the first order


def test_real_like_tables_are_accepted_by_load_inputs(real: Marketplace) -> None:
    inputs = load_inputs(real.sellers, real.links, labels=real.labels)
    assert inputs.reject_counts() == {}
    assert inputs.links.height == 2 * REAL_N and inputs.labels.height == real.labels.height


def test_real_like_devices_are_shared_mostly_by_fraudsters(real: Marketplace) -> None:
    devices = users_per_value(real, "device")
    shared = devices.filter(pl.col("users") >= 2)
    assert abs(shared.height / devices.height - 0.02) < 0.001  # 2% of devices, 1-3% asked
    assert shared["users"].min() == 2 and shared["users"].max() == 10
    fraud_share = shared["bad"].sum() / shared["users"].sum()
    assert 0.8 <= fraud_share <= 0.9
    # A ring is the users of one shared device: all bad, or a family: all honest.
    assert ((shared["bad"] == 0) | (shared["bad"] == shared["users"])).all()
    rings = shared.filter(pl.col("bad") > 0)
    assert (rings["rings"] == 1).all() and only(rings["roles"], "ring")
    assert rings.height == real.truth["ring"].n_unique() - 1  # one ring per device (and null)
    families = shared.filter(pl.col("bad") == 0)
    assert only(families["roles"], "household")
    ring_sizes = real.truth.group_by("ring").len().filter(pl.col("ring").is_not_null())
    assert ring_sizes["len"].min() >= 2


def test_real_like_fraud_is_about_nine_percent(real: Marketplace) -> None:
    truth = real.truth
    assert abs(truth["is_bad"].mean() - 0.09) < 0.001
    lone = truth.filter(pl.col("is_bad"), pl.col("ring").is_null())
    assert lone.height > 0.02 * REAL_N  # the rest of the fraud: lone fraudsters ...
    own_device = real.link_truth.filter(pl.col("kind") == "device").join(lone, on="seller_id")
    assert (own_device["role"] == "own").all()  # ... with a device of their own
    assert not truth.filter(pl.col("legit_group").is_not_null())["is_bad"].any()


def test_real_like_ips_are_shared_in_rings_and_by_honest_groups(real: Marketplace) -> None:
    ring_members = real.truth.filter(pl.col("ring").is_not_null())
    ring_ip = real.link_truth.filter(pl.col("kind") == "ip").join(ring_members, on="seller_id")
    on_ring_ip = (ring_ip["role"] == "ring").mean()
    assert 0.3 < on_ring_ip < 0.6  # loosely: each member uses the ring's IP with 50%
    ips = users_per_value(real, "ip").filter(pl.col("users") >= 2)
    assert ((ips["bad"] == 0) | (ips["bad"] == ips["users"])).all()
    honest = ips.filter(pl.col("bad") == 0)
    assert honest.height > 0.01 * REAL_N / 3 and honest["users"].max() <= 10
    assert only(honest["roles"], "household")
    groups = (
        real.truth.filter(pl.col("legit_group").is_not_null())
        .group_by(pl.col("legit_group").str.extract(r"^(\w+)-").alias("sort"))
        .agg(pl.col("legit_group").n_unique().alias("groups"), pl.len().alias("users"))
    )
    users = dict(groups.select("sort", "users").iter_rows())
    assert set(users) == {"household", "office"}
    assert 0.01 * REAL_N - 8 <= users["office"] <= 0.01 * REAL_N


def test_real_like_rings_sign_up_minutes_apart(real: Marketplace) -> None:
    spread = (
        real.truth.join(real.sellers, on="seller_id")
        .filter(pl.col("ring").is_not_null())
        .group_by("ring")
        .agg((pl.col("created_at").max() - pl.col("created_at").min()).dt.total_seconds())
    )["created_at"]
    assert spread.max() <= 300 and spread.median() > 10


def test_real_like_frauds_order_within_seconds(real: Marketplace) -> None:
    by_class = (
        real.sellers.join(real.truth, on="seller_id")
        .group_by("is_bad")
        .agg(
            (pl.col("first_order_delay_s") < 60).mean().alias("quick"),
            pl.col("first_order_delay_s").median().alias("median"),
            pl.col("purchase_value").mean().alias("value"),
            pl.col("age").mean().alias("age"),
            (pl.col("browser") == "Chrome").mean().alias("chrome"),
        )
    )
    honest, fraud = by_class.sort("is_bad").rows(named=True)
    assert fraud["quick"] > 0.7 and fraud["median"] < 60
    assert honest["quick"] < 0.02 and honest["median"] > 3600  # hours, minutes to days
    # The weak columns differ only a little between the classes.
    assert abs(fraud["value"] / honest["value"] - 1) < 0.15
    assert abs(fraud["age"] - honest["age"]) < 2 and abs(fraud["chrome"] - honest["chrome"]) < 0.1
    assert {c: str(t) for c, t in real.sellers.schema.items() if t == pl.String} == {
        "seller_id": "String",
        "source": "String",
        "browser": "String",
        "sex": "String",
    }
    assert set(real.sellers["sex"].unique()) == {"M", "F"}


def test_real_like_labels_are_a_noisy_share_of_each_class(real: Marketplace) -> None:
    labelled = real.labels.join(real.truth, on="seller_id")
    assert labelled.height == real.labels.height == round(0.4 * REAL_N)
    for is_bad in (True, False):
        of_class = real.truth.filter(pl.col("is_bad") == is_bad).height
        assert abs(labelled.filter(pl.col("is_bad") == is_bad).height - 0.4 * of_class) <= 1
    wrong = labelled.filter(pl.col("label") != pl.col("is_bad").cast(pl.Int8))
    assert wrong.height == round(0.05 * labelled.height)  # label_noise: 5% flipped
    assert wrong["is_bad"].sum() > 0 and (~wrong["is_bad"]).sum() > 0  # both ways
    assert dict(real.labels.group_by("label").agg(pl.col("source").first()).iter_rows()) == {
        0: "no_chargeback",
        1: "chargeback",
    }
    clean = generate_real_like(n_sellers=2000, seed=5, label_noise=0.0)
    checked = clean.labels.join(clean.truth, on="seller_id")
    assert (checked["label"] == checked["is_bad"].cast(pl.Int8)).all()


def test_real_like_is_deterministic_by_seed() -> None:
    first = generate_real_like(n_sellers=3000, seed=11)
    second = generate_real_like(RealLikeConfig(n_sellers=3000, seed=11))
    other = generate_real_like(n_sellers=3000, seed=12)
    for name in TABLES:
        assert getattr(first, name).equals(getattr(second, name)), name
    assert not first.links.equals(other.links) and not first.truth.equals(other.truth)
    assert first.config == RealLikeConfig(n_sellers=3000, seed=11)


def test_real_like_defaults_and_tiny_sizes() -> None:
    assert 30_000 <= RealLikeConfig().n_sellers <= 50_000
    for n in (10, 100):
        tiny = generate_real_like(n_sellers=n, seed=0)
        assert tiny.sellers.height == n and tiny.links.height == 2 * n
        assert load_inputs(tiny.sellers, tiny.links, labels=tiny.labels).links.height == 2 * n


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"n_sellers": 5}, r"n_sellers must be an integer of at least 10; got 5"),
        ({"fraud_share": 1.5}, r"fraud_share must be in \[0, 1\]; got 1.5"),
        ({"label_noise": 0.6}, r"label_noise must be at most 0.5; got 0.6"),
        ({"device_group_min": 1}, r"need 2 <= device_group_min <= device_group_max; got 1 and 10"),
        ({"ring_signup_spread_s": (60.0, 10.0)}, r"ring_signup_spread_s must be \(low, high\)"),
        ({"days": 0}, r"days must be an integer of at least 1; got 0"),
        ({"colour": "red"}, r"unknown RealLikeConfig fields: colour"),
        (
            {"shared_device_share": 0.5, "ip_household_share": 0.5},
            r"the sharing groups need .* users, more than n_sellers = 100",
        ),
    ],
)
def test_bad_real_like_parameters_are_refused(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        generate_real_like(RealLikeConfig(n_sellers=100), **overrides)


def read_tables(folder: Path) -> dict[str, pl.DataFrame]:
    return {name: pl.read_parquet(folder / f"{name}.parquet") for name in TABLES}


def test_synth_cli_real_like_writes_the_tables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "rl"
    argv = ["synth", "--preset", "real-like", "--sellers", "3000", "--out", str(out), "--quiet"]
    assert main([*argv, "--seed", "2"]) == 0
    printed = capsys.readouterr().out
    assert "syndicate synth: 3,000 sellers (real-like), 6,000 links, 1,200 labels" in printed
    tables = read_tables(out)
    expected = generate_real_like(n_sellers=3000, seed=2)
    for name in TABLES:
        assert tables[name].equals(getattr(expected, name)), name
    inputs = load_inputs(
        out / "sellers.parquet", out / "links.parquet", labels=out / "labels.parquet"
    )
    assert inputs.reject_counts() == {} and inputs.sellers.height == 3000


def test_synth_cli_default_preset_is_todays_marketplace(tmp_path: Path) -> None:
    assert main(["synth", "--sellers", "500", "--out", str(tmp_path / "a"), "--quiet"]) == 0
    argv = ["synth", "--preset", "marketplace", "--sellers", "500", "--out", str(tmp_path / "b")]
    assert main([*argv, "--quiet"]) == 0
    default, explicit = read_tables(tmp_path / "a"), read_tables(tmp_path / "b")
    expected = generate_marketplace(n_sellers=500, seed=0)
    for name in TABLES:
        assert default[name].equals(getattr(expected, name)), name
        assert explicit[name].equals(default[name]), name
    assert SYNTH_PRESETS == ("marketplace", "real-like")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--preset", "realistic", "--sellers", "100"],
            r"argument --preset: invalid choice: 'realistic' \(choose from '?marketplace'?, "
            r"'?real-like'?\)",
        ),
        ([], r"the following arguments are required: --sellers \(with --preset marketplace\)"),
        (
            ["--preset", "real-like", "--camouflage", "light"],
            r"--camouflage applies to --preset marketplace only",
        ),
    ],
)
def test_synth_cli_refuses_bad_presets(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["synth", *argv, "--out", str(tmp_path / "x"), "--quiet"]) == 2
    assert re.search(message, capsys.readouterr().err)
    assert not (tmp_path / "x").exists()
