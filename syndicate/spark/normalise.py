"""Identifier normalisation as Spark Column expressions, by the rules of the Polars engine.

Every function here returns a :class:`pyspark.sql.Column` built from Spark SQL functions
only (no Python UDF), equal value for value to its namesake in
:mod:`syndicate.graphs.normalise`; ``tests/test_spark_normalise.py`` checks that on one
shared table of tricky inputs (:mod:`tests.spark_cases`) and on every Unicode code point.

Where the two engines differ, and how this module closes the gap:

Character classes
    Polars' regexes are Unicode-aware (``\\s``, ``\\d``, ``\\w``, ``\\p{Cf}`` follow the
    Unicode tables of Rust's ``regex`` crate) and ``strip_chars`` trims Unicode white space;
    Java's ``\\s``, ``\\d`` and ``\\w`` are ASCII-only, its ``\\p{Cf}`` follows the JDK's
    (older) Unicode, and Spark's ``trim`` removes only U+0020. So no class is left to Java:
    each one (white space, decimal digits, word characters, the invisible characters of
    :data:`syndicate.graphs.normalise.INVISIBLE`) is read off the installed Polars once per
    process, by testing every code point (:func:`polars_class`, about 0.2 s), and written
    into the Java regex as explicit ranges. The classes are the Polars engine's by
    construction, whatever its Unicode version.
Regex anchors and dots
    Java's ``$`` also matches before a final line terminator and its ``.`` stops at ``\\r``,
    U+0085, U+2028 and U+2029, where Rust's ``$`` is the end of the text and ``.`` stops at
    ``\\n`` only; the patterns here use ``\\z`` and ``[^\\n]``.
Unicode NFKC
    ``pyspark.sql.functions`` has no Unicode normalisation (checked in pyspark 4.3). Spark
    ships ICU4J (for collations), whose static ``com.ibm.icu.text.Normalizer.compose(text,
    true)`` is NFKC and can be called with Spark SQL's ``reflect``: a JVM call, no Python
    worker. As in Polars, it (and the removal of invisible characters) runs only on values
    that are not all ASCII (``octet_length != char_length``). Over every code point, in
    blocks, it equals Polars' ``str.normalize("NFKC")`` (ICU4J 78 in pyspark 4.3).
Case
    Spark's ``lower`` / ``upper`` (ICU case mappings in Spark 4) equal Polars'
    ``to_lowercase`` / ``to_uppercase`` over every code point, final sigma included.
Kinds
    Kind names are normalised by :func:`syndicate.config.normalise_kind` (Python), as in
    validation: the few distinct spellings are collected to the driver, named there, and
    mapped back with a literal map (:func:`normalise_kinds`).
Placeholders
    The placeholder keys of each kind are computed on the driver by the Polars engine
    (:func:`syndicate.graphs.normalise.placeholder_keys`): a few dozen short strings.

Examples
--------
>>> from syndicate.spark.session import local_session
>>> spark = local_session()                                  # doctest: +SKIP
>>> frame = spark.createDataFrame([("John.Doe+x@GoogleMail.com",)], ["value"])  # doctest: +SKIP
>>> frame.select(kind_key("email", frame.value)).first()[0]                    # doctest: +SKIP
'johndoe@gmail.com'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from itertools import chain

import polars as pl
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from syndicate.config import Config, normalise_kind
from syndicate.graphs.normalise import _ADDRESS_WORDS, INVISIBLE, NORMALISERS, placeholder_keys

__all__ = [
    "clean_text",
    "kind_key",
    "normalise_address",
    "normalise_email",
    "normalise_kinds",
    "normalise_links",
    "normalise_payout",
    "normalise_phone",
    "normalise_plain",
    "polars_class",
    "strip_text",
]

_LAST_CODE_POINT = 0x10FFFF
_SURROGATES = range(0xD800, 0xE000)


@cache
def _code_points() -> tuple[list[int], pl.Series]:
    points = [c for c in range(_LAST_CODE_POINT + 1) if c not in _SURROGATES]
    return points, pl.Series([chr(c) for c in points], dtype=pl.String)


def _ranges(points: Sequence[int]) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    for point in points:
        if ranges and ranges[-1][1] == point - 1:
            ranges[-1] = (ranges[-1][0], point)
        else:
            ranges.append((point, point))
    return ranges


@cache
def polars_class(name: str, *, negate: bool = False) -> str:
    r"""A Java regex character class of the code points Polars puts in class ``name``.

    ``name`` is ``"space"`` (what ``str.strip_chars()`` trims), ``"whitespace"`` (regex
    ``\s``), ``"digit"`` (``\d``), ``"word"`` (``\w``) or ``"invisible"``
    (:data:`syndicate.graphs.normalise.INVISIBLE`); ``negate`` gives every other code
    point. Each code point is tested once per process (about 0.2 s).

    Java tests a class of ranges one range after the other, and ``\w`` is ~800 ranges.
    So the ranges are written as a balanced tree of intersections, ``[[lo-mid&&[...]]
    [mid-hi&&[...]]]``: about 20 comparisons per character instead of up to 800.

    Examples
    --------
    >>> r"\x{3000}" in polars_class("space")  # the ideographic space is trimmed
    True
    >>> r"\x{1C}" in polars_class("space")  # Python's str.isspace() says it is a space
    False
    """
    points, chars = _code_points()
    if name == "space":
        members = chars.str.strip_chars() == ""
    else:
        patterns = {"whitespace": r"\s", "digit": r"\d", "word": r"\w", "invisible": INVISIBLE}
        if name not in patterns:
            raise ValueError(
                f"unknown character class {name!r}; expected one of {sorted(patterns)}"
            )
        members = chars.str.contains(f"^{patterns[name]}$")
    ranges = _ranges([points[i] for i in members.arg_true().to_list()])
    if negate:
        ranges = _complement(ranges)
    return _java_class(ranges)


def _complement(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The code points 0..U+10FFFF outside ``ranges`` (surrogates included: none occur)."""
    outside: list[tuple[int, int]] = []
    start = 0
    for low, high in ranges:
        if low > start:
            outside.append((start, low - 1))
        start = high + 1
    if start <= _LAST_CODE_POINT:
        outside.append((start, _LAST_CODE_POINT))
    return outside


