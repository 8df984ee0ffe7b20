"""Normalisers: spellings of one identifier meet; distinct identifiers stay apart."""

from __future__ import annotations

import unicodedata

import polars as pl
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from syndicate import generate_marketplace
from syndicate.config import _is_invisible
from syndicate.graphs.normalise import clean_text, normalise_links, placeholder_keys


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


# ---------------------------------------------------------------------------------------
# Unicode: invisible and compatibility characters never split (or fake) an identifier

#: One spelling per built-in kind, and a kind without a rule of its own.
PLAIN = {
    "device": "dev123",
    "ip": "34.210.200.147",
    "payout": "GB29NWBK60161331926819",
    "email": "ann.lee@yahoo.com",
    "phone": "+1 415 555 0134",
    "address": "12 Oak Street, Apt 4",
    "shoe_size": "forty-two",
}
INVISIBLES = [
    "\u200b",  # zero-width space
    "\u200c",  # zero-width non-joiner
    "\u200d",  # zero-width joiner
    "\u2060",  # word joiner
    "\u00ad",  # soft hyphen
    "\ufeff",  # byte order mark / zero-width no-break space
    "\u200e",  # left-to-right mark
    "\u200f",  # right-to-left mark
    "\u202a",  # left-to-right embedding
    "\u202e",  # right-to-left override
    "\u2066",  # left-to-right isolate
    "\u2069",  # pop directional isolate
    "\u180e",  # Mongolian vowel separator
    "\u034f",  # combining grapheme joiner (default-ignorable, not Cf)
    "\ufe0f",  # variation selector 16
    "\U000e0041",  # tag latin capital letter A
]


def fullwidth(text: str) -> str:
    """ASCII letters, digits and punctuation as their fullwidth forms (U+FF01..U+FF5E)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@pytest.mark.parametrize("kind", sorted(PLAIN))
def test_fullwidth_spellings_meet_the_ascii_ones(kind: str) -> None:
    value = PLAIN[kind]
    assert fullwidth(value) != value
    assert keys(kind, [fullwidth(value)]) == keys(kind, [value])


def test_a_fullwidth_device_id_is_the_plain_one() -> None:
    assert keys("device", ["ｄｅｖ１２３", "ＤＥＶ１２３", "dev123"]) == ["dev123"] * 3


@pytest.mark.parametrize("char", INVISIBLES, ids=[f"U+{ord(c):04X}" for c in INVISIBLES])
@pytest.mark.parametrize("kind", sorted(PLAIN))
def test_invisible_characters_inside_a_value_are_removed(kind: str, char: str) -> None:
    value = PLAIN[kind]
    spelled = [value[:3] + char + value[3:], char + value, value + char * 2]
    assert keys(kind, spelled) == keys(kind, [value]) * 3


def test_compatibility_spaces_and_ligatures_are_plain() -> None:
    # No-break and ideographic spaces are spaces (trimmed), 'ﬁ' is 'fi', '①' is '1'.
    assert keys("device", ["\u00a0ﬁx①\u3000", "fix1"]) == ["fix1", "fix1"]
    assert keys("address", ["12\u00a0Oak\u3000Street", "12 oak st"]) == ["12 oak st"] * 2


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(sorted(PLAIN)),
    cuts=st.lists(st.integers(0, 40), max_size=4),
    chars=st.lists(st.sampled_from(INVISIBLES), min_size=4, max_size=4),
    wide=st.booleans(),
)
def test_no_mix_of_invisible_and_fullwidth_characters_splits_an_identifier(
    kind: str, cuts: list[int], chars: list[str], wide: bool
) -> None:
    value = PLAIN[kind]
    spelled = fullwidth(value) if wide else value
    for cut, char in zip(sorted(cuts, reverse=True), chars, strict=False):
        spelled = spelled[:cut] + char + spelled[cut:]
    assert keys(kind, [spelled]) == keys(kind, [value])


# Characters assigned in Python's Unicode database (Polars may know a newer Unicode).
assigned = st.characters(blacklist_categories=("Cs", "Cn"))


@settings(max_examples=300, deadline=None)
@given(text=st.text(assigned, max_size=20))
def test_clean_text_is_python_nfkc_without_invisible_characters(text: str) -> None:
    cleaned = pl.select(clean_text(pl.lit(text, dtype=pl.String))).item()
    visible = "".join(c for c in text if not _is_invisible(c))
    assert cleaned == unicodedata.normalize("NFKC", visible)
    assert not any(_is_invisible(c) for c in cleaned)
    assert pl.select(clean_text(pl.lit(cleaned, dtype=pl.String))).item() == cleaned  # idempotent


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.text(st.characters(max_codepoint=127), max_size=12), max_size=8))
def test_ascii_values_pass_clean_text_unchanged(values: list[str]) -> None:
    series = pl.Series(values, dtype=pl.String)
    assert pl.select(clean_text(pl.lit(series))).to_series().to_list() == values


def test_clean_text_keeps_nulls_and_mixed_batches_in_place() -> None:
    series = pl.Series(["a\u200bb", None, "plain", "ｘ"], dtype=pl.String)
    assert pl.select(clean_text(pl.lit(series))).to_series().to_list() == ["ab", None, "plain", "x"]


# ---------------------------------------------------------------------------------------
# Placeholders


def test_placeholders_are_compared_after_normalisation() -> None:
    links = pl.DataFrame(
        {
            "seller_id": list("abcdefg"),
            "kind": ["device", "device", "device", "email", "ip", "shoe_size", "device"],
            "value": ["N/A", " n/a ", "Ｎ/Ａ", " TEST@test.com", "127.0.0.1", "Unknown", "dev1"],
        }
    )
    flagged = normalise_links(
        links,
        placeholders={"email": ["test@test.com"], "ip": ["127.0.0.1"]},
        common_placeholders=["n/a", "unknown"],
    ).sort("seller_id")
    # Every kind gets the common list, unknown kinds included; a real value is no placeholder.
    assert flagged["placeholder"].to_list() == [True] * 6 + [False]


def test_a_placeholder_of_one_kind_is_a_value_of_another() -> None:
    links = pl.DataFrame(
        {"seller_id": ["a", "b"], "kind": ["ip", "device"], "value": ["0.0.0.0", "0.0.0.0"]}
    )
    flagged = normalise_links(links, placeholders={"ip": ["0.0.0.0"]})
    assert dict(flagged.select("kind", "placeholder").iter_rows()) == {"device": False, "ip": True}


def test_placeholder_keys_go_through_each_kinds_rule() -> None:
    found = placeholder_keys(
        ["phone", "payout", "email", "address"],
        {"phone": ["(999) 999-9999", "0"], "payout": ["0000-0000"], "email": ["No@Email.COM"]},
        ["N/A"],
    )
    # Phone: the 10-digit national rule applies, and '0' and 'N/A' have no key at all.
    assert found == {
        "phone": ["+19999999999"],
        "payout": ["00000000", "NA"],
        "email": ["n/a", "no@email.com"],
        "address": ["n a"],
    }


def test_without_placeholders_no_column_is_added() -> None:
    links = pl.DataFrame({"seller_id": ["a"], "kind": ["ip"], "value": ["0.0.0.0"]})
    assert normalise_links(links).columns == ["seller_id", "kind", "value", "key"]
    empty = normalise_links(links.clear(), common_placeholders=["n/a"])
    assert empty.columns == ["seller_id", "kind", "value", "key", "placeholder"]
