"""Normalisers: spellings of one identifier meet; distinct identifiers stay apart."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from syndicate import generate_marketplace
from syndicate.graphs.normalise import normalise_links


def keys(kind: str, values: list[str]) -> list[str]:
    links = pl.DataFrame(
        {"seller_id": ["s"] * len(values), "kind": [kind] * len(values), "value": values}
    )
    return normalise_links(links)["key"].to_list()


SAME = [
    ("device", ["  2DC2F315711EDA03 ", "2dc2f315711eda03"]),
    ("ip", [" 34.210.200.147 ", "34.210.200.147"]),
    (
        "payout",
        ["GB29 NWBK 6016 1331 9268 19", "gb29-nwbk-6016-1331-9268-19", "GB29NWBK60161331926819"],
    ),
    ("email", ["John.Doe+shop1@GoogleMail.com", "johndoe@gmail.com", "j.o.h.n.doe@gmail.com"]),
    ("email", ["ann12.lee+x@yahoo.com", "ANN12.LEE@YAHOO.COM", " ann12.lee@yahoo.com"]),
    (
        "phone",
        ["+1 (415) 555-0134", "(415) 555-0134", "001 415 555 0134", "4155550134", "+14155550134"],
    ),
    ("phone", ["+44 20 7946 0958", "0044 20 7946 0958", "+442079460958", "+44 (0)20 7946 0958"]),
    (
        "address",
        [
            "12 North Oak Street, Apt. 4, Springfield 10001",
            "12 N OAK ST #4 SPRINGFIELD 10001",
            "12 north oak st., apartment 4, springfield 10001",
            "12  N. Oak Str , Unit 4 , Springfield 10001",
        ],
    ),
    ("shoe_size", [" Forty-Two ", "forty-two"]),  # unknown kinds: trim and case-fold
]

DIFFERENT = [
    ("email", ["ann.lee@yahoo.com", "annlee@yahoo.com"]),  # dots matter outside Gmail
    ("email", ["ann@gmail.com", "ann@gmail.co"]),
    ("phone", ["+1 415 555 0134", "+44 415 555 0134"]),
    ("phone", ["+1 415 555 0134", "+1 415 555 0135"]),
    ("address", ["12 Oak Street Apt 4", "12 Oak Street Apt 5"]),
    ("address", ["12 Oak Street", "12 Oak Avenue"]),
    ("address", ["12 North Oak Street", "12 South Oak Street"]),
    ("payout", ["GB29NWBK60161331926819", "GB29NWBK60161331926818"]),
    ("email", ["x@evil@gmail.com", "x@gmail.com"]),  # two '@': not an address
    ("email", ["+promo@gmail.com", "+other@gmail.com", "@gmail.com"]),  # nothing before the tag
]


def test_placeholder_phones_bind_nobody() -> None:
    assert keys("phone", ["0", "000", "N/A", "123456", "1234567"]) == [
        None,
        None,
        None,
        None,
        "+1234567",
    ]


@pytest.mark.parametrize(
    ("kind", "values"), SAME, ids=[f"{k}-{i}" for i, (k, _) in enumerate(SAME)]
)
def test_spellings_of_one_identifier_meet(kind: str, values: list[str]) -> None:
    assert len(set(keys(kind, values))) == 1, keys(kind, values)


@pytest.mark.parametrize(
    ("kind", "values"), DIFFERENT, ids=[f"{k}-{i}" for i, (k, _) in enumerate(DIFFERENT)]
)
def test_distinct_identifiers_stay_apart(kind: str, values: list[str]) -> None:
    assert len(set(keys(kind, values))) == len(values), keys(kind, values)


def test_kinds_are_normalised_by_their_own_rule_only() -> None:
    links = pl.DataFrame(
        {"seller_id": ["a", "b"], "kind": ["device", "payout"], "value": ["Ab-1", "Ab-1"]}
    )
    assert normalise_links(links)["key"].to_list() == ["ab-1", "AB1"]


# ---------------------------------------------------------------------------------------
# Property tests: random spellings of random identifiers

STREET_TYPES = {
    "st": ["Street", "St", "St.", "STREET"],
    "ave": ["Avenue", "Ave", "Av."],
    "rd": ["Road", "Rd"],
}
UNITS = ["Apt ", "Apartment ", "#", "Unit ", "apt. ", "No. "]
names = st.sampled_from(["Oak", "Maple", "Pine", "Cedar", "Lake", "Hill"])


@st.composite
def address(draw: st.DrawFn) -> tuple[tuple[object, ...], str]:
    number = draw(st.integers(1, 9999))
    name = draw(names)
    street_type = draw(st.sampled_from(sorted(STREET_TYPES)))
    unit = draw(st.none() | st.integers(1, 300))
    city = draw(st.sampled_from(["Springfield", "Dover", "Salem"]))
    spelling = draw(st.sampled_from(STREET_TYPES[street_type]))
    separator = draw(st.sampled_from([", ", " ", " , ", ","]))
    text = f"{number} {name} {spelling}"
    if unit is not None:
        text += f"{separator}{draw(st.sampled_from(UNITS))}{unit}"
    text += f"{separator}{city}"
    case = draw(st.sampled_from([str, str.upper, str.lower, str.title]))
    return (number, name, street_type, unit, city), case(text)


@settings(max_examples=200, deadline=None)
@given(first=address(), second=address())
def test_addresses_meet_exactly_when_they_are_the_same(
    first: tuple[tuple[object, ...], str], second: tuple[tuple[object, ...], str]
) -> None:
    a, b = keys("address", [first[1], second[1]])
    assert (a == b) == (first[0] == second[0]), (first, second, a, b)


@st.composite
def email(draw: st.DrawFn) -> tuple[tuple[object, ...], str]:
    user = draw(st.sampled_from(["ann.lee", "annlee", "bo.ng", "bong", "cy"]))
    number = draw(st.integers(0, 99))
    domain = draw(st.sampled_from(["gmail.com", "yahoo.com", "proton.me"]))
    local = f"{user}{number}"
    identity: tuple[object, ...] = (
        local.replace(".", "") if domain == "gmail.com" else local,
        domain,
    )
    if domain == "gmail.com":
        if draw(st.booleans()):
            local = local.replace(".", "")
        domain = draw(st.sampled_from(["gmail.com", "googlemail.com", "GMAIL.com"]))
    tag = draw(st.sampled_from(["", "+shop", "+a1"]))
    case = draw(st.sampled_from([str, str.upper, str.capitalize]))
    return identity, case(f"{local}{tag}@{domain}")


@settings(max_examples=200, deadline=None)
@given(first=email(), second=email())
def test_emails_meet_exactly_when_they_are_the_same(
    first: tuple[tuple[object, ...], str], second: tuple[tuple[object, ...], str]
) -> None:
    a, b = keys("email", [first[1], second[1]])
    assert (a == b) == (first[0] == second[0]), (first, second, a, b)


@settings(max_examples=200, deadline=None)
@given(
    country=st.sampled_from(["1", "44", "49"]),
    area=st.integers(200, 999),
    line=st.integers(0, 9_999_999),
    style=st.integers(0, 4),
)
def test_phone_spellings_meet(country: str, area: int, line: int, style: int) -> None:
    digits = f"{area}{line:07d}"
    assume(not (country != "1" and style == 4))  # national format only for the default country
    spelled = [
        f"+{country}{digits}",
        f"+{country} {area} {line // 10000:03d} {line % 10000:04d}",
        f"00{country} {digits}",
        f"(+{country}) {area}-{line:07d}",
        f"({area}) {line // 10000:03d}-{line % 10000:04d}",
    ][style]
    assert keys("phone", [spelled]) == [f"+{country}{digits}"]


def test_synthetic_variants_meet_and_never_collide() -> None:
    market = generate_marketplace(n_sellers=5000, seed=9)
    links = normalise_links(market.link_truth)
    per_identifier = links.group_by("kind", "identifier").agg(pl.col("key").n_unique())
    per_key = links.group_by("kind", "key").agg(pl.col("identifier").n_unique())
    assert (per_identifier["key"] == 1).all()
    assert (per_key["identifier"] == 1).all()
    assert links.filter(pl.col("value") != pl.col("identifier")).height > 1000  # really respelled