def _java_class(ranges: Sequence[tuple[int, int]], leaf: int = 8) -> str:
    def point(code: int) -> str:
        return rf"\x{{{code:X}}}"

    if len(ranges) <= leaf:
        return (
            "["
            + "".join(
                point(low) if low == high else f"{point(low)}-{point(high)}" for low, high in ranges
            )
            + "]"
        )
    middle = len(ranges) // 2
    halves = (ranges[:middle], ranges[middle:])
    return (
        "["
        + "".join(
            f"[{point(half[0][0])}-{point(half[-1][1])}&&{_java_class(half, leaf)}]"
            for half in halves
        )
        + "]"
    )


def strip_text(value: Column) -> Column:
    """Polars' ``str.strip_chars()``: leading and trailing Unicode white space."""
    space = polars_class("space")
    return F.regexp_replace(value, rf"^{space}+|{space}+\z", "")


_strip = strip_text


def clean_text(value: Column) -> Column:
    """Remove invisible characters and apply NFKC; values that are all ASCII pass untouched.

    The NFKC step is ICU4J's ``Normalizer.compose(text, true)`` through Spark SQL's
    ``reflect`` (see the module notes).
    """
    visible = F.regexp_replace(value, polars_class("invisible"), "")
    nfkc = F.call_function(
        "reflect", F.lit("com.ibm.icu.text.Normalizer"), F.lit("compose"), visible, F.lit(True)
    )
    wide = F.octet_length(value) != F.char_length(value)
    return F.when(wide, nfkc).otherwise(value)


def normalise_plain(value: Column) -> Column:
    """Trim and case-fold: devices, IPs and kinds without a normaliser of their own."""
    return F.lower(_strip(value))


def normalise_payout(value: Column) -> Column:
    """Upper-case and drop separators (white space, ``-``, ``.``, ``/``, ``_``)."""
    separators = "[" + polars_class("whitespace") + r"\-./_]+"
    return F.regexp_replace(F.upper(value), separators, "")


def normalise_email(value: Column) -> Column:
    """Lower-case, drop ``+tags``; for Gmail also drop dots and map ``googlemail.com``."""
    text = F.lower(_strip(value))
    local = F.regexp_replace(F.regexp_extract(text, r"^([^@]*)@", 1), r"\+[^\n]*\z", "")
    domain = _strip(F.regexp_extract(text, r"@([^@]*)\z", 1))
    domain = F.when(domain == "googlemail.com", F.lit("gmail.com")).otherwise(domain)
    local = F.when(domain == "gmail.com", F.replace(local, F.lit("."), F.lit(""))).otherwise(local)
    ats = F.char_length(text) - F.char_length(F.replace(text, F.lit("@"), F.lit("")))
    is_address = (ats == 1) & (F.char_length(local) > 0)
    return F.when(is_address, F.concat(local, F.lit("@"), domain)).otherwise(text)


def normalise_phone(
    value: Column, *, default_country_code: str = "1", national_digits: int = 10
) -> Column:
    """``+`` and the digits, with the default country code added to national numbers;
    null for fewer than 7 digits (a placeholder, not a number)."""
    text = F.replace(_strip(value), F.lit("(0)"), F.lit(""))
    digits = F.regexp_replace(text, polars_class("digit", negate=True), "")
    international = text.startswith("+") | text.startswith("(+")
    n = F.char_length(digits)
    return (
        F.when(n < 7, F.lit(None).cast("string"))
        .when(
            ~international & digits.startswith("00"),
            F.concat(F.lit("+"), F.substring(digits, 3, 1 << 30)),
        )
        .when(
            ~international & (n == national_digits),
            F.concat(F.lit("+" + default_country_code), digits),
        )
        .otherwise(F.concat(F.lit("+"), digits))
    )


