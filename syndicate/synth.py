"""A synthetic marketplace with planted seller rings, hard enough to test the engine.

The generator is vectorised (numpy and Polars; no Python loop over sellers or links) and
deterministic by seed. What it plants, with the defaults of :class:`SynthConfig`:

* **Legit sellers** with their own identifiers: 1 + Poisson(0.35) devices, one address,
  payout account, email and phone, 1 + Poisson(0.3) IPs, and tabular columns
  (``listings``, ``orders_30d``, ``gmv_30d``, ``return_rate``, ``rating``, ``category``).
* **Rings** (``ring_share`` = 3% of sellers): sizes heavy-tailed, P(size = k) ∝ k^-2 on
  3..200. Each ring has a small pool of values per kind (5–30% of its size) and each member,
  for each kind, either draws from the pool or, with ``ring_fresh_prob`` (35–60% by kind),
  uses a fresh value nobody shares; every member shares at least its ring's anchor kind.
  Members onboard in a burst (days apart, not years) and differ only mildly from legit
  sellers in the tabular columns.
* **Obfuscation**: each link is written in a variant spelling with ``obfuscation_prob``
  (50%): addresses (case, ``Street``/``St``/``St.``, ``Apt``/``#``/``Unit``, punctuation),
  emails (case, ``+tags``, dots and ``googlemail.com`` for Gmail), phones (``+1 (415) …``,
  ``001 …``, national format for +1 numbers), payout accounts (spaces, dashes, case),
  devices and IPs (case, surrounding spaces).
* **Hubs**: fulfilment-warehouse addresses (``warehouse_share`` = 4% of sellers add one),
  payment-aggregator payout accounts (3% are paid through one) and public Wi-Fi IPs (6%
  are seen on one), about ``hub_mean_sellers`` (1000) sellers per hub value on large
  marketplaces; ring members touch hubs as often as anyone.
* **Legit groups** (false-positive bait): households (``household_share`` = 6% of
  sellers, 2–4 members, shared address, a shared IP for 70%, a shared device for 25%) and
  multi-store businesses (``business_share`` = 3%, 2–8 stores, shared payout for 90%,
  address for 80%, phone for 50%, an office device for 40%), onboarding over months.
* **Bridges**: for ``bridge_share`` (10%) of rings, one member also uses a device of
  another ring (a chain value, for a chain ring).
* **Camouflage** (off by default; presets in :data:`CAMOUFLAGE_PRESETS`): a share
  ``camouflage_share`` of ring members each also use ``camouflage_per_member`` *popular*
  identifiers of ``camouflage_kinds`` (internet-café or carrier IPs, shared shop tablets),
  each shared by 0.8–1.2 times ``camouflage_sellers`` (36) sellers, always below the hub
  limit of 60. Members are dealt to them at random across all rings, so each mixes several
  rings, and ``camouflage_honest_share`` (50%) of each one's users are honest sellers (solo
  or in a legit group, one popular identifier each). On a large marketplace this glues the
  rings and thousands of honest sellers into one giant component, as seen on real ones.
* **Chain rings** (off by default): for ``ring_chain_share`` of rings, member *i* shares one
  value of the ring's anchor kind with member *i + 1* only, instead of drawing from pools;
  the ring is a path, connected but sparse (its members use fresh values for the rest).
* **Dirt** (``dirty_share`` = 0.05% of links per sort): exact duplicate links, links with a
  blank value, and links and labels of sellers missing from the sellers table, appended at
  the end of ``links`` and ``labels`` for validation to refuse and count
  (:func:`dirty_row_counts`). ``link_truth`` holds the clean links only.
* **Labels**, sparse: ring members are known bad with ``ring_label_prob`` (25%); lone bad
  sellers (``lone_bad_share`` = 0.2% of solo sellers) are known bad with 50%; legit
  sellers are known good with ``good_label_prob`` (3%).

Camouflage and chains draw from random generators of their own: with them on, ``sellers``,
``truth`` and ``labels`` are those of the same seed without them (camouflage alone only adds
clean links), and with both off every table is exactly what it was before the knobs existed.

``truth`` holds ``seller_id``, ``ring`` (null if none), ``is_bad`` and ``legit_group``
(``household-…`` or ``business-…``, null if none). ``link_truth`` holds each link with the
identity it spells (``identifier``, one per real-world value, whatever the spelling) and
its ``role`` (own, ring, household, business, hub, bridge, camouflage; chain values are
``ring``).

**Real-like preset** (:func:`generate_real_like`, ``syndicate synth --preset real-like``):
a marketplace shaped like public e-commerce fraud tables (one row per user with one
device id, one IP address, signup and purchase times, about 9% fraud), configured by
:class:`RealLikeConfig`. Every user has exactly one ``device`` and one ``ip`` link; about
``shared_device_share`` (2%) of devices are shared by 2–10 users, ``shared_device_fraud_share``
(85%) of those users being fraudsters in rings that sign up minutes apart and often share
an IP too; some honest households and offices share an IP (or a family computer); the rest
of the fraud are lone fraudsters. Fraud orders within seconds of signing up
(``first_order_delay_s``); ``purchase_value``, ``age``, ``source``, ``browser`` and ``sex``
carry a weak signal. ``label_share`` (40%) of users are labelled in proportion to the
classes, and ``label_noise`` (5%) of those labels are flipped. Values are written cleanly
(no variant spellings and no dirty rows), as in such tables.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

import numpy as np
import polars as pl

from syndicate.errors import ConfigError
from syndicate.io import (
    ensure_output_dir,
    record_written,
    refuse_foreign_files,
    write_parquet_atomic,
)

__all__ = [
    "CAMOUFLAGE_PRESETS",
    "KINDS",
    "SYNTH_PRESETS",
    "Marketplace",
    "RealLikeConfig",
    "SynthConfig",
    "camouflage_config",
    "dirty_row_counts",
    "generate_marketplace",
    "generate_real_like",
    "with_label_share",
    "write_marketplace",
]

#: Identifier kinds the generator plants, in a fixed order.
KINDS: tuple[str, ...] = ("device", "address", "payout", "email", "phone", "ip")
_DEVICE, _ADDRESS, _PAYOUT, _EMAIL, _PHONE, _IP = range(6)

_ROLES = ("own", "ring", "household", "business", "hub", "bridge", "camouflage")
_OWN, _RING, _HOUSEHOLD, _BUSINESS, _HUB, _BRIDGE, _CAMOUFLAGE = range(7)

#: Popular identifiers stay below the engine's default hub limit (60 sellers per value).
_CAMOUFLAGE_MAX_SELLERS = 59
#: Seeds the generators of camouflage and chain rings apart from the main stream, so that
#: turning them on leaves every other draw (and table) as it was.
_EXTRA_SEED = 1234
_CHAIN_STREAM, _CAMOUFLAGE_STREAM, _EXTRA_RENDER_STREAM = range(3)

_SOLO, _RING_GROUP, _HOUSEHOLD_GROUP, _BUSINESS_GROUP = range(4)


@dataclass(frozen=True)
class SynthConfig:
    """Parameters of the synthetic marketplace. Shares are of all sellers unless noted."""

    n_sellers: int = 100_000
    seed: int = 0
    ring_share: float = 0.03
    ring_size_min: int = 3
    ring_size_max: int = 200
    ring_size_exponent: float = 2.0
    household_share: float = 0.06
    business_share: float = 0.03
    lone_bad_share: float = 0.002
    dirty_share: float = 0.0005
    bridge_share: float = 0.10
    ring_fresh_prob: tuple[float, ...] = (0.35, 0.5, 0.5, 0.6, 0.6, 0.5)
    ring_pool_fraction: tuple[tuple[float, float], ...] = (
        (0.05, 0.2),
        (0.05, 0.15),
        (0.05, 0.2),
        (0.1, 0.3),
        (0.1, 0.3),
        (0.1, 0.3),
    )
    warehouse_share: float = 0.04
    aggregator_share: float = 0.03
    wifi_share: float = 0.06
    hub_mean_sellers: int = 1000
    obfuscation_prob: float = 0.5
    ring_label_prob: float = 0.25
    lone_bad_label_prob: float = 0.5
    good_label_prob: float = 0.03
    start: datetime = datetime(2023, 1, 1)
    end: datetime = datetime(2026, 6, 30)
    camouflage_share: float = 0.0
    camouflage_per_member: int = 1
    camouflage_sellers: int = 36
    camouflage_honest_share: float = 0.5
    camouflage_kinds: tuple[str, ...] = ("ip", "device")
    ring_chain_share: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.n_sellers, int) or self.n_sellers < 10:
            raise ConfigError(
                f"n_sellers must be an integer of at least 10; got {self.n_sellers!r}"
            )
        if not 0 <= self.seed < 2**63:
            raise ConfigError(f"seed must be in [0, 2**63); got {self.seed!r}")
        if not 2 <= self.ring_size_min <= self.ring_size_max:
            raise ConfigError(
                "need 2 <= ring_size_min <= ring_size_max; "
                f"got {self.ring_size_min!r} and {self.ring_size_max!r}"
            )
        for field in fields(self):
            value = getattr(self, field.name)
            if (
                field.name.endswith(("_share", "_prob"))
                and isinstance(value, float)
                and not 0 <= value <= 1
            ):
                raise ConfigError(f"{field.name} must be in [0, 1]; got {value!r}")
        grouped = self.ring_share + self.household_share + self.business_share
        if grouped > 0.9:
            raise ConfigError(
                "ring_share + household_share + business_share must leave solo sellers; "
                f"got {grouped!r}"
            )
        if len(self.ring_fresh_prob) != len(KINDS) or len(self.ring_pool_fraction) != len(KINDS):
            raise ConfigError(
                f"ring_fresh_prob and ring_pool_fraction need one entry per kind {KINDS}"
            )
        if self.end <= self.start:
            raise ConfigError(f"end must be after start; got {self.start} and {self.end}")
        self._check_camouflage()

    def _check_camouflage(self) -> None:
        for name in ("camouflage_share", "camouflage_honest_share", "ring_chain_share"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ConfigError(f"{name} must be in [0, 1]; got {value!r}")
        if self.camouflage_honest_share == 1:
            raise ConfigError(
                "camouflage_honest_share must be below 1 (popular identifiers hold ring members); "
                f"got {self.camouflage_honest_share!r}"
            )
        per_member = self.camouflage_per_member
        if isinstance(per_member, bool) or not isinstance(per_member, int) or per_member < 1:
            raise ConfigError(
                f"camouflage_per_member must be an integer of at least 1; got {per_member!r}"
            )
        sellers = self.camouflage_sellers
        if (
            isinstance(sellers, bool)
            or not isinstance(sellers, int)
            or not 2 <= sellers <= _CAMOUFLAGE_MAX_SELLERS
        ):
            raise ConfigError(
                "camouflage_sellers must be an integer with 2 <= camouflage_sellers < 60 "
                f"(below the hub limit); got {sellers!r}"
            )
        kinds = self.camouflage_kinds
        if (
            isinstance(kinds, str)
            or not isinstance(kinds, tuple | list)
            or not kinds
            or any(kind not in KINDS for kind in kinds)
        ):
            raise ConfigError(
                f"camouflage_kinds must be a non-empty tuple of kinds from {KINDS}; got {kinds!r}"
            )
        object.__setattr__(self, "camouflage_kinds", tuple(kinds))


#: Overrides of :class:`SynthConfig` for :func:`camouflage_config` (``syndicate synth
#: --camouflage``): ``off`` is today's marketplace; ``light`` gives 30% of ring members one
#: popular IP; ``heavy`` gives every ring member two popular IPs or devices and makes a fifth
#: of the rings chains.
CAMOUFLAGE_PRESETS: Mapping[str, Mapping[str, object]] = MappingProxyType(
    {
        "off": MappingProxyType({"camouflage_share": 0.0, "ring_chain_share": 0.0}),
        "light": MappingProxyType(
            {
                "camouflage_share": 0.3,
                "camouflage_per_member": 1,
                "camouflage_kinds": ("ip",),
                "ring_chain_share": 0.0,
            }
        ),
        "heavy": MappingProxyType(
            {
                "camouflage_share": 1.0,
                "camouflage_per_member": 2,
                "camouflage_kinds": ("ip", "device"),
                "ring_chain_share": 0.2,
            }
        ),
    }
)


def camouflage_config(
    preset: str, config: SynthConfig | None = None, **overrides: object
) -> SynthConfig:
    """A :class:`SynthConfig` with a camouflage preset of :data:`CAMOUFLAGE_PRESETS` applied.

    ``config`` (defaults when omitted) is the base; ``overrides`` are applied after the
    preset, so they win.

    Examples
    --------
    >>> cfg = camouflage_config("heavy", n_sellers=5000, seed=2)
    >>> cfg.camouflage_share, cfg.camouflage_per_member, cfg.ring_chain_share, cfg.n_sellers
    (1.0, 2, 0.2, 5000)
    >>> camouflage_config("off") == SynthConfig()
    True
    """
    if preset not in CAMOUFLAGE_PRESETS:
        raise ConfigError(
            f"unknown camouflage preset {preset!r}; choose one of {', '.join(CAMOUFLAGE_PRESETS)}"
        )
    return _with_overrides(config or SynthConfig(), {**CAMOUFLAGE_PRESETS[preset], **overrides})


_Config = TypeVar("_Config", "SynthConfig", "RealLikeConfig")


def _with_overrides(base: _Config, overrides: Mapping[str, object]) -> _Config:
    if not overrides:
        return base
    unknown = sorted(set(overrides) - {f.name for f in fields(base)})
    if unknown:
        raise ConfigError(f"unknown {type(base).__name__} fields: {', '.join(unknown)}")
    return type(base)(**{**asdict(base), **overrides})


#: Names of ``syndicate synth --preset``: ``marketplace`` is :func:`generate_marketplace`
#: (with its camouflage presets), ``real-like`` is :func:`generate_real_like`.
SYNTH_PRESETS: tuple[str, ...] = ("marketplace", "real-like")


@dataclass(frozen=True)
class RealLikeConfig:
    """Parameters of the real-like marketplace (:func:`generate_real_like`).

    Shares are of all users unless noted. ``shared_device_share`` is a share of *devices*
    (those used by two users or more), ``shared_device_fraud_share`` the expected share of
    fraudsters among the users of shared devices, and ``label_noise`` the share of labels
    flipped. Fraud ``fraud_share`` is reached by adding lone fraudsters to the ring members
    (never fewer than the ring members). ``ring_signup_spread_s`` bounds the seconds over
    which a ring's members sign up; ``*_quick_prob`` are the chances of a first order within
    a minute of signing up.
    """

    n_sellers: int = 40_000
    seed: int = 0
    fraud_share: float = 0.09
    shared_device_share: float = 0.02
    device_group_min: int = 2
    device_group_max: int = 10
    shared_device_fraud_share: float = 0.85
    ring_signup_spread_s: tuple[float, float] = (20.0, 300.0)
    ring_ip_prob: float = 0.5
    household_ip_prob: float = 0.8
    ip_household_share: float = 0.03
    ip_office_share: float = 0.01
    ring_quick_prob: float = 0.9
    lone_quick_prob: float = 0.6
    honest_quick_prob: float = 0.01
    label_share: float = 0.4
    label_noise: float = 0.05
    start: datetime = datetime(2025, 1, 1)
    days: int = 365

    def __post_init__(self) -> None:
        n = self.n_sellers
        if isinstance(n, bool) or not isinstance(n, int) or n < 10:
            raise ConfigError(f"n_sellers must be an integer of at least 10; got {n!r}")
        if (
            isinstance(self.seed, bool)
            or not isinstance(self.seed, int)
            or not 0 <= self.seed < 2**63
        ):
            raise ConfigError(f"seed must be in [0, 2**63); got {self.seed!r}")
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name.endswith(("_share", "_prob", "_noise")) and (
                isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1
            ):
                raise ConfigError(f"{field.name} must be in [0, 1]; got {value!r}")
        if self.label_noise > 0.5:
            raise ConfigError(f"label_noise must be at most 0.5; got {self.label_noise!r}")
        low, high = self.device_group_min, self.device_group_max
        if not (isinstance(low, int) and isinstance(high, int) and 2 <= low <= high):
            raise ConfigError(
                f"need 2 <= device_group_min <= device_group_max; got {low!r} and {high!r}"
            )
        spread = tuple(self.ring_signup_spread_s)
        if len(spread) != 2 or not 0 <= spread[0] <= spread[1]:
            raise ConfigError(
                f"ring_signup_spread_s must be (low, high) with 0 <= low <= high; got {spread!r}"
            )
        object.__setattr__(self, "ring_signup_spread_s", (float(spread[0]), float(spread[1])))
        if isinstance(self.days, bool) or not isinstance(self.days, int) or self.days < 1:
            raise ConfigError(f"days must be an integer of at least 1; got {self.days!r}")


@dataclass(frozen=True)
class Marketplace:
    """A generated marketplace: the four tables of a run plus its ground truth."""

    sellers: pl.DataFrame
    links: pl.DataFrame
    labels: pl.DataFrame
    truth: pl.DataFrame
    link_truth: pl.DataFrame
    config: SynthConfig | RealLikeConfig


# ---------------------------------------------------------------------------------------
# identifier spelling
#
# Each renderer spells entity numbers of one kind: canonically (the ``identifier``), or with
# ``obfuscate`` in a random variant spelling per entity, drawn from ``rng``. Strings are built
# with Polars expressions over small vocabularies; numpy only does the integer arithmetic.

# fmt: off
_STREET_BASES = (
    "Oak", "Maple", "Pine", "Cedar", "Elm", "Birch", "Willow", "Ash", "Spruce", "Walnut", "Cherry",
    "Chestnut", "Hickory", "Poplar", "Laurel", "Magnolia", "Juniper", "Sycamore", "Aspen", "Alder",
    "Hawthorn", "Linden", "Holly", "Cypress", "Hazel", "Rowan", "Sequoia", "Redwood", "Beech",
    "Cottonwood", "Meadow", "River", "Lake", "Hill", "Valley", "Forest", "Park", "Garden",
    "Harbor", "Sunset",
)
_CITIES = (
    "Springfield", "Riverton", "Fairview", "Greenville", "Franklin", "Clinton", "Georgetown",
    "Salem", "Madison", "Arlington", "Ashland", "Burlington", "Manchester", "Milton", "Newport",
    "Oxford", "Dover", "Hudson", "Kingston", "Lexington", "Marion", "Auburn", "Bristol", "Camden",
    "Dayton", "Florence", "Jackson", "Lebanon", "Monroe", "Princeton", "Quincy", "Richmond",
    "Shelby", "Troy", "Union", "Vernon", "Warren", "Winchester", "Yorktown", "Avon", "Bedford",
    "Chester", "Denton", "Easton", "Fulton", "Hamilton", "Jasper", "Kent", "Lincoln", "Mayfield",
    "Norwood", "Oakland", "Plymouth", "Rockport", "Sharon", "Trenton", "Utica", "Waverly",
    "Weston", "Windsor",
)
_SYLLABLES_A = (
    "ka", "ma", "lo", "ri", "sa", "ja", "na", "be", "to", "el", "an", "mi", "da", "ro", "vi", "le",
    "ha", "ne", "co", "ju",
)
_SYLLABLES_B = (
    "ren", "tin", "la", "ra", "son", "na", "vin", "lie", "dan", "mon",
)
_LAST_A = (
    "smi", "joh", "wil", "bro", "gar", "mil", "dav", "rod", "mar", "her", "lop", "gon", "per",
    "tay", "moo", "and", "tho", "jac", "whi", "har",
)
_LAST_B = (
    "th", "son", "ez", "ton", "ley", "ner", "man", "ford", "wood", "well",
)
_STREET_QUALIFIERS = (
    "", "North ", "South ", "East ", "West ", "Old ", "New ", "Upper ", "Lower ", "Little ",
)
_STREET_NAMES = tuple(q + b for q in _STREET_QUALIFIERS for b in _STREET_BASES)  # 400 streets
# Rows: street types; columns: spellings (the first is canonical).
_STREET_TYPES = (
    ("Street", "St", "St.", "Str"),
    ("Avenue", "Ave", "Ave.", "Av"),
    ("Road", "Rd", "Rd.", "Road"),
    ("Boulevard", "Blvd", "Blvd.", "Boul"),
    ("Drive", "Dr", "Dr.", "Drv"),
    ("Lane", "Ln", "Ln.", "Lane"),
)
_STREET_TYPE_SPELLINGS = tuple(spelling for row in _STREET_TYPES for spelling in row)
_UNIT_PREFIXES = ("Apt ", "Apartment ", "#", "Unit ", "Apt. ", "No. ")
_ADDRESS_SEPARATORS = (", ", " ", " , ")
_FIRST_NAMES = tuple(a + b for b in _SYLLABLES_B for a in _SYLLABLES_A)  # 200 names
_LAST_NAMES = tuple(a + b for b in _LAST_B for a in _LAST_A)  # 200 names
_EMAIL_DOMAINS = (
    "gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "proton.me", "icloud.com", "gmx.de",
    "mail.com",
)
_GMAIL = _EMAIL_DOMAINS.index("gmail.com")
_PHONE_COUNTRIES = ("1", "1", "1", "1", "1", "1", "1", "44", "44", "49")
_BANKS = ("NWBK", "BARC", "DEUT", "COBA", "BNPA", "INGB", "RABO", "SOGE")
_IBAN_COUNTRIES = ("GB", "DE", "FR", "NL", "ES")
_CATEGORIES = (
    "electronics", "fashion", "home", "beauty", "toys", "sports", "books", "auto", "garden",
    "jewelry", "health", "pets",
)
# Two-character lower-case hex spellings of the bytes 0..255, as little-endian uint16.
_HEX_PAIRS = np.frombuffer(b"".join(f"{i:02x}".encode() for i in range(256)), dtype="<u2")
# fmt: on


def _permute(entity: np.ndarray, low: int, high: int, salt: int) -> tuple[np.ndarray, np.ndarray]:
    """A keyed bijection of [0, low * high), returned as (x % low, x // low) digits.

    Three Feistel rounds over the two digits, so that consecutive entity numbers spell
    unrelated values while distinct entities never collide.
    """
    if int(entity.max(initial=0)) >= low * high:
        raise ConfigError(f"too many identifiers for the synthetic value space ({low * high})")
    a, b = entity.astype(np.int64) % low, entity.astype(np.int64) // low
    for round_ in range(3):
        key = np.uint64(salt * 7919 + round_)
        a = (a + (_mix64(b.astype(np.uint64) ^ key) % np.uint64(low)).astype(np.int64)) % low
        b_key = _mix64(a.astype(np.uint64) ^ (key << np.uint64(20))) % np.uint64(high)
        b = (b + b_key.astype(np.int64)) % high
    return a, b


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a bijection of uint64."""
    z = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _hash_pick(entity: np.ndarray, salt: int, count: int) -> np.ndarray:
    """A hashed choice in [0, count) per entity, fixed for the entity."""
    return (_mix64(entity.astype(np.uint64) + np.uint64(salt)) % np.uint64(count)).astype(np.int64)


def _pick(vocabulary: tuple[str, ...], index: np.ndarray) -> pl.Series:
    """``vocabulary[index]`` as a Polars string column."""
    return pl.Series(vocabulary, dtype=pl.String).gather(index.astype(np.int64))


def _choices(rng: np.random.Generator, obfuscate: bool, low: int, high: int, n: int) -> np.ndarray:
    """Spelling choices in [low, high) when obfuscating, else 0 (the canonical choice)."""
    return rng.integers(low, high, n) if obfuscate else np.zeros(n, dtype=np.int64)


def _text(column: str, width: int = 0) -> pl.Expr:
    """An integer column as decimal text, zero-padded to ``width``."""
    text = pl.col(column).cast(pl.String)
    return text.str.zfill(width) if width else text


def _case(expr: pl.Expr, code: pl.Expr) -> pl.Expr:
    return (
        pl.when(code == 1)
        .then(expr.str.to_uppercase())
        .when(code == 2)
        .then(expr.str.to_lowercase())
        .otherwise(expr)
    )


def _render_address(entity: np.ndarray, obfuscate: bool, rng: np.random.Generator) -> pl.Series:
    low, rest = _permute(entity, 9973, 400 * 6 * 60, 17)
    number, x = low + 1, low * 400 * 6 * 60 + rest
    street, rest = rest % 400, rest // 400
    stype, rest = rest % 6, rest // 6
    city = rest % 60
    has_unit = (x % 7) < 3
    unit = (x // 7) % 300 + 1
    postcode = 10000 + city * 1400 + (street * 3) % 1400
    n = len(entity)
    type_spelling = _choices(rng, obfuscate, 0, 4, n)
    unit_spelling = _choices(rng, obfuscate, 0, len(_UNIT_PREFIXES), n)
    separator = _choices(rng, obfuscate, 0, len(_ADDRESS_SEPARATORS), n)
    case = _choices(rng, obfuscate, 0, 3, n)
    frame = pl.DataFrame(
        {
            "number": number,
            "street": _pick(_STREET_NAMES, street),
            "type": _pick(_STREET_TYPE_SPELLINGS, stype * 4 + type_spelling),
            "unit_prefix": _pick(_UNIT_PREFIXES, unit_spelling),
            "unit": unit,
            "has_unit": has_unit,
            "sep": _pick(_ADDRESS_SEPARATORS, separator),
            "city": _pick(_CITIES, city),
            "postcode": postcode,
            "case": case,
        }
    )
    unit_part = pl.when("has_unit").then(pl.concat_str("sep", "unit_prefix", _text("unit")))
    line = pl.concat_str(
        _text("number"),
        pl.lit(" "),
        "street",
        pl.lit(" "),
        "type",
        unit_part.otherwise(pl.lit("")),
        "sep",
        "city",
        pl.lit(" "),
        _text("postcode"),
    )
    return frame.select(_case(line, pl.col("case")).alias("value")).to_series()


def _render_email(entity: np.ndarray, obfuscate: bool, rng: np.random.Generator) -> pl.Series:
    first, rest = _permute(entity, 200, 200 * 10000, 29)
    last, number = rest % 200, rest // 200 % 10000
    domain = _hash_pick(entity, 7, len(_EMAIL_DOMAINS))
    gmail = domain == _GMAIL
    n = len(entity)
    # 0 canonical, 1 capitalised, 2 +tag, 3 dots moved (Gmail) or +tag, 4 upper case, 5 googlemail
    style = _choices(rng, obfuscate, 1, 6, n)
    style = np.where(~gmail & (style == 5), 2, style)
    tag = _choices(rng, obfuscate, 1, 99, n)
    moved = (style == 3) & gmail  # Gmail ignores dots: drop them (even tag) or add one (odd)
    first_names = (*_FIRST_NAMES, *(name.capitalize() for name in _FIRST_NAMES))
    frame = pl.DataFrame(
        {
            "first": _pick(first_names, first + len(_FIRST_NAMES) * (style == 1)),
            "dot_after_first": _pick(("", "."), moved & (tag % 2 == 1)),
            "number": number,
            "dot_after_number": _pick((".", ""), moved & (tag % 2 == 0)),
            "last": _pick(_LAST_NAMES, last),
            "with_tag": (style == 2) | ((style == 3) & ~gmail),
            "tag": tag,
            "domain": _pick(
                (*_EMAIL_DOMAINS, "googlemail.com"),
                np.where(style == 5, len(_EMAIL_DOMAINS), domain),
            ),
            "upper": style == 4,
        }
    )
    address = pl.concat_str(
        "first",
        "dot_after_first",
        _text("number"),
        "dot_after_number",
        "last",
        pl.when("with_tag")
        .then(pl.concat_str(pl.lit("+shop"), _text("tag")))
        .otherwise(pl.lit("")),
        pl.lit("@"),
        "domain",
    )
    value = pl.when("upper").then(address.str.to_uppercase()).otherwise(address)
    return frame.select(value.alias("value")).to_series()


def _render_phone(entity: np.ndarray, obfuscate: bool, rng: np.random.Generator) -> pl.Series:
    area, line = _permute(entity, 800, 10_000_000, 41)
    country = _hash_pick(entity, 3, len(_PHONE_COUNTRIES))
    frame = pl.DataFrame(
        {
            "cc": _pick(_PHONE_COUNTRIES, country),
            "area": area + 200,
            "line": line,
            "a3": line // 10000,
            "b4": line % 10000,
            "style": _choices(rng, obfuscate, 1, 6, len(entity)),
        }
    )
    cc, area_text, line_text = pl.col("cc"), _text("area"), _text("line", 7)
    a3, b4 = _text("a3", 3), _text("b4", 4)
    # National format only exists for +1 numbers here; others fall back to spaced international.
    style = pl.when((cc != "1") & (pl.col("style") >= 4)).then(1).otherwise(pl.col("style"))
    value = (
        pl.when(style == 0)
        .then(pl.concat_str(pl.lit("+"), cc, area_text, line_text))
        .when(style == 1)
        .then(
            pl.concat_str(pl.lit("+"), cc, pl.lit(" "), area_text, pl.lit(" "), a3, pl.lit(" "), b4)
        )
        .when(style == 2)
        .then(
            pl.concat_str(
                pl.lit("+"), cc, pl.lit(" ("), area_text, pl.lit(") "), a3, pl.lit("-"), b4
            )
        )
        .when(style == 3)
        .then(pl.concat_str(pl.lit("00"), cc, pl.lit(" "), area_text, pl.lit(" "), line_text))
        .when(style == 4)
        .then(pl.concat_str(pl.lit("("), area_text, pl.lit(") "), a3, pl.lit("-"), b4))
        .otherwise(pl.concat_str(area_text, line_text))
    )
    return frame.select(value.alias("value")).to_series()


def _render_payout(entity: np.ndarray, obfuscate: bool, rng: np.random.Generator) -> pl.Series:
    mixed = _mix64(entity.astype(np.uint64) + np.uint64(11))
    high, low = _permute(entity, 10_000_000, 10_000_000, 11)
    account = high * 10_000_000 + low  # 14 digits
    frame = pl.DataFrame(
        {
            "country": _pick(_IBAN_COUNTRIES, mixed % np.uint64(len(_IBAN_COUNTRIES))),
            "check": (mixed >> np.uint64(16)) % np.uint64(97) + np.uint64(2),
            "bank": _pick(_BANKS, (mixed >> np.uint64(8)) % np.uint64(len(_BANKS))),
            "g1": account // 10**10,
            "g2": account // 10**6 % 10**4,
            "g3": account // 100 % 10**4,
            "g4": account % 100,
            "style": _choices(rng, obfuscate, 1, 4, len(entity)),
        }
    )
    # 22 characters (country, check digits, bank, account), in groups of four.
    groups = [
        pl.concat_str("country", _text("check", 2)),
        pl.col("bank"),
        _text("g1", 4),
        _text("g2", 4),
        _text("g3", 4),
        _text("g4", 2),
    ]
    iban = pl.concat_str(groups)
    value = (
        pl.when(pl.col("style") == 1)
        .then(pl.concat_str(groups, separator=" "))
        .when(pl.col("style") == 2)
        .then(pl.concat_str(groups, separator="-"))
        .when(pl.col("style") == 3)
        .then(iban.str.to_lowercase())
        .otherwise(iban)
    )
    return frame.select(value.alias("value")).to_series()


def _hex16(entity: np.ndarray, salt: int) -> pl.Series:
    """16 lower-case hex digits per entity, from a hash of it."""
    mixed = _mix64(entity.astype(np.uint64) * np.uint64(2654435761) + np.uint64(salt))
    pairs = _HEX_PAIRS[mixed.astype(">u8").view(np.uint8).reshape(-1, 8)]  # big-endian bytes
    return pl.Series(np.ascontiguousarray(pairs).view("S16").ravel()).cast(pl.String)


def _render_device(entity: np.ndarray, obfuscate: bool, rng: np.random.Generator) -> pl.Series:
    frame = pl.DataFrame(
        {"device": _hex16(entity, 5), "style": _choices(rng, obfuscate, 1, 3, len(entity))}
    )
    device = pl.col("device")
    value = (
        pl.when(pl.col("style") == 1)
        .then(device.str.to_uppercase())
        .when(pl.col("style") == 2)
        .then(pl.concat_str(pl.lit("  "), device, pl.lit(" ")))
        .otherwise(device)
    )
    return frame.select(value.alias("value")).to_series()


def _render_ip(entity: np.ndarray, obfuscate: bool, rng: np.random.Generator) -> pl.Series:
    first, x = _permute(entity, 223, 2**24, 53)
    frame = pl.DataFrame({"a": 1 + first, "b": (x >> 16) & 255, "c": (x >> 8) & 255, "d": x & 255})
    ip = pl.concat_str([_text(octet) for octet in "abcd"], separator=".")
    value = pl.concat_str(pl.lit(" "), ip, pl.lit(" ")) if obfuscate else ip
    return frame.select(value.alias("value")).to_series()


_RENDERERS = (
    _render_device,
    _render_address,
    _render_payout,
    _render_email,
    _render_phone,
    _render_ip,
)


# ---------------------------------------------------------------------------------------
# structure


def _group_sizes(
    rng: np.random.Generator, target: int, sizes: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """Draw group sizes until adding one more would pass ``target`` members."""
    if target < sizes.min():
        return np.zeros(0, dtype=np.int64)
    draws = rng.choice(sizes, size=int(2 * target / sizes.min()) + 8, p=weights / weights.sum())
    total = np.cumsum(draws)
    return draws[: int(np.searchsorted(total, target, side="right"))].astype(np.int64)


class _LinkBuilder:
    """Accumulates (seller, kind, entity, role) rows and hands out fresh entity numbers."""

    def __init__(self) -> None:
        self.next_entity = [0] * len(KINDS)
        self.parts: list[tuple[int, np.ndarray, np.ndarray, int]] = []

    def fresh(self, kind: int, count: int) -> np.ndarray:
        start = self.next_entity[kind]
        self.next_entity[kind] += int(count)
        return np.arange(start, start + int(count), dtype=np.int64)

    def sibling(self) -> _LinkBuilder:
        """A builder of its own rows that hands out entity numbers from the same counters."""
        other = _LinkBuilder()
        other.next_entity = self.next_entity
        return other

    def add(self, kind: int, sellers: np.ndarray, entities: np.ndarray, role: int) -> None:
        if len(sellers):
            self.parts.append((kind, sellers.astype(np.int64), entities.astype(np.int64), role))


def _shared_by_group(
    rng: np.random.Generator,
    builder: _LinkBuilder,
    kind: int,
    members: np.ndarray,
    member_group: np.ndarray,
    n_groups: int,
    group_prob: float,
    member_prob: float,
    role: int,
) -> np.ndarray:
    """Give a share of groups one value of ``kind``; return the members that use it."""
    has_value = rng.random(n_groups) < group_prob
    entity = np.full(n_groups, -1, dtype=np.int64)
    entity[has_value] = builder.fresh(kind, int(has_value.sum()))
    uses = has_value[member_group] & (rng.random(len(members)) < member_prob)
    builder.add(kind, members[uses], entity[member_group[uses]], role)
    return members[uses]


def generate_marketplace(config: SynthConfig | None = None, **overrides: object) -> Marketplace:
    """Generate a synthetic marketplace with planted rings, hubs, legit groups and labels.

    Parameters
    ----------
    config
        The parameters; :class:`SynthConfig` defaults when omitted.
    **overrides
        Fields of :class:`SynthConfig` to change, e.g. ``n_sellers=10_000, seed=7``.

    Examples
    --------
    >>> market = generate_marketplace(n_sellers=2000, seed=1)
    >>> market.sellers.height
    2000
    >>> sorted(market.links["kind"].unique().to_list())
    ['address', 'device', 'email', 'ip', 'payout', 'phone']
    >>> market.truth.filter(market.truth["ring"].is_not_null())["is_bad"].all()
    True
    """
    cfg = _with_overrides(config or SynthConfig(), overrides)
    rng = np.random.default_rng(cfg.seed)
    n = cfg.n_sellers

    # -- groups: rings, households, businesses; everyone else is solo ------------------
    ring_sizes_all = np.arange(cfg.ring_size_min, cfg.ring_size_max + 1)
    ring_sizes = _group_sizes(
        rng,
        round(cfg.ring_share * n),
        ring_sizes_all,
        ring_sizes_all.astype(float) ** -cfg.ring_size_exponent,
    )
    household_sizes = _group_sizes(
        rng, round(cfg.household_share * n), np.array([2, 3, 4]), np.array([0.6, 0.3, 0.1])
    )
    business_sizes = _group_sizes(
        rng, round(cfg.business_share * n), np.arange(2, 9), 1.0 / np.arange(2, 9, dtype=float)
    )
    sizes = np.concatenate([ring_sizes, household_sizes, business_sizes])
    group_kind = np.concatenate(
        [
            np.full(len(ring_sizes), _RING_GROUP),
            np.full(len(household_sizes), _HOUSEHOLD_GROUP),
            np.full(len(business_sizes), _BUSINESS_GROUP),
        ]
    )
    order = rng.permutation(n)  # seller indices in group order: groups are scattered over ids
    grouped = order[: sizes.sum()]
    seller_group = np.full(n, -1, dtype=np.int64)
    seller_group[grouped] = np.repeat(np.arange(len(sizes)), sizes)
    seller_kind = np.full(n, _SOLO, dtype=np.int64)
    seller_kind[grouped] = np.repeat(group_kind, sizes)
    n_rings, n_households = len(ring_sizes), len(household_sizes)

    builder = _LinkBuilder()
    everyone = np.arange(n, dtype=np.int64)

    # -- rings: per kind a small pool; each member draws from it or uses a fresh value ---
    ring_members = grouped[: ring_sizes.sum()]
    member_ring = seller_group[ring_members]
    m = len(ring_members)
    uses_pool = np.zeros((m, len(KINDS)), dtype=bool)
    for kind in range(len(KINDS)):
        uses_pool[:, kind] = rng.random(m) >= cfg.ring_fresh_prob[kind]
    anchor = rng.integers(0, len(KINDS), n_rings)  # every member shares the ring's anchor kind
    uses_pool[np.arange(m), anchor[member_ring]] = True
    ring_pools: list[tuple[np.ndarray, np.ndarray]] = []
    for kind in range(len(KINDS)):
        lo, hi = cfg.ring_pool_fraction[kind]
        pool_size = np.round(ring_sizes * rng.uniform(lo, hi, n_rings)).astype(np.int64)
        pool_size = np.maximum(pool_size, 1)
        pool_start = pool_size  # empty when there are no rings
        if n_rings:
            first_of_pool = np.concatenate([[0], np.cumsum(pool_size)[:-1]])
            pool_start = builder.fresh(kind, int(pool_size.sum()))[first_of_pool]
        ring_pools.append((pool_start, pool_size))
        pick = pool_start[member_ring] + (rng.random(m) * pool_size[member_ring]).astype(np.int64)
        builder.add(kind, ring_members[uses_pool[:, kind]], pick[uses_pool[:, kind]], _RING)

    # -- households and businesses: shared values of some kinds --------------------------
    hh_members = grouped[ring_sizes.sum() : ring_sizes.sum() + household_sizes.sum()]
    hh_group = seller_group[hh_members] - n_rings
    biz_members = grouped[ring_sizes.sum() + household_sizes.sum() :]
    biz_group = seller_group[biz_members] - n_rings - n_households
    shared = np.zeros((n, len(KINDS)), dtype=bool)  # seller already has a shared value of kind
    shared[ring_members] = uses_pool
    for kind, group_prob in ((_ADDRESS, 1.0), (_IP, 0.7)):
        users = _shared_by_group(
            rng,
            builder,
            kind,
            hh_members,
            hh_group,
            len(household_sizes),
            group_prob,
            1.0,
            _HOUSEHOLD,
        )
        shared[users, kind] = True
    _shared_by_group(
        rng, builder, _DEVICE, hh_members, hh_group, len(household_sizes), 0.25, 1.0, _HOUSEHOLD
    )
    for kind, group_prob in ((_PAYOUT, 0.9), (_ADDRESS, 0.8), (_PHONE, 0.5)):
        users = _shared_by_group(
            rng,
            builder,
            kind,
            biz_members,
            biz_group,
            len(business_sizes),
            group_prob,
            1.0,
            _BUSINESS,
        )
        shared[users, kind] = True
    _shared_by_group(
        rng, builder, _DEVICE, biz_members, biz_group, len(business_sizes), 0.4, 0.8, _BUSINESS
    )

    # -- hubs: warehouse addresses, aggregator payouts, public Wi-Fi ---------------------
    aggregator_users = everyone[rng.random(n) < cfg.aggregator_share]
    shared[aggregator_users, _PAYOUT] = True
    hub_entities: list[tuple[int, np.ndarray, np.ndarray]] = []
    for kind, share, users in (
        (_ADDRESS, cfg.warehouse_share, everyone[rng.random(n) < cfg.warehouse_share]),
        (_PAYOUT, cfg.aggregator_share, aggregator_users),
        (_IP, cfg.wifi_share, everyone[rng.random(n) < cfg.wifi_share]),
    ):
        n_hubs = max(2, round(share * n / cfg.hub_mean_sellers))
        hubs = builder.fresh(kind, n_hubs)
        popularity = 1.0 / np.arange(1, n_hubs + 1) ** 0.7
        chosen = hubs[rng.choice(n_hubs, size=len(users), p=popularity / popularity.sum())]
        hub_entities.append((kind, users, chosen))
        builder.add(kind, users, chosen, _HUB)

    # -- own values for every kind a seller does not share ------------------------------
    for kind in range(len(KINDS)):
        owners = everyone[~shared[:, kind]]
        builder.add(kind, owners, builder.fresh(kind, len(owners)), _OWN)
    extra_devices = np.repeat(everyone, rng.poisson(0.35, n))
    builder.add(_DEVICE, extra_devices, builder.fresh(_DEVICE, len(extra_devices)), _OWN)
    extra_ips = np.repeat(everyone, rng.poisson(0.3, n))
    builder.add(_IP, extra_ips, builder.fresh(_IP, len(extra_ips)), _OWN)

    # -- bridges: a member of one ring uses a device of another ring --------------------
    n_bridges = round(cfg.bridge_share * n_rings) if n_rings >= 2 else 0
    bridge_member = to_ring = np.zeros(0, dtype=np.int64)
    if n_bridges:
        from_ring = rng.choice(n_rings, size=n_bridges, replace=False)
        to_ring = (from_ring + rng.integers(1, n_rings, n_bridges)) % n_rings
        ring_offsets = np.concatenate([[0], np.cumsum(ring_sizes)[:-1]])
        bridge_member = ring_members[
            ring_offsets[from_ring]
            + (rng.random(n_bridges) * ring_sizes[from_ring]).astype(np.int64)
        ]
        pool_start, pool_size = ring_pools[_DEVICE]
        device = pool_start[to_ring] + (rng.random(n_bridges) * pool_size[to_ring]).astype(np.int64)
        builder.add(_DEVICE, bridge_member, device, _BRIDGE)

    links = _render_links(builder, rng, cfg)

    # -- sellers: onboarding times and tabular columns ----------------------------------
    sellers, truth, labels = _sellers_truth_labels(
        rng, cfg, seller_group, seller_kind, ring_sizes, n_rings, n_households
    )
    links = links.with_columns(_seen_at(rng, sellers, links))

    # -- chain rings and camouflage: from their own generators, after the main stream ----
    if cfg.ring_chain_share or cfg.camouflage_share:
        extra = builder.sibling()
        dropped = _plant_chain_rings(
            cfg, extra, ring_members, ring_sizes, anchor, uses_pool, bridge_member, to_ring
        )
        honest = everyone[~truth["is_bad"].to_numpy()]
        _plant_camouflage(cfg, extra, ring_members, honest)
        links = _swap_links(cfg, links, extra, dropped, sellers)

    # One sort serves both tables: a spelling never means two identifiers and a seller lists
    # an identifier once, so (seller, kind, value) is unique. The seller number sorts like
    # the zero-padded seller id, and faster.
    everything = links.sort("seller", "kind", "value", maintain_order=True).with_columns(
        _seller_ids(pl.col("seller"), n).alias("seller_id")
    )
    links = everything.select("seller_id", "kind", "value", "seen_at")
    link_truth = everything.select("seller_id", "kind", "value", "identifier", "role")
    links, labels = _add_dirty_rows(links, labels, rng, cfg)
    return Marketplace(
        sellers=sellers, links=links, labels=labels, truth=truth, link_truth=link_truth, config=cfg
    )


def _seen_at(rng: np.random.Generator, sellers: pl.DataFrame, links: pl.DataFrame) -> pl.Series:
    """When each link was seen: some days after its seller onboarded."""
    seen_offset = (rng.exponential(60.0, links.height) * 86400.0).astype(np.int64)  # seconds
    seen_at = sellers["created_at"].gather(links["seller"]) + pl.Series(
        seen_offset * 1_000_000, dtype=pl.Duration("us")
    )
    return seen_at.alias("seen_at")


def _extra_rng(cfg: SynthConfig, stream: int) -> np.random.Generator:
    """A generator of its own for one sort of optional structure; the main one is untouched."""
    return np.random.default_rng([cfg.seed, _EXTRA_SEED, stream])


def _plant_chain_rings(
    cfg: SynthConfig,
    extra: _LinkBuilder,
    ring_members: np.ndarray,
    ring_sizes: np.ndarray,
    anchor: np.ndarray,
    uses_pool: np.ndarray,
    bridge_member: np.ndarray,
    to_ring: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Make ``ring_chain_share`` of the rings chains; return the links to drop.

    In a chain ring, member ``i`` shares one value of the ring's anchor kind with member
    ``i + 1`` only (each chain value is held by exactly two members): the ring is a path,
    connected but sparse. Its members' pool links are dropped and replaced by own values,
    and a bridge into a chain ring uses one of its chain values instead of a pool device.
    Returns the ring members whose ``ring`` links and the bridge members whose ``bridge``
    links are to be dropped.
    """
    n_rings, m = len(ring_sizes), len(ring_members)
    n_chains = round(cfg.ring_chain_share * n_rings)
    no_one = np.zeros(0, dtype=np.int64)
    if n_chains == 0:
        return no_one, no_one
    rng = _extra_rng(cfg, _CHAIN_STREAM)
    is_chain = np.zeros(n_rings, dtype=bool)
    is_chain[rng.choice(n_rings, size=n_chains, replace=False)] = True
    member_ring = np.repeat(np.arange(n_rings), ring_sizes)  # ring members are in ring order
    ring_offsets = np.concatenate([[0], np.cumsum(ring_sizes)[:-1]])
    in_chain = is_chain[member_ring]
    last = np.zeros(m, dtype=bool)
    last[ring_offsets + ring_sizes - 1] = True
    # The value between members at positions p and p + 1, for p not last in its ring.
    chain_entity = np.full(m, -1, dtype=np.int64)
    link_from = np.flatnonzero(in_chain & ~last)
    for kind in range(len(KINDS)):
        pos = link_from[anchor[member_ring[link_from]] == kind]
        chain_entity[pos] = extra.fresh(kind, len(pos))
        extra.add(kind, ring_members[pos], chain_entity[pos], _RING)
        extra.add(kind, ring_members[pos + 1], chain_entity[pos], _RING)
    # Own values for the kinds the members took from their ring's pools (but the anchor).
    replaced = uses_pool & in_chain[:, None]
    replaced[np.arange(m), anchor[member_ring]] = False
    for kind in range(len(KINDS)):
        owners = ring_members[replaced[:, kind]]
        extra.add(kind, owners, extra.fresh(kind, len(owners)), _OWN)
    into_chain = is_chain[to_ring]
    target = to_ring[into_chain]
    pos = ring_offsets[target] + (rng.random(len(target)) * (ring_sizes[target] - 1)).astype(
        np.int64
    )
    for kind in range(len(KINDS)):
        of_kind = anchor[target] == kind
        extra.add(kind, bridge_member[into_chain][of_kind], chain_entity[pos[of_kind]], _BRIDGE)
    return ring_members[in_chain], bridge_member[into_chain]


def _plant_camouflage(
    cfg: SynthConfig, extra: _LinkBuilder, ring_members: np.ndarray, honest: np.ndarray
) -> None:
    """Popular identifiers: shared by ring members of many rings and by honest sellers.

    ``camouflage_share`` of ring members each use ``camouflage_per_member`` popular
    identifiers (internet-café or carrier IPs, shop tablets), each shared by 0.8–1.2 times
    ``camouflage_sellers`` sellers, ``camouflage_honest_share`` of them honest. Members are
    dealt to identifiers at random across all rings, one round per identifier a member uses
    (so a member never holds the same one twice); honest sellers use one each while there
    are enough of them.
    """
    n_users = round(cfg.camouflage_share * len(ring_members))
    if n_users == 0:
        return
    rng = _extra_rng(cfg, _CAMOUFLAGE_STREAM)
    users = rng.choice(ring_members, size=n_users, replace=False)
    ring_part = 1.0 - cfg.camouflage_honest_share
    low = max(2, round(0.8 * cfg.camouflage_sellers))
    high = min(_CAMOUFLAGE_MAX_SELLERS, max(low, round(1.2 * cfg.camouflage_sellers)))
    n_draws = min(n_users, math.ceil(n_users / (low * ring_part)) + 1)
    ring_sellers, ring_count, honest_count = [], [], []
    for _ in range(cfg.camouflage_per_member):  # a few rounds, not a loop over sellers
        sizes = rng.integers(low, high + 1, n_draws)
        capacity = np.cumsum(sizes) * ring_part
        n_ids = min(int(np.searchsorted(capacity, n_users)) + 1, n_draws)
        # Deal the members out in proportion to the sizes: each identifier's ring members
        # stay within its size, and every member gets one identifier of this round.
        total = np.cumsum(sizes[:n_ids])
        bounds = np.floor(n_users * total / total[-1] + 0.5).astype(np.int64)
        count = np.diff(bounds, prepend=0)
        keep = count > 0
        ring_sellers.append(rng.permutation(users))
        ring_count.append(count[keep])
        honest_count.append(np.maximum(sizes[:n_ids] - count, 0)[keep])
    ring_counts, honest_counts = np.concatenate(ring_count), np.concatenate(honest_count)
    n_honest = int(honest_counts.sum())
    if n_honest and len(honest):
        rounds = math.ceil(n_honest / len(honest))
        honest_sellers = np.concatenate([rng.permutation(honest) for _ in range(rounds)])
        honest_sellers = honest_sellers[:n_honest]
    else:
        honest_counts[:] = 0
        honest_sellers = np.zeros(0, dtype=np.int64)
    n_ids = len(ring_counts)
    id_kind = np.array([KINDS.index(k) for k in cfg.camouflage_kinds])[
        np.arange(n_ids) % len(cfg.camouflage_kinds)
    ]
    id_entity = np.zeros(n_ids, dtype=np.int64)
    for kind in np.unique(id_kind):
        id_entity[id_kind == kind] = extra.fresh(int(kind), int((id_kind == kind).sum()))
    sellers = np.concatenate([*ring_sellers, honest_sellers])
    held = np.concatenate(
        [np.repeat(np.arange(n_ids), ring_counts), np.repeat(np.arange(n_ids), honest_counts)]
    )
    for kind in np.unique(id_kind):
        of_kind = id_kind[held] == kind
        extra.add(int(kind), sellers[of_kind], id_entity[held[of_kind]], _CAMOUFLAGE)


def _swap_links(
    cfg: SynthConfig,
    links: pl.DataFrame,
    extra: _LinkBuilder,
    dropped: tuple[np.ndarray, np.ndarray],
    sellers: pl.DataFrame,
) -> pl.DataFrame:
    """Drop the chain rings' pool and bridge links, and add the links of ``extra``.

    The extra links are spelled and dated from a generator of their own.
    """
    n = cfg.n_sellers
    drop_ring, drop_bridge = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    drop_ring[dropped[0]] = True
    drop_bridge[dropped[1]] = True
    if dropped[0].size or dropped[1].size:
        seller, role = links["seller"].to_numpy(), links["role"]
        drop = ((role == "ring").to_numpy() & drop_ring[seller]) | (
            (role == "bridge").to_numpy() & drop_bridge[seller]
        )
        links = links.filter(pl.Series(~drop))
    if not extra.parts:
        return links
    rng = _extra_rng(cfg, _EXTRA_RENDER_STREAM)
    added = _render_links(extra, rng, cfg)
    return pl.concat([links, added.with_columns(_seen_at(rng, sellers, added))])


def _seller_ids(index: pl.Expr, n: int) -> pl.Expr:
    """Seller ids ``s000042`` from seller numbers, zero-padded so that they sort as numbers."""
    width = max(6, len(str(n - 1)))
    return pl.concat_str(pl.lit("s"), index.cast(pl.String).str.zfill(width))


def _render_links(
    builder: _LinkBuilder, rng: np.random.Generator, cfg: SynthConfig
) -> pl.DataFrame:
    """One row per link: seller number, kind, written value, canonical identifier and role.

    Each distinct entity is spelled canonically once, and a variant spelling is rendered only
    for the links written obfuscated; every link then picks its value and its identifier from
    that list of spellings.
    """
    spellings: list[pl.Series] = []
    n_spellings = 0
    columns: defaultdict[str, list[np.ndarray]] = defaultdict(list)
    for kind in range(len(KINDS)):
        parts = [p for p in builder.parts if p[0] == kind]
        if not parts:
            continue
        sellers = np.concatenate([p[1] for p in parts])
        entities = np.concatenate([p[2] for p in parts])
        roles = np.concatenate([np.full(len(p[1]), p[3], dtype=np.int8) for p in parts])
        # A seller listing the same value twice (say, a household IP and a Wi-Fi hub that
        # happen to coincide) is one link.
        keep = np.unique(sellers * (entities.max() + 1) + entities, return_index=True)[1]
        keep.sort()
        sellers, entities, roles = sellers[keep], entities[keep], roles[keep]
        obfuscated = np.flatnonzero(rng.random(len(sellers)) < cfg.obfuscation_prob)
        distinct, canonical = np.unique(entities, return_inverse=True)
        written = canonical.copy()
        written[obfuscated] = len(distinct) + np.arange(len(obfuscated))
        render = _RENDERERS[kind]
        spellings += [render(distinct, False, rng), render(entities[obfuscated], True, rng)]
        columns["seller"].append(sellers)
        columns["kind"].append(np.full(len(sellers), kind, dtype=np.int8))
        columns["role"].append(roles)
        columns["written"].append(n_spellings + written)
        columns["canonical"].append(n_spellings + canonical)
        n_spellings += len(distinct) + len(obfuscated)
    link = {name: np.concatenate(chunks) for name, chunks in columns.items()}
    spelled = pl.concat(spellings, rechunk=True)  # one chunk: gathers across chunks are slow
    return pl.DataFrame(
        {
            "seller": link["seller"],
            "kind": _pick(KINDS, link["kind"]),
            "value": spelled.gather(link["written"]),
            "identifier": spelled.gather(link["canonical"]),
            "role": _pick(_ROLES, link["role"]),
        }
    )


def _sellers_truth_labels(
    rng: np.random.Generator,
    cfg: SynthConfig,
    seller_group: np.ndarray,
    seller_kind: np.ndarray,
    ring_sizes: np.ndarray,
    n_rings: int,
    n_households: int,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    n = cfg.n_sellers
    span = (cfg.end - cfg.start).total_seconds()
    created = rng.random(n) * span
    in_ring = seller_kind == _RING_GROUP
    # Rings onboard in a burst: a start per ring, members days apart.
    ring_start = rng.random(max(n_rings, 1)) * span * 0.95
    created[in_ring] = ring_start[seller_group[in_ring]] + rng.exponential(
        3 * 86400.0, in_ring.sum()
    )
    # Businesses open stores over months.
    in_biz = seller_kind == _BUSINESS_GROUP
    n_groups = int(seller_group.max()) + 1 if len(seller_group) else 0
    group_start = rng.random(max(n_groups, 1)) * span * 0.8
    created[in_biz] = group_start[seller_group[in_biz]] + rng.exponential(
        120 * 86400.0, in_biz.sum()
    )
    created = np.minimum(created, span)

    lone_bad = (seller_kind == _SOLO) & (rng.random(n) < cfg.lone_bad_share)
    is_bad = in_ring | lone_bad

    listings = rng.lognormal(3.5, 1.0, n)
    listings[in_ring] = rng.lognormal(3.3, 0.9, in_ring.sum())
    listings[lone_bad] = rng.lognormal(2.8, 0.8, lone_bad.sum())
    orders = rng.poisson(np.maximum(listings * rng.gamma(2.0, 0.6, n), 0.1))
    price = rng.lognormal(3.2, 0.8, n)
    price[in_ring] = rng.lognormal(3.05, 0.8, in_ring.sum())
    gmv = orders * price
    return_rate = rng.beta(2.0, 30.0, n)
    return_rate[in_ring] = rng.beta(2.4, 28.0, in_ring.sum())
    return_rate[lone_bad] = rng.beta(6.0, 20.0, lone_bad.sum())
    rating = np.clip(rng.normal(4.4, 0.35, n), 1.0, 5.0)
    rating[in_ring] = np.clip(rng.normal(4.3, 0.4, in_ring.sum()), 1.0, 5.0)
    rating[lone_bad] = np.clip(rng.normal(3.6, 0.6, lone_bad.sum()), 1.0, 5.0)
    category = rng.integers(0, len(_CATEGORIES), n)
    ring_category = rng.integers(0, len(_CATEGORIES), max(n_rings, 1))
    same_category = in_ring & (rng.random(n) < 0.5)
    category[same_category] = ring_category[seller_group[same_category]]

    seller_id = pl.select(_seller_ids(pl.int_range(n), n)).to_series()
    start_us = (
        int(cfg.start.timestamp() * 1_000_000)
        if cfg.start.tzinfo
        else int((cfg.start - datetime(1970, 1, 1)).total_seconds() * 1_000_000)
    )
    created_at = pl.Series((start_us + created * 1_000_000).astype(np.int64)).cast(
        pl.Datetime("us")
    )
    sellers = pl.DataFrame(
        {
            "seller_id": seller_id,
            "created_at": created_at.dt.truncate("1s"),
            "category": _pick(_CATEGORIES, category),
            "listings": np.round(listings).astype(np.int64),
            "orders_30d": orders.astype(np.int64),
            "gmv_30d": np.round(gmv, 2),
            "return_rate": np.round(return_rate, 4),
            "rating": np.round(rating, 2),
        }
    )

    group, kind = pl.col("group"), pl.col("kind")
    truth = pl.DataFrame(
        {"seller_id": seller_id, "group": seller_group, "kind": seller_kind, "is_bad": is_bad}
    ).select(
        "seller_id",
        pl.when(kind == _RING_GROUP)
        .then(pl.concat_str(pl.lit("ring-"), group.cast(pl.String).str.zfill(5)))
        .alias("ring"),
        "is_bad",
        pl.when(kind == _HOUSEHOLD_GROUP)
        .then(pl.concat_str(pl.lit("household-"), (group - n_rings).cast(pl.String).str.zfill(6)))
        .when(kind == _BUSINESS_GROUP)
        .then(
            pl.concat_str(
                pl.lit("business-"), (group - n_rings - n_households).cast(pl.String).str.zfill(6)
            )
        )
        .alias("legit_group"),
    )

    draw = rng.random(n)
    bad_label = (in_ring & (draw < cfg.ring_label_prob)) | (
        lone_bad & (draw < cfg.lone_bad_label_prob)
    )
    good_label = ~is_bad & (draw < cfg.good_label_prob)
    source_draw = rng.integers(0, 2, n)
    labelled = bad_label | good_label
    labels = pl.DataFrame(
        {
            "seller_id": seller_id.filter(pl.Series(labelled)),
            "label": bad_label[labelled].astype(np.int8),
            "source": _pick(
                ("chargeback", "manual_review", "kyc_verified"),
                np.where(bad_label, source_draw, 2)[labelled],
            ),
        }
    )
    return sellers, truth, labels


def dirty_row_counts(config: SynthConfig, n_links: int) -> dict[str, int]:
    """How many dirty rows of each sort a marketplace with ``n_links`` clean links gets."""
    per_sort = round(config.dirty_share * n_links)
    return {
        "duplicate_links": per_sort,
        "blank_values": per_sort,
        "unknown_seller_links": per_sort,
        "unknown_seller_labels": round(config.dirty_share * config.n_sellers),
    }


def _add_dirty_rows(
    links: pl.DataFrame, labels: pl.DataFrame, rng: np.random.Generator, cfg: SynthConfig
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Append the dirt of a real export, which validation must refuse and count.

    Copies of links (exact duplicates), links with a blank value, and links and labels of
    sellers missing from the sellers table (``gone-…``). Appended at the end: validation
    sorts, so row order does not matter.
    """
    counts = dirty_row_counts(cfg, links.height)
    per_sort = counts["duplicate_links"]
    if per_sort == 0 and counts["unknown_seller_labels"] == 0:
        return links, labels
    picks = rng.choice(links.height, size=min(3 * per_sort, links.height), replace=False)
    duplicates = links[picks[:per_sort]]
    blanks = links[picks[per_sort : 2 * per_sort]].with_columns(pl.lit("  ").alias("value"))
    gone = links[picks[2 * per_sort :]]
    gone = gone.with_columns(
        pl.format("gone-{}", pl.int_range(gone.height).cast(pl.String).str.zfill(6)).alias(
            "seller_id"
        )
    )
    n_labels = counts["unknown_seller_labels"]
    gone_labels = pl.DataFrame(
        {
            "seller_id": [f"gone-l{i:06d}" for i in range(n_labels)],
            "label": pl.Series(np.ones(n_labels, dtype=np.int8)),
            "source": ["chargeback"] * n_labels,
        },
        schema=labels.schema,
    )
    return pl.concat([links, duplicates, blanks, gone]), pl.concat([labels, gone_labels])


def with_label_share(market: Marketplace, share: float, *, seed: int = 0) -> Marketplace:
    """``market`` with its labels replaced: a seeded ``share`` of all sellers, labelled truly.

    Real label sets hold far more than the default generator's 4% (a governance team with
    a few years of chargebacks and reviews knows a fifth of its sellers); the benchmarks use
    this to measure the model step on such label sets. Labels carry ``source`` ``"sample"``.

    Examples
    --------
    >>> market = with_label_share(generate_marketplace(n_sellers=1000, seed=1), 0.2)
    >>> market.labels.height
    200
    """
    if not 0 < share <= 1:
        raise ConfigError(f"share must be in (0, 1]; got {share!r}")
    truth = market.truth.sort("seller_id")
    picked = np.random.default_rng([seed, 20]).permutation(truth.height)[
        : round(share * truth.height)
    ]
    labels = truth[np.sort(picked)].select(
        "seller_id",
        pl.col("is_bad").cast(pl.Int8).alias("label"),
        pl.lit("sample").alias("source"),
    )
    return dataclasses.replace(market, labels=labels)


def write_marketplace(market: Marketplace, out: str | os.PathLike[str]) -> dict[str, Path]:
    """Write ``sellers``, ``links``, ``labels``, ``truth`` and ``link_truth`` as Parquet.

    Each file is written atomically. A file of that name that syndicate did not write there
    is never replaced. Returns the paths by table name.

    Raises
    ------
    InputFileError
        ``out`` holds a file of one of those names that syndicate did not write.
    """
    folder = Path(out)
    tables = {
        "sellers": market.sellers,
        "links": market.links,
        "labels": market.labels,
        "truth": market.truth,
        "link_truth": market.link_truth,
    }
    refuse_foreign_files(folder, [f"{name}.parquet" for name in tables])
    ensure_output_dir(folder)
    paths = {
        name: write_parquet_atomic(frame, folder / f"{name}.parquet")
        for name, frame in tables.items()
    }
    record_written(folder, paths.values())
    return paths


# ---------------------------------------------------------------------------------------
# the real-like preset

_REAL_SOURCES = ("SEO", "Ads", "Direct")
_REAL_BROWSERS = ("Chrome", "IE", "Safari", "FireFox", "Opera")
_REAL_SEXES = ("M", "F")
# Category probabilities (honest, fraud): close, so the columns carry a weak signal only.
_REAL_SOURCE_P = ((0.40, 0.40, 0.20), (0.37, 0.38, 0.25))
_REAL_BROWSER_P = ((0.41, 0.25, 0.16, 0.15, 0.03), (0.42, 0.22, 0.16, 0.17, 0.03))
_REAL_SEX_P = ((0.58, 0.42), (0.61, 0.39))
_LETTERS = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)
_HOUR = 3600.0
_DAY = 86400.0


def _render_device_letters(entity: np.ndarray) -> pl.Series:
    """Device ids of 13 upper-case letters (``QVPSPJUOCKZAR``), distinct per entity."""
    low, high = _permute(entity, 26**6, 26**7, 61)
    powers = 26 ** np.arange(7, dtype=np.int64)
    digits = np.concatenate(
        [(low[:, None] // powers[:6]) % 26, (high[:, None] // powers) % 26], axis=1
    )
    chars = np.ascontiguousarray(_LETTERS[digits])
    return pl.Series(chars.view("S13").ravel()).cast(pl.String)


def _categorical(
    rng: np.random.Generator, is_bad: np.ndarray, probs: tuple[tuple[float, ...], ...]
) -> np.ndarray:
    """One category per user, from the honest or the fraud probabilities."""
    draw = rng.random(len(is_bad))
    honest = np.searchsorted(np.cumsum(probs[0])[:-1], draw, side="right")
    fraud = np.searchsorted(np.cumsum(probs[1])[:-1], draw, side="right")
    return np.where(is_bad, fraud, honest)


def _size_weights(low: int, high: int, exponent: float) -> tuple[np.ndarray, np.ndarray, float]:
    sizes = np.arange(low, high + 1)
    weights = sizes.astype(float) ** -exponent
    weights /= weights.sum()
    return sizes, weights, float((sizes * weights).sum())


def _group_ids(prefix: str, index: np.ndarray, width: int) -> pl.Series:
    """``prefix-000042`` for each index >= 0, null for -1."""
    frame = pl.DataFrame({"i": index})
    label = pl.concat_str(pl.lit(prefix), pl.col("i").cast(pl.String).str.zfill(width))
    return frame.select(pl.when(pl.col("i") >= 0).then(label).alias("id")).to_series()


def generate_real_like(config: RealLikeConfig | None = None, **overrides: object) -> Marketplace:
    """Generate a marketplace shaped like public e-commerce fraud tables.

    One row per user (seller), each with exactly one ``device`` and one ``ip`` link, as in
    the well-known fraud tables of ~150k users with one device id and one IP address each.
    What it plants, with the defaults of :class:`RealLikeConfig` (40,000 users):

    * **Device-sharing groups**: about 2% of devices are shared by 2–10 users (sizes
      P(k) ∝ k^-1.5 for rings, mostly 2 for families). About 85% of the users on shared
      devices are fraudsters: a ring per shared device (``truth.ring``), whose members sign
      up within 20–300 seconds of each other and each use the ring's IP with 50%. The rest
      are honest families on one computer (``legit_group`` ``household-…``), signing up weeks
      apart and sharing their home IP with 80%.
    * **Shared honest IPs**: households (3% of users, 2–4 each, ``household-…``) and offices
      (1%, 3–8 each, ``office-…``) share one IP, each with a device of its own.
    * **Lone fraudsters** with their own device and IP bring fraud to ``fraud_share`` (9%).
    * **Columns** of ``sellers``: ``created_at`` (second resolution over ``days`` = 365 from
      ``start``), ``first_order_delay_s`` (seconds from signing up to the first order: under
      a minute for 90% of ring members, 60% of lone fraudsters and 1% of honest users, else
      minutes to days), and weak signals ``purchase_value``, ``age``, ``source``, ``browser``
      (shared by 90% of a device's users) and ``sex``.
    * **Labels**: ``label_share`` (40%) of each class, with ``label_noise`` (5%) of the labels
      flipped; ``source`` is ``chargeback`` for label 1, ``no_chargeback`` for 0.

    Link roles in ``link_truth``: ``ring`` (a ring's device or IP), ``household`` (an honest
    group's device or IP, households and offices alike) and ``own``. ``links.seen_at`` is
    the time of the first order. Vectorised and deterministic by seed.

    Examples
    --------
    >>> market = generate_real_like(n_sellers=2000, seed=1)
    >>> market.sellers.height, market.links.height
    (2000, 4000)
    >>> market.links.group_by("seller_id").len()["len"].unique().to_list()
    [2]
    >>> round(market.truth["is_bad"].mean(), 2)
    0.09
    """
    cfg = _with_overrides(config or RealLikeConfig(), overrides)
    rng = np.random.default_rng([cfg.seed, 7])
    n = cfg.n_sellers
    span = cfg.days * _DAY

    # -- device-sharing groups: rings and families, until the shared share of devices -----
    ring_sizes_all, ring_w, ring_mean = _size_weights(
        cfg.device_group_min, cfg.device_group_max, 1.5
    )
    family_sizes_all, family_w, family_mean = _size_weights(
        cfg.device_group_min, cfg.device_group_max, 4.0
    )
    p = cfg.shared_device_fraud_share
    ring_prob = p * family_mean / (p * family_mean + (1 - p) * ring_mean)  # a group's chance
    n_candidates = int(cfg.shared_device_share * n) + 16
    candidate_ring = rng.random(n_candidates) < ring_prob
    candidate_size = np.where(
        candidate_ring,
        rng.choice(ring_sizes_all, n_candidates, p=ring_w),
        rng.choice(family_sizes_all, n_candidates, p=family_w),
    )
    # With k groups, n - sum(size - 1) devices, k of them shared: take the k closest to target.
    n_devices = n - np.concatenate([[0], np.cumsum(candidate_size - 1)])
    share = np.arange(n_candidates + 1) / np.maximum(n_devices, 1)
    n_groups = int(np.argmin(np.abs(share - cfg.shared_device_share)))
    group_ring, group_size = candidate_ring[:n_groups], candidate_size[:n_groups]

    household_sizes = _group_sizes(
        rng, round(cfg.ip_household_share * n), np.array([2, 3, 4]), np.array([0.6, 0.3, 0.1])
    )
    office_sizes = _group_sizes(
        rng, round(cfg.ip_office_share * n), np.arange(3, 9), 1.0 / np.arange(3, 9, dtype=float)
    )
    n_device_users = int(group_size.sum())
    n_grouped = n_device_users + int(household_sizes.sum()) + int(office_sizes.sum())
    if n_grouped > n:
        raise ConfigError(
            f"the sharing groups need {n_grouped:,} users, more than n_sellers = {n:,}: lower "
            "shared_device_share, ip_household_share or ip_office_share"
        )
    order = rng.permutation(n)  # users in group order: groups are scattered over the ids
    device_users = order[:n_device_users]
    device_group = np.repeat(np.arange(n_groups), group_size)
    ip_users = order[n_device_users:n_grouped]
    n_households, n_offices = len(household_sizes), len(office_sizes)
    ip_group = np.repeat(
        np.arange(n_households + n_offices), np.concatenate([household_sizes, office_sizes])
    )
    solo = order[n_grouped:]

    in_ring = np.zeros(n, dtype=bool)
    member_ring = group_ring[device_group]
    in_ring[device_users[member_ring]] = True
    n_lone = min(max(round(cfg.fraud_share * n) - int(in_ring.sum()), 0), len(solo))
    lone_bad = np.zeros(n, dtype=bool)
    lone_bad[solo[:n_lone]] = True  # solo users are in random order already
    is_bad = in_ring | lone_bad

    # -- links: one device and one IP per user ------------------------------------------
    device_entity = np.empty(n, dtype=np.int64)
    device_role = np.full(n, _OWN, dtype=np.int8)
    device_entity[device_users] = device_group
    device_role[device_users] = np.where(member_ring, _RING, _HOUSEHOLD)
    others = np.setdiff1d(np.arange(n), device_users, assume_unique=True)
    device_entity[others] = n_groups + np.arange(len(others))

    ip_entity = n_groups + n_households + n_offices + np.arange(n, dtype=np.int64)  # own IPs
    ip_role = np.full(n, _OWN, dtype=np.int8)
    # A group's IP, used by each member with a chance; left with one user, it is that one's own.
    uses = rng.random(n_device_users) < np.where(
        member_ring, cfg.ring_ip_prob, cfg.household_ip_prob
    )
    users_of_ip = np.bincount(device_group[uses], minlength=n_groups)
    shared_ip = uses & (users_of_ip[device_group] >= 2)
    ip_entity[device_users[uses]] = device_group[uses]
    ip_role[device_users[shared_ip]] = np.where(member_ring[shared_ip], _RING, _HOUSEHOLD)
    ip_entity[ip_users] = n_groups + ip_group
    ip_role[ip_users] = _HOUSEHOLD

    # -- onboarding and first orders ----------------------------------------------------
    created = rng.random(n) * span
    spread_low, spread_high = cfg.ring_signup_spread_s
    group_spread = rng.uniform(spread_low, spread_high, n_groups)
    group_start = rng.random(n_groups) * max(span - spread_high, 0.0)
    ring_users = device_users[member_ring]
    ring_group = device_group[member_ring]
    created[ring_users] = (
        group_start[ring_group] + rng.random(len(ring_users)) * group_spread[ring_group]
    )
    family_users = device_users[~member_ring]
    created[family_users] = group_start[device_group[~member_ring]] + rng.exponential(
        30 * _DAY, len(family_users)
    )
    ip_group_start = rng.random(n_households + n_offices) * span * 0.8
    created[ip_users] = ip_group_start[ip_group] + rng.exponential(60 * _DAY, len(ip_users))
    created_s = np.minimum(np.floor(created), span - 1).astype(np.int64)

    quick_delay = np.minimum(rng.geometric(0.15, n), 59)  # seconds: mostly a few
    slow_delay = np.maximum(np.exp(rng.normal(math.log(6 * _HOUR), 1.8, n)), 60.0)
    quick_prob = np.where(
        in_ring, cfg.ring_quick_prob, np.where(lone_bad, cfg.lone_quick_prob, cfg.honest_quick_prob)
    )
    quick = rng.random(n) < quick_prob
    delay = np.where(quick, quick_delay, np.round(slow_delay)).astype(np.int64)

    # -- weak tabular columns -----------------------------------------------------------
    purchase = np.exp(rng.normal(np.where(is_bad, 3.52, 3.45), 0.5, n))
    purchase_value = np.clip(np.round(purchase), 9, 200).astype(np.int64)
    age = np.clip(np.round(rng.normal(np.where(is_bad, 33.8, 33.0), 8.5, n)), 18, 76)
    source = _categorical(rng, is_bad, _REAL_SOURCE_P)
    browser = _categorical(rng, is_bad, _REAL_BROWSER_P)
    group_browser = _categorical(rng, group_ring, _REAL_BROWSER_P)
    same_browser = rng.random(n_device_users) < 0.9  # one computer, one browser
    browser[device_users[same_browser]] = group_browser[device_group[same_browser]]
    sex = _categorical(rng, is_bad, _REAL_SEX_P)

    seller_id = pl.select(_seller_ids(pl.int_range(n), n)).to_series()
    start_s = int(
        cfg.start.timestamp()
        if cfg.start.tzinfo
        else (cfg.start - datetime(1970, 1, 1)).total_seconds()
    )
    created_at = pl.Series((start_s + created_s) * 1_000_000).cast(pl.Datetime("us"))
    sellers = pl.DataFrame(
        {
            "seller_id": seller_id,
            "created_at": created_at,
            "first_order_delay_s": delay,
            "purchase_value": purchase_value,
            "age": age.astype(np.int64),
            "source": _pick(_REAL_SOURCES, source),
            "browser": _pick(_REAL_BROWSERS, browser),
            "sex": _pick(_REAL_SEXES, sex),
        }
    )

    # -- truth ----------------------------------------------------------------------------
    ring_number = np.cumsum(group_ring) - 1  # rings numbered among the groups that are rings
    family_number = np.cumsum(~group_ring) - 1
    ring_index = np.full(n, -1, dtype=np.int64)
    ring_index[ring_users] = ring_number[ring_group]
    household_index = np.full(n, -1, dtype=np.int64)
    household_index[family_users] = family_number[device_group[~member_ring]]
    n_families = int((~group_ring).sum())
    in_household = ip_group < n_households
    household_index[ip_users[in_household]] = n_families + ip_group[in_household]
    office_index = np.full(n, -1, dtype=np.int64)
    office_index[ip_users[~in_household]] = ip_group[~in_household] - n_households
    truth = pl.DataFrame(
        {
            "seller_id": seller_id,
            "ring": _group_ids("ring-", ring_index, 5),
            "is_bad": is_bad,
            "legit_group": _group_ids("household-", household_index, 6).fill_null(
                _group_ids("office-", office_index, 6)
            ),
        }
    )

    # -- labels: a share of each class, some flipped --------------------------------------
    bad, good = np.flatnonzero(is_bad), np.flatnonzero(~is_bad)
    labelled = np.sort(
        np.concatenate(
            [
                bad[rng.permutation(len(bad))[: round(cfg.label_share * len(bad))]],
                good[rng.permutation(len(good))[: round(cfg.label_share * len(good))]],
            ]
        )
    )
    label = is_bad[labelled].astype(np.int8)
    flipped = rng.choice(len(labelled), size=round(cfg.label_noise * len(labelled)), replace=False)
    label[flipped] = 1 - label[flipped]
    labels = pl.DataFrame(
        {
            "seller_id": seller_id.gather(labelled),
            "label": label,
            "source": _pick(("no_chargeback", "chargeback"), label),
        }
    )

    # -- links and link truth: per user its device, then its IP ------------------------
    is_ip = np.tile(np.array([False, True]), n)
    value = pl.concat(
        [_render_device_letters(device_entity), _render_ip(ip_entity, False, rng)]
    ).gather(np.arange(2 * n).reshape(2, n).T.ravel())
    seller = np.repeat(np.arange(n), 2)
    seen_s = start_s + created_s + delay
    everything = pl.DataFrame(
        {
            "seller_id": seller_id.gather(seller),
            "kind": _pick(("device", "ip"), is_ip.astype(np.int64)),
            "value": value,
            "seen_at": pl.Series(np.repeat(seen_s, 2) * 1_000_000).cast(pl.Datetime("us")),
            "role": _pick(_ROLES, np.stack([device_role, ip_role], axis=1).ravel()),
        }
    )
    links = everything.select("seller_id", "kind", "value", "seen_at")
    link_truth = everything.select(
        "seller_id", "kind", "value", pl.col("value").alias("identifier"), "role"
    )
    return Marketplace(
        sellers=sellers, links=links, labels=labels, truth=truth, link_truth=link_truth, config=cfg
    )
