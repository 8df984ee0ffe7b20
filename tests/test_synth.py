"""The synthetic marketplace plants what its documentation says, in the stated proportions."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from syndicate import (
    ConfigError,
    Marketplace,
    SynthConfig,
    generate_marketplace,
    load_inputs,
    write_marketplace,
)
from syndicate.synth import KINDS, dirty_row_counts

N = 20_000


@pytest.fixture(scope="module")
def market() -> Marketplace:
    return generate_marketplace(n_sellers=N, seed=3)


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