def normalise_address(value: Column) -> Column:
    """Case, punctuation, unit words, street types and compass words made uniform.

    The words (runs of word characters, ``#`` standing as the word ``unit``) are mapped
    through the Polars engine's table of spellings and joined by single spaces; a run of
    ``unit`` words becomes one.
    """
    text = F.replace(F.lower(value), F.lit("#"), F.lit(" unit "))
    # Runs of other characters become one space, then split on the space: Spark's `split`
    # compiles its pattern for every row (String.split), `regexp_replace` once per task, and
    # this pattern is large (Polars' word characters, spelled out).
    spaced = F.regexp_replace(text, polars_class("word", negate=True) + "+", " ")
    words = F.filter(F.split(spaced, " "), lambda w: w != "")
    spellings = F.create_map(*(F.lit(x) for x in chain.from_iterable(_ADDRESS_WORDS.items())))
    short = F.transform(words, lambda w: F.coalesce(spellings[w], w))
    joined = F.array_join(short, " ")
    return F.regexp_replace(joined, r"(?<![^ ])unit(?: unit)+(?![^ ])", "unit")


_RULES = {
    "payout": normalise_payout,
    "email": normalise_email,
    "phone": normalise_phone,
    "address": normalise_address,
}


def kind_key(kind: str | None, value: Column) -> Column:
    """The key of a value of ``kind``: :func:`clean_text`, then the kind's rule."""
    rule = _RULES.get(kind, normalise_plain) if kind is not None else normalise_plain
    return rule(clean_text(value.cast("string")))


def _check_rules_cover_polars() -> None:
    extra = set(NORMALISERS) - {"device", "ip", *_RULES}
    if extra:  # a kind the Polars engine learnt to normalise that this module does not know
        raise RuntimeError(f"syndicate.spark.normalise has no rule for kinds {sorted(extra)}")


def normalise_kinds(kinds: Sequence[str | None]) -> dict[str, str]:
    """Each spelling of a kind mapped to its name (:func:`syndicate.config.normalise_kind`)."""
    return {kind: normalise_kind(kind) for kind in kinds if kind is not None}


def normalise_links(
    links: DataFrame,
    *,
    value: str = "value",
    placeholders: Mapping[str, Sequence[str]] | None = None,
    common_placeholders: Sequence[str] = (),
    config: Config | None = None,
) -> DataFrame:
    """Name the kinds and add the normalised identifier ``key`` to a links DataFrame.

    The Spark counterpart of :func:`syndicate.graphs.normalise.normalise_links` preceded by
    validation's kind naming: ``kind`` becomes its canonical name, ``key`` is the value
    normalised by its kind's rule (null for a phone of too few digits, empty when nothing
    is left), and with placeholders (``placeholders``, ``common_placeholders``, or those of
    ``config``) a Boolean ``placeholder`` says whether the key is a placeholder's key.
    Rows keep their order and other columns; nothing is dropped.

    One Spark job collects the distinct kind spellings (a handful) to the driver.
    """
    _check_rules_cover_polars()
    if config is not None:
        placeholders = config.placeholders
        common_placeholders = config.common_placeholders
    spellings = [row[0] for row in links.select(F.col("kind").cast("string")).distinct().collect()]
    names = normalise_kinds(spellings)
    if names:
        name_of = F.create_map(*(F.lit(x) for x in chain.from_iterable(names.items())))
        named = links.withColumn("kind", name_of[F.col("kind").cast("string")])
    else:
        named = links.withColumn("kind", F.lit(None).cast("string"))
    kinds = sorted(set(names.values()))
    branches: Column | None = None
    for kind in kinds:
        if kind not in _RULES:
            continue
        rule = kind_key(kind, F.col(value))
        branches = (
            F.when(F.col("kind") == kind, rule)
            if branches is None
            else branches.when(F.col("kind") == kind, rule)
        )
    plain = kind_key(None, F.col(value))
    key = plain if branches is None else branches.otherwise(plain)
    keyed = named.withColumn("key", key)
    if placeholders is None and not common_placeholders:
        return keyed
    known = placeholder_keys(kinds, placeholders or {}, common_placeholders)
    pairs = [(kind, keys) for kind, keys in known.items() if keys]
    if not pairs:
        return keyed.withColumn("placeholder", F.lit(False))
    by_kind = F.create_map(
        *chain.from_iterable((F.lit(kind), F.array(*map(F.lit, keys))) for kind, keys in pairs)
    )
    listed = F.coalesce(F.array_contains(by_kind[F.col("kind")], F.col("key")), F.lit(False))
    return keyed.withColumn("placeholder", listed)
