"""Identifier normalisers: one real-world identifier, one normalised value.

Every normaliser is a Polars expression over a String column, so a whole ``links`` table is
normalised in a few vectorised passes.

Every kind, first (:func:`clean_text`)
    Invisible characters are removed (Unicode format characters, category Cf: zero-width
    space, joiners and non-joiner, word joiner, soft hyphen, BOM, bidi marks, embeddings,
    overrides and isolates, tags; and the other default-ignorable code points of
    :data:`syndicate.config.INVISIBLE_RANGES`: variation selectors, Hangul fillers, ...),
    then the value is put in Unicode NFKC form: fullwidth ``ｄｅｖ１２３`` is ``dev123``,
    ``ﬁ`` is ``fi``, a no-break or ideographic space is a space. Values that are all ASCII
    (nearly all) skip both steps, which cannot change them.

The rules, kind by kind:

``device``, ``ip`` and any kind without a normaliser of its own
    Trim surrounding white space and case-fold.
``payout``
    Upper-case and drop separators (white space, ``-``, ``.``, ``/``, ``_``):
    ``gb29 nwbk-6016`` and ``GB29NWBK6016`` are one account.
``email``
    Trim and lower-case; drop a ``+tag`` from the local part; ``googlemail.com`` becomes
    ``gmail.com`` and, for Gmail only, dots in the local part are dropped (Gmail ignores
    them; other providers do not, so their dots are kept). A value without exactly one ``@``
    or with an empty local part is only trimmed and case-folded.
``phone``
    Keep the digits. A leading ``+`` or ``00`` marks an international number; a number of
    exactly ``national_digits`` (10) digits with neither is national and gets
    ``default_country_code`` (``1``). A ``(0)`` trunk prefix (``+44 (0)20 …``) is dropped. The
    result is ``+`` followed by the digits. A value with fewer than 7 digits (``0``, ``N/A``)
    is a placeholder, not a number: its key is null and it binds nobody (validation refuses
    it as ``unusable_value``).
``address``
    Lower-case; ``#`` and the unit words ``apt``, ``apartment``, ``unit``, ``suite``,
    ``ste``, ``no`` become ``unit``; street types become their USPS abbreviation
    (``street``/``str`` → ``st``, ``avenue``/``av`` → ``ave``, ``road`` → ``rd``,
    ``boulevard``/``boul`` → ``blvd``, ``drive``/``drv`` → ``dr``, ``lane`` → ``ln``,
    ``court`` → ``ct``, ``place`` → ``pl``, ``square`` → ``sq``, ``highway`` → ``hwy``,
    ``parkway`` → ``pkwy``); compass words become one letter (``north`` → ``n``, …);
    punctuation becomes white space and white space is collapsed.

Placeholders
    With ``placeholders`` / ``common_placeholders`` (see :class:`syndicate.config.Config`),
    :func:`normalise_links` also flags the links whose key is the key of a placeholder of
    their kind: the placeholders go through the same rules, so ``N/A``, `` n/a `` and
    ``Ｎ/Ａ`` all match ``n/a``.

Examples
--------
>>> import polars as pl
>>> frame = pl.DataFrame({
...     "seller_id": ["s1", "s2", "s3", "s4", "s5", "s6"],
...     "kind": ["email", "email", "phone", "phone", "address", "address"],
...     "value": ["John.Doe+shop1@googlemail.com", "johndoe@gmail.com", "+1 (415) 555-0134",
...               "(415) 555-0134", "12 Oak Street, Apt. 4", "12 OAK ST #4"],
... })
>>> normalise_links(frame).sort("seller_id")["key"].to_list()  # doctest: +NORMALIZE_WHITESPACE
['johndoe@gmail.com', 'johndoe@gmail.com', '+14155550134', '+14155550134',
 '12 oak st unit 4', '12 oak st unit 4']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import polars as pl

from syndicate.config import INVISIBLE_RANGES

__all__ = [
    "INVISIBLE",
    "NORMALISERS",
    "clean_text",
    "normalise_address",
    "normalise_email",
    "normalise_links",
    "normalise_payout",
    "normalise_phone",
    "normalise_plain",
    "placeholder_keys",
]

_STREET_TYPES = {
    "st": ("street", "str", "st"),
    "ave": ("avenue", "av", "ave"),
    "rd": ("road", "rd"),
    "blvd": ("boulevard", "boul", "blvd"),
    "dr": ("drive", "drv", "dr"),
    "ln": ("lane", "ln"),
    "ct": ("court", "ct"),
    "pl": ("place", "pl"),
    "sq": ("square", "sq"),
    "hwy": ("highway", "hwy"),
    "pkwy": ("parkway", "pkwy"),
}
#: A regex class of the invisible characters that :func:`clean_text` removes.
INVISIBLE = (
    r"[\p{Cf}" + "".join(rf"\x{{{low:X}}}-\x{{{high:X}}}" for low, high in INVISIBLE_RANGES) + "]"
)


def clean_text(value: pl.Expr) -> pl.Expr:
    """Remove invisible characters and apply Unicode NFKC; ASCII values pass untouched.

    Examples
    --------
    >>> pl.select(clean_text(pl.lit("ｄｅｖ\u200b１２３"))).item()
    'dev123'
    """
    return value.map_batches(_clean_values, return_dtype=pl.String, is_elementwise=True)


def _clean_values(values: pl.Series) -> pl.Series:
    # A value whose UTF-8 bytes are all characters is ASCII, which neither step changes:
    # the test costs 1/25 of NFKC over every value, and real tables are nearly all ASCII.
    values = values.cast(pl.String)
    wide = values.str.len_bytes() != values.str.len_chars()
    if not wide.any():
        return values
    at = wide.arg_true()
    cleaned = values.gather(at).str.replace_all(INVISIBLE, "").str.normalize("NFKC")
    return values.scatter(at, cleaned)


_COMPASS = {"n": "north", "s": "south", "e": "east", "w": "west"}
_UNIT_WORDS = ("apartment", "apt", "unit", "suite", "ste", "no")


def normalise_plain(value: pl.Expr) -> pl.Expr:
    """Trim and case-fold: devices, IPs and kinds without a normaliser of their own."""
    return value.str.strip_chars().str.to_lowercase()


def normalise_payout(value: pl.Expr) -> pl.Expr:
    """Upper-case and drop separators (white space, ``-``, ``.``, ``/``, ``_``)."""
    return value.str.to_uppercase().str.replace_all(r"[\s\-./_]+", "")


def normalise_email(value: pl.Expr) -> pl.Expr:
    """Lower-case, drop ``+tags``; for Gmail also drop dots and map ``googlemail.com``."""
    return value.map_batches(_email_keys, return_dtype=pl.String, is_elementwise=True)


def _email_keys(values: pl.Series) -> pl.Series:
    # Each intermediate is computed once, column by column: as one nested expression the
    # shared parts were evaluated again in every branch (3x slower on a million rows).
    text = values.str.strip_chars().str.to_lowercase()
    parts = pl.DataFrame({"text": text}).with_columns(
        local=pl.col("text").str.extract(r"^([^@]*)@", 1).str.replace(r"\+.*$", ""),
        domain=pl.col("text").str.extract(r"@([^@]*)$", 1).str.strip_chars(),
    )
    domain = pl.col("domain").replace("googlemail.com", "gmail.com")
    gmail = domain == "gmail.com"
    local = pl.when(gmail).then(pl.col("local").str.replace_all(".", "", literal=True))
    parts = parts.with_columns(local.otherwise(pl.col("local")), domain)
    # A value without exactly one '@', or with nothing left before it, is not an address:
    # it is kept trimmed and case-folded, so it binds only identical spellings.
    is_address = (pl.col("text").str.count_matches("@", literal=True) == 1) & (
        pl.col("local").str.len_chars() > 0
    )
    address = pl.concat_str(pl.col("local"), pl.lit("@"), pl.col("domain"))
    return parts.select(pl.when(is_address).then(address).otherwise(pl.col("text"))).to_series()


def normalise_phone(
    value: pl.Expr, *, default_country_code: str = "1", national_digits: int = 10
) -> pl.Expr:
    """``+`` and the digits, with the default country code added to national numbers."""

    def keys(values: pl.Series) -> pl.Series:
        return _phone_keys(values, default_country_code, national_digits)

    return value.map_batches(keys, return_dtype=pl.String, is_elementwise=True)


def _phone_keys(values: pl.Series, default_country_code: str, national_digits: int) -> pl.Series:
    text = values.str.strip_chars().str.replace_all("(0)", "", literal=True)  # +44 (0)20 …
    parts = pl.DataFrame({"text": text}).with_columns(
        digits=pl.col("text").str.replace_all(r"\D", ""),
        international=pl.col("text").str.starts_with("+") | pl.col("text").str.starts_with("(+"),
    )
    parts = parts.with_columns(n=pl.col("digits").str.len_chars())
    digits, international, n = pl.col("digits"), pl.col("international"), pl.col("n")
    zeros = ~international & digits.str.starts_with("00")
    national = ~international & (n == national_digits)
    # Fewer than 7 digits ('0', 'N/A', '123') is a placeholder, not a phone number: no key.
    key = (
        pl.when(n < 7)
        .then(pl.lit(None, dtype=pl.String))
        .when(zeros)
        .then(pl.concat_str(pl.lit("+"), digits.str.slice(2)))
        .when(national)
        .then(pl.concat_str(pl.lit("+" + default_country_code), digits))
        .otherwise(pl.concat_str(pl.lit("+"), digits))
    )
    return parts.select(key).to_series()


_ADDRESS_WORDS: dict[str, str] = {
    **{spelling: short for short, spellings in _STREET_TYPES.items() for spelling in spellings},
    **{word: short for short, word in _COMPASS.items()},
    **dict.fromkeys(_UNIT_WORDS, "unit"),
}


def normalise_address(value: pl.Expr) -> pl.Expr:
    """Case, punctuation, unit words, street types and compass words made uniform."""
    text = value.str.to_lowercase().str.replace_all("#", " unit ", literal=True)
    # Words two spaces apart and one from each end, so every word stands as " word " and
    # one literal multi-pattern pass replaces whole words (splitting into lists of words
    # and mapping each was 5x slower).
    text = pl.concat_str(pl.lit(" "), text.str.replace_all(r"[^\w]+", "  "), pl.lit(" "))
    text = text.str.replace_many(
        [f" {word} " for word in _ADDRESS_WORDS],
        [f" {short} " for short in _ADDRESS_WORDS.values()],
    )
    text = text.str.replace_all("  ", " ", literal=True).str.strip_chars()
    return text.str.replace_all(r"\bunit(?: unit)+\b", "unit")


#: The built-in normaliser of each kind; any other kind gets :func:`normalise_plain`.
NORMALISERS: dict[str, Callable[[pl.Expr], pl.Expr]] = {
    "device": normalise_plain,
    "ip": normalise_plain,
    "payout": normalise_payout,
    "email": normalise_email,
    "phone": normalise_phone,
    "address": normalise_address,
}


def normalise_links(
    links: pl.DataFrame,
    *,
    value: str = "value",
    placeholders: Mapping[str, Sequence[str]] | None = None,
    common_placeholders: Sequence[str] = (),
) -> pl.DataFrame:
    """Add the normalised identifier ``key`` to a links table (``kind``, ``value``).

    ``kind`` is taken as it is (validated links carry normalised kinds). Each kind's rows
    go through :func:`clean_text` and that kind's rule only, so the cost is one rule per
    row. Rows come back grouped by kind (kinds in sorted order); sort them if another order
    matters. A key may be null (a phone of too few digits) or empty (a payout of separators
    only): such a link identifies nothing.

    With ``placeholders`` (kind -> values) or ``common_placeholders`` (values of every
    kind), a Boolean column ``placeholder`` is added too: whether the key is the key of one
    of the kind's placeholders (:func:`placeholder_keys`).

    Examples
    --------
    >>> links = pl.DataFrame({"seller_id": ["a", "b"], "kind": ["payout", "payout"],
    ...                       "value": ["gb29 nwbk-6016", "GB29NWBK6016"]})
    >>> normalise_links(links)["key"].to_list()
    ['GB29NWBK6016', 'GB29NWBK6016']
    >>> flagged = normalise_links(links.with_columns(value=pl.Series(["N/A", "GB29"])),
    ...                           common_placeholders=["n/a"])
    >>> flagged.select("key", "placeholder").rows()
    [('NA', True), ('GB29', False)]
    """
    flag = placeholders is not None or len(common_placeholders) > 0
    kinds = links["kind"].unique().sort().to_list()
    if not kinds:
        empty = links.with_columns(pl.lit(None, dtype=pl.String).alias("key"))
        return empty.with_columns(pl.lit(False).alias("placeholder")) if flag else empty
    known = placeholder_keys(kinds, placeholders or {}, common_placeholders) if flag else {}
    frame = links.lazy()
    parts = []
    for kind in kinds:
        key = _kind_key(kind, pl.col(value))
        part = frame.filter(pl.col("kind") == kind).with_columns(key.alias("key"))
        if flag:
            keys = pl.Series(known.get(kind, []), dtype=pl.String)
            part = part.with_columns(pl.col("key").is_in(keys.implode()).alias("placeholder"))
        parts.append(part)
    return pl.concat(parts, parallel=True).collect()


def _kind_key(kind: str | None, value: pl.Expr) -> pl.Expr:
    rule = NORMALISERS.get(kind, normalise_plain) if kind is not None else normalise_plain
    return rule(clean_text(value.cast(pl.String)))


def placeholder_keys(
    kinds: Sequence[str],
    placeholders: Mapping[str, Sequence[str]],
    common_placeholders: Sequence[str] = (),
) -> dict[str, list[str]]:
    """The keys of each kind's placeholders: ``common_placeholders`` and its own, normalised
    by the kind's rules (sorted, distinct; a placeholder whose key is null or empty is
    left out, as such a value binds nobody anyway).

    Examples
    --------
    >>> placeholder_keys(["phone", "email"], {"email": ["Test@Test.com "]}, ["N/A", "0"])
    {'phone': [], 'email': ['0', 'n/a', 'test@test.com']}
    """
    keys: dict[str, list[str]] = {}
    for kind in kinds:
        values = pl.Series([*common_placeholders, *placeholders.get(kind, ())], dtype=pl.String)
        found = pl.select(_kind_key(kind, pl.lit(values))).to_series()
        keys[kind] = found.filter(found.is_not_null() & (found != "")).unique().sort().to_list()
    return keys
